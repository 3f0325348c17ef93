/**
 * examples/mount-existing.ts: appkeys added to a server that already exists leaves that server as it
 * was — its static clients, its tokens and where they live, its own routes — and adds Provide Keys,
 * with the portal's session standing in for Bearer tokens.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  createExistingServer,
  PORTAL_USER_HEADER,
  type ExistingServer,
  type ExistingServerOptions,
} from '../examples/mount-existing.js';
import { authorizationCodeFlow } from './support/auth-code.js';
import { basicAuth } from '../support/http.js';
import { redisOrSkip, startRedis, type TestRedis } from './support/redis.js';

type Json = Record<string, unknown>;

const PARTNER = { id: 'partner-svc', secret: 'partner-secret-issued-by-another-idp' } as const;

interface Variant {
  readonly name: string;
  readonly mountPath: string;
  readonly redis: boolean;
}

const useRedis = redisOrSkip();
const VARIANTS: Variant[] = [
  { name: 'memory, provider at /oidc', mountPath: '/oidc', redis: false },
  { name: 'memory, provider at the root', mountPath: '', redis: false },
  ...(useRedis ? [{ name: 'Redis, provider at /oidc', mountPath: '/oidc', redis: true }] : []),
];

let redis: TestRedis | undefined;
beforeAll(async () => {
  if (useRedis) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

interface Running {
  readonly existing: ExistingServer;
  readonly server: Server;
  readonly issuer: string;
}

/**
 * Serves an existing server on a free port; its issuer is known only once the port is. The helper in
 * support/auth-code.ts looks discovery up at the root, so a provider mounted under a path has its
 * discovery document answered there too (a test shim, not part of the example).
 */
async function serve(
  mountPath: string,
  options: Omit<ExistingServerOptions, 'issuer' | 'mountPath'>,
): Promise<Running> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}${mountPath}`;
  const existing = createExistingServer({ issuer, mountPath, ...options });
  const handler = existing.app.callback() as RequestListener;
  server.on('request', (req, res) => {
    if (req.url === '/.well-known/openid-configuration') req.url = `${mountPath}${req.url}`;
    void handler(req, res);
  });
  return { existing, server, issuer };
}

async function stop(running: Running | undefined): Promise<void> {
  if (!running) return;
  await new Promise<void>((resolve) => running.server.close(() => resolve()));
  running.server.closeAllConnections();
  await running.existing.close();
}

async function clientCredentialsToken(running: Running, clientId: string, secret: string): Promise<string> {
  const response = await request(running.server)
    .post(`${new URL(running.issuer).pathname.replace(/\/$/, '')}/token`)
    .set('Authorization', basicAuth(clientId, secret))
    .type('form')
    .send({ grant_type: 'client_credentials' });
  expect(response.status, response.text).toBe(200);
  return (response.body as { access_token: string }).access_token;
}

async function introspect(running: Running, token: string, clientId: string, secret: string): Promise<Json> {
  const response = await request(running.server)
    .post(`${new URL(running.issuer).pathname.replace(/\/$/, '')}/token/introspection`)
    .set('Authorization', basicAuth(clientId, secret))
    .type('form')
    .send({ token });
  expect(response.status, response.text).toBe(200);
  return response.body as Json;
}

/** An introspection answer without what differs between any two tokens or servers. */
function comparable(body: Json): Json {
  const { iat: _iat, exp: _exp, iss: _iss, jti: _jti, ...rest } = body;
  return rest;
}

describe.each(VARIANTS)('an existing server with appkeys added ($name)', (variant) => {
  let running: Running;
  let before: Running;
  let connection: Redis | undefined;
  let prefixes: { tokenPrefix: string; appkeysPrefix: string } | undefined;
  const billingSecret = 'billing-secret-billing-secret-billing';
  const webSecret = 'web-secret-web-secret-web-secret-web';
  const path = (endpoint: string) => `${variant.mountPath}${endpoint}`;
  const as = (user: string) => ({ [PORTAL_USER_HEADER]: user });

  beforeAll(async () => {
    if (variant.redis) {
      connection = redis!.client();
      const namespace = redis!.namespace('mount');
      prefixes = { tokenPrefix: `${namespace}oidc:`, appkeysPrefix: `${namespace}appkeys:` };
    }
    const redisOptions = connection && prefixes ? { redis: { client: connection, ...prefixes } } : {};
    running = await serve(variant.mountPath, { ...redisOptions, billingSecret, webSecret });
    before = await serve(variant.mountPath, { withAppKeys: false, billingSecret, webSecret });
  });
  afterAll(async () => {
    await stop(running);
    await stop(before);
    connection?.disconnect();
  });

  it("still serves the outer app's own routes", async () => {
    const health = await request(running.server).get('/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const me = await request(running.server).get('/portal/me').set(as('alice'));
    expect(me.body).toEqual({ user: 'alice' });
    expect((await request(running.server).get('/portal/me')).status).toBe(401);
  });

  it('serves discovery and the token endpoint under the mount path', async () => {
    const discovery = await request(running.server).get(path('/.well-known/openid-configuration'));
    expect(discovery.status).toBe(200);
    const body = discovery.body as Json;
    expect(body.issuer).toBe(running.issuer);
    expect(body.token_endpoint).toBe(`${running.issuer}/token`);
    expect(body.introspection_endpoint).toBe(`${running.issuer}/token/introspection`);
    expect(await clientCredentialsToken(running, 'billing-svc', billingSecret)).toBeTypeOf('string');
    if (variant.mountPath !== '') {
      // nothing of the provider answers outside its path
      expect(
        (await request(running.server).post('/token').type('form').send({ grant_type: 'client_credentials' })).status,
      ).toBe(404);
    }
  });

  it('gives the static service client the tokens and introspection it had before appkeys', async () => {
    const now = await introspect(
      running,
      await clientCredentialsToken(running, 'billing-svc', billingSecret),
      'billing-svc',
      billingSecret,
    );
    const then = await introspect(
      before,
      await clientCredentialsToken(before, 'billing-svc', billingSecret),
      'billing-svc',
      billingSecret,
    );
    expect(now.active).toBe(true);
    // the existing server's own claim is kept; no appkeys claim appears on an unbound client's token
    expect(now.tenant).toBe('acme');
    expect(now).not.toHaveProperty('application_id');
    expect(now).not.toHaveProperty('key_type');
    expect(comparable(now)).toEqual(comparable(then));
  });

  it('signs users in to the static web client through the mounted provider, as before', async () => {
    const flow = (target: Running) =>
      authorizationCodeFlow(target.server, {
        clientId: 'web-app',
        clientSecret: webSecret,
        redirectUri: running.existing.web.redirectUri,
        scope: 'openid offline_access',
        accountId: 'carol',
      });
    const now = await flow(running);
    const then = await flow(before);
    expect(now.refresh_token).toBeTypeOf('string');
    const nowIntrospected = await introspect(running, now.access_token, 'web-app', webSecret);
    const thenIntrospected = await introspect(before, then.access_token, 'web-app', webSecret);
    expect(nowIntrospected).toMatchObject({ active: true, client_id: 'web-app', sub: 'carol', tenant: 'acme' });
    expect(comparable(nowIntrospected)).toEqual(comparable(thenIntrospected));
  });

  it('keeps the tokens it issues in the existing adapter and nowhere else', async () => {
    const token = await clientCredentialsToken(running, 'billing-svc', billingSecret);
    const stored = await running.existing.adapter('ClientCredentials').find(token);
    expect(stored).toMatchObject({ clientId: 'billing-svc', kind: 'ClientCredentials' });
    if (connection && prefixes) {
      // in Redis: every key naming the token is under the existing server's prefix
      const naming = (await connection.keys('*')).filter((key) => key.includes(token));
      expect(naming.length).toBeGreaterThan(0);
      expect(naming.every((key) => key.startsWith(prefixes!.tokenPrefix))).toBe(true);
    }
    // with the only copy gone from the existing adapter, the provider no longer knows the token
    await running.existing.adapter('ClientCredentials').destroy(token);
    expect((await introspect(running, token, 'billing-svc', billingSecret)).active).toBe(false);
  });

  it('imports a client created elsewhere, binds it to an application, and its tokens carry the binding', async () => {
    const imported = await request(running.server)
      .put(`/appkeys/clients/${PARTNER.id}`)
      .set(as('ops'))
      .send({
        client_secret: PARTNER.secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      });
    expect(imported.status, imported.text).toBe(201);
    // the Client model is the appkeys store's; the existing adapter holds no client records
    expect(await running.existing.keys!.store.getClient(PARTNER.id)).toBeDefined();
    expect(await running.existing.adapter('Client').find(PARTNER.id)).toBeUndefined();

    const unbound = await introspect(
      running,
      await clientCredentialsToken(running, PARTNER.id, PARTNER.secret),
      PARTNER.id,
      PARTNER.secret,
    );
    expect(unbound).not.toHaveProperty('application_id');

    const app = await request(running.server)
      .post('/appkeys/applications')
      .set(as('alice'))
      .send({ name: 'Partner integration' });
    expect(app.status, app.text).toBe(201);
    const appId = (app.body as { id: string }).id;
    const bound = await request(running.server)
      .put(`/appkeys/applications/${appId}/keys/PRODUCTION`)
      .set(as('alice'))
      .send({ client_id: PARTNER.id, client_secret: PARTNER.secret });
    expect(bound.status, bound.text).toBe(201);
    expect(bound.body).toMatchObject({
      application_id: appId,
      key_type: 'PRODUCTION',
      origin: 'provided',
      bound_by: 'alice',
    });

    const token = await clientCredentialsToken(running, PARTNER.id, PARTNER.secret);
    const introspected = await introspect(running, token, PARTNER.id, PARTNER.secret);
    expect(introspected).toMatchObject({
      active: true,
      client_id: PARTNER.id,
      application_id: appId,
      key_type: 'PRODUCTION',
      tenant: 'acme',
    });
    // its tokens, too, live in the existing adapter
    expect(await running.existing.adapter('ClientCredentials').find(token)).toMatchObject({ clientId: PARTNER.id });

    // the binding's removal reaches the token at once
    const deleted = await request(running.server).delete(`/appkeys/applications/${appId}`).set(as('alice'));
    expect(deleted.status).toBe(204);
    expect((await introspect(running, token, PARTNER.id, PARTNER.secret)).active).toBe(false);
  });

  it('authenticates appkeys callers by the portal session, not by Bearer tokens', async () => {
    const noSession = await request(running.server).get('/appkeys/applications');
    expect(noSession.status).toBe(401);
    expect(noSession.body).toMatchObject({ error: 'invalid_token' });
    // a token of this very provider is not a portal session
    const bearer = await clientCredentialsToken(running, 'billing-svc', billingSecret);
    expect(
      (await request(running.server).get('/appkeys/applications').set('Authorization', `Bearer ${bearer}`)).status,
    ).toBe(401);

    const owned = await request(running.server)
      .post('/appkeys/applications')
      .set(as('dave'))
      .send({ name: 'Dave app' });
    expect(owned.status).toBe(201);
    const id = (owned.body as { id: string }).id;
    expect((await request(running.server).get(`/appkeys/applications/${id}`).set(as('dave'))).status).toBe(200);
    expect((await request(running.server).get(`/appkeys/applications/${id}`).set(as('erin'))).status).toBe(404);
    // admins are the portal's admins: only they manage out-of-band clients
    const ownerOnClients = await request(running.server).get('/appkeys/clients').set(as('dave'));
    expect(ownerOnClients.status).toBe(403);
    expect(ownerOnClients.body).toMatchObject({ error: 'insufficient_scope' });
    expect((await request(running.server).get('/appkeys/clients').set(as('ops'))).status).toBe(200);
    expect((await request(running.server).get(`/appkeys/applications/${id}`).set(as('ops'))).status).toBe(200);
  });

  it('refuses to import or bind the static clients', async () => {
    const imported = await request(running.server)
      .put('/appkeys/clients/billing-svc')
      .set(as('ops'))
      .send({ client_secret: 'another', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
    expect(imported.status).toBe(409);
    expect(imported.body).toMatchObject({ error: 'client_is_static' });
    const app = await request(running.server).post('/appkeys/applications').set(as('frank')).send({ name: 'Billing' });
    const bound = await request(running.server)
      .put(`/appkeys/applications/${(app.body as { id: string }).id}/keys/SANDBOX`)
      .set(as('frank'))
      .send({ client_id: 'billing-svc', client_secret: billingSecret });
    expect(bound.status).toBe(409);
    expect(bound.body).toMatchObject({ error: 'client_is_static' });
    // and they go on as before
    const token = await clientCredentialsToken(running, 'billing-svc', billingSecret);
    expect(await introspect(running, token, 'billing-svc', billingSecret)).not.toHaveProperty('application_id');
  });
});
