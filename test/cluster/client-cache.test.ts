import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ClientCache, clientCacheOf, clientCacheSettings } from '../../adapters/redis/client-cache/index.js';
import { keySlot, type RedisClient } from '../../adapters/redis/client.js';
import { Connection } from '../../adapters/redis/connection.js';
import { redisStore } from '../../adapters/redis/index.js';
import { StoreKeys } from '../../adapters/redis/keys.js';
import { hashFields } from '../../adapters/redis/replies.js';
import { commandCalls } from '../../support/redis-server.js';
import { waitFor } from '../../support/wait.js';
import type { BindingStore } from '../../src/store.js';
import { command, redisToolsOrSkip, startCluster, type TestCluster } from '../support/cluster.js';
import { T0, T1, T2, clientMetadata } from '../support/store-cases.js';

const TRACKER_NAME = 'appkeys-client-cache-tracker';
const SUBSCRIBER_NAME = 'appkeys-client-cache-invalidations';

type Kind = 'ioredis' | 'node-redis';

/** The port of the master owning `slot`, as the node at `port` sees the cluster. */
async function ownerOf(port: number, slot: number): Promise<number> {
  const ranges = (await command(port, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
  const range = ranges.find(([from, to]) => slot >= from && slot <= to);
  if (!range) throw new Error(`no master owns slot ${slot}`);
  return Number(range[2][1]);
}

/** The replica of the master at `port`. */
async function replicaOf(cluster: TestCluster, port: number): Promise<number> {
  for (const each of cluster.ports) {
    const role = (await command(each, 'ROLE')) as unknown[];
    if (role[0] === 'slave' && Number(role[2]) === port) return each;
  }
  throw new Error(`no replica of ${port}`);
}

/**
 * Promotes the replica of the master at `owner` (which owns `slot`) with CLUSTER FAILOVER, once that
 * replica is in sync, and resolves its port once every node says it owns the slot. A manual failover
 * that times out changes nothing and is asked again.
 */
async function failOver(cluster: TestCluster, owner: number, slot: number): Promise<number> {
  const promoted = await replicaOf(cluster, owner);
  for (let attempt = 1; ; attempt += 1) {
    await waitFor('the replica in sync', async () =>
      /master_link_status:up/.test(String(await command(promoted, 'INFO', 'replication'))) ? true : undefined,
    );
    expect(await command(promoted, 'CLUSTER', 'FAILOVER')).toBe('OK');
    try {
      await waitFor(
        'the replica promoted and every node agreeing',
        async () => {
          const [role] = (await command(owner, 'ROLE')) as [string];
          const owners = await Promise.all(cluster.ports.map((port) => ownerOf(port, slot)));
          return role === 'slave' && owners.every((port) => port === promoted) ? true : undefined;
        },
        { withinMs: 10_000, everyMs: 50 },
      );
      return promoted;
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
}

/** CLIENT LIST of the node at `port`, as records. */
async function connectionsOn(port: number): Promise<Array<Record<string, string>>> {
  return String(await command(port, 'CLIENT', 'LIST'))
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => Object.fromEntries(line.split(' ').map((pair) => pair.split('=', 2) as [string, string])));
}

/** The HGETALLs every node ran since its last CONFIG RESETSTAT. */
async function hgetallsEverywhere(cluster: TestCluster): Promise<number> {
  let calls = 0;
  for (const port of cluster.ports) {
    calls += commandCalls(String(await command(port, 'INFO', 'commandstats'))).get('hgetall') ?? 0;
  }
  return calls;
}

async function resetStats(cluster: TestCluster): Promise<void> {
  for (const port of cluster.ports) await command(port, 'CONFIG', 'RESETSTAT');
}

const secretOf = async (store: BindingStore, clientId: string) =>
  (await store.getClient(clientId))?.metadata.client_secret;

/**
 * Reads until a read is served from memory: a change made elsewhere just before may invalidate the
 * first read's answer while it is on its way, which is then not kept.
 */
async function cachedSecret(store: BindingStore, cache: ClientCache, clientId: string): Promise<unknown> {
  return waitFor(`${clientId} served from memory`, async () => {
    const hits = cache.stats().hits;
    const secret = await secretOf(store, clientId);
    return cache.stats().hits > hits ? secret : undefined;
  });
}

describe.runIf(redisToolsOrSkip())('the client cache on a Redis Cluster (3 masters, a replica each)', () => {
  let cluster: TestCluster;
  const clients: Partial<Record<Kind, RedisClient>> = {};
  /** Changes made by "another process": a cluster client of its own, no cache. */
  let elsewhere: RedisClient;
  beforeAll(async () => {
    cluster = await startCluster(3, 1);
    clients.ioredis = await cluster.ioredis();
    clients['node-redis'] = await cluster.nodeRedis();
    elsewhere = await cluster.ioredis();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  describe.each(['ioredis', 'node-redis'] as const)('through the %s cluster client', (kind) => {
    /** A cached store and an uncached one "elsewhere", on one fresh prefix; the cache tracking. */
    async function stores(
      label: string,
      elsewhereOptions: { waitForReplicas?: { replicas: number; timeoutMs: number } } = {},
    ) {
      const prefix = cluster.namespace(label);
      const store = redisStore({ client: clients[kind]!, prefix, clientCache: true });
      const writer = redisStore({ client: elsewhere, prefix, ...elsewhereOptions });
      const cache: ClientCache = clientCacheOf(store)!;
      // a first lookup, as a process's first token request: it also redirects a client whose view of
      // the cluster predates a failover (node-redis learns of one only from a MOVED reply)
      expect(await store.getClient('nobody')).toBeUndefined();
      expect(await cache.tracking(10_000)).toBe(true);
      const slot = keySlot(new StoreKeys(prefix).clientPrefix);
      return { store, writer, cache, slot, owner: await ownerOf(cluster.ports[0]!, slot) };
    }

    it('tracks on the master owning the store slot, and serves cached reads with no command to any node', async () => {
      const { store, writer, cache, owner } = await stores('cc-reads');
      try {
        const connections = await connectionsOn(owner);
        const tracker = connections.find((c) => c.name === TRACKER_NAME && c.flags?.includes('t'));
        const subscriber = connections.find((c) => c.name === SUBSCRIBER_NAME && c.flags?.includes('P'));
        expect(tracker?.redir).toBe(subscriber?.id);

        expect(await writer.putClient(clientMetadata('c1', { client_secret: 'v1' }), T0)).toBe('created');
        expect(await cachedSecret(store, cache, 'c1')).toBe('v1');
        await resetStats(cluster);
        const { hits } = cache.stats();
        for (let i = 0; i < 5; i += 1) expect(await secretOf(store, 'c1')).toBe('v1');
        expect(await hgetallsEverywhere(cluster)).toBe(0);
        expect(cache.stats()).toMatchObject({ state: 'tracking', hits: hits + 5, drops: 0 });
      } finally {
        await store.close();
      }
    });

    it('sees changes and deletions made elsewhere through invalidations, and its own changes at once', async () => {
      const { store, writer, cache } = await stores('cc-changes');
      try {
        await writer.putClient(clientMetadata('c1', { client_secret: 'v1' }), T0);
        expect(await cachedSecret(store, cache, 'c1')).toBe('v1');

        await writer.putClient(clientMetadata('c1', { client_secret: 'v2' }), T1);
        await waitFor('the change read', async () => ((await secretOf(store, 'c1')) === 'v2' ? true : undefined), {
          withinMs: 3000,
          everyMs: 2,
        });
        await writer.deleteClient('c1', true);
        await waitFor('the deletion read', async () => ((await store.getClient('c1')) ? undefined : true), {
          withinMs: 3000,
          everyMs: 2,
        });
        // nothing was dropped: the invalidations did it
        expect(cache.stats()).toMatchObject({ state: 'tracking', drops: 0 });
        expect(cache.stats().invalidations).toBeGreaterThanOrEqual(2);

        expect(await store.putClient(clientMetadata('c1', { client_secret: 'v3' }), T2)).toBe('created');
        expect(await secretOf(store, 'c1')).toBe('v3');
      } finally {
        await store.close();
      }
    });

    it('after a failover, serves no record older than a change on the new master, then tracks there', async () => {
      // the change elsewhere answers once the demoted master, now the replica, holds it too
      const { store, writer, cache, slot, owner } = await stores('cc-failover', {
        waitForReplicas: { replicas: 1, timeoutMs: 5000 },
      });
      try {
        await writer.putClient(clientMetadata('c1', { client_secret: 'before' }), T0);
        expect(await cachedSecret(store, cache, 'c1')).toBe('before');

        const promoted = await failOver(cluster, owner, slot);
        await writer.putClient(clientMetadata('c1', { client_secret: 'after' }), T1);
        // every invalidation sent before now, by whichever node we still track on, has been handled
        await cache.fence();
        expect(await secretOf(store, 'c1')).toBe('after');

        await waitFor(
          'tracking on the new master',
          async () => {
            if (cache.state !== 'tracking') return undefined;
            const connections = await connectionsOn(promoted);
            const tracker = connections.find((c) => c.name === TRACKER_NAME && c.flags?.includes('t'));
            const subscriber = connections.find((c) => c.name === SUBSCRIBER_NAME);
            return tracker && tracker.redir === subscriber?.id ? true : undefined;
          },
          { withinMs: 30_000, everyMs: 50 },
        );
        expect(cache.stats().drops).toBeGreaterThanOrEqual(1);
        expect(cache.stats().established).toBeGreaterThanOrEqual(2);
        await waitFor(
          'no connection of the cache left on the demoted master',
          async () =>
            (await connectionsOn(owner)).some((c) => c.name === TRACKER_NAME || c.name === SUBSCRIBER_NAME)
              ? undefined
              : true,
          { withinMs: 10_000, everyMs: 50 },
        );

        expect(await cachedSecret(store, cache, 'c1')).toBe('after');
        await resetStats(cluster);
        for (let i = 0; i < 5; i += 1) expect(await secretOf(store, 'c1')).toBe('after');
        expect(await hgetallsEverywhere(cluster)).toBe(0);

        await writer.putClient(clientMetadata('c1', { client_secret: 'later' }), T2);
        await waitFor(
          'the later change read',
          async () => ((await secretOf(store, 'c1')) === 'later' ? true : undefined),
          {
            withinMs: 3000,
            everyMs: 2,
          },
        );
      } finally {
        await store.close();
      }
    });

    it('drops the cache by its heartbeat when the tracked master is demoted, with no read, then moves', async () => {
      const keys = new StoreKeys(cluster.namespace('cc-heartbeat'));
      const slot = keySlot(keys.clientPrefix);
      const settings = { ...clientCacheSettings(true, 2000, 'test')!, heartbeatMs: 100, warn: () => {} };
      const cache = new ClientCache(clients[kind]!, keys.clientPrefix, settings);
      // reads as the store makes them, routed by the cluster client
      const connection = new Connection(clients[kind]!, { timeoutMs: 2000 });
      const key = keys.client('c1');
      const load = async () => hashFields(await connection.send('HGETALL', key));
      try {
        expect(await cache.read(key, load)).toEqual({});
        expect(await cache.tracking(10_000)).toBe(true);
        const owner = await ownerOf(cluster.ports[0]!, slot);

        const promoted = await failOver(cluster, owner, slot);
        await waitFor('the cache dropped', () => (cache.stats().drops >= 1 ? true : undefined), { withinMs: 10_000 });
        // a lookup meanwhile goes to Redis, and redirects a client that had not noticed the failover
        expect(await cache.read(key, load)).toEqual({});
        expect(await cache.tracking(10_000)).toBe(true);
        const connections = await connectionsOn(promoted);
        expect(connections.find((c) => c.name === TRACKER_NAME && c.flags?.includes('t'))).toBeDefined();
      } finally {
        await cache.close();
      }
    });
  });
});
