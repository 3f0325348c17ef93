import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { redisStore } from '../../adapters/redis/index.js';
import { basicAuth } from '../../support/http.js';
import { ownerToken } from '../../examples/owner-token.js';
import { startServerProcesses, stopServerProcesses, type ServerProcess } from '../support/processes.js';
import { redisOrSkip, startRedis, type TestRedis } from '../support/redis.js';
import { prng } from '../support/prng.js';

/**
 * Several `npm start` server processes on one Redis, stormed concurrently with every kind of change
 * on a small pool of clients and applications, once as is and once with a process SIGKILLed in the
 * middle: afterwards the store's invariants hold (verify()), every client is bound at most once, and
 * no generated client outlives its binding.
 */

const PROCESSES = 3;
const REQUESTS = 600;
const CONCURRENCY = 30;
/** Mean pause between two requests of one worker: 600 requests spread over about 10 s. */
const MEAN_PAUSE_MS = (CONCURRENCY * 10_000) / REQUESTS;
const REQUEST_TIMEOUT_MS = 5000;
const STORM_WITHIN_MS = 60_000;

const ADMIN_SECRET = 'processes-admin-secret-0123456789abcdef0123456789';
const OWNERS = ['alice', 'bob'] as const;
const NAMES = ['one', 'two', 'three', 'four'] as const;
const OOB = Array.from({ length: 8 }, (_, i) => `oob-${i}`);
/** Out-of-band clients the admin also deletes and registers again during a storm. */
const CHURNED = OOB.slice(6);
const KEY_TYPES = ['PRODUCTION', 'SANDBOX'] as const;
const secretOf = (clientId: string) => `secret-of-${clientId}-0123456789abcdef0123456789abcdef`;
const oobMetadata = (clientId: string) => ({
  client_secret: secretOf(clientId),
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  scope: 'api',
});

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown> | undefined;
}

/** One request to one process, bounded in time; a network failure rejects. */
async function call(base: string, method: string, path: string, token: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed };
}

async function adminToken(base: string): Promise<string> {
  const response = await fetch(`${base}/token`, {
    method: 'POST',
    headers: {
      authorization: basicAuth('appkeys-admin', ADMIN_SECRET),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'appkeys:admin' }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`admin token: ${response.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

interface Binding {
  application_id: string;
  key_type: string;
  client_id: string;
  origin: string;
}
interface ApplicationView {
  id: string;
  owner: string;
  keys: Record<string, Binding>;
}
interface ClientView {
  client_id: string;
  binding: Binding | null;
}

/** Every item of a listing, page by page, bounded. */
async function listAll<T>(base: string, path: string, token: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page += 1) {
    const answer = await call(base, 'GET', `${path}?limit=100${cursor ? `&cursor=${cursor}` : ''}`, token);
    expect(answer.status).toBe(200);
    items.push(...(answer.body!.items as T[]));
    cursor = answer.body!.next_cursor as string | undefined;
    if (!cursor) return items;
  }
  throw new Error(`${path} did not end within 1000 pages`);
}

describe.runIf(redisOrSkip())('several server processes on one Redis', () => {
  let redis: TestRedis;
  let servers: ServerProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await stopServerProcesses(servers);
    servers = [];
  });
  afterAll(async () => {
    await redis?.stop();
  });

  /** The invariants, checked on the live keyspace and through a surviving process's admin API. */
  async function expectWhole(
    base: string,
    admin: string,
  ): Promise<{ applications: number; clients: number; bound: number }> {
    const client = redis.client();
    try {
      expect(await redisStore({ client, prefix: 'appkeys:' }).verify()).toEqual({ ok: true, problems: [] });
    } finally {
      client.disconnect();
    }
    const applications = await listAll<ApplicationView>(base, '/appkeys/applications', admin);
    const clients = await listAll<ClientView>(base, '/appkeys/clients', admin);
    const byId = new Map(clients.map((c) => [c.client_id, c]));
    const boundBy = new Map<string, string>();
    for (const app of applications) {
      for (const [keyType, binding] of Object.entries(app.keys)) {
        const place = `${app.id} ${keyType}`;
        expect(
          boundBy.get(binding.client_id),
          `${binding.client_id} bound at ${place} and at ${boundBy.get(binding.client_id)}`,
        ).toBeUndefined();
        boundBy.set(binding.client_id, place);
        expect(byId.get(binding.client_id)?.binding, place).toMatchObject({
          application_id: app.id,
          key_type: keyType,
        });
      }
    }
    for (const c of clients) {
      if (c.binding) {
        expect(boundBy.get(c.client_id), `${c.client_id} says it is bound to ${c.binding.application_id}`).toBe(
          `${c.binding.application_id} ${c.binding.key_type}`,
        );
      } else {
        // a generated client is created bound (one script) and deleted with its binding: never orphaned
        expect(OOB, `${c.client_id} has no binding and was not registered out of band`).toContain(c.client_id);
      }
    }
    return { applications: applications.length, clients: clients.length, bound: boundBy.size };
  }

  interface StormResult {
    readonly statuses: Record<string, number>;
    readonly failures: string[];
    readonly lost: number;
  }

  /**
   * `REQUESTS` requests from `CONCURRENCY` workers, each to a random process, paced to take about 10 s.
   * `afterSent(n)` runs once after the n-th request is sent (the crash test kills a process there).
   */
  async function storm(
    seed: number,
    admin: string,
    owners: Record<string, string>,
    crash?: { at: number; victim: ServerProcess },
  ): Promise<StormResult> {
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const apps = new Map<string, string>(); // id -> owner
    for (const owner of OWNERS) {
      for (const app of await listAll<ApplicationView>(servers[0]!.url, '/appkeys/applications', owners[owner]!))
        apps.set(app.id, owner);
    }
    const kept = new Set([...apps.keys()].slice(0, 3));
    const statuses: Record<string, number> = {};
    const failures: string[] = [];
    let sent = 0;
    let lost = 0;
    let killedAt: number | undefined;
    const started = Date.now();

    const operation = (): {
      label: string;
      method: string;
      path: string;
      token: string;
      body?: unknown;
      expected: number[];
    } => {
      const known = [...apps];
      const [appId, owner] = known.length ? pick(known) : ['app_none', pick(OWNERS)];
      const asOwner = random() < 0.85 ? owners[owner]! : admin;
      const keyType = pick(KEY_TYPES);
      const roll = random();
      if (roll < 0.3) {
        const clientId = pick(OOB);
        return {
          label: 'provide',
          method: 'PUT',
          path: `/appkeys/applications/${appId}/keys/${keyType}`,
          token: asOwner,
          body: { client_id: clientId, client_secret: secretOf(clientId) },
          expected: [200, 201, 404, 409],
        };
      }
      if (roll < 0.45)
        return {
          label: 'generate',
          method: 'POST',
          path: `/appkeys/applications/${appId}/keys/${keyType}`,
          token: asOwner,
          body: {},
          expected: [201, 404, 409],
        };
      if (roll < 0.6)
        return {
          label: 'unbind',
          method: 'DELETE',
          path: `/appkeys/applications/${appId}/keys/${keyType}`,
          token: asOwner,
          expected: [204, 404],
        };
      // a few applications are kept out of reach of deletion, so the end state has something to check
      if (roll < 0.68 && !kept.has(appId))
        return {
          label: 'delete application',
          method: 'DELETE',
          path: `/appkeys/applications/${appId}`,
          token: asOwner,
          expected: [204, 404],
        };
      if (roll < 0.8) {
        const creator = pick(OWNERS);
        return {
          label: 'create application',
          method: 'POST',
          path: '/appkeys/applications',
          token: owners[creator]!,
          body: { name: pick(NAMES) },
          expected: [201, 409],
        };
      }
      if (roll < 0.85)
        return {
          label: 'rotate',
          method: 'POST',
          path: `/appkeys/applications/${appId}/keys/${keyType}/secret`,
          token: asOwner,
          expected: [200, 404, 409],
        };
      if (roll < 0.9)
        return {
          label: 'delete client',
          method: 'DELETE',
          path: `/appkeys/clients/${pick(CHURNED)}${random() < 0.5 ? '?force=true' : ''}`,
          token: admin,
          expected: [204, 404, 409],
        };
      if (roll < 0.95) {
        const clientId = pick(CHURNED);
        return {
          label: 'register client',
          method: 'PUT',
          path: `/appkeys/clients/${clientId}`,
          token: admin,
          body: oobMetadata(clientId),
          expected: [200, 201],
        };
      }
      return { label: 'list', method: 'GET', path: '/appkeys/applications?limit=10', token: asOwner, expected: [200] };
    };

    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (sent < REQUESTS && Date.now() - started < STORM_WITHIN_MS) {
          const n = ++sent;
          if (crash && n === crash.at) {
            killedAt = Date.now();
            // not awaited: the other workers' requests stay in flight while it dies
            void crash.victim.kill('SIGKILL');
          }
          const target = pick(servers);
          const op = operation();
          try {
            const answer = await call(target.url, op.method, op.path, op.token, op.body);
            const key = `${op.label} ${answer.status}${answer.body?.error ? ` ${String(answer.body.error)}` : ''}`;
            statuses[key] = (statuses[key] ?? 0) + 1;
            // a churned client the admin has deleted meanwhile is unknown: invalid_client, and after five
            // such failures the caller is throttled on it; the right secret of any other client always binds
            const churned = op.label === 'provide' && CHURNED.includes((op.body as { client_id: string }).client_id);
            const expected = churned ? [...op.expected, 401, 429] : op.expected;
            if (!expected.includes(answer.status))
              failures.push(
                `${op.label} ${op.method} ${op.path} on ${target.url}: ${answer.status} ${JSON.stringify(answer.body)}`,
              );
            if (op.label === 'create application' && answer.status === 201)
              apps.set(
                answer.body!.id as string,
                OWNERS.find((o) => owners[o] === op.token)!,
              );
            if (op.label === 'delete application' && answer.status === 204) apps.delete(op.path.split('/').pop()!);
          } catch (error) {
            if (crash && target === crash.victim && killedAt !== undefined) lost += 1;
            else failures.push(`${op.label} ${op.method} ${op.path} on ${target.url}: ${(error as Error).message}`);
          }
          await sleep(random() * 2 * MEAN_PAUSE_MS);
        }
      }),
    );
    expect(sent, `the storm did not finish within ${STORM_WITHIN_MS} ms`).toBeGreaterThanOrEqual(REQUESTS);
    return { statuses, failures, lost };
  }

  async function prepare(): Promise<{ admin: string; owners: Record<string, string> }> {
    servers = await startServerProcesses(PROCESSES, {
      REDIS_URL: redis.url,
      APPKEYS_ADMIN_CLIENT_SECRET: ADMIN_SECRET,
    });
    // tokens from different processes: each is kept in Redis, so every process takes every one
    const admin = await adminToken(servers[0]!.url);
    const owners: Record<string, string> = {
      alice: await ownerToken(servers[1 % PROCESSES]!.url, 'alice'),
      bob: await ownerToken(servers[2 % PROCESSES]!.url, 'bob'),
    };
    for (const server of servers) {
      for (const token of [admin, ...Object.values(owners)])
        expect((await call(server.url, 'GET', '/appkeys/applications?limit=1', token)).status).toBe(200);
    }
    for (const clientId of OOB) {
      expect([200, 201]).toContain(
        (await call(pick(servers, clientId), 'PUT', `/appkeys/clients/${clientId}`, admin, oobMetadata(clientId)))
          .status,
      );
    }
    for (const owner of OWNERS) {
      for (const name of NAMES)
        expect([201, 409]).toContain(
          (await call(pick(servers, name), 'POST', '/appkeys/applications', owners[owner]!, { name })).status,
        );
    }
    return { admin, owners };
  }

  it('keeps every invariant through a storm of concurrent changes spread over the processes', async () => {
    const seed = Number(process.env.STORM_SEED ?? Date.now() % 2 ** 31);

    console.info(`processes storm: STORM_SEED=${seed}`);
    const { admin, owners } = await prepare();
    const result = await storm(seed, admin, owners);

    console.info(`storm: ${JSON.stringify(result.statuses)}`);
    expect(result.failures, `STORM_SEED=${seed} ${JSON.stringify(result.statuses)}`).toEqual([]);
    // the storm did change things, in every direction
    for (const change of [
      'provide 201',
      'generate 201',
      'unbind 204',
      'delete application 204',
      'create application 201',
    ]) {
      expect(
        result.statuses[change] ?? 0,
        `STORM_SEED=${seed} ${change}: ${JSON.stringify(result.statuses)}`,
      ).toBeGreaterThan(0);
    }
    const whole = await expectWhole(servers[0]!.url, admin);
    expect(whole.applications).toBeGreaterThan(0);
  });

  it('stays whole when a process is SIGKILLed in the middle of a storm', async () => {
    const seed = Number(process.env.STORM_SEED ?? (Date.now() + 1) % 2 ** 31);

    console.info(`processes crash storm: STORM_SEED=${seed}`);
    const { admin, owners } = await prepare();
    const victim = servers[PROCESSES - 1]!;
    const result = await storm(seed, admin, owners, { at: REQUESTS / 2, victim });

    console.info(
      `crash storm: ${result.lost} requests lost with the killed process; ${JSON.stringify(result.statuses)}`,
    );
    expect(victim.alive()).toBe(false);
    // it died with traffic on it: requests to it failed from then on
    expect(result.lost).toBeGreaterThan(0);
    expect(result.failures, `STORM_SEED=${seed} ${JSON.stringify(result.statuses)}`).toEqual([]);
    await expectWhole(servers[0]!.url, admin);
  });
});

/** A process chosen by a label, so that set-up requests spread over every process. */
function pick(servers: readonly ServerProcess[], label: string): string {
  let hash = 0;
  for (const char of label) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return servers[hash % servers.length]!.url;
}
