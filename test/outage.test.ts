import { setTimeout as sleep } from 'node:timers/promises';

import type { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { redisAdapter, redisStore } from '../adapters/redis/index.js';
import { ProviderKeys } from '../adapters/redis/keys.js';
import type { BindingStore } from '../src/store.js';
import { ADMIN_CLIENT, startAppKeys, type AppKeysHarness } from './support/appkeys.js';
import { basicAuth } from '../support/http.js';
import { infoNumber } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';
import { redisOrSkip, startRedis, type TestRedis } from './support/redis.js';
import { oobMetadata } from './support/subject.js';

/**
 * Redis goes away under a real provider and appkeys, both on one ioredis client created with its
 * default settings (offline queue on, 20 retries per request, no command timeout): killed, paused
 * with SIGSTOP, and holding writes with CLIENT PAUSE. Every management route must answer
 * 503 temporarily_unavailable with Retry-After within 3 s, a change answered 503 must never land
 * afterwards, and service must come back by itself within 10 s.
 */

const APPS = '/appkeys/applications';
const CLIENTS = '/appkeys/clients';
const keysPath = (appId: string, keyType: string) => `${APPS}/${appId}/keys/${keyType}`;
const secretOf = (clientId: string) => `secret-of-${clientId}-0123456789abcdef0123456789abcdef`;

/** The behavioural bounds this suite holds the server to. */
const ANSWER_WITHIN_MS = 3000;
const RECOVER_WITHIN_MS = 10_000;

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

interface Timed {
  readonly response: request.Response;
  readonly ms: number;
}

/** One request that may not take longer than the bound: a hang fails here, never stalls the suite. */
async function timed(
  server: AppKeysHarness['server'],
  method: Method,
  path: string,
  headers: Record<string, string>,
  body?: object,
): Promise<Timed> {
  const started = Date.now();
  let pending = request(server)[method](path).timeout(ANSWER_WITHIN_MS);
  for (const [name, value] of Object.entries(headers)) pending = pending.set(name, value);
  const response = body === undefined ? await pending : await pending.send(body);
  return { response, ms: Date.now() - started };
}

/** Runs every labelled request at once and resolves their answers, labelled. */
async function inParallel(
  requests: ReadonlyArray<readonly [string, () => Promise<Timed>]>,
): Promise<Array<readonly [string, Timed]>> {
  return Promise.all(requests.map(async ([label, send]) => [label, await send()] as const));
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

function expectUnavailable({ response, ms }: Timed, context: string): void {
  expect(response.status, `${context}: ${response.text}`).toBe(503);
  expect(response.body, context).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
  expect(response.headers['retry-after'], context).toMatch(/^[1-9][0-9]*$/);
  expect(ms, context).toBeLessThan(ANSWER_WITHIN_MS);
}

/** Polls `attempt` until it resolves true; resolves how long that took, or fails past the bound. */
async function recovers(attempt: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  await waitFor('service coming back', async () => (await attempt()) || undefined, {
    withinMs: RECOVER_WITHIN_MS,
    everyMs: 100,
  });
  return Date.now() - started;
}

async function redisPid(redis: TestRedis): Promise<number> {
  const probe = redis.client();
  try {
    const pid = infoNumber(await probe.info('server'), 'process_id');
    if (!Number.isInteger(pid) || pid <= 0) throw new Error('INFO server gave no process_id');
    return pid;
  } finally {
    probe.disconnect();
  }
}

const privateServer = !process.env.REDIS_URL;
if (!privateServer)
  process.stderr.write(
    '\n!!!!!!!! SKIPPING the outage suite: it kills its own redis-server, and REDIS_URL is shared !!!!!!!!\n\n',
  );

describe.runIf(redisOrSkip() && privateServer)('a Redis outage under the provider and appkeys', () => {
  let redis: TestRedis;
  let client: Redis;
  let prefix: string;
  let store: BindingStore;
  /** Bearer tokens, which live in Redis: the default authentication itself needs Redis. */
  let h: AppKeysHarness;
  /**
   * A portal that authenticates with its own session (the `authenticate` option), so that a change
   * reaches the store while Redis is paused instead of stopping at the token lookup.
   */
  let portal: AppKeysHarness;
  let stopped: number | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    // the client of the application under test: the URL and nothing else
    client = redis.client();
    prefix = redis.namespace('outage');
    store = redisStore({ client, prefix: `${prefix}appkeys:` });
    const adapter = redisAdapter({ client, prefix: `${prefix}oidc:` });
    h = await startAppKeys({ store, provideKeys: { enabled: true } }, { adapter });
    portal = await startAppKeys(
      {
        store,
        provideKeys: { enabled: true },
        async authenticate(ctx) {
          const user = ctx.get('x-portal-user');
          if (!user) return undefined;
          return user === 'admin' ? { kind: 'admin', id: 'portal-admin' } : { kind: 'owner', id: user };
        },
      },
      { adapter },
    );
  });

  afterAll(async () => {
    if (stopped !== undefined) process.kill(stopped, 'SIGCONT');
    await h?.close();
    await portal?.close();
    await redis?.stop();
  });

  /** A fresh view of the keyspace, on its own connection, for checking what really landed. */
  async function freshStore<T>(check: (fresh: BindingStore) => Promise<T>): Promise<T> {
    const fresh = redis.client();
    try {
      return await check(redisStore({ client: fresh, prefix: `${prefix}appkeys:` }));
    } finally {
      fresh.disconnect();
    }
  }

  async function setUp(label: string): Promise<{ admin: string; alice: string; appId: string; oob: string }> {
    const [admin, alice] = await Promise.all([h.adminToken(), h.ownerToken('alice')]);
    const oob = `oob-${label}`;
    const registered = await request(h.server)
      .put(`${CLIENTS}/${oob}`)
      .set(bearer(admin))
      .send(oobMetadata(secretOf(oob)));
    expect(registered.status, registered.text).toBe(201);
    const created = await request(h.server)
      .post(APPS)
      .set(bearer(alice))
      .send({ name: `app ${label}` });
    expect(created.status, created.text).toBe(201);
    // run the bind and delete scripts once, so that a held change is sent by SHA and runs as soon as
    // Redis resumes (a NOSCRIPT retry would land later still, and race the checks below)
    const noApp = await request(h.server)
      .put(keysPath('app_none', 'PRODUCTION'))
      .set(bearer(admin))
      .send({ client_id: oob, client_secret: secretOf(oob) });
    expect(noApp.status, noApp.text).toBe(404);
    expect((await request(h.server).delete(`${CLIENTS}/never-registered`).set(bearer(admin))).status).toBe(404);
    return { admin, alice, appId: created.body.id as string, oob };
  }

  it(
    'answers every management route 503 with Retry-After within 3 s while Redis is down, ' +
      'then recovers by itself within 10 s of a restart',
    async () => {
      const { admin, alice, appId, oob } = await setUp('killed');
      const provided = await request(h.server)
        .put(keysPath(appId, 'PRODUCTION'))
        .set(bearer(alice))
        .send({ client_id: oob, client_secret: secretOf(oob) });
      expect(provided.status, provided.text).toBe(201);
      const generated = await request(h.server).post(keysPath(appId, 'SANDBOX')).set(bearer(alice)).send({});
      expect(generated.status, generated.text).toBe(201);
      const generatedSecret = generated.body.client_secret as string;
      const generatedId = generated.body.client_id as string;

      // every row of the DESIGN tables, with a body that would succeed
      const ownerRows: Array<[Method, string, object?]> = [
        ['post', APPS, { name: 'during the outage' }],
        ['get', APPS],
        ['get', `${APPS}?limit=5`],
        ['get', `${APPS}/${appId}`],
        ['patch', `${APPS}/${appId}`, { description: 'during the outage' }],
        ['delete', `${APPS}/${appId}`],
        ['put', keysPath(appId, 'PRODUCTION'), { client_id: oob, client_secret: secretOf(oob) }],
        ['post', keysPath(appId, 'SANDBOX'), {}],
        ['get', keysPath(appId, 'PRODUCTION')],
        ['delete', keysPath(appId, 'PRODUCTION')],
        ['post', `${keysPath(appId, 'SANDBOX')}/secret`],
      ];
      const adminRows: Array<[Method, string, object?]> = [
        ...ownerRows,
        ['put', `${CLIENTS}/oob-new`, oobMetadata(secretOf('oob-new'))],
        ['put', `${CLIENTS}/${oob}`, oobMetadata(secretOf(oob))],
        ['get', `${CLIENTS}/${oob}`],
        ['get', CLIENTS],
        ['delete', `${CLIENTS}/${oob}`],
        ['delete', `${CLIENTS}/${oob}?force=true`],
      ];

      await redis.kill();
      // once the client has seen the connection drop (a command written in the instant before would be
      // re-sent by ioredis after the reconnect: changes carry a deadline for that, tokens do not)
      for (let waited = 0; client.status === 'ready' && waited < 2000; waited += 10) await sleep(10);
      expect(client.status).not.toBe('ready');

      const answers = await inParallel([
        ...ownerRows.map(
          ([method, path, body]) =>
            [`owner ${method} ${path}`, () => timed(h.server, method, path, bearer(alice), body)] as const,
        ),
        ...adminRows.map(
          ([method, path, body]) =>
            [`admin ${method} ${path}`, () => timed(h.server, method, path, bearer(admin), body)] as const,
        ),
        // an unknown token cannot be told from a known one without the store: 503, not 401
        ['unknown token', () => timed(h.server, 'get', APPS, bearer('not-a-token-we-issued'))],
      ]);
      for (const [context, answer] of answers) expectUnavailable(answer, context);

      // what needs no store still answers
      expect((await timed(h.server, 'get', APPS, {})).response.status).toBe(401);
      expect((await timed(h.server, 'get', '/appkeys/openapi.json', {})).response.status).toBe(200);

      // the provider's own endpoints: its error handler renders our 503 (status, expose, message = code)
      // (without a scope, so that a token saved late would stand out from those issued after the restart)
      const token = await timed(
        h.server,
        'post',
        '/token',
        {
          Authorization: basicAuth(ADMIN_CLIENT.id, ADMIN_CLIENT.secret),
          'Content-Type': 'application/x-www-form-urlencoded',
        },
        { grant_type: 'client_credentials' } as object,
      );
      const stored = await timed(
        h.server,
        'post',
        '/token',
        { Authorization: basicAuth(generatedId, generatedSecret), 'Content-Type': 'application/x-www-form-urlencoded' },
        { grant_type: 'client_credentials' } as object,
      );
      const introspection = await timed(
        h.server,
        'post',
        '/token/introspection',
        {
          Authorization: basicAuth(ADMIN_CLIENT.id, ADMIN_CLIENT.secret),
          'Content-Type': 'application/x-www-form-urlencoded',
        },
        { token: admin } as object,
      );
      for (const [context, { response, ms }] of [
        ['token, static client', token],
        ['token, stored client', stored],
        ['introspection', introspection],
      ] as const) {
        expect(response.status, `${context}: ${response.text}`).toBe(503);
        expect(response.body, context).toEqual({
          error: 'temporarily_unavailable',
          error_description: expect.any(String),
        });
        expect(ms, context).toBeLessThan(ANSWER_WITHIN_MS);
      }
      expect((await timed(h.server, 'get', '/.well-known/openid-configuration', {})).response.status).toBe(200);

      await redis.restart();
      // the restarted server is empty (nothing is persisted): a new admin token proves the provider is
      // back, a listing with it proves appkeys is
      const tookMs = await recovers(async () => {
        const fresh = await request(h.server)
          .post('/token')
          .timeout(ANSWER_WITHIN_MS)
          .set('Authorization', basicAuth(ADMIN_CLIENT.id, ADMIN_CLIENT.secret))
          .type('form')
          .send({ grant_type: 'client_credentials', scope: 'appkeys:admin' });
        if (fresh.status !== 200) return false;
        const listed = await request(h.server)
          .get(CLIENTS)
          .timeout(ANSWER_WITHIN_MS)
          .set(bearer(fresh.body.access_token as string));
        return listed.status === 200;
      });
      expect(tookMs).toBeLessThan(RECOVER_WITHIN_MS);
      // nothing answered 503 was queued to land on the restarted server
      await client.ping();
      await freshStore(async (fresh) => {
        expect(await fresh.listApplications({ kind: 'admin' }, undefined, 100)).toEqual([]);
        expect(await fresh.listClients(undefined, 100)).toEqual([]);
      });
      const probe = redis.client();
      try {
        const tokenKeys = await probe.keys(new ProviderKeys(`${prefix}oidc:`).modelPattern('ClientCredentials'));
        expect(tokenKeys.length).toBeGreaterThan(0);
        for (const key of tokenKeys) {
          const payload = JSON.parse((await probe.hget(key, 'payload')) ?? '{}') as { scope?: string };
          expect(payload.scope, `${key} was saved although its request was answered 503`).toBe('appkeys:admin');
        }
      } finally {
        probe.disconnect();
      }
      expect(await store.verify()).toEqual({ ok: true, problems: [] });
    },
  );

  it(
    'never lands a change it answered 503 while Redis was stopped (SIGSTOP), ' + 'and recovers within 10 s of SIGCONT',
    async () => {
      const { admin, alice, appId, oob } = await setUp('stopped');
      const kept = 'oob-stopped-kept';
      expect(
        (
          await request(h.server)
            .put(`${CLIENTS}/${kept}`)
            .set(bearer(admin))
            .send(oobMetadata(secretOf(kept)))
        ).status,
      ).toBe(201);
      const pid = await redisPid(redis);

      process.kill(pid, 'SIGSTOP');
      stopped = pid;
      let answers: Array<readonly [string, Timed]>;
      try {
        answers = await inParallel([
          // through the portal, the change itself is sent into the stopped server's socket
          [
            'portal: create an application',
            () => timed(portal.server, 'post', APPS, { 'x-portal-user': 'alice' }, { name: 'created while stopped' }),
          ],
          [
            'portal: delete a client',
            () => timed(portal.server, 'delete', `${CLIENTS}/${kept}`, { 'x-portal-user': 'admin' }),
          ],
          // through Bearer tokens, the token lookup is what times out
          [
            'bearer: provide keys',
            () =>
              timed(h.server, 'put', keysPath(appId, 'PRODUCTION'), bearer(alice), {
                client_id: oob,
                client_secret: secretOf(oob),
              }),
          ],
          [
            'bearer: create an application',
            () => timed(h.server, 'post', APPS, bearer(alice), { name: 'created while stopped by bearer' }),
          ],
          ['bearer: admin deletes a client', () => timed(h.server, 'delete', `${CLIENTS}/${kept}`, bearer(admin))],
        ]);
      } finally {
        process.kill(pid, 'SIGCONT');
        stopped = undefined;
      }
      for (const [context, answer] of answers) expectUnavailable(answer, context);

      // the commands queued in the socket run now; a PING behind them answers once they have
      await client.ping();
      await freshStore(async (fresh) => {
        const apps = await fresh.listApplications({ kind: 'owner', owner: 'alice' }, undefined, 100);
        expect(apps.map((app) => app.name)).toEqual([`app stopped`]);
        expect(await fresh.getClient(kept)).toBeDefined();
        expect((await fresh.getClient(oob))?.binding).toBeUndefined();
        expect(await fresh.verify()).toEqual({ ok: true, problems: [] });
      });

      const tookMs = await recovers(
        async () => (await request(h.server).get(APPS).timeout(ANSWER_WITHIN_MS).set(bearer(alice))).status === 200,
      );
      expect(tookMs).toBeLessThan(RECOVER_WITHIN_MS);
      expect(await store.verify()).toEqual({ ok: true, problems: [] });
    },
  );

  it('never lands a provide-keys binding it answered 503 while Redis held writes (CLIENT PAUSE WRITE)', async () => {
    const { admin, alice, appId, oob } = await setUp('paused');
    const controller = redis.client();
    try {
      // reads go on: the admin token lookup (an owner's token also looks its session up, by a script,
      // which the pause holds), the client lookup and the secret check pass; the bind script waits
      await controller.call('CLIENT', 'PAUSE', '20000', 'WRITE');
      let answer: Timed;
      try {
        answer = await timed(h.server, 'put', keysPath(appId, 'PRODUCTION'), bearer(admin), {
          client_id: oob,
          client_secret: secretOf(oob),
        });
        // past the change's deadline before the script may run
        await sleep(50);
      } finally {
        await controller.call('CLIENT', 'UNPAUSE');
      }
      expectUnavailable(answer, 'provide keys with writes held');
    } finally {
      controller.disconnect();
    }
    await client.ping();

    await freshStore(async (fresh) => {
      expect((await fresh.getClient(oob))?.binding).toBeUndefined();
      expect((await fresh.getApplication(appId))?.bindings).toEqual([]);
      expect(await fresh.verify()).toEqual({ ok: true, problems: [] });
    });
    const binding = await request(h.server).get(keysPath(appId, 'PRODUCTION')).set(bearer(alice));
    expect(binding.status, binding.text).toBe(404);

    // and the same request, now that writes flow, binds
    const again = await request(h.server)
      .put(keysPath(appId, 'PRODUCTION'))
      .set(bearer(alice))
      .send({ client_id: oob, client_secret: secretOf(oob) });
    expect(again.status, again.text).toBe(201);
    expect(await store.verify()).toEqual({ ok: true, problems: [] });
  });
});
