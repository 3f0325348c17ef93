import { createPublicKey, verify as verifySignature, type JsonWebKey } from 'node:crypto';

import request from 'supertest';
import { describe, expect, it } from 'vitest';

import { ADMIN_CLIENT } from './support/appkeys.js';
import { authorizationCodeFlow, tokenRequest } from './support/auth-code.js';
import { basicAuth } from '../support/http.js';
import { fileBackends } from './support/backends.js';
import { expectOAuthError } from './support/errors.js';
import { API, SECRET, type Subject, subjectsPerTest, type Body } from './support/subject.js';

const backends = fileBackends();

/** The parts of a compact JWS, its header and payload decoded. */
function decodeJws(jws: string): { header: Body; payload: Body; signingInput: string; signature: Buffer } {
  const parts = jws.split('.');
  expect(parts).toHaveLength(3);
  const [header, payload, signature] = parts as [string, string, string];
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Body,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Body,
    signingInput: `${header}.${payload}`,
    signature: Buffer.from(signature, 'base64url'),
  };
}

describe.each(backends)('tokens of bound clients, on the $name backend', (backend) => {
  const start = subjectsPerTest(backend);

  /** Tokens carry whole-second `iat`; a token of a block's own second never counts again (README, Tokens). */
  async function pastTheSecondOf(instant: number): Promise<void> {
    const wait = 1000 - (instant % 1000) + 20;
    if (Math.floor(Date.now() / 1000) <= Math.floor(instant / 1000))
      await new Promise((resolve) => setTimeout(resolve, wait));
  }

  describe('claims', () => {
    it(
      "gives a bound client's client_credentials token application_id and key_type, " + 'shown by introspection',
      async () => {
        const t = await start();
        const { appId } = await t.boundClient('alice', 'oob-bound', 'SANDBOX');

        const token = await t.accessToken('oob-bound');

        expect(await t.introspect(token)).toMatchObject({
          active: true,
          client_id: 'oob-bound',
          application_id: appId,
          key_type: 'SANDBOX',
          token_type: 'Bearer',
        });
      },
    );

    it(
      "still calls the caller's extraTokenClaims and merges its claims, " + "the binding's winning on the same names",
      async () => {
        const calledFor: string[] = [];
        const t = await start(
          {},
          {
            extraTokenClaims(_ctx, token) {
              calledFor.push(token.clientId!);
              return { tenant: 'acme', application_id: 'from-the-caller', key_type: 'from-the-caller' };
            },
          },
        );
        const { appId } = await t.boundClient('alice', 'oob-bound');

        const token = await t.accessToken('oob-bound');

        expect(calledFor).toContain('oob-bound');
        expect(await t.introspect(token)).toMatchObject({
          active: true,
          tenant: 'acme',
          application_id: appId,
          key_type: 'PRODUCTION',
        });
      },
    );

    it(
      "keeps application_id and key_type to the binding: an unbound client's token has neither, " +
        "even when the caller's claims name them, and stays active",
      async () => {
        const t = await start(
          {},
          {
            extraTokenClaims: () => ({
              tenant: 'acme',
              application_id: 'from-the-caller',
              key_type: 'from-the-caller',
            }),
          },
        );
        await t.registerClient('oob-unbound');

        for (const token of [await t.accessToken('oob-unbound'), await t.admin()]) {
          const introspected = await t.introspect(token);
          expect(introspected).toMatchObject({ active: true, tenant: 'acme' });
          expect(introspected).not.toHaveProperty('application_id');
          expect(introspected).not.toHaveProperty('key_type');
        }
      },
    );

    it(
      'gives static and unbound out-of-band clients tokens without binding claims, ' + 'introspected as usual',
      async () => {
        const t = await start();
        await t.registerClient('oob-unbound');

        const unbound = await t.introspect(await t.accessToken('oob-unbound'));
        expect(unbound).toMatchObject({ active: true, client_id: 'oob-unbound' });
        const admin = await t.introspect(await t.admin());
        expect(admin).toMatchObject({ active: true, client_id: ADMIN_CLIENT.id, scope: 'appkeys:admin' });
        for (const introspected of [unbound, admin]) {
          expect(introspected).not.toHaveProperty('application_id');
          expect(introspected).not.toHaveProperty('key_type');
        }
      },
    );

    it('signs application_id and key_type into a JWT access token for a resource server', async () => {
      const t = await start(
        {},
        {
          features: {
            resourceIndicators: {
              enabled: true,
              getResourceServerInfo: () => ({
                scope: 'api:read',
                accessTokenFormat: 'jwt',
                jwt: { sign: { alg: 'RS256' } },
              }),
            },
          },
        },
      );
      const { appId } = await t.boundClient('alice', 'oob-bound');
      const before = await t.storedTokens();

      const jws = await t.accessToken('oob-bound', SECRET, { scope: 'api:read', resource: API });

      const { header, payload, signingInput, signature } = decodeJws(jws);
      expect(header).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
      expect(payload).toMatchObject({
        client_id: 'oob-bound',
        aud: API,
        scope: 'api:read',
        application_id: appId,
        key_type: 'PRODUCTION',
      });
      const jwks = (await request(t.server).get('/jwks')).body as { keys: Array<JsonWebKey & { kid: string }> };
      const jwk = jwks.keys.find((key) => key.kid === header.kid);
      expect(jwk, "the signing key is in the provider's JWKS").toBeDefined();
      expect(
        verifySignature('sha256', Buffer.from(signingInput), createPublicKey({ key: jwk!, format: 'jwk' }), signature),
      ).toBe(true);
      // a JWT access token is not stored, so nothing here can revoke it: it lives until it expires
      expect(await t.storedTokens()).toBe(before);
    });

    it('carries the binding in authorization-code and refreshed access tokens of generated keys', async () => {
      const t = await start();
      const owner = await t.ownerToken('carol');
      const appId = await t.application(owner, 'Web app');
      const generated = await t.call('post', `/appkeys/applications/${appId}/keys/SANDBOX`, owner, {
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['https://app.example/cb'],
      });
      expect(generated.status, generated.text).toBe(201);
      const client = generated.body as { client_id: string; client_secret: string };
      const flow = {
        clientId: client.client_id,
        clientSecret: client.client_secret,
        redirectUri: 'https://app.example/cb',
        scope: 'openid offline_access api:read',
        accountId: 'dave',
      };

      const tokens = await authorizationCodeFlow(t.server, flow);
      expect(await t.introspect(tokens.access_token)).toMatchObject({
        active: true,
        sub: 'dave',
        client_id: client.client_id,
        application_id: appId,
        key_type: 'SANDBOX',
      });

      expect(tokens.refresh_token).toEqual(expect.any(String));
      const refreshed = await tokenRequest(t.server, flow, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token!,
      });
      expect(refreshed.status, refreshed.text).toBe(200);
      const refreshedToken = (refreshed.body as { access_token: string }).access_token;
      expect(refreshedToken).not.toBe(tokens.access_token);
      expect(await t.introspect(refreshedToken)).toMatchObject({
        active: true,
        sub: 'dave',
        application_id: appId,
        key_type: 'SANDBOX',
      });
    });
  });

  describe('a BLOCKED application', () => {
    async function block(t: Subject, appId: string, status: 'BLOCKED' | 'ACTIVE'): Promise<void> {
      const response = await t.call('patch', `/appkeys/applications/${appId}`, await t.admin(), { status });
      expect(response.status, response.text).toBe(200);
      expect((response.body as { status: string }).status).toBe(status);
    }

    it('gets invalid_client at /token and no token is saved; its earlier tokens introspect inactive', async () => {
      const t = await start();
      const { appId } = await t.boundClient('alice', 'oob-bound');
      const earlier = await t.accessToken('oob-bound');

      await block(t, appId, 'BLOCKED');
      const before = await t.storedTokens();
      const refused = await t.clientCredentials('oob-bound');

      expectOAuthError(refused, 401, 'invalid_client');
      expect(await t.storedTokens()).toBe(before);
      expect(await t.introspect(earlier)).toEqual({ active: false });
    });

    it('cannot revoke its own tokens while blocked: invalid_client, and the token stays stored', async () => {
      const t = await start();
      const { appId } = await t.boundClient('alice', 'oob-bound');
      const earlier = await t.accessToken('oob-bound');
      await block(t, appId, 'BLOCKED');
      const before = await t.storedTokens();

      expectOAuthError(await t.revoke(earlier, 'oob-bound'), 401, 'invalid_client');
      expect(await t.storedTokens()).toBe(before);
      // nor does another client's revocation touch it: to every endpoint that looks tokens up, a blocked
      // client's token is no token (RFC 7009 answers 200 for those), and it stays stored until it expires
      const byAdmin = await request(t.server)
        .post('/token/revocation')
        .set('Authorization', basicAuth(ADMIN_CLIENT.id, ADMIN_CLIENT.secret))
        .type('form')
        .send({ token: earlier });
      expect(byAdmin.status, byAdmin.text).toBe(200);
      expect(await t.storedTokens()).toBe(before);
    });

    // Current semantics, pending a decision: introspection compares a token with the client's binding
    // as it is now, so lifting a block revives every unexpired token issued before it. The binding's
    // tokens_since, stamped by the store at each block, is not consulted yet.
    it('issues tokens again once ACTIVE again, while its tokens from before the block stay inactive', async () => {
      const t = await start();
      const { appId } = await t.boundClient('alice', 'oob-bound');
      const beforeBlock = await t.accessToken('oob-bound');
      await block(t, appId, 'BLOCKED');
      const blockedAt = Date.now();
      expect(await t.introspect(beforeBlock)).toEqual({ active: false });

      await block(t, appId, 'ACTIVE');
      await pastTheSecondOf(blockedAt);

      const afterUnblock = await t.accessToken('oob-bound');
      expect(await t.introspect(afterUnblock)).toMatchObject({ active: true, application_id: appId });
      expect(await t.introspect(beforeBlock)).toEqual({ active: false });
    });

    it('keeps tokens of an earlier binding inactive when the client is bound again to the same key type', async () => {
      const t = await start();
      const { appId, owner } = await t.boundClient('alice', 'oob-again');
      const underFirst = await t.accessToken('oob-again');
      const unbound = Date.now();
      expect(
        (
          await request(t.server)
            .delete(`/appkeys/applications/${appId}/keys/PRODUCTION`)
            .set('Authorization', `Bearer ${owner}`)
        ).status,
      ).toBe(204);
      await pastTheSecondOf(unbound);
      await t.provideKeys(owner, appId, 'PRODUCTION', 'oob-again');

      expect(await t.introspect(underFirst)).toEqual({ active: false });
      expect(await t.introspect(await t.accessToken('oob-again'))).toMatchObject({
        active: true,
        application_id: appId,
      });
    });
  });

  describe('requireBinding', () => {
    it(
      'refuses an unbound out-of-band client with unauthorized_client, ' + 'saving no token, until it is bound',
      async () => {
        const t = await start({ requireBinding: true });
        await t.registerClient('oob-late');
        const before = await t.storedTokens();

        expectOAuthError(await t.clientCredentials('oob-late'), 400, 'unauthorized_client');
        expect(await t.storedTokens()).toBe(before);

        const owner = await t.ownerToken('alice');
        const appId = await t.application(owner, 'Late app');
        await t.provideKeys(owner, appId, 'PRODUCTION', 'oob-late');
        const token = await t.accessToken('oob-late');
        expect(await t.introspect(token)).toMatchObject({
          active: true,
          application_id: appId,
          key_type: 'PRODUCTION',
        });
      },
    );

    it('refuses an unbound client a JWT access token too', async () => {
      const t = await start(
        { requireBinding: true },
        {
          features: {
            resourceIndicators: {
              enabled: true,
              getResourceServerInfo: () => ({
                scope: 'api:read',
                accessTokenFormat: 'jwt',
                jwt: { sign: { alg: 'RS256' } },
              }),
            },
          },
        },
      );
      await t.registerClient('oob-late');

      expectOAuthError(
        await t.clientCredentials('oob-late', SECRET, { scope: 'api:read', resource: API }),
        400,
        'unauthorized_client',
      );
    });

    it("leaves static clients untouched: the admin client and the portal's sign-in get their tokens", async () => {
      const t = await start({ requireBinding: true });

      expect(await t.introspect(await t.admin())).toMatchObject({ active: true, client_id: ADMIN_CLIENT.id });
      expect(await t.introspect(await t.ownerToken('alice'))).toMatchObject({ active: true, sub: 'alice' });
    });
  });

  describe('after the binding changes', () => {
    it('turns a token inactive once its client is unbound', async () => {
      const t = await start();
      const { owner, appId } = await t.boundClient('alice', 'oob-bound');
      const token = await t.accessToken('oob-bound');

      const unbound = await t.call('delete', `/appkeys/applications/${appId}/keys/PRODUCTION`, owner);
      expect(unbound.status, unbound.text).toBe(204);

      expect(await t.introspect(token)).toEqual({ active: false });
      // the client lives on, unbound: its new tokens carry no binding
      const after = await t.introspect(await t.accessToken('oob-bound'));
      expect(after).toMatchObject({ active: true });
      expect(after).not.toHaveProperty('application_id');
    });

    it('turns a token inactive once its application is deleted', async () => {
      const t = await start();
      const { owner, appId } = await t.boundClient('alice', 'oob-bound');
      const token = await t.accessToken('oob-bound');

      const deleted = await t.call('delete', `/appkeys/applications/${appId}`, owner);
      expect(deleted.status, deleted.text).toBe(204);

      expect(await t.introspect(token)).toEqual({ active: false });
    });

    it(
      'keeps the old token inactive when the client is rebound to another application, ' +
        'while new tokens are active',
      async () => {
        const t = await start();
        const { owner: alice, appId: aliceApp } = await t.boundClient('alice', 'oob-bound');
        const old = await t.accessToken('oob-bound');
        expect((await t.call('delete', `/appkeys/applications/${aliceApp}`, alice)).status).toBe(204);

        const bob = await t.ownerToken('bob');
        const bobApp = await t.application(bob, 'Bob app');
        await t.provideKeys(bob, bobApp, 'PRODUCTION', 'oob-bound');
        const fresh = await t.accessToken('oob-bound');

        expect(await t.introspect(old)).toEqual({ active: false });
        expect(await t.introspect(fresh)).toMatchObject({
          active: true,
          application_id: bobApp,
          key_type: 'PRODUCTION',
        });
      },
    );

    it('keeps the old token inactive when the client moves to the other key type of the same application', async () => {
      const t = await start();
      const { owner, appId } = await t.boundClient('alice', 'oob-bound');
      const old = await t.accessToken('oob-bound');
      expect((await t.call('delete', `/appkeys/applications/${appId}/keys/PRODUCTION`, owner)).status).toBe(204);
      await t.provideKeys(owner, appId, 'SANDBOX', 'oob-bound');

      expect(await t.introspect(old)).toEqual({ active: false });
      expect(await t.introspect(await t.accessToken('oob-bound'))).toMatchObject({ active: true, key_type: 'SANDBOX' });
    });

    it('turns the tokens of a deleted out-of-band client inactive, those with a subject too', async () => {
      const t = await start();
      await t.registerClient('oob-web', SECRET, {
        grant_types: ['authorization_code', 'client_credentials'],
        response_types: ['code'],
        redirect_uris: ['https://web.example/cb'],
        scope: 'openid api:read',
      });
      const service = await t.accessToken('oob-web');
      const user = await authorizationCodeFlow(t.server, {
        clientId: 'oob-web',
        clientSecret: SECRET,
        redirectUri: 'https://web.example/cb',
        scope: 'openid api:read',
        accountId: 'erin',
      });
      expect(await t.introspect(user.access_token)).toMatchObject({ active: true, sub: 'erin' });

      const deleted = await t.call('delete', '/appkeys/clients/oob-web', await t.admin());
      expect(deleted.status, deleted.text).toBe(204);

      expect(await t.introspect(service)).toEqual({ active: false });
      expect(await t.introspect(user.access_token)).toEqual({ active: false });
    });

    it('lets a bound client revoke its own token', async () => {
      const t = await start();
      await t.boundClient('alice', 'oob-bound');
      const token = await t.accessToken('oob-bound');
      const before = await t.storedTokens();

      const revoked = await t.revoke(token, 'oob-bound');

      expect(revoked.status, revoked.text).toBe(200);
      expect(await t.storedTokens()).toBe(before - 1);
      expect(await t.introspect(token)).toEqual({ active: false });
    });
  });
});
