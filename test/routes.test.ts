import request from 'supertest';
import { describe, expect, it } from 'vitest';

import { MAX_LIMIT } from '../src/pagination.js';
import { CLIENT_ID_MAX, NAME_MAX } from '../src/validate.js';
import { ADMIN_CLIENT } from './support/appkeys.js';
import { fileBackends } from './support/backends.js';
import { expectError } from './support/errors.js';
import { oobMetadata, type Subject, subjectsPerTest } from './support/subject.js';

const backends = fileBackends('routes');

const APPS = '/appkeys/applications';
const CLIENTS = '/appkeys/clients';
const appPath = (id: string) => `${APPS}/${id}`;
const keysPath = (id: string, keyType: string) => `${APPS}/${id}/keys/${keyType}`;
const clientPath = (id: string) => `${CLIENTS}/${encodeURIComponent(id)}`;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const SECRET_A = 'oob-secret-a-0123456789abcdef0123456789abcdef';
const SECRET_B = 'oob-secret-b-0123456789abcdef0123456789abcdef';
const WRONG = 'wrong-secret-0123456789abcdef0123456789abcdef';

describe.each(backends)('management API on the $name store', (backend) => {
  const start = subjectsPerTest(backend, { expectNoLeaks: true });

  /** alice's application with an out-of-band client `oob-a` bound to its PRODUCTION keys. */
  async function aliceWithProvidedKeys(t: Subject): Promise<{ alice: string; appId: string }> {
    const alice = await t.owner('alice');
    await t.registerClient('oob-a', SECRET_A);
    const appId = await t.application(alice, 'Alice app');
    const provided = await t.put(keysPath(appId, 'PRODUCTION'), alice, { client_id: 'oob-a', client_secret: SECRET_A });
    expect(provided.status, provided.text).toBe(201);
    return { alice, appId };
  }

  describe('applications', () => {
    it('creates an application: 201, its Location, and the application', async () => {
      const t = await start();
      const alice = await t.owner('alice');

      const created = await t.post(APPS, alice, { name: 'Billing', description: 'pays the bills' });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        id: expect.any(String),
        name: 'Billing',
        description: 'pays the bills',
        owner: 'alice',
        status: 'ACTIVE',
        created_at: expect.stringMatching(ISO),
        updated_at: expect.stringMatching(ISO),
        keys: {},
      });
      expect(created.headers.location).toBe(appPath(created.body.id));

      const read = await t.get(created.headers.location, alice);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(created.body);
      expect(t.eventsNamed('appkeys.application.created')).toEqual([
        expect.objectContaining({
          actor: { kind: 'owner', id: 'alice' },
          application_id: created.body.id,
          owner: 'alice',
          at: expect.stringMatching(ISO),
        }),
      ]);
    });

    it('lets an admin create an application for an owner, and refuses `owner` from an owner', async () => {
      const t = await start();
      const created = await t.post(APPS, await t.admin(), { name: 'For Bob', owner: 'bob' });
      expect(created.status).toBe(201);
      expect(created.body.owner).toBe('bob');
      expect((await t.get(appPath(created.body.id), await t.owner('bob'))).status).toBe(200);

      expectError(await t.post(APPS, await t.owner('alice'), { name: 'Mine', owner: 'bob' }), 400, 'invalid_request');
    });

    it('rejects a missing or overlong name with invalid_request', async () => {
      const t = await start();
      const alice = await t.owner('alice');
      expectError(await t.post(APPS, alice, {}), 400, 'invalid_request');
      expectError(await t.post(APPS, alice, { name: '' }), 400, 'invalid_request');
      expectError(await t.post(APPS, alice, { name: 'x'.repeat(NAME_MAX + 1) }), 400, 'invalid_request');
      expect((await t.post(APPS, alice, { name: 'x'.repeat(200) })).status).toBe(201);
    });

    it(
      "pages through an owner's applications with limit and cursor, " + 'without next_cursor on the last page',
      async () => {
        const t = await start();
        const alice = await t.owner('alice');
        const bob = await t.owner('bob');
        await t.application(bob, 'Bob only');
        const ids: string[] = [];
        for (let i = 0; i < 5; i += 1) ids.push(await t.application(alice, `App ${i}`));

        const seen: string[] = [];
        const sizes: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await t.get(`${APPS}?limit=2${cursor ? `&cursor=${cursor}` : ''}`, alice);
          expect(page.status).toBe(200);
          sizes.push(page.body.items.length);
          seen.push(
            ...page.body.items.map((app: { id: string; owner: string }) => {
              expect(app.owner).toBe('alice');
              return app.id;
            }),
          );
          cursor = page.body.next_cursor;
          if (page.body.items.length < 2) expect(page.body).not.toHaveProperty('next_cursor');
        } while (cursor);
        expect(sizes).toEqual([2, 2, 1]);
        expect(new Set(seen)).toEqual(new Set(ids));
        expect(seen).toEqual([...seen].sort());

        const whole = await t.get(`${APPS}?limit=5`, alice);
        expect(whole.body.items).toHaveLength(5);
        expect(whole.body).not.toHaveProperty('next_cursor');

        expectError(await t.get(`${APPS}?limit=0`, alice), 400, 'invalid_request');
        expectError(await t.get(`${APPS}?cursor=not-a-cursor`, alice), 400, 'invalid_request');
      },
    );

    it("shows an admin every owner's applications", async () => {
      const t = await start();
      const a = await t.application(await t.owner('alice'), 'A');
      const b = await t.application(await t.owner('bob'), 'B');
      const listed = await t.get(`${APPS}?limit=${MAX_LIMIT}`, await t.admin());
      expect(listed.status).toBe(200);
      expect(listed.body.items.map((app: { id: string }) => app.id).sort()).toEqual([a, b].sort());
      expect(
        (await t.get(`${APPS}?limit=${MAX_LIMIT}`, await t.owner('alice'))).body.items.map(
          (app: { id: string }) => app.id,
        ),
      ).toEqual([a]);
    });

    it("answers application_not_found for another owner's application on every route", async () => {
      const t = await start();
      const bob = await t.owner('bob');
      const bobsApp = await t.application(bob, 'Bob app');
      expect((await t.post(keysPath(bobsApp, 'SANDBOX'), bob, {})).status).toBe(201);
      await t.registerClient('oob-a', SECRET_A);
      const alice = await t.owner('alice');
      const before = await t.get(appPath(bobsApp), bob);

      expectError(await t.get(appPath(bobsApp), alice), 404, 'application_not_found');
      expectError(await t.patch(appPath(bobsApp), alice, { name: 'Stolen' }), 404, 'application_not_found');
      expectError(await t.delete(appPath(bobsApp), alice), 404, 'application_not_found');
      expectError(
        await t.put(keysPath(bobsApp, 'PRODUCTION'), alice, { client_id: 'oob-a', client_secret: SECRET_A }),
        404,
        'application_not_found',
      );
      expectError(await t.post(keysPath(bobsApp, 'PRODUCTION'), alice, {}), 404, 'application_not_found');
      expectError(await t.get(keysPath(bobsApp, 'SANDBOX'), alice), 404, 'application_not_found');
      expectError(await t.delete(keysPath(bobsApp, 'SANDBOX'), alice), 404, 'application_not_found');
      expectError(await t.post(`${keysPath(bobsApp, 'SANDBOX')}/secret`, alice, {}), 404, 'application_not_found');
      expectError(await t.get(appPath('app_does_not_exist'), alice), 404, 'application_not_found');

      expect((await t.get(appPath(bobsApp), bob)).body).toEqual(before.body);
      expect((await t.get(clientPath('oob-a'), await t.admin())).body.binding).toBeNull();
    });

    it('keeps application names unique per owner regardless of case, but not across owners', async () => {
      const t = await start();
      const alice = await t.owner('alice');
      const first = await t.application(alice, 'Billing');
      expectError(await t.post(APPS, alice, { name: 'billing' }), 409, 'application_name_taken');
      expectError(await t.post(APPS, alice, { name: 'BILLING' }), 409, 'application_name_taken');
      expect((await t.post(APPS, await t.owner('bob'), { name: 'BILLING' })).status).toBe(201);

      const other = await t.application(alice, 'Other');
      expectError(await t.patch(appPath(other), alice, { name: 'bIlLiNg' }), 409, 'application_name_taken');

      // a rename frees the old name
      expect((await t.patch(appPath(first), alice, { name: 'Invoices' })).status).toBe(200);
      expect((await t.post(APPS, alice, { name: 'billing' })).status).toBe(201);
    });

    it('renames and describes an application', async () => {
      const t = await start();
      const alice = await t.owner('alice');
      const id = await t.application(alice, 'Old');
      const patched = await t.patch(appPath(id), alice, { name: 'New', description: 'now described' });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({
        id,
        name: 'New',
        description: 'now described',
        owner: 'alice',
        status: 'ACTIVE',
        keys: {},
      });
      expect((await t.get(appPath(id), alice)).body).toEqual(patched.body);
    });

    it("lets only an admin change an application's status", async () => {
      const t = await start();
      const alice = await t.owner('alice');
      const id = await t.application(alice, 'App');

      expectError(await t.patch(appPath(id), alice, { status: 'BLOCKED' }), 403, 'insufficient_scope');
      expect((await t.get(appPath(id), alice)).body.status).toBe('ACTIVE');

      const blocked = await t.patch(appPath(id), await t.admin(), { status: 'BLOCKED' });
      expect(blocked.status).toBe(200);
      expect(blocked.body.status).toBe('BLOCKED');
      expect((await t.get(appPath(id), alice)).body.status).toBe('BLOCKED');
      expectError(await t.patch(appPath(id), await t.admin(), { status: 'PAUSED' }), 400, 'invalid_request');

      expect(t.eventsNamed('appkeys.application.status_changed')).toEqual([
        expect.objectContaining({
          actor: { kind: 'admin', id: `client:${ADMIN_CLIENT.id}` },
          application_id: id,
          status: 'BLOCKED',
        }),
      ]);
    });

    it('deletes an application: 204, then it is gone', async () => {
      const t = await start();
      const alice = await t.owner('alice');
      const id = await t.application(alice, 'Doomed');
      const deleted = await t.delete(appPath(id), alice);
      expect(deleted.status).toBe(204);
      expect(deleted.text).toBe('');
      expectError(await t.get(appPath(id), alice), 404, 'application_not_found');
      expectError(await t.delete(appPath(id), alice), 404, 'application_not_found');
      expect(t.eventsNamed('appkeys.application.deleted')).toEqual([
        expect.objectContaining({
          actor: { kind: 'owner', id: 'alice' },
          application_id: id,
          unbound_client_ids: [],
          deleted_client_ids: [],
        }),
      ]);
    });

    it('keeps a provided client but deletes a generated one when their application is deleted', async () => {
      const t = await start();
      const { alice, appId } = await aliceWithProvidedKeys(t);
      const generated = await t.post(keysPath(appId, 'SANDBOX'), alice, {});
      expect(generated.status).toBe(201);

      expect((await t.delete(appPath(appId), alice)).status).toBe(204);

      const provided = await t.get(clientPath('oob-a'), await t.admin());
      expect(provided.status).toBe(200);
      expect(provided.body.binding).toBeNull();
      expect((await t.clientCredentials('oob-a', SECRET_A)).status).toBe(200);

      expectError(await t.get(clientPath(generated.body.client_id), await t.admin()), 404, 'client_not_found');
      const refused = await t.clientCredentials(generated.body.client_id, generated.body.client_secret);
      expect(refused.status).toBe(401);
      expect(refused.body.error).toBe('invalid_client');

      expect(t.eventsNamed('appkeys.application.deleted')).toEqual([
        expect.objectContaining({
          actor: { kind: 'owner', id: 'alice' },
          application_id: appId,
          unbound_client_ids: ['oob-a'],
          deleted_client_ids: [generated.body.client_id],
        }),
      ]);
      const removed = t.eventsNamed('appkeys.binding.removed');
      expect(removed).toHaveLength(2);
      expect(removed).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            application_id: appId,
            key_type: 'PRODUCTION',
            client_id: 'oob-a',
            origin: 'provided',
            client_deleted: false,
          }),
          expect.objectContaining({
            application_id: appId,
            key_type: 'SANDBOX',
            client_id: generated.body.client_id,
            origin: 'generated',
            client_deleted: true,
          }),
        ]),
      );
    });
  });

  describe('provide keys', () => {
    it('binds an existing client once its secret is proven: 201, then 200 for the same binding', async () => {
      const t = await start();
      const alice = await t.owner('alice');
      await t.registerClient('oob-a', SECRET_A);
      const appId = await t.application(alice, 'App');

      const bound = await t.put(keysPath(appId, 'PRODUCTION'), alice, { client_id: 'oob-a', client_secret: SECRET_A });
      expect(bound.status).toBe(201);
      expect(bound.body).toEqual({
        application_id: appId,
        key_type: 'PRODUCTION',
        client_id: 'oob-a',
        origin: 'provided',
        bound_at: expect.stringMatching(ISO),
        bound_by: 'alice',
      });
      expect((await t.get(appPath(appId), alice)).body.keys).toEqual({ PRODUCTION: bound.body });
      expect((await t.get(clientPath('oob-a'), await t.admin())).body.binding).toEqual(bound.body);

      const again = await t.put(keysPath(appId, 'PRODUCTION'), alice, { client_id: 'oob-a', client_secret: SECRET_A });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(bound.body);

      expect(t.eventsNamed('appkeys.binding.created')).toEqual([
        expect.objectContaining({
          actor: { kind: 'owner', id: 'alice' },
          application_id: appId,
          key_type: 'PRODUCTION',
          client_id: 'oob-a',
          origin: 'provided',
        }),
      ]);
    });

    it("lets an admin provide keys to any owner's application", async () => {
      const t = await start();
      await t.registerClient('oob-a', SECRET_A);
      const appId = await t.application(await t.owner('bob'), 'Bob app');
      const bound = await t.put(keysPath(appId, 'SANDBOX'), await t.admin(), {
        client_id: 'oob-a',
        client_secret: SECRET_A,
      });
      expect(bound.status).toBe(201);
      expect(bound.body.bound_by).toBe(`client:${ADMIN_CLIENT.id}`);
    });

    it('answers 403 provide_keys_disabled while providing keys is off, and still generates keys', async () => {
      const t = await start({ provideKeys: { enabled: false } });
      const alice = await t.owner('alice');
      await t.registerClient('oob-a', SECRET_A);
      const appId = await t.application(alice, 'App');
      expectError(
        await t.put(keysPath(appId, 'PRODUCTION'), alice, { client_id: 'oob-a', client_secret: SECRET_A }),
        403,
        'provide_keys_disabled',
      );
      expect((await t.get(clientPath('oob-a'), await t.admin())).body.binding).toBeNull();
      expect((await t.post(keysPath(appId, 'PRODUCTION'), alice, {})).status).toBe(201);
    });

    it('gives an unknown client and a wrong secret one identical 401 invalid_client', async () => {
      const t = await start();
      const alice = await t.owner('alice');
      await t.registerClient('oob-a', SECRET_A);
      const appId = await t.application(alice, 'App');
      t.secret(WRONG);

      const unknown = await t.put(keysPath(appId, 'PRODUCTION'), alice, {
        client_id: 'no-such-client',
        client_secret: WRONG,
      });
      const wrong = await t.put(keysPath(appId, 'PRODUCTION'), alice, { client_id: 'oob-a', client_secret: WRONG });
      expectError(unknown, 401, 'invalid_client');
      expectError(wrong, 401, 'invalid_client');
      expect(wrong.text).toBe(unknown.text);
      expect(wrong.headers['www-authenticate']).toBe(unknown.headers['www-authenticate']);
      expect((await t.get(keysPath(appId, 'PRODUCTION'), alice)).status).toBe(404);

      expect(t.eventsNamed('appkeys.provide_keys.failed')).toEqual([
        expect.objectContaining({
          actor: { kind: 'owner', id: 'alice' },
          application_id: appId,
          key_type: 'PRODUCTION',
          client_id: 'no-such-client',
        }),
        expect.objectContaining({
          actor: { kind: 'owner', id: 'alice' },
          application_id: appId,
          key_type: 'PRODUCTION',
          client_id: 'oob-a',
        }),
      ]);
    });

    it('refuses a client bound elsewhere with 409 client_already_bound', async () => {
      const t = await start();
      const { alice, appId } = await aliceWithProvidedKeys(t);
      const bob = await t.owner('bob');
      const bobsApp = await t.application(bob, 'Bob app');
      expectError(
        await t.put(keysPath(bobsApp, 'PRODUCTION'), bob, { client_id: 'oob-a', client_secret: SECRET_A }),
        409,
        'client_already_bound',
      );
      // that a client is bound is told only to whoever proved its secret
      expectError(
        await t.put(keysPath(bobsApp, 'PRODUCTION'), bob, { client_id: 'oob-a', client_secret: t.secret(WRONG) }),
        401,
        'invalid_client',
      );
      expectError(
        await t.put(keysPath(appId, 'SANDBOX'), alice, { client_id: 'oob-a', client_secret: SECRET_A }),
        409,
        'client_already_bound',
      );
      expect((await t.get(clientPath('oob-a'), await t.admin())).body.binding).toMatchObject({
        application_id: appId,
        key_type: 'PRODUCTION',
      });
    });

    it('refuses a second client on a bound key type with 409 key_type_already_bound', async () => {
      const t = await start();
      const { alice, appId } = await aliceWithProvidedKeys(t);
      await t.registerClient('oob-b', SECRET_B);
      expectError(
        await t.put(keysPath(appId, 'PRODUCTION'), alice, { client_id: 'oob-b', client_secret: SECRET_B }),
        409,
        'key_type_already_bound',
      );
      expect((await t.get(clientPath('oob-b'), await t.admin())).body.binding).toBeNull();
    });

    it('refuses to bind a statically configured client, even with its right secret', async () => {
      const t = await start();
      const alice = await t.owner('alice');
      const appId = await t.application(alice, 'App');
      t.secret(WRONG);
      expectError(
        await t.put(keysPath(appId, 'PRODUCTION'), alice, {
          client_id: ADMIN_CLIENT.id,
          client_secret: ADMIN_CLIENT.secret,
        }),
        409,
        'client_is_static',
      );
      // without its secret, a static client looks like any unknown one
      expectError(
        await t.put(keysPath(appId, 'PRODUCTION'), alice, { client_id: ADMIN_CLIENT.id, client_secret: WRONG }),
        401,
        'invalid_client',
      );
      expect((await t.get(appPath(appId), alice)).body.keys).toEqual({});
    });

    it('refuses a client whose secret has expired as it refuses a wrong secret', async () => {
      const t = await start();
      const alice = await t.owner('alice');
      await t.registerClient('expired', SECRET_A, { client_secret_expires_at: Math.floor(Date.now() / 1000) - 60 });
      const appId = await t.application(alice, 'App');
      expectError(
        await t.put(keysPath(appId, 'PRODUCTION'), alice, { client_id: 'expired', client_secret: SECRET_A }),
        401,
        'invalid_client',
      );
      expect((await t.get(clientPath('expired'), await t.admin())).body.binding).toBeNull();
    });

    it('throttles failed attempts with 429 and Retry-After, refusing even the right secret meanwhile', async () => {
      const t = await start({ provideKeys: { enabled: true, attempts: { perCaller: 3 } } });
      const alice = await t.owner('alice');
      await t.registerClient('oob-a', SECRET_A);
      const appId = await t.application(alice, 'App');
      t.secret(WRONG);
      const attempt = (secret: string) =>
        t.put(keysPath(appId, 'PRODUCTION'), alice, { client_id: 'oob-a', client_secret: secret });

      for (let i = 0; i < 3; i += 1) expectError(await attempt(WRONG), 401, 'invalid_client');
      const throttled = await attempt(WRONG);
      expectError(throttled, 429, 'too_many_attempts');
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number.isInteger(Number(throttled.headers['retry-after']))).toBe(true);

      const right = await attempt(SECRET_A);
      expectError(right, 429, 'too_many_attempts');
      expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
      expectError(await t.get(keysPath(appId, 'PRODUCTION'), alice), 404, 'binding_not_found');

      // the limit is per caller: another developer holding the secret is not locked out
      const bob = await t.owner('bob');
      const bobsApp = await t.application(bob, 'Bob app');
      expect(
        (await t.put(keysPath(bobsApp, 'PRODUCTION'), bob, { client_id: 'oob-a', client_secret: SECRET_A })).status,
      ).toBe(201);
    });

    it('rejects a malformed provide-keys body with invalid_request', async () => {
      const t = await start();
      const alice = await t.owner('alice');
      await t.registerClient('oob-a', SECRET_A);
      const appId = await t.application(alice, 'App');
      expectError(await t.put(keysPath(appId, 'PRODUCTION'), alice, { client_id: 'oob-a' }), 400, 'invalid_request');
      expectError(
        await t.put(keysPath(appId, 'PRODUCTION'), alice, { client_secret: SECRET_A }),
        400,
        'invalid_request',
      );
      expectError(
        await t.put(keysPath(appId, 'PRODUCTION'), alice, {
          client_id: 'oob-a',
          client_secret: SECRET_A,
          origin: 'generated',
        }),
        400,
        'invalid_request',
      );
      expect((await t.get(appPath(appId), alice)).body.keys).toEqual({});
    });

    it('accepts only PRODUCTION and SANDBOX as key_type', async () => {
      const t = await start();
      const alice = await t.owner('alice');
      await t.registerClient('oob-a', SECRET_A);
      const appId = await t.application(alice, 'App');
      for (const keyType of ['production', 'STAGING', 'PRODUCTION%20']) {
        expectError(
          await t.put(keysPath(appId, keyType), alice, { client_id: 'oob-a', client_secret: SECRET_A }),
          400,
          'invalid_request',
        );
        expectError(await t.post(keysPath(appId, keyType), alice, {}), 400, 'invalid_request');
        expectError(await t.get(keysPath(appId, keyType), alice), 400, 'invalid_request');
        expectError(await t.delete(keysPath(appId, keyType), alice), 400, 'invalid_request');
        expectError(await t.post(`${keysPath(appId, keyType)}/secret`, alice, {}), 400, 'invalid_request');
      }
      expect((await t.get(appPath(appId), alice)).body.keys).toEqual({});
    });
  });

  describe('generate keys', () => {
    it('creates a bound client whose secret, shown once, gets client_credentials tokens', async () => {
      const t = await start();
      const alice = await t.owner('alice');
      const appId = await t.application(alice, 'App');

      const generated = await t.post(keysPath(appId, 'SANDBOX'), alice, {});
      expect(generated.status).toBe(201);
      expect(generated.headers['cache-control']).toBe('no-store');
      expect(generated.body).toMatchObject({
        application_id: appId,
        key_type: 'SANDBOX',
        client_id: expect.any(String),
        origin: 'generated',
        bound_at: expect.stringMatching(ISO),
        bound_by: 'alice',
        client_secret: expect.any(String),
      });
      const { client_id: clientId, client_secret: secret } = generated.body as {
        client_id: string;
        client_secret: string;
      };

      const token = await t.accessToken(clientId, secret);
      expect(await t.introspect(token)).toMatchObject({
        active: true,
        client_id: clientId,
        application_id: appId,
        key_type: 'SANDBOX',
      });

      const shown = await t.get(clientPath(clientId), await t.admin());
      expect(shown.status).toBe(200);
      expect(shown.body).not.toHaveProperty('client_secret');
      expect(shown.body.binding).toMatchObject({ application_id: appId, key_type: 'SANDBOX', origin: 'generated' });

      expect(t.eventsNamed('appkeys.binding.created')).toEqual([
        expect.objectContaining({
          actor: { kind: 'owner', id: 'alice' },
          application_id: appId,
          key_type: 'SANDBOX',
          client_id: clientId,
          origin: 'generated',
        }),
      ]);
    });

    it("rejects metadata the provider's schema refuses, with its RFC 7591 code, and binds nothing", async () => {
      const t = await start();
      const alice = await t.owner('alice');
      const appId = await t.application(alice, 'App');
      expectError(
        await t.post(keysPath(appId, 'PRODUCTION'), alice, { grant_types: ['nope'] }),
        400,
        'invalid_client_metadata',
      );
      expectError(
        await t.post(keysPath(appId, 'PRODUCTION'), alice, {
          grant_types: ['authorization_code'],
          response_types: ['code'],
          redirect_uris: ['not a uri'],
        }),
        400,
        'invalid_redirect_uri',
      );
      expectError(await t.get(keysPath(appId, 'PRODUCTION'), alice), 404, 'binding_not_found');
      expect((await t.get(CLIENTS, await t.admin())).body.items).toEqual([]);
    });

    it('refuses a client_id or client_secret chosen by the caller', async () => {
      const t = await start();
      const alice = await t.owner('alice');
      const appId = await t.application(alice, 'App');
      t.secret(SECRET_A);
      expectError(await t.post(keysPath(appId, 'PRODUCTION'), alice, { client_id: 'mine' }), 400, 'invalid_request');
      expectError(
        await t.post(keysPath(appId, 'PRODUCTION'), alice, { client_secret: SECRET_A }),
        400,
        'invalid_request',
      );
      expectError(await t.get(keysPath(appId, 'PRODUCTION'), alice), 404, 'binding_not_found');
    });

    it('refuses to generate keys onto a bound key type with 409 key_type_already_bound', async () => {
      const t = await start();
      const { alice, appId } = await aliceWithProvidedKeys(t);
      expectError(await t.post(keysPath(appId, 'PRODUCTION'), alice, {}), 409, 'key_type_already_bound');
      expect((await t.get(CLIENTS, await t.admin())).body.items.map((c: { client_id: string }) => c.client_id)).toEqual(
        ['oob-a'],
      );
    });

    it('refuses the management scopes in the metadata of generated keys', async () => {
      const t = await start();
      const alice = await t.owner('alice');
      const appId = await t.application(alice, 'App');
      for (const scope of ['appkeys:admin', 'api:read appkeys']) {
        expectError(await t.post(keysPath(appId, 'PRODUCTION'), alice, { scope }), 400, 'invalid_client_metadata');
      }
      expect((await t.get(keysPath(appId, 'PRODUCTION'), alice)).status).toBe(404);
    });

    it("never lets a developer's generated keys act as an admin", async () => {
      const t = await start();
      const alice = await t.owner('alice');
      const appId = await t.application(alice, 'App');
      const generated = await t.post(keysPath(appId, 'PRODUCTION'), alice, {});
      expect(generated.status).toBe(201);

      const asked = await t.clientCredentials(generated.body.client_id, generated.body.client_secret, {
        scope: 'appkeys:admin',
      });
      if (asked.status === 200) {
        const token = (asked.body as { access_token: string }).access_token;
        // a token of a client in the appkeys store is never accepted by the management API
        expectError(await t.get(CLIENTS, token), 401, 'invalid_token');
        expect((await t.get(appPath(await t.application(await t.owner('bob'), 'Bob app')), token)).status).not.toBe(
          200,
        );
      } else {
        expect(asked.body.error).toBe('invalid_scope');
      }
    });
  });

  describe('bindings', () => {
    it('shows a binding without any secret, and 404 binding_not_found for an empty key type', async () => {
      const t = await start();
      const { alice, appId } = await aliceWithProvidedKeys(t);
      const shown = await t.get(keysPath(appId, 'PRODUCTION'), alice);
      expect(shown.status).toBe(200);
      expect(shown.body).toEqual({
        application_id: appId,
        key_type: 'PRODUCTION',
        client_id: 'oob-a',
        origin: 'provided',
        bound_at: expect.stringMatching(ISO),
        bound_by: 'alice',
      });
      expectError(await t.get(keysPath(appId, 'SANDBOX'), alice), 404, 'binding_not_found');
    });

    it('unbinds a provided client and keeps the client', async () => {
      const t = await start();
      const { alice, appId } = await aliceWithProvidedKeys(t);
      const token = await t.accessToken('oob-a', SECRET_A);

      expect((await t.delete(keysPath(appId, 'PRODUCTION'), alice)).status).toBe(204);
      expectError(await t.get(keysPath(appId, 'PRODUCTION'), alice), 404, 'binding_not_found');
      expectError(await t.delete(keysPath(appId, 'PRODUCTION'), alice), 404, 'binding_not_found');
      const client = await t.get(clientPath('oob-a'), await t.admin());
      expect(client.status).toBe(200);
      expect(client.body.binding).toBeNull();
      expect((await t.introspect(token)).active).toBe(false);
      expect((await t.clientCredentials('oob-a', SECRET_A)).status).toBe(200);

      expect(t.eventsNamed('appkeys.binding.removed')).toEqual([
        expect.objectContaining({
          actor: { kind: 'owner', id: 'alice' },
          application_id: appId,
          key_type: 'PRODUCTION',
          client_id: 'oob-a',
          origin: 'provided',
          reason: 'unbound',
          client_deleted: false,
        }),
      ]);
    });

    it('unbinding a generated client deletes it', async () => {
      const t = await start();
      const alice = await t.owner('alice');
      const appId = await t.application(alice, 'App');
      const generated = await t.post(keysPath(appId, 'PRODUCTION'), alice, {});
      const { client_id: clientId, client_secret: secret } = generated.body as {
        client_id: string;
        client_secret: string;
      };
      expect((await t.clientCredentials(clientId, secret)).status).toBe(200);

      expect((await t.delete(keysPath(appId, 'PRODUCTION'), alice)).status).toBe(204);
      const refused = await t.clientCredentials(clientId, secret);
      expect(refused.status).toBe(401);
      expect(refused.body.error).toBe('invalid_client');
      expectError(await t.get(clientPath(clientId), await t.admin()), 404, 'client_not_found');
      expect(t.eventsNamed('appkeys.binding.removed')).toEqual([
        expect.objectContaining({
          application_id: appId,
          client_id: clientId,
          origin: 'generated',
          client_deleted: true,
        }),
      ]);
    });

    it("rotates a generated client's secret: the new one works, the old one no longer", async () => {
      const t = await start();
      const alice = await t.owner('alice');
      const appId = await t.application(alice, 'App');
      const generated = await t.post(keysPath(appId, 'PRODUCTION'), alice, {});
      const { client_id: clientId, client_secret: oldSecret } = generated.body as {
        client_id: string;
        client_secret: string;
      };

      const rotated = await t.post(`${keysPath(appId, 'PRODUCTION')}/secret`, alice);
      expect(rotated.status).toBe(200);
      expect(rotated.headers['cache-control']).toBe('no-store');
      expect(rotated.body).toEqual({ client_id: clientId, client_secret: expect.any(String) });
      expect(rotated.body.client_secret).not.toBe(oldSecret);

      expect((await t.clientCredentials(clientId, rotated.body.client_secret)).status).toBe(200);
      const old = await t.clientCredentials(clientId, oldSecret);
      expect(old.status).toBe(401);
      expect(old.body.error).toBe('invalid_client');
      expect((await t.get(keysPath(appId, 'PRODUCTION'), alice)).body).toMatchObject({
        client_id: clientId,
        origin: 'generated',
      });
      expect(t.eventsNamed('appkeys.client.secret_rotated')).toEqual([
        expect.objectContaining({
          actor: { kind: 'owner', id: 'alice' },
          client_id: clientId,
          application_id: appId,
        }),
      ]);
    });

    it("refuses to rotate a provided client's secret with 409 client_managed_externally", async () => {
      const t = await start();
      const { alice, appId } = await aliceWithProvidedKeys(t);
      expectError(await t.post(`${keysPath(appId, 'PRODUCTION')}/secret`, alice), 409, 'client_managed_externally');
      expectError(await t.post(`${keysPath(appId, 'SANDBOX')}/secret`, alice), 404, 'binding_not_found');
      expect((await t.clientCredentials('oob-a', SECRET_A)).status).toBe(200);
    });
  });

  describe('out-of-band clients', () => {
    it('is for admins only: an owner gets 403 insufficient_scope', async () => {
      const t = await start();
      await t.registerClient('oob-a', SECRET_A);
      const alice = await t.owner('alice');
      for (const response of [
        await t.put(clientPath('oob-b'), alice, oobMetadata(t.secret(SECRET_B))),
        await t.get(clientPath('oob-a'), alice),
        await t.get(CLIENTS, alice),
        await t.delete(clientPath('oob-a'), alice),
      ]) {
        expectError(response, 403, 'insufficient_scope');
        expect(response.headers['www-authenticate']).toMatch(/^Bearer .*error="insufficient_scope"/);
      }
      expect((await t.get(clientPath('oob-a'), await t.admin())).status).toBe(200);
      expect((await t.get(clientPath('oob-b'), await t.admin())).status).toBe(404);
    });

    it('registers a client created elsewhere with its id and secret: 201, and it authenticates', async () => {
      const t = await start();
      const admin = await t.admin();
      const created = await t.put(clientPath('wso2:abc DEF'), admin, oobMetadata(t.secret(SECRET_A)));
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        client_id: 'wso2:abc DEF',
        grant_types: ['client_credentials'],
        scope: 'api:read',
        binding: null,
      });
      expect(created.body).not.toHaveProperty('client_secret');

      const read = await t.get(clientPath('wso2:abc DEF'), admin);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(created.body);
      expect((await t.clientCredentials('wso2:abc DEF', SECRET_A, { scope: 'api:read' })).status).toBe(200);
      expect(t.eventsNamed('appkeys.client.registered')).toEqual([
        expect.objectContaining({
          actor: { kind: 'admin', id: `client:${ADMIN_CLIENT.id}` },
          client_id: 'wso2:abc DEF',
          replaced: false,
        }),
      ]);
    });

    it('takes any printable ASCII client_id through the path, and refuses others', async () => {
      const t = await start();
      const admin = await t.admin();
      for (const clientId of ['a/b', '%', 'a%2Fb', ' spaced ', '{tag}:*?[x]']) {
        await t.registerClient(clientId, SECRET_A);
        const read = await t.get(clientPath(clientId), admin);
        expect(read.status, clientId).toBe(200);
        expect(read.body.client_id).toBe(clientId);
        expect((await t.clientCredentials(clientId, SECRET_A)).status, clientId).toBe(200);
      }
      expect(
        (await t.get(`${CLIENTS}?limit=${MAX_LIMIT}`, admin)).body.items
          .map((c: { client_id: string }) => c.client_id)
          .sort(),
      ).toEqual(['a/b', '%', 'a%2Fb', ' spaced ', '{tag}:*?[x]'].sort());
      expectError(await t.put(clientPath('é'), admin, oobMetadata(SECRET_A)), 400, 'invalid_request');
      expectError(
        await t.put(clientPath('x'.repeat(CLIENT_ID_MAX + 1)), admin, oobMetadata(SECRET_A)),
        400,
        'invalid_request',
      );
    });

    it('replaces a registered client with 200 and keeps its binding', async () => {
      const t = await start();
      const { alice, appId } = await aliceWithProvidedKeys(t);
      const admin = await t.admin();
      const before = (await t.get(clientPath('oob-a'), admin)).body;

      const replaced = await t.put(
        clientPath('oob-a'),
        admin,
        oobMetadata(t.secret(SECRET_B), { scope: 'api:read openid', client_name: 'renamed' }),
      );
      expect(replaced.status).toBe(200);
      expect(replaced.body).toMatchObject({ client_id: 'oob-a', client_name: 'renamed', scope: 'api:read openid' });
      expect(replaced.body.binding).toEqual(before.binding);
      expect((await t.get(keysPath(appId, 'PRODUCTION'), alice)).body.client_id).toBe('oob-a');

      expect((await t.clientCredentials('oob-a', SECRET_B)).status).toBe(200);
      expect((await t.clientCredentials('oob-a', SECRET_A)).status).toBe(401);
      expect(t.eventsNamed('appkeys.client.registered').at(-1)).toMatchObject({ client_id: 'oob-a', replaced: true });
    });

    it("rejects metadata the provider's schema refuses, with its RFC 7591 code, and stores nothing", async () => {
      const t = await start();
      const admin = await t.admin();
      t.secret(SECRET_A);
      expectError(
        await t.put(clientPath('bad'), admin, oobMetadata(SECRET_A, { token_endpoint_auth_method: 'nope' })),
        400,
        'invalid_client_metadata',
      );
      expectError(
        await t.put(
          clientPath('bad'),
          admin,
          oobMetadata(SECRET_A, {
            grant_types: ['authorization_code'],
            response_types: ['code'],
            redirect_uris: ['https://rp.example/cb#fragment'],
          }),
        ),
        400,
        'invalid_redirect_uri',
      );
      expectError(
        await t.put(clientPath('bad'), admin, oobMetadata(SECRET_A, { scope: 'not-a-scope-here' })),
        400,
        'invalid_client_metadata',
      );
      expectError(await t.get(clientPath('bad'), admin), 404, 'client_not_found');
    });

    it('refuses to register over a statically configured client with 409 client_is_static', async () => {
      const t = await start();
      expectError(
        await t.put(clientPath(ADMIN_CLIENT.id), await t.admin(), oobMetadata(t.secret(SECRET_A))),
        409,
        'client_is_static',
      );
      // the static client is untouched
      expect((await t.clientCredentials(ADMIN_CLIENT.id, ADMIN_CLIENT.secret, { scope: 'appkeys:admin' })).status).toBe(
        200,
      );
      expect((await t.clientCredentials(ADMIN_CLIENT.id, SECRET_A, { scope: 'appkeys:admin' })).status).toBe(401);
    });

    it('refuses a body whose client_id differs from the path', async () => {
      const t = await start();
      expectError(
        await t.put(clientPath('one'), await t.admin(), oobMetadata(t.secret(SECRET_A), { client_id: 'two' })),
        400,
        'invalid_request',
      );
      expectError(await t.get(clientPath('one'), await t.admin()), 404, 'client_not_found');
      expectError(await t.get(clientPath('two'), await t.admin()), 404, 'client_not_found');
    });

    it('pages through clients with limit and cursor, without secrets', async () => {
      const t = await start();
      const ids = ['c-1', 'c-2', 'c-3', 'c-4', 'c-5'];
      for (const id of ids) await t.registerClient(id, `${SECRET_A}-${id}`);
      const alice = await t.owner('alice');
      const appId = await t.application(alice, 'App');
      expect(
        (await t.put(keysPath(appId, 'SANDBOX'), alice, { client_id: 'c-3', client_secret: `${SECRET_A}-c-3` })).status,
      ).toBe(201);

      const seen: Array<{ client_id: string; binding: unknown }> = [];
      const sizes: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await t.get(`${CLIENTS}?limit=2${cursor ? `&cursor=${cursor}` : ''}`, await t.admin());
        expect(page.status).toBe(200);
        sizes.push(page.body.items.length);
        seen.push(...page.body.items);
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(sizes).toEqual([2, 2, 1]);
      expect(seen.map((client) => client.client_id)).toEqual(ids);
      expect(seen.find((client) => client.client_id === 'c-3')?.binding).toMatchObject({
        application_id: appId,
        key_type: 'SANDBOX',
      });
      for (const client of seen) expect(client).not.toHaveProperty('client_secret');
    });

    it('deletes an unbound client: 204, then 404 client_not_found', async () => {
      const t = await start();
      await t.registerClient('oob-a', SECRET_A);
      const admin = await t.admin();
      expect((await t.delete(clientPath('oob-a'), admin)).status).toBe(204);
      expectError(await t.get(clientPath('oob-a'), admin), 404, 'client_not_found');
      expectError(await t.delete(clientPath('oob-a'), admin), 404, 'client_not_found');
      expect((await t.clientCredentials('oob-a', SECRET_A)).status).toBe(401);
      expect(t.eventsNamed('appkeys.client.deleted')).toEqual([
        expect.objectContaining({
          actor: { kind: 'admin', id: `client:${ADMIN_CLIENT.id}` },
          client_id: 'oob-a',
          forced: false,
        }),
      ]);
    });

    it('refuses to delete a bound client with 409 client_already_bound unless forced', async () => {
      const t = await start();
      const { alice, appId } = await aliceWithProvidedKeys(t);
      const admin = await t.admin();
      expectError(await t.delete(clientPath('oob-a'), admin), 409, 'client_already_bound');
      expect((await t.get(keysPath(appId, 'PRODUCTION'), alice)).status).toBe(200);

      expect((await t.delete(`${clientPath('oob-a')}?force=true`, admin)).status).toBe(204);
      expectError(await t.get(clientPath('oob-a'), admin), 404, 'client_not_found');
      expectError(await t.get(keysPath(appId, 'PRODUCTION'), alice), 404, 'binding_not_found');
      expect(t.eventsNamed('appkeys.binding.removed')).toEqual([
        expect.objectContaining({
          application_id: appId,
          key_type: 'PRODUCTION',
          client_id: 'oob-a',
          reason: 'client_deleted',
          client_deleted: true,
        }),
      ]);
      expect(t.eventsNamed('appkeys.client.deleted')).toEqual([
        expect.objectContaining({ client_id: 'oob-a', forced: true }),
      ]);
    });

    it('never stores a binding sent in the registration body', async () => {
      const t = await start();
      const alice = await t.owner('alice');
      const appId = await t.application(alice, 'App');
      const forged = {
        application_id: appId,
        key_type: 'PRODUCTION',
        origin: 'provided',
        status: 'ACTIVE',
        bound_at: new Date().toISOString(),
        bound_by: 'alice',
      };

      const created = await t.put(
        clientPath('forger'),
        await t.admin(),
        oobMetadata(t.secret(SECRET_A), { appkeys_binding: forged }),
      );
      expect(created.status).toBe(201);
      expect(created.body.binding).toBeNull();
      expect((await t.get(clientPath('forger'), await t.admin())).body.binding).toBeNull();
      expect((await t.get(appPath(appId), alice)).body.keys).toEqual({});
      const introspected = await t.introspect(await t.accessToken('forger', SECRET_A));
      expect(introspected.active).toBe(true);
      expect(introspected).not.toHaveProperty('application_id');
    });

    it(
      "never stores a binding sent through the provider's dynamic registration, " + 'nor changes one on update',
      async () => {
        const t = await start(
          {},
          {
            features: {
              registration: { enabled: true },
              registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
            },
          },
        );
        const alice = await t.owner('alice');
        const appId = await t.application(alice, 'App');
        const bobsApp = await t.application(await t.owner('bob'), 'Bob app');
        const forge = (application: string) => ({
          application_id: application,
          key_type: 'PRODUCTION',
          origin: 'provided',
          status: 'ACTIVE',
          bound_at: new Date().toISOString(),
          bound_by: 'x',
        });
        const metadata = {
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          scope: 'api:read',
        };

        const registered = await request(t.server)
          .post('/reg')
          .send({ ...metadata, appkeys_binding: forge(appId) });
        expect(registered.status, registered.text).toBe(201);
        const {
          client_id: clientId,
          client_secret: secret,
          registration_access_token: rat,
        } = registered.body as Record<string, string>;
        t.secret(secret!);
        expect((await t.get(clientPath(clientId!), await t.admin())).body.binding).toBeNull();
        expect((await t.get(appPath(appId), alice)).body.keys).toEqual({});

        // bound for real, then an RFC 7592 update tries to move it
        expect(
          (await t.put(keysPath(appId, 'SANDBOX'), alice, { client_id: clientId, client_secret: secret })).status,
        ).toBe(201);
        const updated = await request(t.server)
          .put(`/reg/${encodeURIComponent(clientId!)}`)
          .set('Authorization', `Bearer ${rat}`)
          .send({
            ...metadata,
            client_id: clientId,
            client_secret: secret,
            client_name: 'updated',
            appkeys_binding: forge(bobsApp),
          });
        expect(updated.status, updated.text).toBe(200);
        const after = await t.get(clientPath(clientId!), await t.admin());
        expect(after.body.client_name).toBe('updated');
        expect(after.body.binding).toMatchObject({ application_id: appId, key_type: 'SANDBOX', origin: 'provided' });
        expect((await t.get(appPath(bobsApp), await t.owner('bob'))).body.keys).toEqual({});
        expect(await t.introspect(await t.accessToken(clientId!, secret!))).toMatchObject({
          active: true,
          application_id: appId,
          key_type: 'SANDBOX',
        });
      },
    );
  });

  describe('requests', () => {
    it('answers 401 invalid_token with WWW-Authenticate without a token or with a bad one', async () => {
      const t = await start();
      for (const response of [
        await t.get(APPS, undefined),
        await t.get(APPS, 'garbage-token-that-was-never-issued'),
        await request(t.server).get(CLIENTS).set('Authorization', 'Basic Zm9vOmJhcg=='),
        await t.post(APPS, undefined, { name: 'x' }),
      ]) {
        expectError(response, 401, 'invalid_token');
        expect(response.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/);
      }
      expect((await t.get(APPS, await t.admin())).body.items).toEqual([]);
    });

    it('answers 403 insufficient_scope to a token without an appkeys scope', async () => {
      const t = await start();
      await t.registerClient('svc', SECRET_A);
      const token = await t.accessToken('svc', SECRET_A, { scope: 'api:read' });
      const response = await t.get(APPS, token);
      expectError(response, 403, 'insufficient_scope');
      expect(response.headers['www-authenticate']).toMatch(/^Bearer .*error="insufficient_scope"/);
    });

    it('answers 415 to a body that is not JSON', async () => {
      const t = await start();
      const response = await request(t.server)
        .post(APPS)
        .set('Authorization', `Bearer ${await t.owner('alice')}`)
        .type('form')
        .send('name=Form');
      expectError(response, 415, 'invalid_request');
      expect((await t.get(APPS, await t.owner('alice'))).body.items).toEqual([]);
    });

    it('answers 413 to a body over the limit', async () => {
      const t = await start();
      const response = await request(t.server)
        .post(APPS)
        .set('Authorization', `Bearer ${await t.owner('alice')}`)
        .type('json')
        .send(JSON.stringify({ name: 'Big', description: 'x'.repeat(70 * 1024) }));
      expectError(response, 413, 'invalid_request');
    });

    it('answers 400 invalid_request to invalid JSON or JSON that is not an object', async () => {
      const t = await start();
      const alice = await t.owner('alice');
      for (const body of ['{"name": "oops"', '["name"]', '"name"', 'null']) {
        const response = await request(t.server)
          .post(APPS)
          .set('Authorization', `Bearer ${alice}`)
          .type('json')
          .send(body);
        expectError(response, 400, 'invalid_request');
      }
      expect((await t.get(APPS, alice)).body.items).toEqual([]);
    });

    it('answers an unknown route under the prefix with a JSON 404', async () => {
      const t = await start();
      expectError(await t.get('/appkeys/nothing-here', await t.admin()), 404, 'not_found');
      expectError(await t.get('/appkeys', undefined), 404, 'not_found');
      expect((await request(t.server).get('/.well-known/openid-configuration')).status).toBe(200);
    });

    it('serves its OpenAPI description', async () => {
      const t = await start();
      const response = await t.get('/appkeys/openapi.json', undefined);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body.openapi).toMatch(/^3\.1\./);
    });
  });
});
