import type { Server } from 'node:http';

import type { AdapterPayload } from 'oidc-provider';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { redisAdapter, redisStore } from '../adapters/redis/index.js';
import { appKeys } from '../src/app-keys.js';
import type { Actor } from '../src/types.js';
import { basicAuth } from '../support/http.js';
import { baseConfiguration, buildProvider, serve, serviceClient } from './support/provider.js';
import { commandCalls, redisServerInstalled } from '../support/redis-server.js';
import { startRedis, type TestRedis } from './support/redis.js';

/**
 * DESIGN, Tokens: the binding travels in the client's own record, so a token request costs no store
 * round trip beyond what the same server without appkeys sends. Counted with INFO commandstats on a
 * redis-server nobody else talks to: one with REDIS_URL may carry other files' traffic.
 */
const privateRedis = redisServerInstalled();
if (!privateRedis) {
  const message = 'redis-server not found: counting Redis commands needs a private server (REDIS_URL may be shared)';
  if (process.env.APPKEYS_REQUIRE_REDIS === '1') throw new Error(`${message} (APPKEYS_REQUIRE_REDIS=1)`);
  process.stderr.write(`\n!!!!!!!! SKIPPING token command counts: ${message} !!!!!!!!\n\n`);
}

const REQUESTS = 50;
const SERVICE = { id: 'svc-billing', secret: 'svc-secret-0123456789abcdef0123456789abcdef' };

type Counts = Map<string, number>;

function subtract(measured: Counts, baseline: Counts): Counts {
  const net: Counts = new Map();
  for (const [name, calls] of measured) {
    const left = calls - (baseline.get(name) ?? 0);
    if (left !== 0) net.set(name, left);
  }
  return net;
}

function total(counts: Counts): number {
  let sum = 0;
  for (const calls of counts.values()) sum += calls;
  return sum;
}

function perRequest(counts: Counts): string {
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, calls]) => `${name} ${calls / REQUESTS}`)
    .join(', ');
}

async function tokenRequests(server: Server, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const response = await request(server)
      .post('/token')
      .set('Authorization', basicAuth(SERVICE.id, SERVICE.secret))
      .type('form')
      .send({ grant_type: 'client_credentials', scope: 'api:read' });
    expect(response.status, response.text).toBe(200);
    tokens.push((response.body as { access_token: string }).access_token);
  }
  return tokens;
}

describe.runIf(privateRedis)('Redis commands per token request', () => {
  let redis: TestRedis;
  let plain: Server;
  let withAppKeys: Server;
  let closeStore: () => Promise<void>;

  beforeAll(async () => {
    redis = await startRedis({ forcePrivate: true });

    // (A) no appkeys: every model, clients included, on the Redis adapter; the client is a dynamic one,
    // stored through the adapter, since a static client costs no lookup at all
    const plainAdapter = redisAdapter({ client: redis.client(), prefix: 'plain:oidc:' });
    const { client_id: _id, ...metadata } = serviceClient(SERVICE.id, SERVICE.secret);
    await plainAdapter('Client').upsert(SERVICE.id, { client_id: SERVICE.id, ...metadata } as AdapterPayload);
    plain = serve(buildProvider(baseConfiguration({ adapter: plainAdapter })));

    // (B) appkeys on the Redis store, the same client registered out of band and bound to an application
    const client = redis.client();
    const store = redisStore({ client, prefix: 'appkeys:store:' });
    closeStore = () => store.close();
    const keys = appKeys({ store, provideKeys: { enabled: true } });
    const provider = buildProvider(
      keys.configuration(baseConfiguration({ adapter: redisAdapter({ client, prefix: 'appkeys:oidc:' }) })),
    );
    keys.mount(provider);
    const registry = keys.registry(provider);
    const admin: Actor = { kind: 'admin', id: 'client:token-commands' };
    await registry.registerClient(admin, SERVICE.id, metadata);
    const application = await registry.createApplication(admin, { name: 'Billing', owner: 'alice' });
    await registry.provideKeys(admin, application.id, 'PRODUCTION', {
      client_id: SERVICE.id,
      client_secret: SERVICE.secret,
    });
    withAppKeys = serve(provider);

    // warm-up: connections established and ready-checked, scripts loaded, before anything is counted
    await tokenRequests(plain, 1);
    await tokenRequests(withAppKeys, 1);
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => plain?.close(() => resolve()));
    await new Promise<void>((resolve) => withAppKeys?.close(() => resolve()));
    await closeStore?.();
    await redis?.stop();
  });

  /** Commands the server executed while `run` ran, less those of the counting itself. */
  async function commandsDuring(run: () => Promise<unknown>): Promise<Counts> {
    const counter = redis.client();
    const measure = async (work: () => Promise<unknown>): Promise<Counts> => {
      await counter.config('RESETSTAT');
      await work();
      return commandCalls(await counter.info('commandstats'));
    };
    const baseline = await measure(async () => {});
    // nothing but the counter talks to this server between requests
    expect(
      [...baseline.keys()].every((name) => name.startsWith('config') || name === 'info'),
      [...baseline.keys()].join(', '),
    ).toBe(true);
    const measured = await measure(run);
    counter.disconnect();
    return subtract(measured, baseline);
  }

  it('sends exactly as many Redis commands per client_credentials token with appkeys as without', async () => {
    const without = await commandsDuring(() => tokenRequests(plain, REQUESTS));
    let tokens: string[] = [];
    const withIt = await commandsDuring(async () => {
      tokens = await tokenRequests(withAppKeys, REQUESTS);
    });

    process.stdout.write(
      `Redis commands per client_credentials token request, those run by scripts included ` +
        `(${REQUESTS} requests each)\n` +
        `  without appkeys: ${total(without) / REQUESTS} (${perRequest(without)})\n` +
        `  with appkeys:    ${total(withIt) / REQUESTS} (${perRequest(withIt)})\n`,
    );

    expect(total(without)).toBeGreaterThan(0);
    expect(total(without) % REQUESTS, 'every request costs the same').toBe(0);
    expect(total(withIt)).toBe(total(without));

    // and the counted tokens did go through the binding
    const introspected = await request(withAppKeys)
      .post('/token/introspection')
      .set('Authorization', basicAuth(SERVICE.id, SERVICE.secret))
      .type('form')
      .send({ token: tokens[0] });
    expect(introspected.body).toMatchObject({ active: true, client_id: SERVICE.id, key_type: 'PRODUCTION' });
  });
});
