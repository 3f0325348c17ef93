import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { StoreKeys } from '../adapters/redis/keys.js';
import {
  BINDING_FIELD,
  CLIENT_FIELDS,
  decodeBinding,
  encodeBinding,
  LEGACY_BINDING_FIELDS,
} from '../adapters/redis/layout.js';
import { redisMaintenance, type RedisMaintenance } from '../adapters/redis/repair.js';
import { redisStore } from '../adapters/redis/store.js';
import { externalClientRef } from '../src/issuers/ref.js';
import type { BindingStore } from '../src/store.js';
import { redisOrSkip, startRedis, type TestRedis } from './support/redis.js';
import {
  ADMIN,
  bindRequest,
  clientMetadata,
  createAndBindRequest,
  HOSTILE_IDS,
  newApplication,
  T0,
  T2,
} from './support/store-cases.js';
import { storedIssuer } from './support/store-conformance-issuers.js';

/** Strings a binding must keep exactly, packed by Lua's cjson or by JSON.stringify: escapes of both. */
const HOSTILE_TEXT = [
  ...HOSTILE_IDS.slice(0, -1),
  'a/b\\/c',
  '"],["x',
  '\u0000\u0001\u001b[2J\u007f\u009b',
  '\n\t\r\b\f',
  '\u2028\u2029',
  '',
];

if (redisOrSkip()) {
  describe('the binding packed into one field of the client record (Redis)', () => {
    let redis: TestRedis;
    let raw: Redis;
    let store: BindingStore;
    let keys: StoreKeys;
    let maintenance: RedisMaintenance;

    beforeAll(async () => {
      redis = await startRedis();
      raw = redis.client();
    });
    afterAll(async () => {
      await redis?.stop();
    });
    beforeEach(() => {
      const prefix = redis.namespace('packed');
      store = redisStore({ client: raw, prefix });
      keys = new StoreKeys(prefix);
      maintenance = redisMaintenance({ client: raw, prefix });
    });

    const fieldsOf = async (clientId: string) => Object.keys(await raw.hgetall(keys.client(clientId))).sort();
    const boundFields = [...CLIENT_FIELDS, BINDING_FIELD].sort();

    async function boundPair(appId: string, clientId: string): Promise<void> {
      expect(await store.putClient(clientMetadata(clientId), T0)).toBe('created');
      expect(await store.createApplication(newApplication(appId, 'bob'))).toBe('created');
      expect(await store.bind(bindRequest(appId, 'PRODUCTION', clientId))).toEqual({ outcome: 'created' });
    }

    it('adds one field to the client record, which unbinding removes', async () => {
      await boundPair('app1', 'c1');
      expect(await fieldsOf('c1')).toEqual(boundFields);
      expect(await store.unbind('app1', 'PRODUCTION', ADMIN)).toMatchObject({ outcome: 'unbound' });
      expect(await fieldsOf('c1')).toEqual([...CLIENT_FIELDS].sort());
    });

    it('keeps any string exactly, packed by a script or by Node, through every script that rewrites it', async () => {
      for (const [i, text] of HOSTILE_TEXT.entries()) {
        const [appId, clientId] = [`app${i}`, `c${i}`];
        expect(await store.putClient(clientMetadata(clientId), T0)).toBe('created');
        expect(await store.createApplication(newApplication(appId, 'bob'))).toBe('created');
        if (i % 2 === 0) {
          // packed by the bind script's cjson
          await store.bind(bindRequest(appId, 'PRODUCTION', clientId, { boundBy: text, boundAt: text }));
        } else {
          // packed by JSON.stringify, as the earlier layout's conversion and the bench's loader write it
          await raw.hset(keys.application(appId), 'key:PRODUCTION', clientId);
          await raw.hset(
            keys.client(clientId),
            BINDING_FIELD,
            encodeBinding({
              app: appId,
              key_type: 'PRODUCTION',
              origin: 'provided',
              bound_at: text,
              bound_by: text,
              status: 'ACTIVE',
            }),
          );
        }
        const expected = { application_id: appId, key_type: 'PRODUCTION', bound_at: text, bound_by: text };
        expect((await store.getClient(clientId))?.binding, JSON.stringify(text)).toEqual({
          ...expected,
          origin: 'provided',
          status: 'ACTIVE',
        });
        expect((await store.getApplication(appId))?.bindings).toEqual([
          { ...expected, client_id: clientId, origin: 'provided' },
        ]);
        // decoded and packed again by updateApplication's script
        expect(await store.updateApplication(appId, { status: 'BLOCKED', updated_at: T2 }, ADMIN)).toBe('ok');
        expect((await store.getClient(clientId))?.binding, JSON.stringify(text)).toEqual({
          ...expected,
          origin: 'provided',
          status: 'BLOCKED',
          tokens_since: T2,
        });
        expect(await store.deleteApplication(appId, ADMIN)).toEqual({
          outcome: 'deleted',
          bindings: [{ ...expected, client_id: clientId, origin: 'provided' }],
        });
      }
      expect(await store.verify()).toEqual({ ok: true, problems: [] });
    });

    describe('a binding written in the separate fields of an earlier version', () => {
      /** Rewrites a client's binding as the earlier layout held it: a field per part, tokens_since once set. */
      async function toEarlierLayout(clientId: string): Promise<void> {
        const key = keys.client(clientId);
        const binding = decodeBinding((await raw.hget(key, BINDING_FIELD))!)!;
        await raw.hdel(key, BINDING_FIELD);
        await raw.hset(key, Object.fromEntries(Object.entries(binding).filter(([, value]) => value !== '')));
      }

      const earlierLayout = (clientId: string) =>
        `client ${clientId} keeps binding fields of an earlier version (app, key_type, …), which this version` +
        ' does not read: appkeys check --repair packs them into its binding field';

      /** A provided, a generated, a blocked and a third-party issuer's client, all bound. */
      async function bindEveryKind(): Promise<string[]> {
        await boundPair('app-provided', 'c-provided');
        expect(await store.createApplication(newApplication('app-generated', 'bob'))).toBe('created');
        expect(
          await store.createAndBind(createAndBindRequest('app-generated', 'SANDBOX', clientMetadata('c-generated'))),
        ).toBe('created');
        await boundPair('app-blocked', 'c-blocked');
        expect(await store.updateApplication('app-blocked', { status: 'BLOCKED', updated_at: T2 }, ADMIN)).toBe('ok');
        const external = externalClientRef('acme', 'c-external');
        expect(await store.putIssuer(storedIssuer('acme'))).toBe('created');
        expect(await store.createApplication(newApplication('app-external', 'bob'))).toBe('created');
        expect(await store.bind(bindRequest('app-external', 'PRODUCTION', external, { issuerId: 'acme' }))).toEqual({
          outcome: 'created',
        });
        return ['c-provided', 'c-generated', 'c-blocked', external];
      }

      it('fails closed until repair, and verify() names the earlier layout once per such record', async () => {
        const clientIds = await bindEveryKind();
        for (const clientId of clientIds) await toEarlierLayout(clientId);

        // read as "unbound", the blocked application's client would have tokens: the lookup throws
        for (const clientId of clientIds) {
          await expect(store.getClient(clientId)).rejects.toThrow(/appkeys check --repair/);
        }
        // and every change that refuses a bound client refuses it
        expect(await store.createApplication(newApplication('app-other', 'bob'))).toBe('created');
        for (const clientId of clientIds) {
          expect(await store.bind(bindRequest('app-other', 'PRODUCTION', clientId)), clientId).toEqual({
            outcome: 'client_already_bound',
          });
        }
        expect(await store.deleteClient('c-provided', false)).toEqual({ outcome: 'bound' });
        expect(await store.deleteIssuer('acme')).toBe('bound');
        const revision = Number(await raw.hget(keys.client('c-blocked'), 'rev'));
        expect(
          await store.replaceClientMetadata(clientMetadata('c-blocked'), revision, T2, { unlessBlocked: true }),
        ).toBe('blocked');
        const result = await store.verify();
        expect(result.ok).toBe(false);
        expect([...result.problems].sort()).toEqual(clientIds.map(earlierLayout).sort());
      });

      it('is named by verify() on a record outside the clients index too, which counting never reads', async () => {
        await boundPair('app1', 'c-legacy');
        await boundPair('app2', 'c-garbled');
        await toEarlierLayout('c-legacy');
        await raw.hset(keys.client('c-garbled'), BINDING_FIELD, '{"app":"app2"}');
        await raw.zrem(keys.clients, 'c-legacy', 'c-garbled');

        expect([...(await store.verify()).problems].sort()).toEqual(
          [
            earlierLayout('c-legacy'),
            'client c-legacy missing from the clients index',
            'client c-garbled has a binding field that does not decode',
            'client c-garbled missing from the clients index',
          ].sort(),
        );
        const repaired = await maintenance.repair();
        expect(repaired.changes.map((change) => change.fix).sort()).toEqual(
          [
            'cleared_client_binding',
            'indexed_client',
            'indexed_client',
            'packed_legacy_binding',
            'restored_client_binding',
          ].sort(),
        );
        expect(await store.verify()).toEqual({ ok: true, problems: [] });
      });

      it('is packed by repair, each record by one script, into exactly the binding it was', async () => {
        const clientIds = await bindEveryKind();
        const before = await Promise.all(clientIds.map((clientId) => store.getClient(clientId)));
        expect(before.map((client) => client?.binding?.origin)).toEqual([
          'provided',
          'generated',
          'provided',
          'provided',
        ]);
        expect(before[2]?.binding).toMatchObject({ status: 'BLOCKED', tokens_since: T2 });
        for (const clientId of clientIds) await toEarlierLayout(clientId);

        const repaired = await maintenance.repair();
        expect(repaired.unrepairable).toEqual([]);
        expect(repaired.changes.map((change) => change.fix)).toEqual(clientIds.map(() => 'packed_legacy_binding'));
        for (const clientId of clientIds) {
          expect(repaired.changes.map((change) => change.description)).toContain(
            `packed client ${clientId}'s binding from the earlier layout's separate fields into its binding field`,
          );
        }
        expect(await Promise.all(clientIds.map((clientId) => store.getClient(clientId)))).toEqual(before);
        for (const clientId of clientIds) expect(await fieldsOf(clientId)).toEqual(boundFields);
        expect(await store.verify()).toEqual({ ok: true, problems: [] });
        expect((await maintenance.repair()).changed).toBe(0);
      });

      it('removes old fields left beside a packed binding, and old fields that bind nothing', async () => {
        await boundPair('app1', 'c-both');
        const binding = await store.getClient('c-both');
        // a stale copy beside the packed field, and a leftover of a record unbound by hand
        await raw.hset(keys.client('c-both'), 'app', 'app-elsewhere', 'key_type', 'SANDBOX', 'status', 'BLOCKED');
        expect(await store.putClient(clientMetadata('c-leftover'), T0)).toBe('created');
        await raw.hset(keys.client('c-leftover'), 'tokens_since', T2);
        expect([...(await store.verify()).problems].sort()).toEqual([
          earlierLayout('c-both'),
          earlierLayout('c-leftover'),
        ]);

        const repaired = await maintenance.repair();
        expect(repaired.changes.map((change) => change.description).sort()).toEqual(
          ['c-both', 'c-leftover'].map(
            (clientId) =>
              `removed client ${clientId}'s binding fields of the earlier layout: ` +
              'its binding field, written since, is the one read (or they bound nothing)',
          ),
        );
        expect(await store.getClient('c-both')).toEqual(binding);
        expect(await fieldsOf('c-both')).toEqual(boundFields);
        expect(await fieldsOf('c-leftover')).toEqual([...CLIENT_FIELDS].sort());
        for (const field of LEGACY_BINDING_FIELDS) expect(await raw.hexists(keys.client('c-both'), field)).toBe(0);
        expect(await store.verify()).toEqual({ ok: true, problems: [] });
      });
    });

    describe('a binding field that does not decode', () => {
      it('holds its client, is reported, and repair rebinds the client from its application', async () => {
        await boundPair('app1', 'c1');
        await raw.hset(keys.client('c1'), BINDING_FIELD, '["app1","PRODUCTION"');
        // on the token path, no binding it cannot read is taken for no binding
        await expect(store.getClient('c1')).rejects.toThrow(/holds no binding/);
        expect(await store.putClient(clientMetadata('c2'), T0)).toBe('created');
        expect(await store.createApplication(newApplication('app2', 'bob'))).toBe('created');
        expect(await store.bind(bindRequest('app2', 'PRODUCTION', 'c1'))).toEqual({
          outcome: 'client_already_bound',
        });
        expect((await store.verify()).problems).toEqual(['client c1 has a binding field that does not decode']);

        const repaired = await maintenance.repair();
        expect(repaired.changes.map((change) => [change.fix, change.description])).toEqual([
          ['cleared_client_binding', 'unbound client c1 (kept it): its binding field holds no binding'],
          [
            'restored_client_binding',
            'bound client c1 to application app1 PRODUCTION, as the application records (origin provided)',
          ],
        ]);
        expect((await store.getClient('c1'))?.binding).toMatchObject({
          application_id: 'app1',
          key_type: 'PRODUCTION',
          origin: 'provided',
          bound_by: 'appkeys-repair',
        });
        expect(await store.verify()).toEqual({ ok: true, problems: [] });
      });
    });
  });
}
