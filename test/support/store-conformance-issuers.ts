import { setTimeout as sleep } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import { externalClientRef, LOCAL_CLIENTS_AFTER } from '../../src/issuers/ref.js';
import type { StoredIssuer } from '../../src/issuers/types.js';
import type { AttemptLimits, BindingStore } from '../../src/store.js';
import { ADMIN, T0, T1, T2, bindRequest, byteOrder, clientMetadata, newApplication } from './store-cases.js';

/** An issuer with the shapes that trip up stores: an empty array, slashes, an optional part. */
export function storedIssuer(issuerId: string, extra: Partial<StoredIssuer> = {}): StoredIssuer {
  const url = extra.issuer ?? `https://${encodeURIComponent(issuerId)}.example/tenant/`;
  return {
    issuer_id: issuerId,
    issuer: url,
    verification: 'client_credentials',
    probe: { scope: 'read write', audience: 'https://api.example/' },
    metadata: {
      token_endpoint: `${url}oauth/token`,
      jwks_uri: `${url}.well-known/jwks.json`,
      token_endpoint_auth_methods_supported: [],
    },
    created_at: T0,
    updated_at: T0,
    ...extra,
  };
}

/**
 * The conformance cases of third-party issuers: issuers, the external client records a binding creates,
 * and single-use assertion ids. `subject` is the store the enclosing suite made for the current test
 * (and checks with verify() after it).
 */
export function describeIssuerConformance(subject: () => BindingStore): void {
  describe('third-party issuers', () => {
    const ref = (issuerId: string, clientId: string) => externalClientRef(issuerId, clientId);
    /** A bind request for an external client: `clientId` is the client's id at the issuer. */
    const externalBind = (
      applicationId: string,
      keyType: 'PRODUCTION' | 'SANDBOX',
      issuerId: string,
      clientId: string,
    ) => bindRequest(applicationId, keyType, ref(issuerId, clientId), { issuerId });

    it('registers, reads and lists issuers in issuer_id byte order; undefined for an unknown one', async () => {
      const store = subject();
      expect(await store.getIssuer('acme')).toBeUndefined();
      expect(await store.listIssuers()).toEqual([]);
      const ids = ['b', 'acme', 'A', 'a:b', '\u{1F600}', '\uFF41', 'with space'];
      for (const id of ids) expect(await store.putIssuer(storedIssuer(id))).toBe('created');
      expect(await store.getIssuer('acme')).toEqual(storedIssuer('acme'));
      expect((await store.listIssuers()).map((issuer) => issuer.issuer_id)).toEqual(byteOrder(ids));
      expect((await store.listIssuers())[0]).toEqual(storedIssuer(byteOrder(ids)[0] as string));
    });

    it('writes nothing for an issuer equal but for its times, whatever its key order', async () => {
      const store = subject();
      const issuer = storedIssuer('acme');
      expect(await store.putIssuer(issuer)).toBe('created');
      const reordered = Object.fromEntries(Object.entries(issuer).reverse()) as unknown as StoredIssuer;
      expect(await store.putIssuer({ ...reordered, created_at: T2, updated_at: T2 })).toBe('unchanged');
      expect(await store.getIssuer('acme')).toEqual(issuer);
    });

    it('replaces an issuer keeping its created_at', async () => {
      const store = subject();
      await store.putIssuer(storedIssuer('acme'));
      const changed = storedIssuer('acme', { verification: 'none', created_at: T2, updated_at: T2 });
      delete (changed as { probe?: unknown }).probe;
      expect(await store.putIssuer(changed)).toBe('replaced');
      expect(await store.getIssuer('acme')).toEqual({ ...changed, created_at: T0 });
      expect(await store.putIssuer({ ...changed, updated_at: T1 })).toBe('unchanged');
    });

    it('refuses an issuer URL that another issuer_id holds (issuer_taken)', async () => {
      const store = subject();
      const url = 'https://id.example/';
      expect(await store.putIssuer(storedIssuer('one', { issuer: url }))).toBe('created');
      expect(await store.putIssuer(storedIssuer('two', { issuer: url }))).toBe('issuer_taken');
      expect(await store.getIssuer('two')).toBeUndefined();
      expect(await store.putIssuer(storedIssuer('one', { issuer: 'https://elsewhere.example/' }))).toBe('replaced');
      expect(await store.putIssuer(storedIssuer('two', { issuer: url }))).toBe('created');
      expect(await store.putIssuer(storedIssuer('one', { issuer: url }))).toBe('issuer_taken');
      expect((await store.getIssuer('one'))?.issuer).toBe('https://elsewhere.example/');
    });

    it("refuses to change an issuer's URL or verification under a bound client; other changes pass", async () => {
      const store = subject();
      await store.putIssuer(storedIssuer('acme'));
      await store.createApplication(newApplication('app1', 'bob'));
      expect(await store.bind(externalBind('app1', 'PRODUCTION', 'acme', 'cid'))).toEqual({ outcome: 'created' });

      const moved = storedIssuer('acme', { issuer: 'https://moved.example/', updated_at: T2 });
      expect(await store.putIssuer(moved)).toBe('bound');
      expect(await store.getIssuer('acme')).toEqual(storedIssuer('acme'));
      expect(await store.putIssuer(storedIssuer('acme', { verification: 'none', updated_at: T2 }))).toBe('bound');
      const probed = storedIssuer('acme', { probe: { scope: 'api' }, updated_at: T2 });
      expect(await store.putIssuer(probed)).toBe('replaced');

      await store.unbind('app1', 'PRODUCTION', ADMIN);
      expect(await store.putIssuer(moved)).toBe('replaced');
      expect((await store.getIssuer('acme'))?.issuer).toBe('https://moved.example/');
    });

    it('refuses an issuer_id holding the separator of external client ids', async () => {
      const store = subject();
      await expect(store.putIssuer(storedIssuer('a\u0001b'))).rejects.toThrow(TypeError);
      expect(await store.listIssuers()).toEqual([]);
    });

    it("creates an external client's record on its first binding, and applies every binding rule to it", async () => {
      const store = subject();
      await store.putIssuer(storedIssuer('acme'));
      await store.createApplication(newApplication('app1', 'bob'));
      await store.createApplication(newApplication('app2', 'carol'));
      const id = ref('acme', 'cid-1');

      expect(await store.bind(externalBind('app1', 'PRODUCTION', 'acme', 'cid-1'))).toEqual({ outcome: 'created' });
      const binding = {
        application_id: 'app1',
        key_type: 'PRODUCTION',
        origin: 'provided',
        status: 'ACTIVE',
        bound_at: T1,
        bound_by: 'admin:alice',
      };
      expect(await store.getClient(id)).toEqual({
        metadata: { client_id: id },
        binding,
        registered_at: T1,
        updated_at: T1,
        revision: 1,
      });
      expect((await store.getApplication('app1'))?.bindings).toEqual([
        {
          application_id: 'app1',
          key_type: 'PRODUCTION',
          client_id: id,
          origin: 'provided',
          bound_at: T1,
          bound_by: 'admin:alice',
        },
      ]);

      const again = { ...externalBind('app1', 'PRODUCTION', 'acme', 'cid-1'), boundAt: T2 };
      expect(await store.bind(again)).toEqual({ outcome: 'exists' });
      expect(await store.bind(externalBind('app2', 'PRODUCTION', 'acme', 'cid-1'))).toEqual({
        outcome: 'client_already_bound',
      });
      expect(await store.bind(externalBind('app1', 'SANDBOX', 'acme', 'cid-1'))).toEqual({
        outcome: 'client_already_bound',
      });
      expect(await store.bind(externalBind('app1', 'PRODUCTION', 'acme', 'cid-2'))).toEqual({
        outcome: 'key_type_already_bound',
      });
      // a refused binding leaves no record behind
      expect(await store.getClient(ref('acme', 'cid-2'))).toBeUndefined();
      expect((await store.getClient(id))?.binding).toEqual(binding);
    });

    it('keeps an unbound external record (origin provided), which another application may then bind', async () => {
      const store = subject();
      await store.putIssuer(storedIssuer('acme'));
      await store.createApplication(newApplication('app1', 'bob'));
      await store.createApplication(newApplication('app2', 'carol'));
      const id = ref('acme', 'cid');
      await store.bind(externalBind('app1', 'PRODUCTION', 'acme', 'cid'));

      expect(await store.unbind('app1', 'PRODUCTION', ADMIN)).toMatchObject({
        outcome: 'unbound',
        binding: { client_id: id, origin: 'provided' },
      });
      expect(await store.getClient(id)).toEqual({
        metadata: { client_id: id },
        registered_at: T1,
        updated_at: T1,
        revision: 1,
      });
      const rebind = { ...externalBind('app2', 'SANDBOX', 'acme', 'cid'), boundAt: T2 };
      expect(await store.bind(rebind)).toEqual({ outcome: 'created' });
      expect(await store.getClient(id)).toMatchObject({
        binding: { application_id: 'app2', key_type: 'SANDBOX', bound_at: T2 },
        registered_at: T1,
        revision: 1,
      });
    });

    it('refuses a binding for an unregistered issuer (issuer_not_found), creating nothing', async () => {
      const store = subject();
      await store.createApplication(newApplication('app1', 'bob'));
      expect(await store.bind(externalBind('app1', 'PRODUCTION', 'ghost', 'cid'))).toEqual({
        outcome: 'issuer_not_found',
      });
      expect(await store.getClient(ref('ghost', 'cid'))).toBeUndefined();
      // without issuerId a missing client is what it always was
      expect(await store.bind(bindRequest('app1', 'PRODUCTION', ref('ghost', 'cid')))).toEqual({
        outcome: 'client_not_found',
      });
      expect((await store.getApplication('app1'))?.bindings).toEqual([]);
      expect(await store.listClients(undefined, 10)).toEqual([]);
    });

    it('deletes an issuer with its unbound external records, and refuses (bound) while one is bound', async () => {
      const store = subject();
      // issuer ids that share characters with 'a': their ranges of client ids must stay apart
      for (const id of ['a', 'ab', 'a:b', 'b']) await store.putIssuer(storedIssuer(id));
      await store.putClient(clientMetadata('local'), T0);
      await store.createApplication(newApplication('app1', 'bob'));
      await store.createApplication(newApplication('app2', 'bob', 'Two'));
      await store.bind(externalBind('app1', 'PRODUCTION', 'a', 'kept-then-gone'));
      await store.bind(externalBind('app1', 'SANDBOX', 'a', 'bound'));
      await store.unbind('app1', 'PRODUCTION', ADMIN);
      for (const [i, issuerId] of ['ab', 'a:b', 'b'].entries()) {
        expect(await store.bind(externalBind('app2', i % 2 ? 'SANDBOX' : 'PRODUCTION', issuerId, 'other'))).toEqual({
          outcome: i < 2 ? 'created' : 'key_type_already_bound',
        });
      }

      expect(await store.deleteIssuer('a')).toBe('bound');
      expect(await store.getIssuer('a')).toEqual(storedIssuer('a'));
      expect((await store.getClient(ref('a', 'kept-then-gone')))?.metadata.client_id).toBe(ref('a', 'kept-then-gone'));

      await store.unbind('app1', 'SANDBOX', ADMIN);
      expect(await store.deleteIssuer('a')).toBe('deleted');
      expect(await store.getIssuer('a')).toBeUndefined();
      expect(await store.getClient(ref('a', 'kept-then-gone'))).toBeUndefined();
      expect(await store.getClient(ref('a', 'bound'))).toBeUndefined();
      expect((await store.listClients(undefined, 10)).map((client) => client.metadata.client_id)).toEqual(
        byteOrder([ref('ab', 'other'), ref('a:b', 'other'), 'local']),
      );
      expect((await store.listIssuers()).map((issuer) => issuer.issuer_id)).toEqual(['a:b', 'ab', 'b']);
      expect(await store.deleteIssuer('a')).toBe('not_found');
      expect(await store.bind(externalBind('app1', 'PRODUCTION', 'a', 'late'))).toEqual({
        outcome: 'issuer_not_found',
      });
      expect(await store.getClient(ref('a', 'late'))).toBeUndefined();
    });

    it("forgets the failures counted against a deleted issuer's clients", async () => {
      const store = subject();
      const limits: AttemptLimits = { perCaller: 100, perClient: 1, windowMs: 600_000 };
      const id = ref('acme', 'cid');
      await store.putIssuer(storedIssuer('acme'));
      await store.createApplication(newApplication('app1', 'bob'));
      await store.bind(externalBind('app1', 'PRODUCTION', 'acme', 'cid'));
      await store.unbind('app1', 'PRODUCTION', ADMIN);
      expect(await store.recordFailedAttempt({ caller: 'mallory', clientId: id }, limits, 1_000)).toBe(0);
      expect(await store.attemptWait({ caller: 'trent', clientId: id }, limits, 2_000)).toBeGreaterThan(0);

      expect(await store.deleteIssuer('acme')).toBe('deleted');
      expect(await store.attemptWait({ caller: 'trent', clientId: id }, limits, 2_000)).toBe(0);
    });

    it('never lists external records among clients listed after LOCAL_CLIENTS_AFTER', async () => {
      const store = subject();
      const local = ['a', '!', '~', 'Z', '\u{1F600}'];
      for (const id of local) await store.putClient(clientMetadata(id), T0);
      await store.putIssuer(storedIssuer('acme'));
      await store.putIssuer(storedIssuer('zed'));
      await store.createApplication(newApplication('app1', 'bob'));
      await store.bind(externalBind('app1', 'PRODUCTION', 'acme', 'cid'));
      await store.bind(externalBind('app1', 'SANDBOX', 'zed', 'cid'));

      const listed = await store.listClients(LOCAL_CLIENTS_AFTER, 100);
      expect(listed.map((client) => client.metadata.client_id)).toEqual(byteOrder(local));
      expect((await store.listClients(LOCAL_CLIENTS_AFTER, 2)).map((client) => client.metadata.client_id)).toEqual(
        byteOrder(local).slice(0, 2),
      );
      // they are client records all the same
      expect(await store.listClients(undefined, 100)).toHaveLength(local.length + 2);
    });

    it('binds one external client to exactly one of 40 applications raced in parallel, with one record', async () => {
      const store = subject();
      await store.putIssuer(storedIssuer('acme'));
      const ids = Array.from({ length: 40 }, (_, i) => `app-${String(i).padStart(2, '0')}`);
      for (const id of ids) await store.createApplication(newApplication(id, `owner-${id}`));

      const results = await Promise.all(
        ids.map((id, i) => store.bind(externalBind(id, i % 2 === 0 ? 'PRODUCTION' : 'SANDBOX', 'acme', 'cid'))),
      );
      expect(results.filter((r) => r.outcome === 'created')).toHaveLength(1);
      expect(results.filter((r) => r.outcome === 'client_already_bound')).toHaveLength(39);
      const winner = ids[results.findIndex((r) => r.outcome === 'created')];
      expect((await store.getClient(ref('acme', 'cid')))?.binding?.application_id).toBe(winner);
      expect(await store.listClients(undefined, 10)).toHaveLength(1);
    });

    describe('single-use assertion ids', () => {
      it('accepts an id once per client, and refuses its replay while it has not expired', async () => {
        const store = subject();
        const now = Date.now();
        const later = now + 600_000;
        expect(await store.useAssertionId('c1', 'jti-1', later, now)).toBe(true);
        expect(await store.useAssertionId('c1', 'jti-1', later, now)).toBe(false);
        expect(await store.useAssertionId('c1', 'jti-1', later + 1, now + 1)).toBe(false);
        expect(await store.useAssertionId('c2', 'jti-1', later, now)).toBe(true);
        expect(await store.useAssertionId('c1', 'jti-2', later, now)).toBe(true);
        // the two parts are kept apart whatever characters they hold
        expect(await store.useAssertionId('a:b', 'c', later, now)).toBe(true);
        expect(await store.useAssertionId('a', 'b:c', later, now)).toBe(true);
        expect(await store.useAssertionId(ref('acme', 'c1'), 'jti-1', later, now)).toBe(true);
      });

      it('accepts an id again once its assertion has expired', async () => {
        const store = subject();
        const now = Date.now();
        expect(await store.useAssertionId('c1', 'short', now + 1, now)).toBe(true);
        // already expired when used: held for the shortest time a store can hold it
        expect(await store.useAssertionId('c1', 'past', now - 60_000, now)).toBe(true);
        // real time passes, for Redis, which expires on its own clock
        await sleep(50);
        const after = Date.now();
        expect(await store.useAssertionId('c1', 'short', after + 600_000, after)).toBe(true);
        expect(await store.useAssertionId('c1', 'past', after + 600_000, after)).toBe(true);
        expect(await store.useAssertionId('c1', 'short', after + 600_000, after)).toBe(false);
      });
    });
  });
}
