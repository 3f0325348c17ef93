import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { basicAuth } from '../support/http.js';
import { fileBackends } from './support/backends.js';
import { IDP_RESOURCE as RESOURCE, startIdp, type Idp } from './support/idp.js';
import { serviceClient } from './support/provider.js';
import { subjectsPerTest, type Subject } from './support/subject.js';

/**
 * Third-party issuers through the HTTP API, with a second real oidc-provider playing the issuer: an admin
 * registers it, developers provide keys of its clients (proven at the issuer, never stored), gateways
 * resolve its clients and JWT access tokens to applications.
 */

const backends = fileBackends('issuers');
const GATEWAY = { id: 'gateway', secret: 'gateway-secret-gateway-secret-gateway' } as const;

const OPTIONS = { issuers: { allowHttpLoopback: true, timeoutMs: 1500 } } as const;
const CONFIGURATION = { clients: [serviceClient(GATEWAY.id, GATEWAY.secret, 'appkeys:resolve')] };

const keysPath = (appId: string, keyType = 'PRODUCTION') => `/appkeys/applications/${appId}/keys/${keyType}`;

let idp: Idp;
let otherIdp: Idp;
beforeAll(async () => {
  [idp, otherIdp] = await Promise.all([startIdp(), startIdp()]);
});
afterAll(async () => {
  await Promise.all([idp?.close(), otherIdp?.close()]);
});

describe.each(backends)('third-party issuers on the $name store', (backend) => {
  const start = subjectsPerTest(backend, { expectNoLeaks: true });

  async function subject(): Promise<Subject> {
    const s = await start(OPTIONS, CONFIGURATION);
    for (const client of [idp.secretClient, idp.postClient, otherIdp.secretClient]) s.secret(client.client_secret);
    s.secret(GATEWAY.secret);
    return s;
  }

  async function registered(s: Subject, issuerId = 'corp', at: Idp = idp, extra: Record<string, unknown> = {}) {
    const response = await s.put(`/appkeys/issuers/${issuerId}`, await s.admin(), { issuer: at.issuer, ...extra });
    expect(response.status, response.text).toBe(201);
    return response.body as { issuer_id: string; issuer: string; metadata: { token_endpoint: string } };
  }

  async function gatewayToken(s: Subject): Promise<string> {
    const response = await request(s.server)
      .post('/token')
      .set('Authorization', basicAuth(GATEWAY.id, GATEWAY.secret))
      .type('form')
      .send({ grant_type: 'client_credentials', scope: 'appkeys:resolve' });
    expect(response.status, response.text).toBe(200);
    return (response.body as { access_token: string }).access_token;
  }
  async function boundExternally(s: Subject, owner: string, issuerId = 'corp', client = idp.secretClient) {
    const token = await s.owner(owner);
    const appId = await s.application(token, `${owner} ${issuerId} ${client.client_id}`);
    const provided = await s.put(keysPath(appId), token, {
      issuer_id: issuerId,
      client_id: client.client_id,
      client_secret: client.client_secret,
    });
    expect(provided.status, provided.text).toBe(201);
    return { token, appId, binding: provided.body as Record<string, unknown> };
  }

  it('registers an issuer from its own metadata; replacing it unchanged answers 200; owners may not', async () => {
    const s = await subject();
    const issuer = await registered(s);
    expect(issuer).toMatchObject({ issuer_id: 'corp', issuer: idp.issuer, verification: 'client_credentials' });
    expect(issuer.metadata.token_endpoint).toBe(`${idp.issuer}/token`);

    const again = await s.put('/appkeys/issuers/corp', await s.admin(), { issuer: idp.issuer });
    expect(again.status).toBe(200);
    expect((await s.get('/appkeys/issuers', await s.admin())).body).toMatchObject({ items: [issuer] });
    expect((await s.get('/appkeys/issuers/corp', await s.admin())).body).toEqual(issuer);

    const byOwner = await s.put('/appkeys/issuers/mine', await s.owner('mallory'), { issuer: idp.issuer });
    expect(byOwner.status).toBe(403);
    expect(byOwner.body).toMatchObject({ error: 'insufficient_scope' });
    const sameUrl = await s.put('/appkeys/issuers/corp2', await s.admin(), { issuer: idp.issuer });
    expect(sameUrl.status).toBe(409);
    expect(sameUrl.body).toMatchObject({ error: 'issuer_taken' });
  });

  it('refuses an issuer whose metadata names another issuer, and plain http when not allowed', async () => {
    const s = await subject();
    const liar = await metadataServer((origin) => ({
      issuer: 'https://elsewhere.example',
      token_endpoint: `${origin}/t`,
    }));
    try {
      const mismatch = await s.put('/appkeys/issuers/liar', await s.admin(), { issuer: liar.origin });
      expect(mismatch.status, mismatch.text).toBe(400);
      expect(mismatch.body).toMatchObject({ error: 'invalid_issuer' });
    } finally {
      await liar.close();
    }

    const strict = await start({}, CONFIGURATION);
    const plain = await strict.put('/appkeys/issuers/corp', await strict.admin(), { issuer: idp.issuer });
    expect(plain.status, plain.text).toBe(400);
    expect(plain.body).toMatchObject({ error: 'invalid_issuer' });
  });

  it('binds a client of the issuer proven by its secret, with one answer for a wrong secret and an unknown client', async () => {
    const s = await subject();
    await registered(s);
    const { token, appId, binding } = await boundExternally(s, 'alice');
    expect(binding).toMatchObject({
      application_id: appId,
      key_type: 'PRODUCTION',
      client_id: idp.secretClient.client_id,
      origin: 'provided',
      issuer_id: 'corp',
      issuer: idp.issuer,
      verification: 'client_credentials',
    });
    const again = await s.put(keysPath(appId), token, {
      issuer_id: 'corp',
      client_id: idp.secretClient.client_id,
      client_secret: idp.secretClient.client_secret,
    });
    expect(again.status).toBe(200);
    expect((await s.get(`/appkeys/applications/${appId}`, token)).body).toMatchObject({
      keys: { PRODUCTION: binding },
    });

    const other = await s.application(token, 'second');
    const wrong = await s.put(keysPath(other), token, {
      issuer_id: 'corp',
      client_id: idp.postClient.client_id,
      client_secret: 'not-the-secret',
    });
    const unknown = await s.put(keysPath(other), token, {
      issuer_id: 'corp',
      client_id: 'no-such-client',
      client_secret: 'not-the-secret',
    });
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body).toMatchObject({ error: 'invalid_client' });

    // a client_secret_post-only client is proven the way its issuer takes it
    const post = await s.put(keysPath(other), token, {
      issuer_id: 'corp',
      client_id: idp.postClient.client_id,
      client_secret: idp.postClient.client_secret,
    });
    expect(post.status, post.text).toBe(201);
    expect(s.eventsNamed('appkeys.binding.created')).toContainEqual(
      expect.objectContaining({ client_id: idp.postClient.client_id, issuer_id: 'corp' }),
    );
  });

  it('relays a private_key_jwt assertion made for the issuer', async () => {
    const s = await subject();
    const issuer = await registered(s);
    const token = await s.owner('alice');
    const appId = await s.application(token, 'assertion');
    const provided = await s.put(keysPath(appId), token, {
      issuer_id: 'corp',
      client_id: idp.jwtClient.client_id,
      client_assertion: await idp.jwtClient.sign(issuer.metadata.token_endpoint),
    });
    expect(provided.status, provided.text).toBe(201);
    const forOtherClient = await s.put(keysPath(appId, 'SANDBOX'), token, {
      issuer_id: 'corp',
      client_id: idp.secretClient.client_id,
      client_assertion: await idp.jwtClient.sign(issuer.metadata.token_endpoint),
    });
    expect(forOtherClient.status).toBe(401);
  });

  it('answers 503 with Retry-After while the issuer is down, binding nothing, and binds once it is back', async () => {
    const s = await subject();
    const down = await startIdp();
    s.secret(down.secretClient.client_secret);
    try {
      await registered(s, 'flaky', down);
      const token = await s.owner('alice');
      const appId = await s.application(token, 'flaky');
      const body = {
        issuer_id: 'flaky',
        client_id: down.secretClient.client_id,
        client_secret: down.secretClient.client_secret,
      };
      await down.stop();
      const unavailable = await s.put(keysPath(appId), token, body);
      expect(unavailable.status, unavailable.text).toBe(503);
      expect(unavailable.body).toMatchObject({ error: 'temporarily_unavailable' });
      expect(Number(unavailable.headers['retry-after'])).toBeGreaterThan(0);
      expect((await s.get(`/appkeys/applications/${appId}`, token)).body).toMatchObject({ keys: {} });

      await down.start();
      const provided = await s.put(keysPath(appId), token, body);
      expect(provided.status, provided.text).toBe(201);
      // no failed attempt was counted for the outage
      expect(s.eventsNamed('appkeys.provide_keys.failed')).toEqual([]);
    } finally {
      await down.close();
    }
  });

  it('keys bindings by issuer and client: unbind, rebind elsewhere, and the same id at two issuers', async () => {
    const s = await subject();
    await registered(s, 'corp', idp);
    await registered(s, 'partner', otherIdp);
    const alice = await boundExternally(s, 'alice', 'corp', idp.secretClient);
    // the same client_id string at another issuer is another client
    const bob = await boundExternally(s, 'bob', 'partner', otherIdp.secretClient);
    expect(bob.binding).toMatchObject({ client_id: otherIdp.secretClient.client_id, issuer_id: 'partner' });

    const taken = await s.put(keysPath(bob.appId, 'SANDBOX'), bob.token, {
      issuer_id: 'corp',
      client_id: idp.secretClient.client_id,
      client_secret: idp.secretClient.client_secret,
    });
    expect(taken.status).toBe(409);
    expect(taken.body).toMatchObject({ error: 'client_already_bound' });

    const inUse = await s.delete('/appkeys/issuers/corp', await s.admin());
    expect(inUse.status).toBe(409);
    expect(inUse.body).toMatchObject({ error: 'issuer_in_use' });
    const moved = await s.put('/appkeys/issuers/corp', await s.admin(), { issuer: otherIdp.issuer });
    expect(moved.status).toBe(409);

    expect((await s.delete(keysPath(alice.appId), alice.token)).status).toBe(204);
    const rebound = await s.put(keysPath(bob.appId, 'SANDBOX'), bob.token, {
      issuer_id: 'corp',
      client_id: idp.secretClient.client_id,
      client_secret: idp.secretClient.client_secret,
    });
    expect(rebound.status, rebound.text).toBe(201);
    expect((await s.delete(keysPath(bob.appId, 'SANDBOX'), bob.token)).status).toBe(204);
    expect((await s.delete('/appkeys/issuers/corp', await s.admin())).status).toBe(204);
    expect((await s.get('/appkeys/issuers/corp', await s.admin())).status).toBe(404);
    // no binding of a removed issuer's client can be made
    const gone = await s.put(keysPath(alice.appId), alice.token, {
      issuer_id: 'corp',
      client_id: idp.secretClient.client_id,
      client_secret: idp.secretClient.client_secret,
    });
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ error: 'issuer_not_found' });
    // the admin's client list never shows a third-party issuer's clients
    const listed = (await s.get('/appkeys/clients', await s.admin())).body as { items: { client_id: string }[] };
    expect(listed.items.map((client) => client.client_id)).not.toContain(otherIdp.secretClient.client_id);
  });

  it('binds on the client id alone for an issuer registered without verification, and says so', async () => {
    const s = await subject();
    await registered(s, 'trusted', otherIdp, { verification: 'none' });
    const token = await s.owner('alice');
    const appId = await s.application(token, 'unverified');
    const withSecret = await s.put(keysPath(appId), token, {
      issuer_id: 'trusted',
      client_id: 'anything',
      client_secret: 'x',
    });
    expect(withSecret.status).toBe(400);
    const provided = await s.put(keysPath(appId), token, { issuer_id: 'trusted', client_id: 'anything' });
    expect(provided.status, provided.text).toBe(201);
    expect(provided.body).toMatchObject({ client_id: 'anything', issuer_id: 'trusted', verification: 'none' });
  });

  it('lets exactly one of 40 concurrent requests bind one external client', async () => {
    const s = await subject();
    await registered(s);
    const token = await s.owner('racer');
    const appIds = await Promise.all(Array.from({ length: 40 }, (_, i) => s.application(token, `race ${i}`)));
    const answers = await Promise.all(
      appIds.map((appId) =>
        s.put(keysPath(appId), token, {
          issuer_id: 'corp',
          client_id: idp.secretClient.client_id,
          client_secret: idp.secretClient.client_secret,
        }),
      ),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(39);
  });

  it('resolves a client and a JWT access token of the issuer for a gateway, and refuses forged ones', async () => {
    const s = await subject();
    await registered(s);
    const { appId } = await boundExternally(s, 'alice');
    const gateway = await gatewayToken(s);
    const expected = {
      application_id: appId,
      key_type: 'PRODUCTION',
      status: 'ACTIVE',
      owner: 'alice',
      client_id: idp.secretClient.client_id,
      issuer_id: 'corp',
      issuer: idp.issuer,
    };

    const lookupPath = `/appkeys/bindings/lookup?iss=${encodeURIComponent(idp.issuer)}&client_id=${idp.secretClient.client_id}`;
    const lookup = await s.get(lookupPath, gateway);
    expect(lookup.status, lookup.text).toBe(200);
    expect(lookup.body).toEqual(expected);
    expect((await s.get(lookupPath, await s.owner('alice'))).status).toBe(403);
    expect((await s.get(lookupPath, await s.admin())).status).toBe(200);
    const unbound = await s.get(
      `/appkeys/bindings/lookup?iss=${encodeURIComponent(idp.issuer)}&client_id=${idp.postClient.client_id}`,
      gateway,
    );
    expect(unbound.status).toBe(404);
    expect(unbound.body).toMatchObject({ error: 'client_not_bound' });
    // the gateway scope reaches nothing else
    expect((await s.get('/appkeys/applications', gateway)).status).toBe(403);

    const jwt = await idp.accessToken(idp.secretClient.client_id, RESOURCE);
    const resolved = await s.post('/appkeys/resolve', gateway, { token: jwt });
    expect(resolved.status, resolved.text).toBe(200);
    expect(resolved.body).toEqual(expected);

    // the same claims signed with a key the issuer never published
    const { privateKey } = await generateKeyPair('RS256');
    const [header] = jwt.split('.');
    const { kid } = JSON.parse(Buffer.from(header!, 'base64url').toString()) as { kid?: string };
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', ...(kid && { kid }) }).sign(privateKey);
    const refused = await s.post('/appkeys/resolve', gateway, { token: forged });
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error: 'invalid_signature' });

    const stranger = await new SignJWT({ ...claims, iss: 'https://stranger.example' })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(privateKey);
    expect((await s.post('/appkeys/resolve', gateway, { token: stranger })).body).toMatchObject({
      error: 'unknown_issuer',
    });
    const nowSeconds = Math.floor(Date.now() / 1000);
    const expired = await idp.signed({ ...claims, iat: nowSeconds - 3600, exp: nowSeconds - 600 });
    const late = await s.post('/appkeys/resolve', gateway, { token: expired });
    expect(late.status).toBe(401);
    expect(late.body).toMatchObject({ error: 'token_expired' });
    expect((await s.post('/appkeys/resolve', gateway, { token: 'not a jwt' })).body).toMatchObject({
      error: 'malformed_token',
    });
    expect((await s.post('/appkeys/resolve', gateway, { token: 42 })).status).toBe(400);
  });

  it("proves a local private_key_jwt client by an assertion naming this request's URL, once", async () => {
    const s = await subject();
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const registeredClient = await s.put('/appkeys/clients/signed-client', await s.admin(), {
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [jwk] },
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    });
    expect(registeredClient.status, registeredClient.text).toBe(201);
    const token = await s.owner('alice');
    const appId = await s.application(token, 'signed');
    const port = (s.server.address() as AddressInfo).port;
    const audience = (path: string) => `http://127.0.0.1:${port}${path}`;
    const assertion = (aud: string, jti = crypto.randomUUID()) =>
      new SignJWT({ jti })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer('signed-client')
        .setSubject('signed-client')
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime('2m')
        .sign(privateKey);

    const wrongAudience = await s.put(keysPath(appId), token, {
      client_id: 'signed-client',
      client_assertion: await assertion(audience(keysPath(appId, 'SANDBOX'))),
    });
    expect(wrongAudience.status).toBe(401);

    const good = await assertion(audience(keysPath(appId)));
    const provided = await s.put(keysPath(appId), token, { client_id: 'signed-client', client_assertion: good });
    expect(provided.status, provided.text).toBe(201);
    expect((await s.delete(keysPath(appId), token)).status).toBe(204);
    const replayed = await s.put(keysPath(appId), token, { client_id: 'signed-client', client_assertion: good });
    expect(replayed.status).toBe(401);
    expect(replayed.body).toMatchObject({ error: 'invalid_client' });
  });
});

/** A raw metadata server on 127.0.0.1 answering every path with the document `body(origin)` makes. */
async function metadataServer(
  body: (origin: string) => Record<string, unknown>,
): Promise<{ origin: string; close(): Promise<void> }> {
  const server = createServer((_request, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body(origin)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
