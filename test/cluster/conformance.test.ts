import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { keySlot, type NodeRedisCluster } from '../../adapters/redis/client.js';
import { redisAdapter, redisStore } from '../../adapters/redis/index.js';
import { ProviderKeys, StoreKeys } from '../../adapters/redis/keys.js';
import { adapterConformance, payloadFor } from '../support/adapter-conformance.js';
import { command, redisToolsOrSkip, startCluster, type TestCluster } from '../support/cluster.js';
import { externalClientRef } from '../../src/issuers/ref.js';
import { T0, bindRequest, clientMetadata, newApplication } from '../support/store-cases.js';
import { describeStoreConformance } from '../support/store-conformance.js';
import { storedIssuer } from '../support/store-conformance-issuers.js';

/** Every key matching a SCAN pattern, from every master, with the port of the master holding it. */
async function keysOf(cluster: TestCluster, pattern: string): Promise<Array<{ key: string; port: number }>> {
  const found: Array<{ key: string; port: number }> = [];
  for (const port of cluster.ports) {
    let cursor = '0';
    do {
      const [next, keys] = (await command(port, 'SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)) as [string, string[]];
      cursor = next;
      found.push(...keys.map((key) => ({ key, port })));
    } while (cursor !== '0');
  }
  return found;
}

function countBy(entries: ReadonlyArray<{ port: number }>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const { port } of entries) counts.set(port, (counts.get(port) ?? 0) + 1);
  return counts;
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
  afterAll(async () => {
    await cluster?.stop();
  });

  describeStoreConformance('redis, ioredis Cluster', async () => ({
    store: redisStore({ client: ioredis, prefix: cluster.namespace('store') }),
    async cleanup() {},
  }));

  describeStoreConformance('redis, node-redis cluster', async () => ({
    store: redisStore({ client: nodeRedis, prefix: cluster.namespace('store-nr') }),
    async cleanup() {},
  }));

  adapterConformance('redisAdapter on ioredis Cluster', () =>
    redisAdapter({ client: ioredis, prefix: cluster.namespace('conf') }),
  );
  adapterConformance('redisAdapter on node-redis cluster', () =>
    redisAdapter({ client: nodeRedis, prefix: cluster.namespace('conf-nr') }),
  );

  it('keeps every key of a store in one slot, on one master', async () => {
    const storePrefix = cluster.namespace('slot-store');
    const store = redisStore({ client: ioredis, prefix: storePrefix });
    await store.putClient(clientMetadata('c1'), T0);
    await store.createApplication(newApplication('app1', 'bob'));
    expect(await store.bind(bindRequest('app1', 'PRODUCTION', 'c1', { caller: 'mallory' }))).toEqual({
      outcome: 'created',
    });
    await store.recordFailedAttempt(
      { caller: 'mallory', clientId: 'c1' },
      { perCaller: 5, perClient: 5, windowMs: 60_000 },
      Date.now(),
    );
    const external = externalClientRef('acme', 'c2');
    await store.putIssuer(storedIssuer('acme'));
    expect(await store.bind(bindRequest('app1', 'SANDBOX', external, { issuerId: 'acme' }))).toEqual({
      outcome: 'created',
    });
    expect(await store.useAssertionId('c1', 'jti-1', Date.now() + 60_000, Date.now())).toBe(true);

    const storeKeys = new StoreKeys(storePrefix);
    const sample = [
      storeKeys.client('c1'),
      storeKeys.clients,
      storeKeys.application('app1'),
      storeKeys.ownerNames('bob'),
      storeKeys.callerAttempts('mallory', 'c1'),
      storeKeys.issuers,
      storeKeys.client(external),
      storeKeys.assertionId('c1', 'jti-1'),
    ];
    const found = await keysOf(cluster, `{${storePrefix}}*`);
    expect(found.length).toBeGreaterThanOrEqual(sample.length);
    for (const key of sample) expect(found.map((entry) => entry.key)).toContain(key);
    const slots = new Set(
      await Promise.all(found.map(({ key }) => command(cluster.ports[0]!, 'CLUSTER', 'KEYSLOT', key))),
    );
    expect([...slots]).toEqual([keySlot(sample[0]!)]);
    expect(new Set(found.map((entry) => entry.port)).size).toBe(1);
    expect(await store.verify()).toEqual({ ok: true, problems: [] });
  });

  it("spreads the provider adapter's tokens within 10% of an even split over the masters", async () => {
    const prefix = cluster.namespace('spread');
    const factory = redisAdapter({ client: ioredis, prefix });
    const count = 1500;
    for (let i = 0; i < count; i += 1) {
      await factory('ClientCredentials').upsert(`token-${i}`, payloadFor('ClientCredentials', `token-${i}`), 600);
    }
    const perMaster = countBy(await keysOf(cluster, new ProviderKeys(prefix).modelPattern('ClientCredentials')));
    expect([...perMaster.values()].reduce((a, b) => a + b, 0)).toBe(count);
    expect(perMaster.size).toBe(cluster.ports.length);
    for (const held of perMaster.values()) {
      expect(Math.abs(held - count / cluster.ports.length)).toBeLessThanOrEqual((0.1 * count) / cluster.ports.length);
    }
  });

  it("removes a grant's tokens held on several masters when it is revoked, and refuses one saved late", async () => {
    const prefix = cluster.namespace('revoke-spread');
    const keys = new ProviderKeys(prefix);
    const factory = redisAdapter({ client: nodeRedis, prefix });
    const ids = Array.from({ length: 30 }, (_, i) => `grant-token-${i}`);
    for (const id of ids)
      await factory('AccessToken').upsert(id, payloadFor('AccessToken', id, { grantId: 'g-spread' }), 600);
    const holders = await keysOf(cluster, keys.modelPattern('AccessToken'));
    expect(new Set(holders.map((entry) => entry.port)).size).toBeGreaterThan(1);

    await factory('RefreshToken').revokeByGrantId('g-spread');
    expect(await keysOf(cluster, keys.modelPattern('AccessToken'))).toEqual([]);
    for (const id of ids) expect(await factory('AccessToken').find(id)).toBeUndefined();

    await factory('AccessToken').upsert('late', payloadFor('AccessToken', 'late', { grantId: 'g-spread' }), 600);
    expect(await factory('AccessToken').find('late')).toBeUndefined();
  });
});
