import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { AttemptLimits, BindingStore, StoredApplication, StoredBinding } from '../../src/store.js';
import type { KeyType } from '../../src/types.js';
import {
  ADMIN,
  HOSTILE_IDS,
  T0,
  T1,
  T2,
  bindRequest,
  byteOrder,
  clientMetadata,
  createAndBindRequest,
  newApplication,
  ownerAccess,
  type StoreUnderTest,
} from './store-cases.js';
import { describeIssuerConformance } from './store-conformance-issuers.js';

function bindingOf(application: StoredApplication | undefined, keyType: KeyType): StoredBinding | undefined {
  return application?.bindings.find((binding) => binding.key_type === keyType);
}

/**
 * The one conformance suite every BindingStore passes. `makeStore` gives each test a fresh, empty
 * store; after each test the store's own `verify()` must find every invariant intact.
 */
export function describeStoreConformance(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`BindingStore conformance: ${name}`, () => {
    let store: BindingStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });

    afterEach(async () => {
      try {
        expect(await store.verify()).toEqual({ ok: true, problems: [] });
      } finally {
        await cleanup();
      }
    });

    /** A registered client and an application of `owner`, for tests about something else. */
    async function seed(
      clientIds: readonly string[],
      applications: readonly [id: string, owner: string][],
    ): Promise<void> {
      for (const id of clientIds) expect(await store.putClient(clientMetadata(id), T0)).toBe('created');
      for (const [id, owner] of applications)
        expect(await store.createApplication(newApplication(id, owner))).toBe('created');
    }

    describe('clients', () => {
      it('resolves undefined for a client that was never registered', async () => {
        expect(await store.getClient('nobody')).toBeUndefined();
      });

      it(
        'registers a client and returns its metadata exactly, ' + 'empty arrays and nested empty objects included',
        async () => {
          const metadata = clientMetadata('c1', {
            post_logout_redirect_uris: [],
            jwks: { keys: [] },
            nested: { empty: {}, list: [[], {}, [{}]], nothing: null, zero: 0, no: false, text: '' },
            'ünïcödé key': 'välue \u{1F600}',
            'weird:key{*}': ['a', 1, true, null],
          });
          expect(await store.putClient(metadata, T0)).toBe('created');

          const stored = await store.getClient('c1');
          expect(stored).toEqual({ metadata, registered_at: T0, updated_at: T0, revision: 1 });
          expect(stored?.binding).toBeUndefined();
          expect(JSON.stringify(stored?.metadata)).toBe(JSON.stringify(metadata));
        },
      );

      it('hands out copies: changing what went in or came out changes nothing stored', async () => {
        const metadata = clientMetadata('c1', { nested: { list: ['a'] } });
        await store.putClient(metadata, T0);
        (metadata.nested as { list: string[] }).list.push('changed after put');
        const first = await store.getClient('c1');
        (first?.metadata.grant_types as string[]).push('changed after get');

        const second = await store.getClient('c1');
        expect(second?.metadata).toEqual(clientMetadata('c1', { nested: { list: ['a'] } }));
      });

      it('replacing a client keeps its binding and registration time, and bumps its revision', async () => {
        await seed(['c1'], [['app1', 'bob']]);
        expect(await store.bind(bindRequest('app1', 'PRODUCTION', 'c1'))).toEqual({ outcome: 'created' });
        const before = await store.getClient('c1');

        const replacement = clientMetadata('c1', {
          grant_types: ['client_credentials', 'refresh_token'],
          redirect_uris: [],
        });
        expect(await store.putClient(replacement, T2)).toBe('replaced');

        const after = await store.getClient('c1');
        expect(after).toEqual({
          metadata: replacement,
          binding: before?.binding,
          registered_at: T0,
          updated_at: T2,
          revision: 2,
        });
        expect(bindingOf(await store.getApplication('app1'), 'PRODUCTION')?.client_id).toBe('c1');
      });

      it('writes nothing when the same metadata is registered again, whatever its key order', async () => {
        const metadata = clientMetadata('c1', { grant_types: ['client_credentials'], nested: { b: 1, a: [] } });
        expect(await store.putClient(metadata, T0)).toBe('created');
        const reordered = Object.fromEntries(Object.entries(metadata).reverse()) as typeof metadata;
        expect(await store.putClient({ ...reordered, nested: { a: [], b: 1 } }, T2)).toBe('unchanged');
        expect(await store.getClient('c1')).toMatchObject({ updated_at: T0, revision: 1 });
        expect(await store.putClient({ ...metadata, nested: { a: [], b: 2 } }, T2)).toBe('replaced');
      });

      it('never takes a binding from client metadata', async () => {
        const forged = {
          appkeys_binding: {
            application_id: 'app1',
            key_type: 'PRODUCTION',
            origin: 'generated',
            status: 'ACTIVE',
            bound_at: T0,
            bound_by: 'x',
          },
          binding: { application_id: 'app1' },
        };
        await seed(
          [],
          [
            ['app1', 'bob'],
            ['app2', 'bob'],
          ],
        );
        expect(await store.putClient(clientMetadata('free', forged), T0)).toBe('created');
        expect((await store.getClient('free'))?.binding).toBeUndefined();
        expect(bindingOf(await store.getApplication('app1'), 'PRODUCTION')).toBeUndefined();

        await store.putClient(clientMetadata('bound'), T0);
        await store.bind(bindRequest('app2', 'SANDBOX', 'bound'));
        const real = (await store.getClient('bound'))?.binding;
        expect(await store.putClient(clientMetadata('bound', forged), T1)).toBe('replaced');
        expect((await store.getClient('bound'))?.binding).toEqual(real);
        expect(real).toMatchObject({ application_id: 'app2', key_type: 'SANDBOX', origin: 'provided' });
      });

      it('replaces metadata only while the revision is unchanged', async () => {
        await store.putClient(clientMetadata('c1'), T0);
        const v2 = clientMetadata('c1', { client_name: 'v2' });
        expect(await store.replaceClientMetadata(v2, 1, T1)).toBe('ok');
        expect(await store.getClient('c1')).toEqual({ metadata: v2, registered_at: T0, updated_at: T1, revision: 2 });

        expect(await store.replaceClientMetadata(clientMetadata('c1', { client_name: 'stale' }), 1, T2)).toBe(
          'conflict',
        );
        expect((await store.getClient('c1'))?.metadata).toEqual(v2);
        expect(await store.replaceClientMetadata(clientMetadata('missing'), 1, T2)).toBe('not_found');
        expect(await store.getClient('missing')).toBeUndefined();
      });

      it('keeps the binding when metadata is replaced by revision', async () => {
        await seed(['c1'], [['app1', 'bob']]);
        await store.bind(bindRequest('app1', 'PRODUCTION', 'c1'));
        expect(await store.replaceClientMetadata(clientMetadata('c1', { client_name: 'v2' }), 1, T2)).toBe('ok');
        expect((await store.getClient('c1'))?.binding).toMatchObject({
          application_id: 'app1',
          key_type: 'PRODUCTION',
        });
      });

      it('deletes an unbound client, and answers not_found for an unknown one', async () => {
        await store.putClient(clientMetadata('c1'), T0);
        expect(await store.deleteClient('c1', false)).toEqual({ outcome: 'deleted' });
        expect(await store.getClient('c1')).toBeUndefined();
        expect(await store.listClients(undefined, 10)).toEqual([]);
        expect(await store.deleteClient('c1', true)).toEqual({ outcome: 'not_found' });
      });

      it('refuses to delete a bound client unless forced, and then removes its binding too', async () => {
        await seed(['c1'], [['app1', 'bob']]);
        await store.bind(bindRequest('app1', 'SANDBOX', 'c1'));
        expect(await store.deleteClient('c1', false)).toEqual({ outcome: 'bound' });
        expect((await store.getClient('c1'))?.binding).toBeDefined();

        const deleted = await store.deleteClient('c1', true);
        expect(deleted).toEqual({
          outcome: 'deleted',
          binding: {
            application_id: 'app1',
            key_type: 'SANDBOX',
            client_id: 'c1',
            origin: 'provided',
            bound_at: T1,
            bound_by: 'admin:alice',
          },
        });
        expect(await store.getClient('c1')).toBeUndefined();
        expect((await store.getApplication('app1'))?.bindings).toEqual([]);
      });

      it('lists clients in byte order of their UTF-8 encoding, page by page, after an exclusive cursor', async () => {
        const ids = ['b', 'a', 'A', 'a:b', 'ab', '\uFF41', '\u{1F600}', 'Z', '~', 'a b'];
        for (const id of ids) await store.putClient(clientMetadata(id), T0);
        const expected = byteOrder(ids);
        // The UTF-16 order of JavaScript's default sort would put the emoji before U+FF41.
        expect(expected.indexOf('\uFF41')).toBeLessThan(expected.indexOf('\u{1F600}'));

        const seen: string[] = [];
        let after: string | undefined;
        // Bounded, so that a cursor that does not advance fails instead of looping.
        for (let pages = 0; pages <= ids.length; pages += 1) {
          const page = await store.listClients(after, 3);
          expect(page.length).toBeLessThanOrEqual(3);
          if (page.length === 0) break;
          seen.push(...page.map((client) => client.metadata.client_id));
          after = page[page.length - 1]?.metadata.client_id;
        }
        expect(seen).toEqual(expected);

        expect((await store.listClients('a', 2)).map((c) => c.metadata.client_id)).toEqual(['a b', 'a:b']);
        expect((await store.listClients('aa', 1)).map((c) => c.metadata.client_id)).toEqual(['ab']);
        expect(await store.listClients('\u{10FFFF}', 5)).toEqual([]);
        const first = (await store.listClients(undefined, 1))[0];
        expect(first).toEqual({
          metadata: clientMetadata(expected[0] as string),
          registered_at: T0,
          updated_at: T0,
          revision: 1,
        });
      });

      it('lists bound clients with their binding', async () => {
        await seed(['c1', 'c2'], [['app1', 'bob']]);
        await store.bind(bindRequest('app1', 'PRODUCTION', 'c2'));
        const listed = await store.listClients(undefined, 10);
        expect(listed.map((client) => client.binding?.application_id)).toEqual([undefined, 'app1']);
      });
    });

    describe('applications', () => {
      it('creates an application and reads it back without bindings', async () => {
        expect(await store.getApplication('app1')).toBeUndefined();
        expect(
          await store.createApplication(newApplication('app1', 'bob', 'My App', { description: 'the first' })),
        ).toBe('created');
        expect(await store.getApplication('app1')).toEqual({
          id: 'app1',
          name: 'My App',
          description: 'the first',
          owner: 'bob',
          status: 'ACTIVE',
          created_at: T0,
          updated_at: T0,
          bindings: [],
        });
      });

      it('refuses a name key its owner already uses, and allows it for another owner', async () => {
        expect(await store.createApplication(newApplication('app1', 'bob', 'Shop'))).toBe('created');
        expect(await store.createApplication(newApplication('app2', 'bob', 'SHOP'))).toBe('name_taken');
        expect(await store.getApplication('app2')).toBeUndefined();
        expect(await store.createApplication(newApplication('app3', 'carol', 'Shop'))).toBe('created');
        expect((await store.listApplications(ADMIN, undefined, 10)).map((a) => a.id)).toEqual(['app1', 'app3']);
      });

      it("renames within the owner's names: conflicts refused, its own name allowed, the old name freed", async () => {
        await store.createApplication(newApplication('app1', 'bob', 'One'));
        await store.createApplication(newApplication('app2', 'bob', 'Two'));
        await store.createApplication(newApplication('app3', 'carol', 'Three'));

        expect(await store.updateApplication('app2', { name: 'ONE', nameKey: 'one', updated_at: T1 }, ADMIN)).toBe(
          'name_taken',
        );
        expect((await store.getApplication('app2'))?.name).toBe('Two');

        expect(await store.updateApplication('app1', { name: 'ONE', nameKey: 'one', updated_at: T1 }, ADMIN)).toBe(
          'ok',
        );
        expect(await store.getApplication('app1')).toMatchObject({ name: 'ONE', updated_at: T1 });

        expect(await store.updateApplication('app2', { name: 'Three', nameKey: 'three', updated_at: T1 }, ADMIN)).toBe(
          'ok',
        );
        expect(await store.updateApplication('app1', { name: 'Two', nameKey: 'two', updated_at: T2 }, ADMIN)).toBe(
          'ok',
        );
        expect(await store.createApplication(newApplication('app4', 'bob', 'One'))).toBe('created');
        expect(await store.createApplication(newApplication('app5', 'bob', 'Three'))).toBe('name_taken');
      });

      it('changes description and status, and answers not_found for a missing application', async () => {
        await store.createApplication(newApplication('app1', 'bob', 'One', { description: 'old' }));
        expect(await store.updateApplication('app1', { description: '', updated_at: T1 }, ADMIN)).toBe('ok');
        expect(await store.updateApplication('app1', { status: 'BLOCKED', updated_at: T2 }, ADMIN)).toBe('ok');
        expect(await store.getApplication('app1')).toMatchObject({
          name: 'One',
          description: '',
          status: 'BLOCKED',
          created_at: T0,
          updated_at: T2,
        });
        expect(await store.updateApplication('nope', { status: 'BLOCKED', updated_at: T2 }, ADMIN)).toBe('not_found');
        expect(await store.getApplication('nope')).toBeUndefined();
      });

      it('mirrors a status change into every bound client record', async () => {
        await seed(
          ['prod', 'sandbox', 'other'],
          [
            ['app1', 'bob'],
            ['app2', 'bob'],
          ],
        );
        await store.bind(bindRequest('app1', 'PRODUCTION', 'prod'));
        await store.bind(bindRequest('app1', 'SANDBOX', 'sandbox'));
        await store.bind(bindRequest('app2', 'PRODUCTION', 'other'));

        expect(await store.updateApplication('app1', { status: 'BLOCKED', updated_at: T2 }, ADMIN)).toBe('ok');
        expect((await store.getClient('prod'))?.binding?.status).toBe('BLOCKED');
        expect((await store.getClient('sandbox'))?.binding?.status).toBe('BLOCKED');
        expect((await store.getClient('other'))?.binding?.status).toBe('ACTIVE');
        expect((await store.getClient('prod'))?.revision).toBe(1);

        expect(await store.updateApplication('app1', { status: 'ACTIVE', updated_at: T2 }, ADMIN)).toBe('ok');
        expect((await store.getClient('prod'))?.binding?.status).toBe('ACTIVE');
        expect((await store.getClient('sandbox'))?.binding?.status).toBe('ACTIVE');
      });

      it("gives a new binding the application's current status", async () => {
        await store.createApplication(newApplication('app1', 'bob', 'One', { status: 'BLOCKED' }));
        await store.putClient(clientMetadata('c1'), T0);
        await store.bind(bindRequest('app1', 'PRODUCTION', 'c1'));
        expect((await store.getClient('c1'))?.binding).toEqual({
          application_id: 'app1',
          key_type: 'PRODUCTION',
          origin: 'provided',
          status: 'BLOCKED',
          bound_at: T1,
          bound_by: 'admin:alice',
        });
        expect(await store.createAndBind(createAndBindRequest('app1', 'SANDBOX', clientMetadata('gen')))).toBe(
          'created',
        );
        expect((await store.getClient('gen'))?.binding?.status).toBe('BLOCKED');
      });

      it("lists applications in id order, one owner's or all, page by page", async () => {
        const owners: Record<string, string> = {
          b2: 'bob',
          a1: 'carol',
          c3: 'bob',
          'a:0': 'bob',
          B9: 'carol',
          '\u{1F600}': 'bob',
        };
        for (const [id, owner] of Object.entries(owners)) await store.createApplication(newApplication(id, owner));
        const all = byteOrder(Object.keys(owners));
        const bobs = all.filter((id) => owners[id] === 'bob');

        const ids = async (owner: string | undefined, after: string | undefined, limit: number) =>
          (await store.listApplications(owner === undefined ? ADMIN : ownerAccess(owner), after, limit)).map(
            (application) => application.id,
          );
        expect(await ids(undefined, undefined, 100)).toEqual(all);
        expect(await ids('bob', undefined, 100)).toEqual(bobs);
        expect(await ids('bob', undefined, 2)).toEqual(bobs.slice(0, 2));
        expect(await ids('bob', bobs[1], 2)).toEqual(bobs.slice(2, 4));
        expect(await ids(undefined, all[2], 3)).toEqual(all.slice(3, 6));
        expect(await ids(undefined, all[all.length - 1], 3)).toEqual([]);
        expect(await ids('dave', undefined, 10)).toEqual([]);
        expect(
          (await store.listApplications(ownerAccess('carol'), undefined, 10)).every(
            (application) => application.owner === 'carol',
          ),
        ).toBe(true);
      });

      it('lists applications with their bindings', async () => {
        await seed(['c1'], [['app1', 'bob']]);
        await store.bind(bindRequest('app1', 'SANDBOX', 'c1'));
        const [listed] = await store.listApplications(ownerAccess('bob'), undefined, 10);
        expect(listed?.bindings).toEqual([
          {
            application_id: 'app1',
            key_type: 'SANDBOX',
            client_id: 'c1',
            origin: 'provided',
            bound_at: T1,
            bound_by: 'admin:alice',
          },
        ]);
      });

      it("frees an application's name when it is deleted", async () => {
        await store.createApplication(newApplication('app1', 'bob', 'Shop'));
        expect(await store.deleteApplication('app1', ADMIN)).toEqual({ outcome: 'deleted', bindings: [] });
        expect(await store.getApplication('app1')).toBeUndefined();
        expect(await store.listApplications(ownerAccess('bob'), undefined, 10)).toEqual([]);
        expect(await store.createApplication(newApplication('app2', 'bob', 'Shop'))).toBe('created');
        expect(await store.deleteApplication('app1', ADMIN)).toEqual({ outcome: 'not_found' });
      });
    });

    describe('bindings', () => {
      it('binds a provided client and shows the binding on the client and on the application', async () => {
        await seed(['c1'], [['app1', 'bob']]);
        expect(
          await store.bind(
            bindRequest('app1', 'PRODUCTION', 'c1', { access: ownerAccess('bob'), boundBy: 'owner:bob' }),
          ),
        ).toEqual({ outcome: 'created' });

        expect((await store.getClient('c1'))?.binding).toEqual({
          application_id: 'app1',
          key_type: 'PRODUCTION',
          origin: 'provided',
          status: 'ACTIVE',
          bound_at: T1,
          bound_by: 'owner:bob',
        });
        expect((await store.getApplication('app1'))?.bindings).toEqual([
          {
            application_id: 'app1',
            key_type: 'PRODUCTION',
            client_id: 'c1',
            origin: 'provided',
            bound_at: T1,
            bound_by: 'owner:bob',
          },
        ]);
      });

      it('answers exists for the exact binding already there, and changes nothing', async () => {
        await seed(['c1'], [['app1', 'bob']]);
        await store.bind(bindRequest('app1', 'PRODUCTION', 'c1'));
        const before = await store.getApplication('app1');
        expect(
          await store.bind(bindRequest('app1', 'PRODUCTION', 'c1', { boundAt: T2, boundBy: 'someone-else' })),
        ).toEqual({ outcome: 'exists' });
        expect(await store.getApplication('app1')).toEqual(before);
        expect((await store.getClient('c1'))?.binding?.bound_at).toBe(T1);
      });

      it('binds a client at most once across applications and key types', async () => {
        await seed(
          ['c1'],
          [
            ['app1', 'bob'],
            ['app2', 'carol'],
          ],
        );
        expect(await store.bind(bindRequest('app1', 'PRODUCTION', 'c1'))).toEqual({ outcome: 'created' });
        expect(await store.bind(bindRequest('app1', 'SANDBOX', 'c1'))).toEqual({ outcome: 'client_already_bound' });
        expect(await store.bind(bindRequest('app2', 'PRODUCTION', 'c1'))).toEqual({ outcome: 'client_already_bound' });
        expect(await store.bind(bindRequest('app2', 'SANDBOX', 'c1'))).toEqual({ outcome: 'client_already_bound' });
        expect((await store.getApplication('app1'))?.bindings).toHaveLength(1);
        expect((await store.getApplication('app2'))?.bindings).toEqual([]);
      });

      it('keeps one binding per key type of an application', async () => {
        await seed(['c1', 'c2'], [['app1', 'bob']]);
        expect(await store.bind(bindRequest('app1', 'PRODUCTION', 'c1'))).toEqual({ outcome: 'created' });
        expect(await store.bind(bindRequest('app1', 'PRODUCTION', 'c2'))).toEqual({
          outcome: 'key_type_already_bound',
        });
        expect((await store.getClient('c2'))?.binding).toBeUndefined();
        expect(await store.bind(bindRequest('app1', 'SANDBOX', 'c2'))).toEqual({ outcome: 'created' });
        const application = await store.getApplication('app1');
        expect(bindingOf(application, 'PRODUCTION')?.client_id).toBe('c1');
        expect(bindingOf(application, 'SANDBOX')?.client_id).toBe('c2');
      });

      it("answers application_not_found for a missing application and for another owner's", async () => {
        await seed(['c1'], [['app1', 'bob']]);
        expect(await store.bind(bindRequest('missing', 'PRODUCTION', 'c1'))).toEqual({
          outcome: 'application_not_found',
        });
        expect(await store.bind(bindRequest('app1', 'PRODUCTION', 'c1', { access: ownerAccess('carol') }))).toEqual({
          outcome: 'application_not_found',
        });
        expect(await store.bind(bindRequest('app1', 'PRODUCTION', 'c1', { access: ownerAccess('Bob') }))).toEqual({
          outcome: 'application_not_found',
        });
        expect((await store.getClient('c1'))?.binding).toBeUndefined();
        expect(await store.bind(bindRequest('app1', 'PRODUCTION', 'c1', { access: ownerAccess('bob') }))).toEqual({
          outcome: 'created',
        });
      });

      it('answers client_not_found for a client that is not registered', async () => {
        await seed([], [['app1', 'bob']]);
        expect(await store.bind(bindRequest('app1', 'PRODUCTION', 'ghost'))).toEqual({ outcome: 'client_not_found' });
        expect((await store.getApplication('app1'))?.bindings).toEqual([]);
      });

      it('unbinds: a provided client is kept unbound, a generated one is deleted', async () => {
        await seed(['provided'], [['app1', 'bob']]);
        await store.bind(bindRequest('app1', 'PRODUCTION', 'provided'));
        await store.createAndBind(createAndBindRequest('app1', 'SANDBOX', clientMetadata('generated')));

        expect(await store.unbind('app1', 'PRODUCTION', ADMIN)).toEqual({
          outcome: 'unbound',
          binding: {
            application_id: 'app1',
            key_type: 'PRODUCTION',
            client_id: 'provided',
            origin: 'provided',
            bound_at: T1,
            bound_by: 'admin:alice',
          },
        });
        expect(await store.getClient('provided')).toEqual({
          metadata: clientMetadata('provided'),
          registered_at: T0,
          updated_at: T0,
          revision: 1,
        });

        expect(await store.unbind('app1', 'SANDBOX', ADMIN)).toMatchObject({
          outcome: 'unbound',
          binding: { client_id: 'generated', origin: 'generated' },
        });
        expect(await store.getClient('generated')).toBeUndefined();
        expect((await store.listClients(undefined, 10)).map((client) => client.metadata.client_id)).toEqual([
          'provided',
        ]);

        expect((await store.getApplication('app1'))?.bindings).toEqual([]);
        expect(await store.unbind('app1', 'SANDBOX', ADMIN)).toEqual({ outcome: 'not_found' });
        expect(await store.unbind('missing', 'PRODUCTION', ADMIN)).toEqual({ outcome: 'not_found' });
      });

      it('lets a client be bound again after it was unbound', async () => {
        await seed(
          ['c1'],
          [
            ['app1', 'bob'],
            ['app2', 'carol'],
          ],
        );
        await store.bind(bindRequest('app1', 'PRODUCTION', 'c1'));
        await store.unbind('app1', 'PRODUCTION', ADMIN);
        expect(await store.bind(bindRequest('app2', 'SANDBOX', 'c1'))).toEqual({ outcome: 'created' });
        expect((await store.getClient('c1'))?.binding).toMatchObject({ application_id: 'app2', key_type: 'SANDBOX' });
      });

      it('keeps provided clients, unbound, and deletes generated ones when their application is deleted', async () => {
        await seed(
          ['provided', 'elsewhere'],
          [
            ['app1', 'bob'],
            ['app2', 'bob'],
          ],
        );
        await store.bind(bindRequest('app1', 'PRODUCTION', 'provided'));
        await store.bind(bindRequest('app2', 'PRODUCTION', 'elsewhere'));
        await store.createAndBind(createAndBindRequest('app1', 'SANDBOX', clientMetadata('generated')));

        const deleted = await store.deleteApplication('app1', ADMIN);
        const removed = deleted.outcome === 'deleted' ? deleted.bindings : undefined;
        expect(removed && [...removed].sort((a, b) => a.key_type.localeCompare(b.key_type))).toEqual([
          {
            application_id: 'app1',
            key_type: 'PRODUCTION',
            client_id: 'provided',
            origin: 'provided',
            bound_at: T1,
            bound_by: 'admin:alice',
          },
          {
            application_id: 'app1',
            key_type: 'SANDBOX',
            client_id: 'generated',
            origin: 'generated',
            bound_at: T1,
            bound_by: 'owner:bob',
          },
        ]);
        expect(await store.getApplication('app1')).toBeUndefined();
        expect(await store.getClient('provided')).toEqual({
          metadata: clientMetadata('provided'),
          registered_at: T0,
          updated_at: T0,
          revision: 1,
        });
        expect(await store.getClient('generated')).toBeUndefined();
        expect((await store.getClient('elsewhere'))?.binding?.application_id).toBe('app2');
        expect(await store.deleteApplication('app1', ADMIN)).toEqual({ outcome: 'not_found' });
      });

      it('lets a provided client be bound again after its application is deleted', async () => {
        await seed(
          ['c1'],
          [
            ['app1', 'bob'],
            ['app2', 'carol'],
          ],
        );
        await store.bind(bindRequest('app1', 'PRODUCTION', 'c1'));
        await store.deleteApplication('app1', ADMIN);
        expect(await store.bind(bindRequest('app2', 'PRODUCTION', 'c1', { access: ownerAccess('carol') }))).toEqual({
          outcome: 'created',
        });
        expect((await store.getClient('c1'))?.binding?.application_id).toBe('app2');
      });

      it('creates and binds a generated client in one step', async () => {
        await seed([], [['app1', 'bob']]);
        const metadata = clientMetadata('gen-1', { redirect_uris: [], jwks: { keys: [] } });
        expect(
          await store.createAndBind(
            createAndBindRequest('app1', 'PRODUCTION', metadata, { access: ownerAccess('bob') }),
          ),
        ).toBe('created');
        expect(await store.getClient('gen-1')).toEqual({
          metadata,
          binding: {
            application_id: 'app1',
            key_type: 'PRODUCTION',
            origin: 'generated',
            status: 'ACTIVE',
            bound_at: T1,
            bound_by: 'owner:bob',
          },
          registered_at: T1,
          updated_at: T1,
          revision: 1,
        });
        expect((await store.getApplication('app1'))?.bindings).toEqual([
          {
            application_id: 'app1',
            key_type: 'PRODUCTION',
            client_id: 'gen-1',
            origin: 'generated',
            bound_at: T1,
            bound_by: 'owner:bob',
          },
        ]);
      });

      it(
        'refuses createAndBind for a missing or foreign application, a taken key type, ' + 'or an existing client id',
        async () => {
          await seed(['taken'], [['app1', 'bob']]);
          expect(await store.createAndBind(createAndBindRequest('missing', 'PRODUCTION', clientMetadata('g1')))).toBe(
            'application_not_found',
          );
          expect(
            await store.createAndBind(
              createAndBindRequest('app1', 'PRODUCTION', clientMetadata('g1'), { access: ownerAccess('carol') }),
            ),
          ).toBe('application_not_found');
          expect(
            await store.createAndBind(
              createAndBindRequest('app1', 'PRODUCTION', clientMetadata('taken', { client_name: 'clobber' })),
            ),
          ).toBe('client_exists');
          expect(await store.getClient('taken')).toEqual({
            metadata: clientMetadata('taken'),
            registered_at: T0,
            updated_at: T0,
            revision: 1,
          });
          expect(await store.getClient('g1')).toBeUndefined();

          expect(await store.createAndBind(createAndBindRequest('app1', 'PRODUCTION', clientMetadata('g1')))).toBe(
            'created',
          );
          expect(await store.createAndBind(createAndBindRequest('app1', 'PRODUCTION', clientMetadata('g2')))).toBe(
            'key_type_already_bound',
          );
          expect(await store.getClient('g2')).toBeUndefined();
        },
      );
    });

    describe('access: an owner reaches only their own applications, and none while it is BLOCKED', () => {
      const bob = ownerAccess('bob');

      async function blockedApplication(): Promise<void> {
        await seed(['provided', 'spare'], [['app1', 'bob']]);
        await store.bind(bindRequest('app1', 'PRODUCTION', 'provided'));
        expect(await store.updateApplication('app1', { status: 'BLOCKED', updated_at: T2 }, ADMIN)).toBe('ok');
      }

      it('refuses every change its owner asks for while the application is BLOCKED, and changes nothing', async () => {
        await blockedApplication();
        const before = { application: await store.getApplication('app1'), client: await store.getClient('provided') };
        expect(await store.unbind('app1', 'PRODUCTION', bob)).toEqual({ outcome: 'blocked' });
        expect(await store.deleteApplication('app1', bob)).toEqual({ outcome: 'blocked' });
        expect(await store.updateApplication('app1', { status: 'ACTIVE', updated_at: T2 }, bob)).toBe('blocked');
        expect(
          await store.updateApplication('app1', { name: 'Renamed', nameKey: 'renamed', updated_at: T2 }, bob),
        ).toBe('blocked');
        expect(await store.bind(bindRequest('app1', 'SANDBOX', 'spare', { access: bob }))).toEqual({
          outcome: 'application_blocked',
        });
        expect(
          await store.createAndBind(createAndBindRequest('app1', 'SANDBOX', clientMetadata('gen'), { access: bob })),
        ).toBe('application_blocked');
        const client = before.client!;
        expect(
          await store.replaceClientMetadata(
            { ...client.metadata, client_secret: 'rotated-by-the-owner' },
            client.revision,
            T2,
            { unlessBlocked: true },
          ),
        ).toBe('blocked');
        expect(await store.getApplication('app1')).toEqual(before.application);
        expect(await store.getClient('provided')).toEqual(before.client);
        expect(await store.getClient('gen')).toBeUndefined();
        expect((await store.getClient('spare'))?.binding).toBeUndefined();
      });

      it('lets an admin change a BLOCKED application', async () => {
        await blockedApplication();
        expect(await store.bind(bindRequest('app1', 'SANDBOX', 'spare'))).toEqual({ outcome: 'created' });
        expect(await store.unbind('app1', 'SANDBOX', ADMIN)).toMatchObject({ outcome: 'unbound' });
        const client = (await store.getClient('provided'))!;
        expect(await store.replaceClientMetadata({ ...client.metadata, client_name: 'x' }, client.revision, T2)).toBe(
          'ok',
        );
        expect(await store.updateApplication('app1', { status: 'ACTIVE', updated_at: T2 }, ADMIN)).toBe('ok');
        expect(await store.unbind('app1', 'PRODUCTION', bob)).toMatchObject({ outcome: 'unbound' });
        expect(await store.deleteApplication('app1', bob)).toEqual({ outcome: 'deleted', bindings: [] });
      });

      it('answers not_found to another owner, and to an owner id that is empty or differs in case', async () => {
        await seed(['c1'], [['app1', 'bob']]);
        for (const other of [ownerAccess('carol'), ownerAccess(''), ownerAccess('Bob')]) {
          expect(await store.bind(bindRequest('app1', 'PRODUCTION', 'c1', { access: other }))).toEqual({
            outcome: 'application_not_found',
          });
          expect(
            await store.createAndBind(
              createAndBindRequest('app1', 'SANDBOX', clientMetadata('gen'), { access: other }),
            ),
          ).toBe('application_not_found');
          expect(await store.updateApplication('app1', { name: 'Mine', nameKey: 'mine', updated_at: T2 }, other)).toBe(
            'not_found',
          );
          expect(await store.deleteApplication('app1', other)).toEqual({ outcome: 'not_found' });
          expect(await store.listApplications(other, undefined, 10)).toEqual([]);
        }
        await store.bind(bindRequest('app1', 'PRODUCTION', 'c1'));
        expect(await store.unbind('app1', 'PRODUCTION', ownerAccess(''))).toEqual({ outcome: 'not_found' });
        expect((await store.getApplication('app1'))?.bindings).toHaveLength(1);
      });

      it("keeps an application of no owner ('') to admins: no owner access reaches it", async () => {
        await seed(['c1'], [['held', '']]);
        expect(await store.bind(bindRequest('held', 'PRODUCTION', 'c1', { access: bob }))).toEqual({
          outcome: 'application_not_found',
        });
        expect(await store.listApplications(bob, undefined, 10)).toEqual([]);
        expect((await store.listApplications(ADMIN, undefined, 10)).map((a) => a.owner)).toEqual(['']);
        expect(await store.bind(bindRequest('held', 'PRODUCTION', 'c1'))).toEqual({ outcome: 'created' });
      });
    });

    describe('throttling of failed attempts', () => {
      const limits: AttemptLimits = { perCaller: 3, perClient: 100, windowMs: 10_000 };
      const attempt = { caller: 'mallory', clientId: 'c1' };

      it(
        'records failures up to the per-caller limit, ' + 'then refuses with the time until the oldest leaves',
        async () => {
          expect(await store.recordFailedAttempt(attempt, limits, 1_000)).toBe(0);
          expect(await store.recordFailedAttempt(attempt, limits, 2_000)).toBe(0);
          expect(await store.recordFailedAttempt(attempt, limits, 3_000)).toBe(0);
          expect(await store.recordFailedAttempt(attempt, limits, 5_000)).toBe(6_000);
          expect(await store.recordFailedAttempt(attempt, limits, 10_999)).toBe(1);
        },
      );

      it('throttles bind while a window is full, even for a binding that would succeed or exist', async () => {
        await seed(['c1', 'c2'], [['app1', 'bob']]);
        await store.bind(bindRequest('app1', 'SANDBOX', 'c2', { caller: 'mallory' }));
        for (const nowMs of [1_000, 2_000, 3_000]) {
          await store.recordFailedAttempt(attempt, limits, nowMs);
          await store.recordFailedAttempt({ caller: 'mallory', clientId: 'c2' }, limits, nowMs);
        }
        const request = bindRequest('app1', 'PRODUCTION', 'c1', { caller: attempt.caller, limits, nowMs: 5_000 });
        expect(await store.bind(request)).toEqual({ outcome: 'throttled', retryAfterMs: 6_000 });
        expect((await store.getClient('c1'))?.binding).toBeUndefined();
        expect(
          await store.bind(bindRequest('app1', 'SANDBOX', 'c2', { caller: 'mallory', limits, nowMs: 5_000 })),
        ).toEqual({ outcome: 'throttled', retryAfterMs: 6_000 });
        expect(await store.bind({ ...request, nowMs: 10_999 })).toEqual({ outcome: 'throttled', retryAfterMs: 1 });
        expect(await store.bind({ ...request, nowMs: 11_000 })).toEqual({ outcome: 'created' });
      });

      it('slides the window: waiting retryAfterMs is enough, and a refused attempt is not counted', async () => {
        for (const nowMs of [1_000, 2_000, 3_000]) await store.recordFailedAttempt(attempt, limits, nowMs);
        const wait = await store.recordFailedAttempt(attempt, limits, 5_000);
        expect(wait).toBe(6_000);
        expect(await store.recordFailedAttempt(attempt, limits, 5_000 + wait - 1)).toBe(1);
        // Only the failures at 2 000 and 3 000 are left: the refused ones at 5 000 and 10 999 never counted.
        expect(await store.recordFailedAttempt(attempt, limits, 5_000 + wait)).toBe(0);
        expect(await store.recordFailedAttempt(attempt, limits, 11_500)).toBe(500);
        expect(await store.recordFailedAttempt(attempt, limits, 12_000)).toBe(0);
        expect(await store.recordFailedAttempt(attempt, limits, 12_000)).toBe(1_000);
      });

      it('waits for enough failures to leave when a window holds more than the limit', async () => {
        const loose: AttemptLimits = { perCaller: 5, perClient: 100, windowMs: 10_000 };
        for (const nowMs of [1_000, 2_000, 3_000, 4_000, 5_000])
          expect(await store.recordFailedAttempt(attempt, loose, nowMs)).toBe(0);
        // Five failures against a limit of two: the oldest four must leave, the fourth at 14 000.
        const strict: AttemptLimits = { ...loose, perCaller: 2 };
        expect(await store.recordFailedAttempt(attempt, strict, 6_000)).toBe(8_000);
        expect(await store.recordFailedAttempt(attempt, strict, 14_000)).toBe(0);
      });

      it("counts a caller's failures per client", async () => {
        await seed(['c1', 'c2'], [['app1', 'bob']]);
        for (const nowMs of [1_000, 2_000, 3_000]) await store.recordFailedAttempt(attempt, limits, nowMs);
        expect(
          await store.bind(bindRequest('app1', 'PRODUCTION', 'c1', { caller: attempt.caller, limits, nowMs: 4_000 })),
        ).toEqual({ outcome: 'throttled', retryAfterMs: 7_000 });
        expect(
          await store.bind(bindRequest('app1', 'PRODUCTION', 'c2', { caller: 'mallory', limits, nowMs: 4_000 })),
        ).toEqual({ outcome: 'created' });
        expect(
          await store.bind(bindRequest('app1', 'SANDBOX', 'c1', { caller: 'trent', limits, nowMs: 4_000 })),
        ).toEqual({ outcome: 'created' });
      });

      it('limits failures per client across all callers', async () => {
        await seed(['c1'], [['app1', 'bob']]);
        const perClient: AttemptLimits = { perCaller: 100, perClient: 3, windowMs: 10_000 };
        expect(await store.recordFailedAttempt({ caller: 'a', clientId: 'c1' }, perClient, 1_000)).toBe(0);
        expect(await store.recordFailedAttempt({ caller: 'b', clientId: 'c1' }, perClient, 2_000)).toBe(0);
        expect(await store.recordFailedAttempt({ caller: 'c', clientId: 'c1' }, perClient, 3_000)).toBe(0);
        expect(await store.recordFailedAttempt({ caller: 'd', clientId: 'c1' }, perClient, 4_000)).toBe(7_000);
        expect(
          await store.bind(bindRequest('app1', 'PRODUCTION', 'c1', { caller: 'e', limits: perClient, nowMs: 4_000 })),
        ).toEqual({ outcome: 'throttled', retryAfterMs: 7_000 });
        expect(await store.recordFailedAttempt({ caller: 'a', clientId: 'c2' }, perClient, 4_000)).toBe(0);
        expect(
          await store.bind(bindRequest('app1', 'PRODUCTION', 'c1', { caller: 'e', limits: perClient, nowMs: 11_000 })),
        ).toEqual({ outcome: 'created' });
      });

      it('keeps callers and clients whose names share characters apart', async () => {
        const one: AttemptLimits = { perCaller: 1, perClient: 100, windowMs: 10_000 };
        expect(await store.recordFailedAttempt({ caller: 'a:b', clientId: 'c' }, one, 1_000)).toBe(0);
        expect(await store.recordFailedAttempt({ caller: 'a', clientId: 'b:c' }, one, 1_000)).toBe(0);
        expect(await store.recordFailedAttempt({ caller: 'a%3Ab', clientId: 'c' }, one, 1_000)).toBe(0);
        expect(await store.recordFailedAttempt({ caller: 'a:b', clientId: 'c' }, one, 1_000)).toBe(10_000);
      });

      it('tells the wait without recording anything', async () => {
        expect(await store.attemptWait(attempt, limits, 1_000)).toBe(0);
        for (const nowMs of [1_000, 2_000]) await store.recordFailedAttempt(attempt, limits, nowMs);
        expect(await store.attemptWait(attempt, limits, 2_500)).toBe(0);
        expect(await store.attemptWait(attempt, limits, 2_500)).toBe(0);
        await store.recordFailedAttempt(attempt, limits, 3_000);
        expect(await store.attemptWait(attempt, limits, 5_000)).toBe(6_000);
        expect(await store.attemptWait(attempt, limits, 10_999)).toBe(1);
        expect(await store.attemptWait(attempt, limits, 11_000)).toBe(0);
        expect(await store.attemptWait({ caller: 'trent', clientId: 'c1' }, limits, 5_000)).toBe(0);
      });

      it("clears a client's failures from every caller, keeping each caller's own window", async () => {
        const perClient: AttemptLimits = { perCaller: 2, perClient: 3, windowMs: 10_000 };
        await store.recordFailedAttempt({ caller: 'a', clientId: 'c1' }, perClient, 1_000);
        await store.recordFailedAttempt({ caller: 'a', clientId: 'c1' }, perClient, 1_000);
        await store.recordFailedAttempt({ caller: 'b', clientId: 'c1' }, perClient, 1_000);
        await store.recordFailedAttempt({ caller: 'b', clientId: 'c2' }, perClient, 1_000);
        expect(await store.attemptWait({ caller: 'c', clientId: 'c1' }, perClient, 2_000)).toBe(9_000);

        expect(await store.clearFailedAttempts('c1')).toBe(true);
        expect(await store.attemptWait({ caller: 'c', clientId: 'c1' }, perClient, 2_000)).toBe(0);
        expect(await store.attemptWait({ caller: 'a', clientId: 'c1' }, perClient, 2_000)).toBe(9_000);
        expect(await store.clearFailedAttempts('c1')).toBe(false);
        expect(await store.clearFailedAttempts('never-tried')).toBe(false);
        expect(
          await store.recordFailedAttempt({ caller: 'b', clientId: 'c2' }, { ...perClient, perClient: 1 }, 2_000),
        ).toBe(9_000);
      });

      it('lets exactly the limit of parallel failures through', async () => {
        const results = await Promise.all(
          Array.from({ length: 12 }, () => store.recordFailedAttempt(attempt, limits, 1_000)),
        );
        expect(results.filter((wait) => wait === 0)).toHaveLength(3);
        expect(results.filter((wait) => wait === 10_000)).toHaveLength(9);
      });
    });

    describe('hostile ids', () => {
      it('stores clients, applications and owners with hostile ids as themselves', async () => {
        for (const id of HOSTILE_IDS) expect(await store.putClient(clientMetadata(id), T0)).toBe('created');
        for (const [i, id] of HOSTILE_IDS.entries()) {
          expect(await store.createApplication(newApplication(id, `owner ${id}`, `name ${id}`))).toBe('created');
          const keyType: KeyType = i % 2 === 0 ? 'PRODUCTION' : 'SANDBOX';
          expect(
            await store.bind(bindRequest(id, keyType, id, { access: ownerAccess(`owner ${id}`), caller: id })),
          ).toEqual({ outcome: 'created' });
        }
        for (const [i, id] of HOSTILE_IDS.entries()) {
          const keyType: KeyType = i % 2 === 0 ? 'PRODUCTION' : 'SANDBOX';
          const client = await store.getClient(id);
          expect(client?.metadata).toEqual(clientMetadata(id));
          expect(client?.binding).toMatchObject({ application_id: id, key_type: keyType });
          const application = await store.getApplication(id);
          expect(application).toMatchObject({ id, owner: `owner ${id}`, name: `name ${id}` });
          expect(bindingOf(application, keyType)?.client_id).toBe(id);
          expect((await store.listApplications(ownerAccess(`owner ${id}`), undefined, 10)).map((a) => a.id)).toEqual([
            id,
          ]);
        }
        const listed = (await store.listClients(undefined, 1000)).map((client) => client.metadata.client_id);
        expect(listed).toEqual(byteOrder(HOSTILE_IDS));
        expect((await store.listApplications(ADMIN, undefined, 1000)).map((a) => a.id)).toEqual(byteOrder(HOSTILE_IDS));
        // '%41' and 'A' stay two clients; removing one leaves the other.
        expect(await store.deleteClient('%41', true)).toMatchObject({ outcome: 'deleted' });
        expect((await store.getClient('A'))?.metadata.client_id).toBe('A');
        expect(await store.getClient('%41')).toBeUndefined();
      });

      it('treats an owner or name key with glob and separator characters as plain text', async () => {
        expect(await store.createApplication(newApplication('app1', '*', 'Name'))).toBe('created');
        expect(await store.createApplication(newApplication('app2', 'bob', 'Name'))).toBe('created');
        expect(await store.createApplication(newApplication('app3', 'b*', '*'))).toBe('created');
        expect(await store.createApplication(newApplication('app4', 'b*', 'n*'))).toBe('created');
        expect((await store.listApplications(ownerAccess('*'), undefined, 10)).map((a) => a.id)).toEqual(['app1']);
        expect((await store.listApplications(ownerAccess('b*'), undefined, 10)).map((a) => a.id)).toEqual([
          'app3',
          'app4',
        ]);
        expect(await store.deleteApplication('app1', ADMIN)).toEqual({ outcome: 'deleted', bindings: [] });
        expect((await store.listApplications(ownerAccess('bob'), undefined, 10)).map((a) => a.id)).toEqual(['app2']);
      });
    });

    describe('concurrency', () => {
      it('binds one client to exactly one of 40 applications raced in parallel', async () => {
        await store.putClient(clientMetadata('c1'), T0);
        const ids = Array.from({ length: 40 }, (_, i) => `app-${String(i).padStart(2, '0')}`);
        for (const id of ids) await store.createApplication(newApplication(id, `owner-${id}`));

        const results = await Promise.all(
          ids.map((id, i) => store.bind(bindRequest(id, i % 2 === 0 ? 'PRODUCTION' : 'SANDBOX', 'c1'))),
        );
        expect(results.filter((r) => r.outcome === 'created')).toHaveLength(1);
        expect(results.filter((r) => r.outcome === 'client_already_bound')).toHaveLength(39);

        const winner = ids[results.findIndex((r) => r.outcome === 'created')];
        expect((await store.getClient('c1'))?.binding?.application_id).toBe(winner);
        const bound = (await store.listApplications(ADMIN, undefined, 100)).filter((a) => a.bindings.length > 0);
        expect(bound.map((a) => a.id)).toEqual([winner]);
        expect(await store.verify()).toEqual({ ok: true, problems: [] });
      });

      it('binds exactly one of two clients raced for the same key type', async () => {
        await seed(['c1', 'c2'], [['app1', 'bob']]);
        const results = await Promise.all([
          store.bind(bindRequest('app1', 'PRODUCTION', 'c1')),
          store.bind(bindRequest('app1', 'PRODUCTION', 'c2')),
        ]);
        expect(results.map((r) => r.outcome).sort()).toEqual(['created', 'key_type_already_bound']);
        const winner = results[0]?.outcome === 'created' ? 'c1' : 'c2';
        const loser = winner === 'c1' ? 'c2' : 'c1';
        expect(bindingOf(await store.getApplication('app1'), 'PRODUCTION')?.client_id).toBe(winner);
        expect((await store.getClient(loser))?.binding).toBeUndefined();
        expect(await store.verify()).toEqual({ ok: true, problems: [] });
      });

      it('creates exactly one of several applications raced for one name', async () => {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.createApplication(newApplication(`app-${i}`, 'bob', 'Same'))),
        );
        expect(results.filter((r) => r === 'created')).toHaveLength(1);
        expect(await store.listApplications(ownerAccess('bob'), undefined, 100)).toHaveLength(1);
      });

      it('keeps the invariants while binds, unbinds, deletes and status changes race', async () => {
        const clients = Array.from({ length: 8 }, (_, i) => `c${i}`);
        const apps = Array.from({ length: 4 }, (_, i) => `app${i}`);
        await seed(
          clients,
          apps.map((id) => [id, 'bob'] as [string, string]),
        );
        const keyTypes: KeyType[] = ['PRODUCTION', 'SANDBOX'];
        const work: Promise<unknown>[] = [];
        for (const [i, client] of clients.entries()) {
          for (const [j, app] of apps.entries()) {
            work.push(store.bind(bindRequest(app, keyTypes[(i + j) % 2] as KeyType, client)));
          }
          work.push(
            store.createAndBind(
              createAndBindRequest(
                apps[i % apps.length] as string,
                keyTypes[i % 2] as KeyType,
                clientMetadata(`gen${i}`),
              ),
            ),
          );
        }
        work.push(
          store.unbind('app1', 'PRODUCTION', ADMIN),
          store.deleteClient('c3', true),
          store.deleteApplication('app2', ADMIN),
        );
        work.push(store.updateApplication('app0', { status: 'BLOCKED', updated_at: T2 }, ADMIN));
        await Promise.all(work);

        const seen = new Map<string, string>();
        for (const application of await store.listApplications(ADMIN, undefined, 100)) {
          for (const binding of application.bindings) {
            expect(seen.has(binding.client_id)).toBe(false);
            seen.set(binding.client_id, application.id);
            expect((await store.getClient(binding.client_id))?.binding).toMatchObject({
              application_id: application.id,
              key_type: binding.key_type,
              status: application.status,
            });
          }
        }
        expect(await store.verify()).toEqual({ ok: true, problems: [] });
      });
    });

    describeIssuerConformance(() => store);
  });
}
