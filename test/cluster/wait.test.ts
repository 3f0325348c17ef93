import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { keySlot, type RedisClient } from '../../adapters/redis/client.js';
import { redisStore } from '../../adapters/redis/index.js';
import { StoreKeys } from '../../adapters/redis/keys.js';
import { isStoreUnavailable } from '../../src/errors.js';
import { command, redisToolsOrSkip, startCluster, type TestCluster } from '../support/cluster.js';
import { T0, bindRequest, clientMetadata, newApplication } from '../support/store-cases.js';

/** WAIT calls each master has served since its stats were last reset. */
async function waitCalls(ports: readonly number[]): Promise<Map<number, number>> {
  const calls = new Map<number, number>();
  for (const port of ports) {
    const stats = String(await command(port, 'INFO', 'commandstats'));
    calls.set(port, Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0));
  }
  return calls;
}

describe.runIf(redisToolsOrSkip())('waitForReplicas on a Redis Cluster of 3 masters with a replica each', () => {
  let cluster: TestCluster;
  let masters: number[];
  const clients: Partial<Record<'ioredis' | 'node-redis', RedisClient>> = {};
  beforeAll(async () => {
    cluster = await startCluster(3, 1);
    masters = await cluster.masterPorts();
    clients.ioredis = await cluster.ioredis();
    clients['node-redis'] = await cluster.nodeRedis();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  describe.each(['ioredis', 'node-redis'] as const)('with the %s cluster client', (kind) => {
    it(
      "WAITs after each change on the master owning the prefix's slot, " + 'and answers once a replica has it',
      async () => {
        expect(masters).toHaveLength(3);
        await Promise.all(masters.map((port) => command(port, 'CONFIG', 'RESETSTAT')));
        const prefix = cluster.namespace(`wait-${kind}`);
        const store = redisStore({ client: clients[kind]!, prefix, waitForReplicas: { replicas: 1, timeoutMs: 2000 } });

        expect(await store.putClient(clientMetadata('c1'), T0)).toBe('created');
        expect(await store.createApplication(newApplication('app1', 'bob'))).toBe('created');
        expect(await store.bind(bindRequest('app1', 'PRODUCTION', 'c1'))).toEqual({ outcome: 'created' });
        expect(await store.getClient('c1')).toBeDefined();

        const slot = keySlot(new StoreKeys(prefix).client('c1'));
        const owners: number[] = [];
        for (const port of masters)
          if (Number(await command(port, 'CLUSTER', 'COUNTKEYSINSLOT', slot)) > 0) owners.push(port);
        expect(owners).toHaveLength(1);
        const calls = await waitCalls(masters);
        // three changes, three WAITs, all on the owner; reads WAIT for nothing
        expect(Object.fromEntries(calls)).toEqual(
          Object.fromEntries(masters.map((port) => [port, port === owners[0] ? 3 : 0])),
        );
        expect(await store.verify()).toEqual({ ok: true, problems: [] });
      },
    );

    it('answers 503 when fewer replicas than asked acknowledge, leaving the change on the master', async () => {
      const prefix = cluster.namespace(`wait-short-${kind}`);
      const store = redisStore({ client: clients[kind]!, prefix, waitForReplicas: { replicas: 2, timeoutMs: 100 } });
      const failure = await store.putClient(clientMetadata('c1'), T0).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isStoreUnavailable(failure)).toBe(true);
      expect(String((failure as Error).cause)).toMatch(/only 1 of 2 replicas acknowledged it within 100 ms/);
      expect((await store.getClient('c1'))?.metadata).toEqual(clientMetadata('c1'));
    });
  });
});
