import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { redisStore } from '../../adapters/redis/index.js';
import { StoreKeys } from '../../adapters/redis/keys.js';
import { BINDING_FIELD, decodeBinding } from '../../adapters/redis/layout.js';
import { isStoreUnavailable } from '../../src/errors.js';
import type { BindingStore } from '../../src/store.js';
import { waitFor } from '../../support/wait.js';
import { command, redisToolsOrSkip } from '../support/cluster.js';
import { startSentinel, type TestSentinel } from '../support/sentinel.js';
import { T0, bindRequest, clientMetadata, newApplication } from '../support/store-cases.js';

const PAIRS = 300;
const WORKERS = 6;

describe.runIf(redisToolsOrSkip())('redisStore on a Sentinel-managed master with waitForReplicas', () => {
  let sentinel: TestSentinel;
  beforeAll(async () => {
    // two replicas: after the master dies one is promoted and the other replicates it, so WAIT 1 can
    // be satisfied again; the sentinels promote the replica with the largest offset, so a change
    // either replica acknowledged is on the new master
    sentinel = await startSentinel({ replicas: 2, sentinels: 1 });
  }, 60_000);
  afterAll(async () => {
    await sentinel?.stop();
  });

  it(
    'answers a change when the asked replicas acknowledge it, ' +
      'and 503 with the change on the master when too few exist',
    async () => {
      const client = sentinel.ioredis();
      const prefix = `test:wait:${Date.now()}:`;
      const both = redisStore({ client, prefix, waitForReplicas: { replicas: 2, timeoutMs: 1000 } });
      expect(await both.putClient(clientMetadata('c1'), T0)).toBe('created');

      const three = redisStore({ client, prefix, waitForReplicas: { replicas: 3, timeoutMs: 200 } });
      const failure = await three.createApplication(newApplication('app1', 'bob')).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isStoreUnavailable(failure)).toBe(true);
      expect(String((failure as Error).cause)).toMatch(/only 2 of 3 replicas acknowledged it within 200 ms/);
      const master = await sentinel.masterPort();
      expect(await command(master, 'HGET', new StoreKeys(prefix).application('app1'), 'owner')).toBe('bob');
      // the retry finds the state the unacknowledged change made
      expect(await both.createApplication(newApplication('app1', 'bob'))).toBe('name_taken');
      expect(await both.verify()).toEqual({ ok: true, problems: [] });
    },
  );

  it('loses no acknowledged binding when the master is killed during a load of binds', async () => {
    const client = sentinel.ioredis();
    const prefix = `test:failover:${Date.now()}:`;
    const keys = new StoreKeys(prefix);
    const store: BindingStore = redisStore({
      client,
      prefix,
      timeoutMs: 1000,
      waitForReplicas: { replicas: 1, timeoutMs: 1000 },
    });
    const app = (i: number) => `app-${i}`;
    const clientId = (i: number) => `client-${i}`;
    for (let i = 0; i < PAIRS; i += 1) {
      expect(await store.putClient(clientMetadata(clientId(i)), T0)).toBe('created');
      expect(await store.createApplication(newApplication(app(i), `owner-${i}`))).toBe('created');
    }

    /** Indexes whose bind was answered created (or exists, on a retry of one that had landed). */
    const acknowledged = new Set<number>();
    const unavailable = { steady: 0, failover: 0, after: 0 };
    let phase: keyof typeof unavailable = 'steady';
    const pending = Array.from({ length: PAIRS }, (_, i) => i);
    const deadline = Date.now() + 45_000;

    const worker = async () => {
      while (pending.length > 0 && Date.now() < deadline) {
        const i = pending.shift()!;
        try {
          const { outcome } = await store.bind(bindRequest(app(i), 'PRODUCTION', clientId(i), { caller: 'load' }));
          expect(['created', 'exists']).toContain(outcome);
          acknowledged.add(i);
          await sleep(5);
        } catch (err) {
          // a 503 is no answer: the bind may or may not have landed; it is tried again later
          if (!isStoreUnavailable(err)) throw err;
          unavailable[phase] += 1;
          pending.push(i);
          await sleep(50);
        }
      }
    };

    const load = Promise.all(Array.from({ length: WORKERS }, worker));
    await waitFor('a quarter of the binds acknowledged', () => (acknowledged.size >= PAIRS / 4 ? true : undefined), {
      withinMs: 20_000,
      everyMs: 10,
    });
    const ackedBeforeFailover = acknowledged.size;
    phase = 'failover';
    const { oldPort, newPort } = await sentinel.killMasterAndAwaitFailover();
    phase = 'after';
    await load;

    expect(newPort).not.toBe(oldPort);
    // the master died mid-load: some binds were answered before, some refused during the failover
    expect(ackedBeforeFailover).toBeLessThan(PAIRS);
    expect(unavailable.failover).toBeGreaterThan(0);
    expect(acknowledged.size).toBe(PAIRS);

    // read from the new master directly, not through the client under test
    const missing: number[] = [];
    for (const i of acknowledged) {
      const binding = await command(newPort, 'HGET', keys.client(clientId(i)), BINDING_FIELD);
      if (typeof binding !== 'string' || decodeBinding(binding)?.app !== app(i)) missing.push(i);
      if ((await command(newPort, 'HGET', keys.application(app(i)), 'key:PRODUCTION')) !== clientId(i)) missing.push(i);
    }
    expect(missing).toEqual([]);
    expect(await store.verify()).toEqual({ ok: true, problems: [] });
  });
});
