import { setTimeout as sleep } from 'node:timers/promises';

import { Cluster, type Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  ClientCache,
  clientCacheOf,
  clientCacheSettings,
  type ClientCacheSettings,
} from '../adapters/redis/client-cache/index.js';
import { ownershipProblem } from '../adapters/redis/client-cache/replies.js';
import type { NodeRedisClient, RedisClient } from '../adapters/redis/client.js';
import { StoreKeys } from '../adapters/redis/keys.js';
import { redisStore } from '../adapters/redis/store.js';
import { basicAuth } from '../support/http.js';
import { commandCalls } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';
import { startServerProcess, stopServerProcesses, type ServerProcess } from './support/processes.js';
import { redisOrSkip, startRedis, type TestRedis } from './support/redis.js';
import { T0, T1, clientMetadata } from './support/store-cases.js';

const TRACKER_NAME = 'appkeys-client-cache-tracker';
const SUBSCRIBER_NAME = 'appkeys-client-cache-invalidations';

/** Polls `check` every 10 ms for at most 3 s (or as given) until it returns something other than undefined. */
function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  withinMs = 3000,
  everyMs = 10,
): Promise<T> {
  return waitFor(what, check, { withinMs, everyMs });
}

/** CLIENT LIST as records, one per connection. */
async function clientList(raw: Redis): Promise<Array<Record<string, string>>> {
  const text = String(await raw.call('CLIENT', 'LIST'));
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) =>
      Object.fromEntries(
        line
          .trim()
          .split(' ')
          .map((pair) => {
            const at = pair.indexOf('=');
            return [pair.slice(0, at), pair.slice(at + 1)];
          }),
      ),
    );
}

/** Calls of one command since the last CONFIG RESETSTAT. */
async function callsOf(raw: Redis, command: string): Promise<number> {
  return commandCalls(String(await raw.call('INFO', 'commandstats'))).get(command) ?? 0;
}

/** The store's client in a test, of either library, and what the test does on its own connection. */
interface Caller {
  readonly client: RedisClient;
  command(...args: string[]): Promise<unknown>;
  ready(): boolean;
}

type Kind = 'ioredis' | 'node-redis';
const KINDS: readonly Kind[] = ['ioredis', 'node-redis'];

/** Opens callers of one library on `redis`; `close()` closes the node-redis ones (`redis.stop()` the others). */
function callersOf(kind: Kind, redis: () => TestRedis) {
  const opened: Array<{ destroy(): void }> = [];
  return {
    async open(auth: { username?: string; password?: string } = {}): Promise<Caller> {
      if (kind === 'ioredis') {
        const client = redis().client(auth);
        return {
          client,
          command: (name, ...args) => client.call(name, ...args),
          ready: () => client.status === 'ready',
        };
      }
      const created = createClient({ url: redis().url, ...auth });
      created.on('error', () => {});
      const client: NodeRedisClient & { destroy(): void } = await created.connect();
      opened.push(client);
      return { client, command: (...args) => client.sendCommand(args), ready: () => client.isReady };
    },
    close() {
      for (const client of opened.splice(0)) client.destroy();
    },
  };
}

describe("a cluster node's CLUSTER NODES reply, as the cache checks it", () => {
  const nodes = (myself: string) =>
    [
      'c73999fe 127.0.0.1:43701@53701 master - 0 1796189507050 1 connected 0-5460',
      `c3e3c5d4 127.0.0.1:28359@38359 ${myself}`,
      '098ca872 127.0.0.1:33760@43760 slave c3e3c5d4 0 1796189507050 2 connected',
    ].join('\n') + '\n';

  it('finds nothing wrong with a master owning the slot, in a range or alone', () => {
    expect(ownershipProblem(nodes('myself,master - 0 0 2 connected 5461-10922'), 5461)).toBeUndefined();
    expect(ownershipProblem(nodes('myself,master - 0 0 2 connected 100 5461-10922 12000'), 12000)).toBeUndefined();
  });

  it('refuses a replica, a master without the slot, or one migrating it', () => {
    expect(ownershipProblem(nodes('myself,slave 098ca872 0 0 7 connected'), 6000)).toBe(
      'the node is no longer a master',
    );
    expect(ownershipProblem(nodes('myself,master - 0 0 2 connected 5462-10922'), 5461)).toBe(
      'the node no longer owns the slot',
    );
    expect(ownershipProblem(nodes('myself,master - 0 0 2 connected 5461-10922 [6000->-c73999fe]'), 6000)).toBe(
      'the slot is migrating',
    );
    expect(
      ownershipProblem(nodes('myself,master - 0 0 2 connected 5461-10922 [7000->-c73999fe]'), 6000),
    ).toBeUndefined();
    expect(ownershipProblem('', 6000)).toBe('unexpected CLUSTER NODES reply');
  });
});

describe.runIf(redisOrSkip())('redisStore clientCache', () => {
  describe('options', () => {
    let redis: TestRedis;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('rejects a clientCache that is not true, false or { maxEntries?, maxAgeMs? }, naming the option', () => {
      const client = redis.client({ lazyConnect: true });
      const attempt = (clientCache: unknown) => () => redisStore({ client, clientCache: clientCache as boolean });
      for (const value of ['yes', 1, null, [], () => {}]) {
        expect(attempt(value)).toThrow(
          /^redisStore options\.clientCache must be true, false or \{ maxEntries\?, maxAgeMs\? \}$/,
        );
      }
      expect(attempt({ ttl: 5 })).toThrow(/^redisStore options\.clientCache must be .*; unknown option ttl$/);
      for (const maxEntries of [0, -1, 1.5, '10', Number.NaN]) {
        expect(attempt({ maxEntries })).toThrow(
          /^redisStore options\.clientCache\.maxEntries must be a positive integer$/,
        );
      }
      expect(attempt({ maxAgeMs: 0 })).toThrow(
        /^redisStore options\.clientCache\.maxAgeMs must be a positive integer$/,
      );
      expect(() => redisStore({ client, clientCache: false })).not.toThrow();
      expect(() => redisStore({ client, clientCache: { maxEntries: 5, maxAgeMs: 1000 } })).not.toThrow();
    });

    it('takes every client redisStore takes, but an ioredis Cluster reading from replicas or anything else', () => {
      const cluster = new Cluster([{ host: '127.0.0.1', port: redis.port }], { lazyConnect: true });
      const fromReplicas = new Cluster([{ host: '127.0.0.1', port: redis.port }], {
        lazyConnect: true,
        scaleReads: 'slave',
      });
      const nodeRedis = createClient({ url: redis.url });
      const nodeRedisCluster = createCluster({ rootNodes: [{ url: redis.url }] });
      try {
        for (const client of [cluster, nodeRedis, nodeRedisCluster] as unknown as RedisClient[]) {
          expect(() => redisStore({ client, clientCache: true })).not.toThrow();
        }
        expect(() => redisStore({ client: fromReplicas, clientCache: true })).toThrow(
          /^redisStore options\.clientCache needs an ioredis Cluster that reads from masters \(scaleReads 'master'\)$/,
        );
        expect(() => redisStore({ client: { sendCommand() {} } as unknown as RedisClient, clientCache: true })).toThrow(
          /^redisStore options\.clientCache needs an ioredis client .* or a node-redis v5 client/,
        );
      } finally {
        cluster.disconnect();
        fromReplicas.disconnect();
      }
    });
  });

  describe.each(KINDS)('ClientCache against a real Redis, through a %s client', (kind) => {
    let redis: TestRedis;
    let raw: Redis;
    const callers = callersOf(kind, () => redis);
    const caches: ClientCache[] = [];
    beforeAll(async () => {
      redis = await startRedis();
      raw = redis.client();
    });
    afterEach(async () => {
      for (const cache of caches.splice(0)) await cache.close();
    });
    afterAll(async () => {
      callers.close();
      await redis?.stop();
    });

    function settings(overrides: Partial<ClientCacheSettings> = {}): ClientCacheSettings {
      return { ...clientCacheSettings(true, 2000, 'test')!, warn: () => {}, ...overrides };
    }

    /** A tracking cache over a client of its own, and a loader that counts the HGETALLs it makes. */
    async function trackingCache(overrides: Partial<ClientCacheSettings> = {}) {
      const caller = await callers.open();
      const keys = new StoreKeys(redis.namespace('cache'));
      const cache = new ClientCache(caller.client, keys.clientPrefix, settings(overrides));
      caches.push(cache);
      expect(await cache.tracking(5000)).toBe(true);
      let loads = 0;
      const load = (key: string) => async () => {
        loads += 1;
        return raw.hgetall(key);
      };
      return { cache, keys, caller, load, loads: () => loads };
    }

    it('serves a record from memory until any client changes it', async () => {
      const { cache, keys, load, loads } = await trackingCache();
      const key = keys.client('c1');
      await raw.hset(key, 'metadata', 'v1');
      expect(await cache.read(key, load(key))).toEqual({ metadata: 'v1' });
      expect(await cache.read(key, load(key))).toEqual({ metadata: 'v1' });
      expect(loads()).toBe(1);

      await raw.hset(key, 'metadata', 'v2');
      await cache.fence();
      expect(await cache.read(key, load(key))).toEqual({ metadata: 'v2' });
      expect(loads()).toBe(2);
      expect(cache.stats()).toMatchObject({ state: 'tracking', hits: 1, misses: 2, invalidations: 2 });
    });

    it(
      "never enables tracking on the caller's client, " + 'only on a dedicated connection redirected to the subscriber',
      async () => {
        const { caller } = await trackingCache();
        const own = String(await caller.command('CLIENT', 'INFO'));
        expect(/ flags=(\S*)/.exec(own)?.[1]).not.toContain('t');
        const connections = await clientList(raw);
        const tracker = connections.find((c) => c.name === TRACKER_NAME);
        const subscriber = connections.find((c) => c.name === SUBSCRIBER_NAME);
        expect(tracker?.flags).toContain('t');
        expect(subscriber?.flags).toContain('P');
        expect(tracker?.redir).toBe(subscriber?.id);
      },
    );

    it('caches "no such client" too, and forgets it when the client is created', async () => {
      const { cache, keys, load, loads } = await trackingCache();
      const key = keys.client('later');
      expect(await cache.read(key, load(key))).toEqual({});
      expect(await cache.read(key, load(key))).toEqual({});
      expect(loads()).toBe(1);

      await raw.hset(key, 'metadata', 'created');
      await cache.fence();
      expect(await cache.read(key, load(key))).toEqual({ metadata: 'created' });
      expect(loads()).toBe(2);
    });

    /** A loader whose first HGETALL answer is held back until `release()`, as if slow on the way home. */
    function heldBackLoader(key: string) {
      let count = 0;
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let answered = () => {};
      const firstAnswered = new Promise<void>((resolve) => {
        answered = resolve;
      });
      const load = async () => {
        count += 1;
        const value = await raw.hgetall(key);
        if (count === 1) {
          answered();
          await gate;
        }
        return value;
      };
      return { load, release, firstAnswered, count: () => count };
    }

    it('returns but never keeps an answer that a change overtook before it was cached', async () => {
      const { cache, keys } = await trackingCache();
      const key = keys.client('raced');
      await raw.hset(key, 'metadata', 'v1');
      const held = heldBackLoader(key);

      const first = cache.read(key, held.load);
      await held.firstAnswered;
      await raw.hset(key, 'metadata', 'v2');
      await cache.fence(); // the invalidation is handled while the v1 answer is still on its way
      held.release();
      expect(await first).toEqual({ metadata: 'v1' });

      expect(await cache.read(key, held.load)).toEqual({ metadata: 'v2' });
      expect(held.count()).toBe(2);
      expect(await cache.read(key, held.load)).toEqual({ metadata: 'v2' });
      expect(held.count()).toBe(2);
    });

    it(
      'lets no reader join a read that started before an invalidation, ' + 'nor that read overwrite a newer answer',
      async () => {
        const { cache, keys } = await trackingCache();
        const key = keys.client('joined');
        await raw.hset(key, 'metadata', 'v1');
        const held = heldBackLoader(key);

        const first = cache.read(key, held.load);
        await held.firstAnswered;
        await raw.hset(key, 'metadata', 'v2');
        await cache.fence();
        expect(await cache.read(key, held.load)).toEqual({ metadata: 'v2' });
        held.release();
        expect(await first).toEqual({ metadata: 'v1' });
        expect(await cache.read(key, held.load)).toEqual({ metadata: 'v2' });
        expect(held.count()).toBe(2);
      },
    );

    it('shares one load between concurrent misses of one key', async () => {
      const { cache, keys, load, loads } = await trackingCache();
      const key = keys.client('popular');
      await raw.hset(key, 'metadata', 'v1');
      const answers = await Promise.all(Array.from({ length: 20 }, () => cache.read(key, load(key))));
      expect(new Set(answers.map((answer) => answer.metadata))).toEqual(new Set(['v1']));
      expect(loads()).toBe(1);
    });

    it('drops everything on a flush, and keeps tracking', async () => {
      const { cache, keys, load, loads } = await trackingCache();
      const key = keys.client('flushed');
      await raw.hset(key, 'metadata', 'v1');
      await cache.read(key, load(key));
      await raw.flushall();
      await cache.fence();
      expect(await cache.read(key, load(key))).toEqual({});
      expect(loads()).toBe(2);
      expect(cache.stats()).toMatchObject({ state: 'tracking', drops: 1 });
    });

    it('keeps at most maxEntries records, evicting the least recently used', async () => {
      const { cache, keys, load, loads } = await trackingCache({ maxEntries: 2 });
      const [a, b, c] = ['a', 'b', 'c'].map((id) => keys.client(id)) as [string, string, string];
      for (const key of [a, b, c]) await raw.hset(key, 'metadata', key);
      await cache.read(a, load(a));
      await cache.read(b, load(b));
      await cache.read(a, load(a)); // a is now the most recently used
      await cache.read(c, load(c)); // evicts b
      expect(loads()).toBe(3);
      await cache.read(a, load(a));
      await cache.read(c, load(c));
      expect(loads()).toBe(3);
      await cache.read(b, load(b));
      expect(loads()).toBe(4);
      expect(cache.stats().size).toBe(2);
    });

    it('serves nothing older than maxAgeMs', async () => {
      const { cache, keys, load, loads } = await trackingCache({ maxAgeMs: 40 });
      const key = keys.client('aging');
      await raw.hset(key, 'metadata', 'v1');
      await cache.read(key, load(key));
      await cache.read(key, load(key));
      expect(loads()).toBe(1);
      await sleep(80);
      await cache.read(key, load(key));
      expect(loads()).toBe(2);
    });

    it(
      'bypasses the cache while its subscriber is down, sees changes made meanwhile, ' +
        'and tracks again with the new subscriber',
      async () => {
        const { cache, keys, load, loads } = await trackingCache();
        const key = keys.client('outage');
        await raw.hset(key, 'metadata', 'v1');
        await cache.read(key, load(key));
        const before = (await clientList(raw)).find((c) => c.name === SUBSCRIBER_NAME)!;

        await raw.call('CLIENT', 'KILL', 'ID', before.id!);
        await eventually('the cache bypassing', () => (cache.state === 'bypass' ? true : undefined));
        await raw.hset(key, 'metadata', 'changed while the subscriber was down');
        expect(await cache.read(key, load(key))).toEqual({ metadata: 'changed while the subscriber was down' });
        expect(cache.stats()).toMatchObject({ drops: 1, bypassed: 1 });

        expect(await cache.tracking(5000)).toBe(true);
        const connections = await clientList(raw);
        const subscriber = connections.find((c) => c.name === SUBSCRIBER_NAME)!;
        expect(subscriber.id).not.toBe(before.id);
        expect(connections.find((c) => c.name === TRACKER_NAME)?.redir).toBe(subscriber.id);

        const loadsBefore = loads();
        expect(await cache.read(key, load(key))).toEqual({ metadata: 'changed while the subscriber was down' });
        expect(await cache.read(key, load(key))).toEqual({ metadata: 'changed while the subscriber was down' });
        expect(loads()).toBe(loadsBefore + 1);
        await raw.hset(key, 'metadata', 'v3');
        await cache.fence();
        expect(await cache.read(key, load(key))).toEqual({ metadata: 'v3' });
      },
    );

    it('bypasses the cache when the tracking connection drops, and tracks again after it reconnects', async () => {
      const { cache, keys, load } = await trackingCache();
      const key = keys.client('tracker-outage');
      await raw.hset(key, 'metadata', 'v1');
      await cache.read(key, load(key));
      const tracker = (await clientList(raw)).find((c) => c.name === TRACKER_NAME)!;
      await raw.call('CLIENT', 'KILL', 'ID', tracker.id!);
      await eventually('the cache bypassing', () => (cache.state === 'bypass' ? true : undefined));
      await raw.hset(key, 'metadata', 'v2');
      expect(await cache.read(key, load(key))).toEqual({ metadata: 'v2' });
      expect(await cache.tracking(5000)).toBe(true);
      expect(cache.stats().established).toBe(2);
      expect(await cache.read(key, load(key))).toEqual({ metadata: 'v2' });
    });

    it('turns itself off with one warning when the server refuses tracking, and reads still go to Redis', async () => {
      await raw.call('ACL', 'SETUSER', 'no-tracking', 'on', '>pw', '~*', '&*', '+@all', '-client');
      const { client } = await callers.open({ username: 'no-tracking', password: 'pw' });
      const warnings: string[] = [];
      const keys = new StoreKeys(redis.namespace('refused'));
      const cache = new ClientCache(client, keys.clientPrefix, settings({ warn: (message) => warnings.push(message) }));
      caches.push(cache);
      expect(await cache.tracking(1000)).toBe(false);
      expect(cache.state).toBe('unsupported');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^redisStore clientCache is off: the server refused client tracking \(NOPERM/);

      const key = keys.client('c1');
      await raw.hset(key, 'metadata', 'v1');
      let loads = 0;
      const load = async () => {
        loads += 1;
        return raw.hgetall(key);
      };
      expect(await cache.read(key, load)).toEqual({ metadata: 'v1' });
      expect(await cache.read(key, load)).toEqual({ metadata: 'v1' });
      expect(loads).toBe(2);
      await eventually('its connections closed', async () =>
        (await clientList(raw)).some((c) => c.name === SUBSCRIBER_NAME || c.name === TRACKER_NAME) ? undefined : true,
      );
    });

    it("closes its own connections on close, and leaves the caller's client alone", async () => {
      const { cache, caller } = await trackingCache();
      await cache.close();
      expect(cache.state).toBe('closed');
      await eventually('its connections closed', async () => {
        const names = (await clientList(raw)).map((c) => c.name);
        return names.includes(TRACKER_NAME) || names.includes(SUBSCRIBER_NAME) ? undefined : true;
      });
      expect(await caller.command('PING')).toBe('PONG');
    });
  });

  describe.each(KINDS)('through redisStore on a %s client, across a redis-server restart', (kind) => {
    let redis: TestRedis;
    const callers = callersOf(kind, () => redis);
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      callers.close();
      await redis?.stop();
    });

    it('drops the cache when the server goes away, serves no record from before, and rebuilds it', async () => {
      const prefix = redis.namespace('restart');
      const keys = new StoreKeys(prefix);
      const writer = redisStore({ client: redis.client(), prefix });
      const caller = await callers.open();
      const store = redisStore({ client: caller.client, prefix, clientCache: true });
      const cache = clientCacheOf(store)!;
      try {
        expect(await cache.tracking(5000)).toBe(true);
        await writer.putClient(clientMetadata('c1', { client_secret: 'before-restart' }), T0);
        await cache.fence();
        expect((await store.getClient('c1'))?.metadata.client_secret).toBe('before-restart');
        expect((await store.getClient('c1'))?.metadata.client_secret).toBe('before-restart');
        expect(cache.stats().hits).toBe(1);

        await redis.restart();
        // the new server is empty; a record written now, while our connections are still reconnecting,
        // must be what the store reads, never the one cached before the restart
        const raw = redis.client();
        await raw.hset(
          keys.client('c1'),
          'metadata',
          JSON.stringify(clientMetadata('c1', { client_secret: 'after-restart' })),
          'rev',
          '7',
        );
        await eventually('the client ready', () => (caller.ready() ? true : undefined), 10_000);
        expect((await store.getClient('c1'))?.metadata.client_secret).toBe('after-restart');
        expect(cache.stats().drops).toBe(1);

        expect(await cache.tracking(5000)).toBe(true);
        expect(cache.stats().established).toBe(2);
        await raw.call('CONFIG', 'RESETSTAT');
        for (let i = 0; i < 5; i += 1) expect((await store.getClient('c1'))?.revision).toBe(7);
        expect(await callsOf(raw, 'hgetall')).toBeLessThanOrEqual(1);

        // and invalidation works again, for changes from anywhere
        await writer.putClient(clientMetadata('c1', { client_secret: 'rotated' }), T1);
        await eventually(
          'the rotated secret read',
          async () => ((await store.getClient('c1'))?.metadata.client_secret === 'rotated' ? true : undefined),
          500,
          2,
        );
      } finally {
        await store.close();
        await writer.close();
      }
    });
  });

  describe('two standalone servers on one Redis, changes made through A', () => {
    const ADMIN_SECRET = 'client-cache-test-admin-secret-0123456789';
    let redis: TestRedis;
    let raw: Redis;
    let a: ServerProcess;
    let b: ServerProcess;
    let uncached: ServerProcess;
    let adminA: string;

    function startServer(env: Record<string, string>): Promise<ServerProcess> {
      return startServerProcess({ REDIS_URL: redis.url, APPKEYS_ADMIN_CLIENT_SECRET: ADMIN_SECRET, ...env });
    }

    async function call(
      server: ServerProcess,
      method: string,
      path: string,
      init: { token?: string; json?: unknown } = {},
    ) {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          ...(init.token && { authorization: `Bearer ${init.token}` }),
          ...(init.json !== undefined && { 'content-type': 'application/json' }),
        },
        ...(init.json !== undefined && { body: JSON.stringify(init.json) }),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
    }

    async function token(server: ServerProcess, clientId: string, secret: string, scope?: string) {
      const response = await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { authorization: basicAuth(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', ...(scope && { scope }) }).toString(),
      });
      return { status: response.status, body: (await response.json()) as Record<string, string> };
    }

    async function introspect(server: ServerProcess, accessToken: string) {
      const response = await fetch(`${server.url}/token/introspection`, {
        method: 'POST',
        headers: {
          authorization: basicAuth('appkeys-admin', ADMIN_SECRET),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token: accessToken }).toString(),
      });
      return (await response.json()) as Record<string, unknown>;
    }

    /**
     * Asks B right after A answered, then again every 5 ms for at most 300 ms, until `accepts`.
     * Resolves how many requests it took and the time from A's answer to B's first fitting answer.
     */
    async function seenByB<T>(ask: () => Promise<T>, accepts: (answer: T) => boolean) {
      const start = performance.now();
      for (let attempts = 1; ; attempts += 1) {
        const answer = await ask();
        if (accepts(answer)) return { attempts, ms: performance.now() - start };
        if (performance.now() - start > 300)
          throw new Error(`B still answered ${JSON.stringify(answer)} 300 ms after A's change`);
        await sleep(5);
      }
    }

    const windows: Array<{ change: string; attempts: number; ms: number }> = [];
    const rejected = (answer: { status: number; body: Record<string, string> }) =>
      answer.status === 401 && answer.body.error === 'invalid_client';
    const issued = (answer: { status: number }) => answer.status === 200;

    async function provideClient(clientId: string, secret: string, keyType = 'PRODUCTION') {
      expect(
        (
          await call(a, 'PUT', `/appkeys/clients/${clientId}`, {
            token: adminA,
            json: { client_secret: secret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
          })
        ).status,
      ).toBe(201);
      const app = await call(a, 'POST', '/appkeys/applications', {
        token: adminA,
        json: { name: `app of ${clientId}`, owner: 'alice' },
      });
      expect(app.status).toBe(201);
      const applicationId = app.body.id as string;
      expect(
        (
          await call(a, 'PUT', `/appkeys/applications/${applicationId}/keys/${keyType}`, {
            token: adminA,
            json: { client_id: clientId, client_secret: secret },
          })
        ).status,
      ).toBe(201);
      return applicationId;
    }

    beforeAll(async () => {
      redis = await startRedis();
      raw = redis.client();
      [a, b, uncached] = await Promise.all([
        startServer({ APPKEYS_CLIENT_CACHE: '1' }),
        startServer({ APPKEYS_CLIENT_CACHE: '1' }),
        startServer({}),
      ]);
      const admin = await token(a, 'appkeys-admin', ADMIN_SECRET, 'appkeys:admin');
      expect(admin.status).toBe(200);
      adminA = admin.body.access_token!;
      // a cache starts with the first client lookup; both must track before anything is measured
      for (const server of [a, b]) expect((await token(server, 'nobody', 'nothing')).status).toBe(401);
      await eventually('both caches tracking', async () =>
        (await clientList(raw)).filter((c) => c.name === TRACKER_NAME && c.flags?.includes('t')).length === 2
          ? true
          : undefined,
      );
    }, 60_000);

    afterAll(async () => {
      await stopServerProcesses([a, b, uncached].filter((server) => server !== undefined));
      await redis?.stop();
      if (windows.length) {
        const ms = windows.map((w) => w.ms).sort((x, y) => x - y);
        const first = windows.filter((w) => w.attempts === 1).length;
        process.stdout.write(
          `client cache window: ${first}/${windows.length} changes made through A were honoured by B's very first ` +
            `request after A answered; from A's answer to B's honouring answer (B's own request included): ` +
            `median ${ms[Math.floor(ms.length / 2)]!.toFixed(1)} ms, slowest ${ms[ms.length - 1]!.toFixed(1)} ms\n`,
        );
      }
    });

    it('a BLOCK makes B answer invalid_client at once, and unblocking lets the client back in', async () => {
      const applicationId = await provideClient('svc-block', 'secret-of-svc-block-0123456789');
      for (let i = 0; i < 2; i += 1)
        expect((await token(b, 'svc-block', 'secret-of-svc-block-0123456789')).status).toBe(200);

      for (let cycle = 0; cycle < 10; cycle += 1) {
        expect(
          (
            await call(a, 'PATCH', `/appkeys/applications/${applicationId}`, {
              token: adminA,
              json: { status: 'BLOCKED' },
            })
          ).status,
        ).toBe(200);
        windows.push({
          change: 'block',
          ...(await seenByB(() => token(b, 'svc-block', 'secret-of-svc-block-0123456789'), rejected)),
        });
        expect(
          (
            await call(a, 'PATCH', `/appkeys/applications/${applicationId}`, {
              token: adminA,
              json: { status: 'ACTIVE' },
            })
          ).status,
        ).toBe(200);
        windows.push({
          change: 'unblock',
          ...(await seenByB(() => token(b, 'svc-block', 'secret-of-svc-block-0123456789'), issued)),
        });
      }
    });

    it('an unbind and a bind to another application show in the next token B issues', async () => {
      const first = await provideClient('svc-move', 'secret-of-svc-move-0123456789');
      const issuedBy = async () =>
        introspect(b, (await token(b, 'svc-move', 'secret-of-svc-move-0123456789')).body.access_token!);
      expect(await issuedBy()).toMatchObject({ active: true, application_id: first, key_type: 'PRODUCTION' });

      expect(
        (await call(a, 'DELETE', `/appkeys/applications/${first}/keys/PRODUCTION`, { token: adminA })).status,
      ).toBe(204);
      windows.push({
        change: 'unbind',
        ...(await seenByB(issuedBy, (claims) => claims.active === true && claims.application_id === undefined)),
      });

      const second = await call(a, 'POST', '/appkeys/applications', {
        token: adminA,
        json: { name: 'second home', owner: 'bob' },
      });
      const secondId = second.body.id as string;
      expect(
        (
          await call(a, 'PUT', `/appkeys/applications/${secondId}/keys/SANDBOX`, {
            token: adminA,
            json: { client_id: 'svc-move', client_secret: 'secret-of-svc-move-0123456789' },
          })
        ).status,
      ).toBe(201);
      windows.push({
        change: 'bind',
        ...(await seenByB(issuedBy, (claims) => claims.application_id === secondId && claims.key_type === 'SANDBOX')),
      });
    });

    it('a secret rotated or replaced through A makes B refuse the old secret', async () => {
      const app = await call(a, 'POST', '/appkeys/applications', {
        token: adminA,
        json: { name: 'generated', owner: 'carol' },
      });
      const generated = await call(a, 'POST', `/appkeys/applications/${app.body.id as string}/keys/PRODUCTION`, {
        token: adminA,
        json: { grant_types: ['client_credentials'] },
      });
      expect(generated.status).toBe(201);
      const clientId = generated.body.client_id as string;
      const oldSecret = generated.body.client_secret as string;
      expect((await token(b, clientId, oldSecret)).status).toBe(200);
      expect((await token(b, clientId, oldSecret)).status).toBe(200);

      const rotated = await call(a, 'POST', `/appkeys/applications/${app.body.id as string}/keys/PRODUCTION/secret`, {
        token: adminA,
      });
      expect(rotated.status).toBe(200);
      windows.push({ change: 'rotate', ...(await seenByB(() => token(b, clientId, oldSecret), rejected)) });
      expect((await token(b, clientId, rotated.body.client_secret as string)).status).toBe(200);

      // an out-of-band client's metadata replaced by the admin, with a new secret
      await provideClient('svc-replace', 'secret-of-svc-replace-old-0123');
      expect((await token(b, 'svc-replace', 'secret-of-svc-replace-old-0123')).status).toBe(200);
      expect(
        (
          await call(a, 'PUT', '/appkeys/clients/svc-replace', {
            token: adminA,
            json: {
              client_secret: 'secret-of-svc-replace-new-0123',
              grant_types: ['client_credentials'],
              response_types: [],
              redirect_uris: [],
            },
          })
        ).status,
      ).toBe(200);
      windows.push({
        change: 'replace',
        ...(await seenByB(() => token(b, 'svc-replace', 'secret-of-svc-replace-old-0123'), rejected)),
      });
      expect((await token(b, 'svc-replace', 'secret-of-svc-replace-new-0123')).status).toBe(200);
    });

    it(
      'a client deleted through A is refused by B; ' + 'one registered through A after B was refused is accepted',
      async () => {
        await provideClient('svc-delete', 'secret-of-svc-delete-0123456789');
        expect((await token(b, 'svc-delete', 'secret-of-svc-delete-0123456789')).status).toBe(200);
        expect((await call(a, 'DELETE', '/appkeys/clients/svc-delete?force=true', { token: adminA })).status).toBe(204);
        windows.push({
          change: 'delete',
          ...(await seenByB(() => token(b, 'svc-delete', 'secret-of-svc-delete-0123456789'), rejected)),
        });

        // B has just cached "no such client"
        expect(rejected(await token(b, 'svc-late', 'secret-of-svc-late-0123456789'))).toBe(true);
        expect(
          (
            await call(a, 'PUT', '/appkeys/clients/svc-late', {
              token: adminA,
              json: {
                client_secret: 'secret-of-svc-late-0123456789',
                grant_types: ['client_credentials'],
                response_types: [],
                redirect_uris: [],
              },
            })
          ).status,
        ).toBe(201);
        windows.push({
          change: 'register',
          ...(await seenByB(() => token(b, 'svc-late', 'secret-of-svc-late-0123456789'), issued)),
        });
      },
    );

    it(
      'a cached server makes N token requests with N EVALSHA and no HGETALL; ' + 'an uncached one with N of each',
      async () => {
        await provideClient('svc-count', 'secret-of-svc-count-0123456789');
        const N = 50;
        const countFor = async (server: ServerProcess) => {
          expect((await token(server, 'svc-count', 'secret-of-svc-count-0123456789')).status).toBe(200);
          await raw.call('CONFIG', 'RESETSTAT');
          for (let i = 0; i < N; i += 1)
            expect((await token(server, 'svc-count', 'secret-of-svc-count-0123456789')).status).toBe(200);
          return { hgetall: await callsOf(raw, 'hgetall'), evalsha: await callsOf(raw, 'evalsha') };
        };
        expect(await countFor(b)).toEqual({ hgetall: 0, evalsha: N });
        expect(await countFor(uncached)).toEqual({ hgetall: N, evalsha: N });
      },
    );
  });
});
