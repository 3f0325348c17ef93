import { describe, expect, it } from 'vitest';

import { ADMIN_CLIENT } from './support/appkeys.js';
import { fileBackends } from './support/backends.js';
import { oobMetadata, subjectsPerTest, type Subject } from './support/subject.js';

/**
 * The seed document's flow (WSO2 API Manager, "Provisioning Out-of-Band OAuth Clients"), end to end:
 * a client created elsewhere is provisioned, its keys provided to an application, the application
 * deleted, and the same client mapped to another application.
 */

const backends = fileBackends('seed');

// as the identity server that created it handed them out
const CLIENT_ID = 'wso2-is:9f1c2e7a-consumer-key';
const CLIENT_SECRET = 'wso2-is-consumer-secret-5b0d3c8e7f6a4b21';

const clientPath = `/appkeys/clients/${encodeURIComponent(CLIENT_ID)}`;
const appPath = (id: string) => `/appkeys/applications/${id}`;
const keysPath = (id: string, keyType = 'PRODUCTION') => `${appPath(id)}/keys/${keyType}`;

describe.each(backends)('out-of-band client provisioning on the $name store', (backend) => {
  const start = subjectsPerTest(backend, { expectNoLeaks: true });

  /** The operator provisions the client; a developer creates an application and provides its keys. */
  async function provisionedAndProvided(s: Subject, owner: string, appName: string): Promise<string> {
    const registered = await s.put(clientPath, await s.admin(), oobMetadata(s.secret(CLIENT_SECRET)));
    expect(registered.status, registered.text).toBe(201);
    const token = await s.owner(owner);
    const appId = await s.application(token, appName);
    const provided = await s.put(keysPath(appId), token, { client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
    expect(provided.status, provided.text).toBe(201);
    return appId;
  }

  it('keeps the client when its application is deleted, and lets another application bind it', async () => {
    const t = await start();
    const appId = await provisionedAndProvided(t, 'alice', 'Alice Store App');

    const first = await t.accessToken(CLIENT_ID, CLIENT_SECRET, { scope: 'api:read' });
    expect(await t.introspect(first)).toMatchObject({
      active: true,
      client_id: CLIENT_ID,
      scope: 'api:read',
      application_id: appId,
      key_type: 'PRODUCTION',
    });

    expect((await t.delete(appPath(appId), await t.owner('alice'))).status).toBe(204);
    expect((await t.introspect(first)).active).toBe(false);

    const kept = await t.get(clientPath, await t.admin());
    expect(kept.status).toBe(200);
    expect(kept.body).toMatchObject({ client_id: CLIENT_ID, binding: null });
    const unbound = await t.accessToken(CLIENT_ID, CLIENT_SECRET, { scope: 'api:read' });
    const unboundIntrospection = await t.introspect(unbound);
    expect(unboundIntrospection.active).toBe(true);
    expect(unboundIntrospection).not.toHaveProperty('application_id');

    const bob = await t.owner('bob');
    const bobsApp = await t.application(bob, 'Bob Store App');
    const rebound = await t.put(keysPath(bobsApp), bob, { client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
    expect(rebound.status, rebound.text).toBe(201);
    expect(rebound.body).toMatchObject({
      application_id: bobsApp,
      client_id: CLIENT_ID,
      origin: 'provided',
      bound_by: 'bob',
    });

    const second = await t.accessToken(CLIENT_ID, CLIENT_SECRET, { scope: 'api:read' });
    expect(await t.introspect(second)).toMatchObject({ active: true, application_id: bobsApp, key_type: 'PRODUCTION' });
    // the first application's token does not come back to life under the new binding
    expect((await t.introspect(first)).active).toBe(false);

    expect(t.eventsNamed('appkeys.application.deleted')).toEqual([
      expect.objectContaining({
        actor: { kind: 'owner', id: 'alice' },
        application_id: appId,
        unbound_client_ids: [CLIENT_ID],
        deleted_client_ids: [],
      }),
    ]);
    expect(t.eventsNamed('appkeys.binding.created').map((event) => [event.application_id, event.client_id])).toEqual([
      [appId, CLIENT_ID],
      [bobsApp, CLIENT_ID],
    ]);
  });

  it("refuses tokens to a blocked application's client and turns its tokens inactive until unblocked", async () => {
    const t = await start();
    const appId = await provisionedAndProvided(t, 'alice', 'Alice Store App');
    const before = await t.accessToken(CLIENT_ID, CLIENT_SECRET, { scope: 'api:read' });
    expect((await t.introspect(before)).active).toBe(true);

    const blocked = await t.patch(appPath(appId), await t.admin(), { status: 'BLOCKED' });
    expect(blocked.status).toBe(200);
    const blockedAt = Date.now();
    const refused = await t.clientCredentials(CLIENT_ID, CLIENT_SECRET, { scope: 'api:read' });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('invalid_client');
    expect((await t.introspect(before)).active).toBe(false);
    // the binding itself stays: blocking is not unbinding
    expect((await t.get(keysPath(appId), await t.owner('alice'))).body).toMatchObject({ client_id: CLIENT_ID });

    expect((await t.patch(appPath(appId), await t.admin(), { status: 'ACTIVE' })).status).toBe(200);
    // iat has whole seconds: a token of the block's own second never counts again (README, Tokens)
    const wait = 1000 - (blockedAt % 1000) + 20;
    await new Promise((resolve) => setTimeout(resolve, wait));
    const after = await t.accessToken(CLIENT_ID, CLIENT_SECRET, { scope: 'api:read' });
    expect(await t.introspect(after)).toMatchObject({ active: true, application_id: appId, key_type: 'PRODUCTION' });
    expect((await t.introspect(before)).active).toBe(false);

    expect(t.eventsNamed('appkeys.application.status_changed').map((event) => [event.status, event.actor])).toEqual([
      ['BLOCKED', { kind: 'admin', id: `client:${ADMIN_CLIENT.id}` }],
      ['ACTIVE', { kind: 'admin', id: `client:${ADMIN_CLIENT.id}` }],
    ]);
  });

  it('turns a token inactive when its keys are unbound, while the client keeps authenticating', async () => {
    const t = await start();
    const appId = await provisionedAndProvided(t, 'alice', 'Alice Store App');
    const token = await t.accessToken(CLIENT_ID, CLIENT_SECRET, { scope: 'api:read' });
    expect((await t.introspect(token)).active).toBe(true);

    expect((await t.delete(keysPath(appId), await t.owner('alice'))).status).toBe(204);
    expect((await t.introspect(token)).active).toBe(false);
    expect((await t.clientCredentials(CLIENT_ID, CLIENT_SECRET, { scope: 'api:read' })).status).toBe(200);
    expect((await t.get(clientPath, await t.admin())).body.binding).toBeNull();
  });
});
