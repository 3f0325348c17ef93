import type { Configuration } from 'oidc-provider';
import request from 'supertest';
import { describe, expect, it } from 'vitest';

import { ADMIN_CLIENT } from './support/appkeys.js';
import { authorizationCodeFlow } from './support/auth-code.js';
import { serviceClient } from './support/provider.js';
import { fileBackends } from './support/backends.js';
import { expectOAuthError } from './support/errors.js';
import { SECRET, type Subject, subjectsPerTest, type Body } from './support/subject.js';

/**
 * What an attacker's review of 0.1.0 could do against the server, each now refused: an owner undoing an
 * admin's block, the throttle telling a right secret from a wrong one, management scopes reaching
 * clients that should never hold them, tokens from before a binding, owner ids colliding with
 * admin-made applications, and the binding shown to RFC 7592 readers.
 */

const REDIRECT = 'https://app.example/cb';
const OPEN_STATIC = { id: 'open-static', secret: 'open-static-secret-open-static-secret' } as const;
const REGISTRATION = {
  features: {
    registration: { enabled: true },
    registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
  },
} as Configuration;

const keys = (appId: string, keyType = 'PRODUCTION') => `/appkeys/applications/${appId}/keys/${keyType}`;

describe.each(fileBackends())('security on the $name backend', (backend) => {
  const start = subjectsPerTest(backend);

  async function block(t: Subject, appId: string, status: 'BLOCKED' | 'ACTIVE'): Promise<void> {
    const response = await t.call('patch', `/appkeys/applications/${appId}`, await t.admin(), { status });
    expect(response.status, response.text).toBe(200);
  }

  describe("an admin's block", () => {
    it('leaves the owner of a BLOCKED application reading, never changing: 403 application_blocked', async () => {
      const t = await start();
      const { owner, appId } = await t.boundClient('alice', 'oob-blocked');
      expect((await t.call('post', keys(appId, 'SANDBOX'), owner, {})).status).toBe(201);
      await t.registerClient('oob-spare');
      await block(t, appId, 'BLOCKED');

      const refused = [
        await t.call('delete', keys(appId), owner),
        await t.call('delete', `/appkeys/applications/${appId}`, owner),
        await t.call('post', `${keys(appId, 'SANDBOX')}/secret`, owner),
        await t.call('patch', `/appkeys/applications/${appId}`, owner, { name: 'Renamed' }),
      ];
      for (const response of refused) expectOAuthError(response, 403, 'application_blocked');
      await t.call('delete', keys(appId, 'SANDBOX'), await t.admin());
      expectOAuthError(await t.call('post', keys(appId, 'SANDBOX'), owner, {}), 403, 'application_blocked');
      expectOAuthError(
        await t.call('put', keys(appId, 'SANDBOX'), owner, { client_id: 'oob-spare', client_secret: SECRET }),
        403,
        'application_blocked',
      );

      const read = await t.call('get', `/appkeys/applications/${appId}`, owner);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({
        name: 'oob-blocked app',
        status: 'BLOCKED',
        keys: { PRODUCTION: { client_id: 'oob-blocked' } },
      });
      // the client stays unusable, and cannot be provided to another application meanwhile
      expectOAuthError(await t.clientCredentials('oob-blocked'), 401, 'invalid_client');
      const elsewhere = await t.application(await t.ownerToken('mallory'), 'Elsewhere');
      const taken = await t.call('put', keys(elsewhere), await t.ownerToken('mallory'), {
        client_id: 'oob-blocked',
        client_secret: SECRET,
      });
      expect(taken.status).not.toBe(201);
    });

    it("is the admin's to lift or work around: an admin unbinds, and the client is usable again", async () => {
      const t = await start();
      const { appId } = await t.boundClient('alice', 'oob-released');
      await block(t, appId, 'BLOCKED');
      expect((await t.call('delete', keys(appId), await t.admin())).status).toBe(204);
      expect((await t.clientCredentials('oob-released')).status).toBe(200);
    });
  });

  describe('the provide-keys throttle', () => {
    it('answers 429 to a throttled caller before comparing the secret, static clients included', async () => {
      const t = await start();
      const bob = await t.ownerToken('bob');
      const appId = await t.application(bob, 'Guesses');
      for (let i = 0; i < 5; i += 1) {
        expectOAuthError(
          await t.call('put', keys(appId), bob, { client_id: ADMIN_CLIENT.id, client_secret: `guess-${i}` }),
          401,
          'invalid_client',
        );
      }
      const right = await t.call('put', keys(appId), bob, {
        client_id: ADMIN_CLIENT.id,
        client_secret: ADMIN_CLIENT.secret,
      });
      expectOAuthError(right, 429, 'too_many_attempts');
      expect(right.headers['retry-after']).toMatch(/^\d+$/);
      const wrong = await t.call('put', keys(appId), bob, { client_id: ADMIN_CLIENT.id, client_secret: 'guess-5' });
      expect({ status: wrong.status, body: wrong.body as Body }).toEqual({
        status: right.status,
        body: right.body as Body,
      });
    });

    it("lets an admin clear a client locked out by many callers' failures", async () => {
      const t = await start({ provideKeys: { enabled: true, attempts: { perCaller: 5, perClient: 3 } } });
      await t.registerClient('oob-locked');
      for (const caller of ['m1', 'm2', 'm3']) {
        const token = await t.ownerToken(caller);
        const appId = await t.application(token, `App of ${caller}`);
        expectOAuthError(
          await t.call('put', keys(appId), token, { client_id: 'oob-locked', client_secret: 'wrong' }),
          401,
          'invalid_client',
        );
      }
      const alice = await t.ownerToken('alice');
      const appId = await t.application(alice, 'Legit');
      const attempt = () => t.call('put', keys(appId), alice, { client_id: 'oob-locked', client_secret: SECRET });
      expectOAuthError(await attempt(), 429, 'too_many_attempts');

      expectOAuthError(
        await t.call('delete', '/appkeys/clients/oob-locked/attempts', alice),
        403,
        'insufficient_scope',
      );
      expect((await t.call('delete', '/appkeys/clients/oob-locked/attempts', await t.admin())).status).toBe(204);
      expect((await attempt()).status).toBe(201);
    });
  });

  describe('management scopes', () => {
    it('never issues appkeys or appkeys:admin to generated keys', async () => {
      const t = await start();
      const alice = await t.ownerToken('alice');
      const appId = await t.application(alice, 'Generated');
      const generated = await t.call('post', keys(appId), alice, {});
      const { client_id: clientId, client_secret: secret } = generated.body as {
        client_id: string;
        client_secret: string;
      };
      for (const scope of ['appkeys:admin', 'appkeys', 'api:read appkeys']) {
        expectOAuthError(await t.clientCredentials(clientId, secret, { scope }), 400, 'invalid_scope');
      }
      const plain = await t.clientCredentials(clientId, secret);
      expect(plain.status, plain.text).toBe(200);
      expect(String((plain.body as Body).scope ?? '')).not.toMatch(/appkeys/);
    });

    it('never issues them to a static client whose own scope does not list them', async () => {
      const t = await start(
        {},
        { clients: [{ ...serviceClient(OPEN_STATIC.id, OPEN_STATIC.secret), scope: undefined }] },
      );
      expectOAuthError(
        await t.clientCredentials(OPEN_STATIC.id, OPEN_STATIC.secret, { scope: 'appkeys:admin' }),
        400,
        'invalid_scope',
      );
      expectOAuthError(
        await t.clientCredentials(OPEN_STATIC.id, OPEN_STATIC.secret, { scope: 'appkeys' }),
        400,
        'invalid_scope',
      );
      expect((await t.clientCredentials(OPEN_STATIC.id, OPEN_STATIC.secret, { scope: 'api:read' })).status).toBe(200);
      // the operator's admin client names appkeys:admin in its scope: it keeps it
      expect((await t.clientCredentials(ADMIN_CLIENT.id, ADMIN_CLIENT.secret, { scope: 'appkeys:admin' })).status).toBe(
        200,
      );
    });

    it('never issues them to a dynamically registered client, and refuses them in its metadata', async () => {
      const t = await start({}, REGISTRATION);
      const metadata = { grant_types: ['client_credentials'], response_types: [], redirect_uris: [] };
      expectOAuthError(
        await request(t.server)
          .post('/reg')
          .send({ ...metadata, scope: 'appkeys:admin' }),
        400,
        'invalid_client_metadata',
      );
      const registered = await request(t.server).post('/reg').send(metadata);
      expect(registered.status, registered.text).toBe(201);
      const { client_id: clientId, client_secret: secret } = registered.body as Record<string, string>;
      expectOAuthError(await t.clientCredentials(clientId!, secret!, { scope: 'appkeys:admin' }), 400, 'invalid_scope');
    });

    it('refuses them, and public client_credentials clients, in out-of-band and generated metadata', async () => {
      const t = await start();
      const admin = await t.admin();
      const base = {
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      };
      expectOAuthError(
        await t.call('put', '/appkeys/clients/oob-admin-scope', admin, { ...base, scope: 'appkeys:admin' }),
        400,
        'invalid_client_metadata',
      );
      const alice = await t.ownerToken('alice');
      const appId = await t.application(alice, 'Public');
      expectOAuthError(await t.call('post', keys(appId), alice, { scope: 'appkeys' }), 400, 'invalid_client_metadata');
      const open = await t.call('post', keys(appId), alice, { token_endpoint_auth_method: 'none' });
      expectOAuthError(open, 400, 'invalid_client_metadata');
      expect(String((open.body as Body).error_description)).toMatch(/none/);
      expect((await t.call('get', `/appkeys/applications/${appId}`, alice)).body.keys).toEqual({});
    });
  });

  describe('tokens and the binding', () => {
    it(
      "turns a client's tokens from before its binding inactive, " + 'and keeps them so after a block is lifted',
      async () => {
        const t = await start();
        await t.registerClient('oob-early');
        const early = await t.accessToken('oob-early');
        expect(await t.introspect(early)).toMatchObject({ active: true });

        const alice = await t.ownerToken('alice');
        const appId = await t.application(alice, 'Late binding');
        await t.provideKeys(alice, appId, 'PRODUCTION', 'oob-early');
        expect(await t.introspect(early)).toEqual({ active: false });
        const bound = await t.accessToken('oob-early');
        expect(await t.introspect(bound)).toMatchObject({ active: true, application_id: appId });

        await block(t, appId, 'BLOCKED');
        await block(t, appId, 'ACTIVE');
        expect(await t.introspect(early)).toEqual({ active: false });
      },
    );

    it('refuses such tokens at userinfo too', async () => {
      const t = await start();
      const admin = await t.admin();
      const registered = await t.call('put', '/appkeys/clients/oob-web', admin, {
        client_secret: SECRET,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [REDIRECT],
        scope: 'openid',
      });
      expect(registered.status, registered.text).toBe(201);
      const { access_token: early } = await authorizationCodeFlow(t.server, {
        clientId: 'oob-web',
        clientSecret: SECRET,
        redirectUri: REDIRECT,
        scope: 'openid',
        accountId: 'carol',
      });
      const userinfo = () => request(t.server).get('/me').set('Authorization', `Bearer ${early}`);
      expect((await userinfo()).status).toBe(200);

      const alice = await t.ownerToken('alice');
      await t.provideKeys(alice, await t.application(alice, 'Web'), 'SANDBOX', 'oob-web');
      expectOAuthError(await userinfo(), 401, 'invalid_token');
    });
  });

  describe('owners and admins', () => {
    it('keeps an application an admin creates without an owner from every account, whatever its id', async () => {
      const t = await start();
      const created = await t.call('post', '/appkeys/applications', await t.admin(), { name: 'Held by admins' });
      expect(created.status, created.text).toBe(201);
      expect(created.body).toMatchObject({ owner: null });
      const appId = (created.body as { id: string }).id;
      for (const account of [`client:${ADMIN_CLIENT.id}`, 'client:', 'null']) {
        const token = await t.ownerToken(account);
        expect((await t.call('get', '/appkeys/applications', token)).body.items).toEqual([]);
        expectOAuthError(await t.call('get', `/appkeys/applications/${appId}`, token), 404, 'application_not_found');
        expectOAuthError(await t.call('delete', `/appkeys/applications/${appId}`, token), 404, 'application_not_found');
      }
    });

    it('refuses an account id with control characters, and an admin naming one as owner', async () => {
      const t = await start();
      const token = await t.ownerToken('eve\u001b]0;owned\u0007');
      expectOAuthError(await t.call('get', '/appkeys/applications', token), 401, 'invalid_token');
      expectOAuthError(
        await t.call('post', '/appkeys/applications', await t.admin(), { name: 'x', owner: 'bob\u009b31m' }),
        400,
        'invalid_request',
      );
      expectOAuthError(
        await t.call('post', '/appkeys/applications', await t.admin(), { name: 'y', owner: 'bob\u202e' }),
        400,
        'invalid_request',
      );
    });
  });

  describe('RFC 7592', () => {
    it("never shows a client's binding to whoever holds its registration access token", async () => {
      const t = await start({}, REGISTRATION);
      const metadata = {
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'api:read',
      };
      const registered = await request(t.server).post('/reg').send(metadata);
      const {
        client_id: clientId,
        client_secret: secret,
        registration_access_token: rat,
      } = registered.body as Record<string, string>;
      const alice = await t.ownerToken('alice');
      await t.provideKeys(alice, await t.application(alice, 'Registered'), 'PRODUCTION', clientId!, secret!);

      const read = await request(t.server)
        .get(`/reg/${encodeURIComponent(clientId!)}`)
        .set('Authorization', `Bearer ${rat}`);
      expect(read.status, read.text).toBe(200);
      expect(read.body).toMatchObject({ client_id: clientId });
      expect(read.body).not.toHaveProperty('appkeys_binding');
      expect(read.text).not.toContain('alice');

      const updated = await request(t.server)
        .put(`/reg/${encodeURIComponent(clientId!)}`)
        .set('Authorization', `Bearer ${rat}`)
        .send({ ...metadata, client_id: clientId, client_secret: secret, client_name: 'renamed' });
      expect(updated.status, updated.text).toBe(200);
      expect(updated.body).not.toHaveProperty('appkeys_binding');
      expect(updated.text).not.toContain('alice');
      // the binding itself is untouched
      expect((await t.call('get', `/appkeys/clients/${clientId}`, await t.admin())).body.binding).toMatchObject({
        bound_by: 'alice',
      });
    });
  });
});
