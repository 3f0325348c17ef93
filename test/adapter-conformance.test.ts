import type { Redis } from 'ioredis';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { memoryAdapter } from '../src/memory/provider-adapter.js';
import type { NodeRedisClient } from '../adapters/redis/client.js';
import { redisAdapter } from '../adapters/redis/index.js';
import { ProviderKeys } from '../adapters/redis/keys.js';
import { adapterConformance, HOSTILE_IDS, MODELS, payloadFor } from './support/adapter-conformance.js';
import { redisOrSkip, startRedis, type TestRedis } from './support/redis.js';

describe.runIf(redisOrSkip())('Redis adapter', () => {
  let redis: TestRedis;
  let client: Redis;
  // a database of its own on the private server, so that every key in it was made by one test
  let isolated: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
    isolated = redis.client({ db: 7 });
  });
  afterAll(async () => {
    await redis.stop();
  });

  // a client per adapter: each redisAdapter() adds a listener to its client, and dozens on one client
  // would trip Node's listener-leak warning
  adapterConformance('redisAdapter', () => redisAdapter({ client: redis.client(), prefix: redis.namespace('conf') }));

  // node-redis v5 clients, RESP2 (hashes as flat lists) and RESP3 (hashes as objects): one per protocol,
  // shared by every adapter of its run
  for (const RESP of [2, 3] as const) {
    describe(`with a node-redis client, RESP${RESP}`, () => {
      let nodeRedis: NodeRedisClient & { destroy(): void };
      beforeAll(async () => {
        const connecting = createClient({ url: redis.url, RESP });
        connecting.on('error', () => {});
        nodeRedis = await connecting.connect();
      });
      afterAll(() => nodeRedis?.destroy());
      adapterConformance(`redisAdapter (node-redis RESP${RESP})`, () =>
        redisAdapter({ client: nodeRedis, prefix: redis.namespace('conf-nr') }),
      );
    });
  }

  it('rejects a client that is neither an ioredis nor a node-redis client, naming the option', () => {
    for (const malformed of [undefined, {}, { call: () => {} }, { sendCommand: () => {} }]) {
      expect(() => redisAdapter({ client: malformed as never })).toThrow(
        /^redisAdapter options\.client must be an ioredis client/,
      );
    }
  });

  async function allKeys(connection: Redis): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await connection.scan(cursor, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  }

  it('creates every key under its prefix, each tagged by its own id, whatever the ids', async () => {
    const prefix = redis.namespace('layout');
    const factory = redisAdapter({ client: isolated, prefix });
    // with REDIS_URL the database may hold keys of earlier runs: only the new ones are this adapter's
    const before = new Set(await allKeys(isolated));
    for (const raw of HOSTILE_IDS) {
      for (const model of MODELS) {
        await factory(model).upsert(raw, payloadFor(model, raw, { grantId: raw, uid: raw, userCode: raw }), 60);
      }
    }
    const keys = (await allKeys(isolated)).filter((key) => !before.has(key));
    // per id: one instance per model, a Session uid index, a grant set, one user-code index per model
    expect(keys.length).toBe(HOSTILE_IDS.length * (MODELS.length + 2 + MODELS.length));
    for (const key of keys) expect(key.startsWith(prefix)).toBe(true);
    // one hash tag per key, holding only the encoded id: no id can open or close another
    for (const key of keys) expect(key.slice(prefix.length)).toMatch(/^[A-Za-z]+(:[A-Za-z]+)?:\{[A-Za-z0-9._%-]*\}$/);
  });

  it('sets a TTL on an instance and on each of its indexes', async () => {
    const prefix = redis.namespace('ttl');
    const keys = new ProviderKeys(prefix);
    const factory = redisAdapter({ client, prefix });
    await factory('Session').upsert('s1', payloadFor('Session', 's1', { uid: 'u1' }), 60);
    await factory('DeviceCode').upsert('d1', payloadFor('DeviceCode', 'd1', { userCode: 'UC1', grantId: 'g1' }), 60);

    for (const key of [
      keys.model('Session', 's1'),
      keys.sessionUid('u1'),
      keys.model('DeviceCode', 'd1'),
      keys.userCode('DeviceCode', 'UC1'),
      keys.grant('g1'),
    ]) {
      expect(await client.pttl(key), key).toBeGreaterThan(0);
    }
  });

  it('marks a revoked grant for at least revokedGrantTtl, and as long as its longest-lived member', async () => {
    const prefix = redis.namespace('revoked-ttl');
    const keys = new ProviderKeys(prefix);
    const factory = redisAdapter({ client, prefix, revokedGrantTtl: 120 });
    await factory('RefreshToken').upsert('rt', payloadFor('RefreshToken', 'rt', { grantId: 'g' }), 3600);
    await factory('RefreshToken').upsert('short', payloadFor('RefreshToken', 'short', { grantId: 'h' }), 30);
    await factory('RefreshToken').revokeByGrantId('g');
    await factory('RefreshToken').revokeByGrantId('h');
    expect(await client.ttl(keys.revokedGrant('g'))).toBeGreaterThan(3000);
    expect(await client.ttl(keys.revokedGrant('h'))).toBeGreaterThan(100);
    expect(await client.exists(keys.grant('g'), keys.model('RefreshToken', 'rt'))).toBe(0);
    expect(() => redisAdapter({ client, revokedGrantTtl: 0 })).toThrow('redisAdapter options.revokedGrantTtl');
  });

  it('keeps a grant index as long as its longest-lived member', async () => {
    const prefix = redis.namespace('grant-ttl');
    const keys = new ProviderKeys(prefix);
    const factory = redisAdapter({ client, prefix });
    await factory('RefreshToken').upsert('rt', payloadFor('RefreshToken', 'rt', { grantId: 'g' }), 3600);
    await factory('AccessToken').upsert('at', payloadFor('AccessToken', 'at', { grantId: 'g' }), 60);
    expect(await client.ttl(keys.grant('g'))).toBeGreaterThan(60);
  });
});

describe('memoryAdapter', () => {
  adapterConformance('memoryAdapter', () => memoryAdapter());

  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps every instance however many are stored, never evicting to make room', async () => {
    const adapter = memoryAdapter()('AccessToken');
    const ids = Array.from({ length: 5_000 }, (_, n) => `at-${n}`);
    for (const id of ids) await adapter.upsert(id, { jti: id }, 60);
    const found = await Promise.all(ids.map((id) => adapter.find(id)));
    expect(found.filter(Boolean)).toHaveLength(ids.length);
  });

  it('drops an expired instance and its indexes as soon as it is read', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    const factory = memoryAdapter();
    await factory('Session').upsert('s', { uid: 'u' }, 1);
    expect(factory.size).toBe(2);
    vi.advanceTimersByTime(1_001);
    expect(await factory('Session').findByUid('u')).toBeUndefined();
    expect(factory.size).toBe(0);
  });

  it('sweeps expired instances and their indexes without being asked', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    const factory = memoryAdapter();
    for (let n = 0; n < 100; n += 1) {
      await factory('DeviceCode').upsert(`d${n}`, { userCode: `U${n}`, grantId: `g${n % 7}` }, 1);
      await factory('Session').upsert(`s${n}`, { uid: `u${n}` }, 1);
    }
    await factory('Client').upsert('kept', { client_id: 'kept' });
    expect(factory.size).toBe(100 * 5 + 1);
    vi.advanceTimersByTime(60_000);
    expect(factory.size).toBe(1);
  });

  it('adds the clock tolerance to every expiry', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    const adapter = memoryAdapter({ clockTolerance: 5 })('AccessToken');
    await adapter.upsert('at', { jti: 'at' }, 1);
    vi.advanceTimersByTime(5_500);
    expect(await adapter.find('at')).toEqual({ jti: 'at' });
    vi.advanceTimersByTime(1_000);
    expect(await adapter.find('at')).toBeUndefined();
  });

  it('rejects a clock tolerance that is not a non-negative number, naming the option', () => {
    expect(() => memoryAdapter({ clockTolerance: -1 })).toThrow('memoryAdapter options.clockTolerance');
    expect(() => memoryAdapter({ clockTolerance: Number.NaN })).toThrow('memoryAdapter options.clockTolerance');
  });
});

// the reference the suite itself is checked against: oidc-provider's own development adapter
adapterConformance('oidc-provider memory adapter (reference)', () => createMemoryAdapter(), {
  consumeOfMissingRejects: true,
  sharesObjects: true,
  forgetsRevokedGrants: true,
});
