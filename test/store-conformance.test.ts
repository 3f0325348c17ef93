import { setTimeout as sleep } from 'node:timers/promises';

import type { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { NodeRedisClient, RedisClient } from '../adapters/redis/client.js';
import { clientCacheOf } from '../adapters/redis/client-cache/index.js';
import { Connection } from '../adapters/redis/connection.js';
import { StoreKeys } from '../adapters/redis/keys.js';
import { BINDING_FIELD, encodeBinding } from '../adapters/redis/layout.js';
import { redisMaintenance } from '../adapters/redis/repair.js';
import * as verifyScripts from '../adapters/redis/scripts/verify.js';
import { redisStore } from '../adapters/redis/store.js';
import { memoryStore, MEMORY_STORE_WARNING } from '../src/memory/store.js';
import { isStoreUnavailable } from '../src/errors.js';
import { externalClientRef } from '../src/issuers/ref.js';
import { redisOrSkip, startRedis, type TestRedis } from './support/redis.js';
import { ADMIN, T0, bindRequest, clientMetadata, newApplication, type StoreUnderTest } from './support/store-cases.js';
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

      it('names each problem a count reveals, once: stray entries, unindexed records, one-way bindings', async () => {
        const { store, client, keys } = subject;
        await store.createApplication(newApplication('app2', 'dave', 'Dave app'));
        await store.createApplication(newApplication('app3', 'erin', 'Erin app'));
        await store.putClient(clientMetadata('c2'), T0);
        await store.putClient(clientMetadata('c3'), T0);
        expect(await store.verify()).toEqual({ ok: true, problems: [] });

        await client.zadd(keys.ownerApplications('bob'), 0, 'app2'); // dave's application in bob's index
        await client.hset(keys.ownerNames('bob'), 'stale', 'app1'); // a name app1 does not hold
        await client.zrem(keys.clients, 'c2'); // a client record outside the clients index
        await client.zrem(keys.applications, 'app3'); // an application record outside the applications index
        // app2 does not name c3
        await client.hset(
          keys.client('c3'),
          BINDING_FIELD,
          encodeBinding({
            app: 'app2',
            key_type: 'SANDBOX',
            origin: 'provided',
            bound_at: T0,
            bound_by: 'dave',
            status: 'ACTIVE',
          }),
        );
        await client.zadd(keys.clients, 0, 'ghost-client'); // index entries naming no record
        await client.zadd(keys.applications, 0, 'ghost-app');
        try {
          const { ok, problems } = await store.verify();
          expect(ok).toBe(false);
          expect([...problems].sort()).toEqual(
            [
              `owner index ${keys.ownerApplications('bob')} names application app2, which is not that owner's`,
              `name index ${keys.ownerNames('bob')} maps a name to application app1, which does not hold it`,
              'client c2 missing from the clients index',
              'application app3 missing from the applications index',
              'client c3 says it is bound to app2 SANDBOX, which does not name it',
              'clients index names missing client ghost-client',
              'applications index names missing application ghost-app',
            ].sort(),
          );
        } finally {
          await client.zrem(keys.ownerApplications('bob'), 'app2');
          await client.hdel(keys.ownerNames('bob'), 'stale');
          await client.zadd(keys.clients, 0, 'c2');
          await client.zadd(keys.applications, 0, 'app3');
          await client.hdel(keys.client('c3'), BINDING_FIELD);
          await client.zrem(keys.clients, 'ghost-client');
          await client.zrem(keys.applications, 'ghost-app');
        }
      });

      it('still reads every record when an index has a score other than 0 (no lexical order to page in)', async () => {
        const { store, client, keys } = subject;
        const revision = await client.hget(keys.client('c1'), 'rev');
        await client.zadd(keys.clients, 5, 'c1');
        await client.zadd(keys.applications, 7, 'app1', 7, 'ghost-app');
        await client.hdel(keys.client('c1'), 'rev');
        await client.hdel(keys.ownerNames('bob'), 'shop');
        try {
          const { problems } = await store.verify();
          expect([...problems].sort()).toEqual(
            [
              'applications index names missing application ghost-app',
              'client record c1 lacks metadata or revision',
              "application app1 missing from its owner's name index",
            ].sort(),
          );
        } finally {
          await client.zadd(keys.clients, 0, 'c1');
          await client.zadd(keys.applications, 0, 'app1');
          await client.zrem(keys.applications, 'ghost-app');
          await client.hset(keys.client('c1'), 'rev', revision!);
          await client.hset(keys.ownerNames('bob'), 'shop', 'app1');
        }
      });
    });

    describe('verify() counting instead of reading records twice', () => {
      // a server of their own: whether a run may trust its counts depends on every write to the server
      let own: TestRedis;
      beforeAll(async () => {
        own = await startRedis({ forcePrivate: true });
      });
      afterAll(async () => {
        await own?.stop();
      });

      /**
       * A store whose client reports the SHA of every script it runs, and can run `before` (a real
       * write, on another connection) just before the first call of a chosen script.
       */
      function recordingStore(before?: { script: { sha: string }; run: () => Promise<unknown> }) {
        const client = own.client();
        const prefix = own.namespace('counts');
        const ran: string[] = [];
        let pending = before;
        const recording = new Proxy(client, {
          get(target, property) {
            if (property === 'call') {
              return async (command: string, ...args: string[]) => {
                if (command === 'EVALSHA') ran.push(args[0]!);
                if (pending && command === 'EVALSHA' && args[0] === pending.script.sha) {
                  const { run } = pending;
                  pending = undefined;
                  await run();
                }
                return target.call(command, ...args);
              };
            }
            const value: unknown = Reflect.get(target, property, target);
            return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
          },
        });
        return { store: redisStore({ client: recording, prefix }), keys: new StoreKeys(prefix), ran };
      }

      async function bound(store: ReturnType<typeof redisStore>, id: string, owner: string) {
        await store.putClient(clientMetadata(`c-${id}`), T0);
        await store.createApplication(newApplication(id, owner, `App ${id}`));
        expect(await store.bind(bindRequest(id, 'PRODUCTION', `c-${id}`))).toEqual({ outcome: 'created' });
      }

      it('proves a healthy store that holds still by its counts, without the member-by-member pass', async () => {
        const { store, keys, ran } = recordingStore();
        await bound(store, 'a1', 'bob');
        await bound(store, 'a2', 'bob');
        await bound(store, 'a3', 'carol');
        await store.putClient(clientMetadata('unbound'), T0);

        ran.length = 0;
        expect(await store.verify()).toEqual({ ok: true, problems: [] });
        expect(ran).toContain(verifyScripts.verifyKeyspaceCounts.sha);
        expect(ran).not.toContain(verifyScripts.verifyKeyspace.sha);

        // a count that differs sends it member by member, to name what differs
        await own.client().zadd(keys.ownerApplications('bob'), 0, 'a3');
        ran.length = 0;
        expect(await store.verify()).toEqual({
          ok: false,
          problems: [`owner index ${keys.ownerApplications('bob')} names application a3, which is not that owner's`],
        });
        expect(ran).toContain(verifyScripts.verifyKeyspace.sha);
      });

      it('checks member by member when the store changed during the run: a change cannot hide a problem', async () => {
        // a1 and a2 counted in their owners' indexes, then a2 deleted before the indexes are counted: a
        // stray entry in bob's index would leave those counts equal
        const writer = own.client();
        let deleted: unknown;
        const { store, keys } = recordingStore({
          script: verifyScripts.verifyKeyspaceCounts,
          run: async () => {
            deleted = await redisStore({ client: writer, prefix: keys.tag.slice(1, -1) }).deleteApplication(
              'a2',
              ADMIN,
            );
          },
        });
        await bound(store, 'a1', 'bob');
        await bound(store, 'a2', 'carol');
        await own.client().zadd(keys.ownerApplications('bob'), 0, 'stray');

        const { ok, problems } = await store.verify();
        expect(deleted).toMatchObject({ outcome: 'deleted' });
        expect(ok).toBe(false);
        expect(problems).toContain(
          `owner index ${keys.ownerApplications('bob')} names application stray, which is not that owner's`,
        );
      });

      it('changes its fingerprint of the server with every write and expiry, not with reads', async () => {
        const client = own.client();
        const key = `${own.namespace('fingerprint')}k`;
        const connection = new Connection(client, { timeoutMs: 5000 });
        const fingerprint = async () => String(await connection.run(verifyScripts.verifyFingerprint, [key], []));

        const first = await fingerprint();
        expect(first).not.toBe('');
        await client.get(key);
        await client.hgetall(key);
        expect(await fingerprint()).toBe(first);
        await client.set(key, 'v', 'PX', 20);
        const written = await fingerprint();
        expect(written).not.toBe(first);
        await sleep(50);
        await client.exists(key); // expires it, if the server has not already
        expect(await fingerprint()).not.toBe(written);
      });
    });
  });
}
