import type { AdapterFactory } from 'oidc-provider';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';

import { redisAdapter, redisStore } from '../../adapters/redis/index.js';
import { ProviderKeys } from '../../adapters/redis/keys.js';
import { memoryAdapter } from '../../src/memory/provider-adapter.js';
import { memoryStore } from '../../src/memory/store.js';
import type { BindingStore } from '../../src/store.js';
import { redisOrSkip, startRedis, type TestRedis } from './redis.js';

/** Where a provider keeps its state for one test: the appkeys store, and (optionally) every other model. */
export interface Opened {
  readonly store: BindingStore;
  /** Absent: the provider's own in-memory adapter. */
  readonly adapter?: AdapterFactory;
  /** On Redis: the client and the key prefix under which the store (`appkeys:`) and the models (`oidc:`) live. */
  readonly client?: Redis;
  readonly prefix?: string;
  /**
   * Redis: the AccessToken and ClientCredentials records under the test's prefix. Memory: every entry
   * the adapter holds, which a token request changes only by saving a token.
   */
  storedTokens?(): Promise<number>;
  cleanup(): Promise<void>;
}

export interface Backend {
  readonly name: string;
  open(): Promise<Opened>;
}

export const memoryBackend: Backend = {
  name: 'memory',
  async open() {
    const store = memoryStore({ warn: () => {} });
    const adapter = memoryAdapter();
    return {
      store,
      adapter,
      storedTokens: async () => adapter.size,
      cleanup: () => store.close(),
    };
  },
};

/**
 * A Redis store and the Redis provider adapter on a client of their own, under a fresh prefix. `server`
 * is asked when a test opens its backend, after the suite's `beforeAll` started the redis-server.
 */
export function redisBackend(server: () => TestRedis | undefined, label = 'backend'): Backend {
  return {
    name: 'redis',
    async open() {
      const redis = server();
      if (!redis) throw new Error('the Redis backend opened before its redis-server started');
      const client = redis.client();
      const prefix = redis.namespace(label);
      const store = redisStore({ client, prefix: `${prefix}appkeys:` });
      const models = new ProviderKeys(`${prefix}oidc:`);
      const count = async (pattern: string): Promise<number> => {
        let cursor = '0';
        let found = 0;
        do {
          const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          cursor = next;
          found += batch.length;
        } while (cursor !== '0');
        return found;
      };
      return {
        store,
        adapter: redisAdapter({ client, prefix: `${prefix}oidc:` }),
        client,
        prefix,
        // the models' key prefixes, from the one module that builds keys, plus a glob
        storedTokens: async () =>
          (await count(models.modelPattern('AccessToken'))) + (await count(models.modelPattern('ClientCredentials'))),
        async cleanup() {
          await store.close();
          client.disconnect();
        },
      };
    },
  };
}

/**
 * The backends of a test file, each of its tests to run on both: Redis, when Redis suites run here, on a
 * redis-server started before the file's tests and stopped after them; and memory.
 */
export function fileBackends(label?: string): Backend[] {
  const withRedis = redisOrSkip();
  let redis: TestRedis | undefined;
  beforeAll(async () => {
    if (withRedis) redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  return [...(withRedis ? [redisBackend(() => redis, label)] : []), memoryBackend];
}
