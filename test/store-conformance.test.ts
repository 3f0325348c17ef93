import { setTimeout as sleep } from 'node:timers/promises';

import type { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { NodeRedisClient, RedisClient } from '../adapters/redis/client.js';
import { clientCacheOf } from '../adapters/redis/client-cache/index.js';
import { StoreKeys } from '../adapters/redis/keys.js';
import { BINDING_FIELD } from '../adapters/redis/layout.js';
import { redisMaintenance } from '../adapters/redis/repair.js';
import { redisStore } from '../adapters/redis/store.js';
import { memoryStore, MEMORY_STORE_WARNING } from '../src/memory/store.js';
import { isStoreUnavailable } from '../src/errors.js';
import { externalClientRef } from '../src/issuers/ref.js';
import { redisOrSkip, startRedis, type TestRedis } from './support/redis.js';
import { T0, bindRequest, clientMetadata, newApplication, type StoreUnderTest } from './support/store-cases.js';
import { describeStoreConformance } from './support/store-conformance.js';
import { storedIssuer } from './support/store-conformance-issuers.js';

// ---- the stores -------------------------------------------------------------------------------------

describe('memoryStore', () => {
  it('warns once per process that its data is lost on restart and not shared between processes', async () => {
    const emitted: Error[] = [];
    const listen = (warning: Error) => {
      emitted.push(warning);
    };
    process.on('warning', listen);
    try {
      memoryStore();
      memoryStore();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listen);
    }
    const ours = emitted.filter((warning) => (warning as Error & { code?: string }).code === 'APPKEYS_MEMORY_STORE');
    expect(ours).toHaveLength(1);
    expect(ours[0]?.message).toMatch(/restart/);
    expect(ours[0]?.message).toMatch(/not shared/i);
  });

  it('sends its warning to the warn option instead, when given', () => {
    const messages: string[] = [];
    memoryStore({ warn: (message) => messages.push(message) });
    expect(messages).toEqual([MEMORY_STORE_WARNING]);
  });
});

describeStoreConformance('memory', async () => {
  const store = memoryStore({ warn: () => {} });
  return { store, cleanup: () => store.close() };
});

if (redisOrSkip()) {
  describe('redisStore', () => {
    let redis: TestRedis;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    async function redisUnderTest(): Promise<StoreUnderTest & { client: Redis; keys: StoreKeys; prefix: string }> {
      const client = redis.client();
      const prefix = redis.namespace('store');
      const store = redisStore({ client, prefix });
      return {
        store,
        client,
        prefix,
        keys: new StoreKeys(prefix),
        async cleanup() {
          await store.close();
          client.disconnect();
        },
      };
    }

    describeStoreConformance('redis', redisUnderTest);

    // with the in-process client cache, a store must still read its own changes at once
    describeStoreConformance('redis, clientCache on', async () => {
      const client = redis.client();
      const store = redisStore({ client, prefix: redis.namespace('store-cached'), clientCache: true });
      // serving from memory before the test starts, so that no read of it goes around the cache
      if (!(await clientCacheOf(store)?.tracking(5000))) throw new Error('the client cache is not tracking');
      return {
        store,
        async cleanup() {
          await store.close();
          client.disconnect();
        },
      };
    });

    /** A connected node-redis v5 client of the private server. */
    async function nodeRedisClient(RESP: 2 | 3 = 2, url = redis.url): Promise<NodeRedisClient & { destroy(): void }> {
      const client = createClient({ url, RESP });
      client.on('error', () => {});
      return client.connect();
    }

    // node-redis v5: RESP2 answers hashes as flat lists, RESP3 as objects
    for (const RESP of [2, 3] as const) {
      describeStoreConformance(`redis, node-redis client RESP${RESP}`, async () => {
        const client = await nodeRedisClient(RESP);
        const store = redisStore({ client, prefix: redis.namespace('store-nr') });
        return {
          store,
          async cleanup() {
            await store.close();
            client.destroy();
          },
        };
      });
    }

    // the cache's own connections speak RESP2, whatever the caller's client speaks
    describeStoreConformance('redis, node-redis client RESP3, clientCache on', async () => {
      const client = await nodeRedisClient(3);
      const store = redisStore({ client, prefix: redis.namespace('store-nr-cached'), clientCache: true });
      if (!(await clientCacheOf(store)?.tracking(5000))) throw new Error('the client cache is not tracking');
      return {
        store,
        async cleanup() {
          await store.close();
          client.destroy();
        },
      };
    });

    describe('options', () => {
      it('rejects a client that is neither an ioredis nor a node-redis client, naming the option', () => {
        for (const client of [
          undefined,
          null,
          {},
          { call: () => {} },
          { sendCommand: () => {} },
          'redis://localhost',
        ]) {
          expect(() => redisStore({ client: client as unknown as RedisClient })).toThrow(
            /^redisStore options\.client must be an ioredis client/,
          );
        }
      });

      it(
        'rejects a waitForReplicas that is not { replicas, timeoutMs } of positive integers, ' + 'naming the option',
        () => {
          const client = redis.client();
          for (const [waitForReplicas, path] of [
            [0, 'waitForReplicas'],
            [{ replicas: 0, timeoutMs: 100 }, 'waitForReplicas.replicas'],
            [{ replicas: 1.5, timeoutMs: 100 }, 'waitForReplicas.replicas'],
            [{ replicas: 1 }, 'waitForReplicas.timeoutMs'],
            [{ replicas: 1, timeoutMs: 0 }, 'waitForReplicas.timeoutMs'],
          ] as const) {
            expect(() => redisStore({ client, waitForReplicas: waitForReplicas as never })).toThrow(
              `redisStore options.${path} must be`,
            );
          }
        },
      );
    });

    describe('waitForReplicas', () => {
      it(
        'answers 503 when too few replicas acknowledge a change, ' + 'which has nonetheless landed on the master',
        async () => {
          // the private server has no replica: WAIT 1 times out with 0 acknowledgements
          const prefix = redis.namespace('wait');
          const store = redisStore({ client: redis.client(), prefix, waitForReplicas: { replicas: 1, timeoutMs: 50 } });
          const failure = await store.putClient(clientMetadata('c1'), T0).then(
            () => undefined,
            (err: unknown) => err,
          );
          expect(isStoreUnavailable(failure)).toBe(true);
          expect(String((failure as Error).cause)).toMatch(/0 of 1 replicas acknowledged/);
          // reads do not WAIT, and show the change on the master; a retry finds it there
          expect((await store.getClient('c1'))?.metadata).toEqual(clientMetadata('c1'));
          const plain = redisStore({ client: redis.client(), prefix });
          expect(await plain.putClient(clientMetadata('c1'), T0)).toBe('unchanged');
          expect(await plain.verify()).toEqual({ ok: true, problems: [] });
        },
      );

      it('answers 503 the same way through a node-redis client', async () => {
        const client = await nodeRedisClient();
        try {
          const store = redisStore({
            client,
            prefix: redis.namespace('wait-nr'),
            waitForReplicas: { replicas: 1, timeoutMs: 50 },
          });
          await expect(store.createApplication(newApplication('app1', 'bob'))).rejects.toSatisfy(isStoreUnavailable);
          expect((await store.getApplication('app1'))?.owner).toBe('bob');
        } finally {
          client.destroy();
        }
      });
    });

    describe('a node-redis client that lost its server', () => {
      it('refuses changes with 503 instead of queueing them, and none lands after the server returns', async () => {
        const own = await startRedis();
        const client = await nodeRedisClient(2, own.url);
        try {
          const store = redisStore({ client, prefix: own.namespace('offline'), timeoutMs: 500 });
          expect(await store.putClient(clientMetadata('before'), T0)).toBe('created');
          await own.kill();
          for (let i = 0; i < 100 && client.isReady; i += 1) await sleep(10);
          expect(client.isReady).toBe(false);

          const started = Date.now();
          await expect(store.putClient(clientMetadata('during'), T0)).rejects.toSatisfy(isStoreUnavailable);
          expect(Date.now() - started).toBeLessThan(500);

          await own.restart();
          for (let i = 0; i < 300 && !client.isReady; i += 1) await sleep(10);
          expect(client.isReady).toBe(true);
          await sleep(100);
          // the restarted server is empty: had the refused change been queued, it would be there now
          expect(await store.getClient('during')).toBeUndefined();
          expect(await store.putClient(clientMetadata('after'), T0)).toBe('created');
        } finally {
          client.destroy();
          await own.stop();
        }
      });
    });

    describe("verify() and repair on a third-party issuer's client", () => {
      it('reports and mends an external client record as any other', async () => {
        const { store, client, keys, prefix, cleanup } = await redisUnderTest();
        try {
          const clientId = externalClientRef('acme', 'cid:{x}');
          await store.putIssuer(storedIssuer('acme'));
          await store.createApplication(newApplication('app1', 'bob'));
          await store.bind(bindRequest('app1', 'PRODUCTION', clientId, { issuerId: 'acme' }));
          expect(await store.verify()).toEqual({ ok: true, problems: [] });

          await client.zrem(keys.clients, clientId);
          expect((await store.verify()).problems).toEqual([`client ${clientId} missing from the clients index`]);
          const maintenance = redisMaintenance({ client, prefix });
          const repaired = await maintenance.repair();
          expect(repaired.changes.map((change) => change.fix)).toEqual(['indexed_client']);
          expect(await store.verify()).toEqual({ ok: true, problems: [] });
          expect((await store.getClient(clientId))?.binding?.application_id).toBe('app1');
          // found again by its issuer's range
          expect(await store.deleteIssuer('acme')).toBe('bound');
        } finally {
          await cleanup();
        }
      });
    });

    describe('verify() on a corrupted keyspace', () => {
      let subject: Awaited<ReturnType<typeof redisUnderTest>>;
      beforeEach(async () => {
        subject = await redisUnderTest();
        const { store } = subject;
        await store.putClient(clientMetadata('c1'), T0);
        await store.createApplication(newApplication('app1', 'bob', 'Shop'));
        expect(await store.bind(bindRequest('app1', 'PRODUCTION', 'c1'))).toEqual({ outcome: 'created' });
        expect(await store.verify()).toEqual({ ok: true, problems: [] });
      });
      afterEach(async () => {
        // Each test restores what it broke, so the keyspace must be whole again.
        try {
          expect(await subject.store.verify()).toEqual({ ok: true, problems: [] });
        } finally {
          await subject.cleanup();
        }
      });

      /** Removes a key for the length of `check`, then puts it back exactly as it was. */
      async function without(key: string, check: () => Promise<void>): Promise<void> {
        const dump = await subject.client.dumpBuffer(key);
        expect(dump).not.toBeNull();
        await subject.client.del(key);
        try {
          await check();
        } finally {
          await subject.client.restore(key, 0, dump as Buffer);
        }
      }

      const expectProblems = async () => {
        const result = await subject.store.verify();
        expect(result.ok).toBe(false);
        expect(result.problems.length).toBeGreaterThan(0);
        for (const problem of result.problems) expect(typeof problem).toBe('string');
      };

      it('reports a bound client whose record is gone', async () => {
        await without(subject.keys.client('c1'), expectProblems);
      });

      it('reports a client record that lost its binding field', async () => {
        const key = subject.keys.client('c1');
        const binding = await subject.client.hget(key, BINDING_FIELD);
        expect(binding).not.toBeNull();
        await subject.client.hdel(key, BINDING_FIELD);
        try {
          await expectProblems();
        } finally {
          await subject.client.hset(key, BINDING_FIELD, binding!);
        }
      });

      it("reports an application missing from its owner's index", async () => {
        await without(subject.keys.ownerApplications('bob'), expectProblems);
      });

      it('reports an application whose name is missing from the name index', async () => {
        await without(subject.keys.ownerNames('bob'), expectProblems);
      });

      it('reports a binding whose application record is gone', async () => {
        await without(subject.keys.application('app1'), expectProblems);
      });

      it('pages through owner and name indexes larger than one batch, and reports a stray entry in them', async () => {
        const { store, client, keys } = subject;
        await Promise.all(
          Array.from({ length: 520 }, (_, i) =>
            store.createApplication(newApplication(`big${i}`, 'carol', `App ${i}`)),
          ),
        );
        expect(await store.verify()).toEqual({ ok: true, problems: [] });
        await client.zadd(keys.ownerApplications('carol'), 0, 'app1');
        await client.hset(keys.ownerNames('carol'), 'ghost', 'big0');
        try {
          const result = await store.verify();
          expect(result.problems).toEqual(
            expect.arrayContaining([
              expect.stringContaining('names application app1'),
              expect.stringContaining('maps a name to application big0'),
            ]),
          );
        } finally {
          await client.zrem(keys.ownerApplications('carol'), 'app1');
          await client.hdel(keys.ownerNames('carol'), 'ghost');
        }
      });
    });
  });
}
