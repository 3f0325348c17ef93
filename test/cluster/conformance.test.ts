import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { keySlot, type NodeRedisCluster } from '../../adapters/redis/client.js';
import { redisAdapter, redisStore } from '../../adapters/redis/index.js';
import { ProviderKeys, StoreKeys } from '../../adapters/redis/keys.js';
import { adapterConformance, MODELS, payloadFor } from '../support/adapter-conformance.js';
import { command, redisToolsOrSkip, startCluster, type TestCluster } from '../support/cluster.js';
import { T0, bindRequest, clientMetadata, newApplication } from '../support/store-cases.js';
import { describeStoreConformance } from '../support/store-conformance.js';

/** Every key of one prefix, from every master, with the port of the master holding it. */
async function keysOf(cluster: TestCluster, prefix: string): Promise<Array<{ key: string; port: number }>> {
  const found: Array<{ key: string; port: number }> = [];
  for (const port of cluster.ports) {
    let cursor = '0';
    do {
      const [next, keys] = (await command(port, 'SCAN', cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 1000)) as [string, string[]];
      cursor = next;
      found.push(...keys.map((key) => ({ key, port })));
    } while (cursor !== '0');
  }
  return found;
}

describe.runIf(redisToolsOrSkip())('on a 3-master Redis Cluster', () => {
  let cluster: TestCluster;
  let ioredis: Cluster;
  let nodeRedis: NodeRedisCluster & { destroy(): void };
  beforeAll(async () => {
    cluster = await startCluster(3);
    ioredis = await cluster.ioredis();
    nodeRedis = await cluster.nodeRedis();
  }, 60_000);
  afterAll(async () => { await cluster?.stop(); });

  describeStoreConformance('redis, ioredis Cluster', async () => ({
    store: redisStore({ client: ioredis, prefix: cluster.namespace('store') }),
    async cleanup() {},
  }));

  describeStoreConformance('redis, node-redis cluster', async () => ({
    store: redisStore({ client: nodeRedis, prefix: cluster.namespace('store-nr') }),
    async cleanup() {},
  }));

  adapterConformance('redisAdapter on ioredis Cluster', () => redisAdapter({ client: ioredis, prefix: cluster.namespace('conf') }));
  adapterConformance('redisAdapter on node-redis cluster', () => redisAdapter({ client: nodeRedis, prefix: cluster.namespace('conf-nr') }));

  it('keeps every key of a store and of an adapter in one slot, on one master', async () => {
    const storePrefix = cluster.namespace('slot-store');
    const store = redisStore({ client: ioredis, prefix: storePrefix });
    await store.putClient(clientMetadata('c1'), T0);
    await store.createApplication(newApplication('app1', 'bob'));
    expect(await store.bind(bindRequest('app1', 'PRODUCTION', 'c1', { caller: 'mallory' }))).toEqual({ outcome: 'created' });
    await store.recordFailedAttempt({ caller: 'mallory', clientId: 'c1' }, { perCaller: 5, perClient: 5, windowMs: 60_000 }, Date.now());

    const adapterPrefix = cluster.namespace('slot-adapter');
    const factory = redisAdapter({ client: nodeRedis, prefix: adapterPrefix });
    for (const model of MODELS) await factory(model).upsert('x', payloadFor(model, 'x', { grantId: 'g', uid: 'u', userCode: 'U' }), 60);

    const storeKeys = new StoreKeys(storePrefix);
    const providerKeys = new ProviderKeys(adapterPrefix);
    for (const [prefix, sample] of [
      [storePrefix, [storeKeys.client('c1'), storeKeys.clients, storeKeys.application('app1'), storeKeys.ownerNames('bob'), storeKeys.callerAttempts('mallory', 'c1')]],
      [adapterPrefix, [providerKeys.model('AccessToken', 'x'), providerKeys.grant('g'), providerKeys.sessionUid('u'), providerKeys.userCode('DeviceCode', 'U')]],
    ] as const) {
      const found = await keysOf(cluster, prefix);
      expect(found.length).toBeGreaterThanOrEqual(sample.length);
      for (const key of sample) expect(found.map((entry) => entry.key)).toContain(key);
      const slots = new Set(await Promise.all(found.map(({ key }) => command(cluster.ports[0]!, 'CLUSTER', 'KEYSLOT', key))));
      expect(slots.size).toBe(1);
      expect([...slots][0]).toBe(keySlot(sample[0]));
      expect(new Set(found.map((entry) => entry.port)).size).toBe(1);
    }
    expect(await store.verify()).toEqual({ ok: true, problems: [] });
  });
});
