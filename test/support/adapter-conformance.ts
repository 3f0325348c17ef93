import { setTimeout as sleep } from 'node:timers/promises';

import type { AdapterFactory, AdapterPayload } from 'oidc-provider';
import { describe, expect, it } from 'vitest';

export const MODELS = [
  'Session',
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'ClientCredentials',
  'Client',
  'InitialAccessToken',
  'RegistrationAccessToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'Interaction',
  'ReplayDetection',
  'PushedAuthorizationRequest',
  'Grant',
  'PreAuthorizedCode',
] as const;

export const GRANTABLE = [
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
] as const;

export const HOSTILE_IDS = [
  'a:b',
  'Session:x',
  '{tag}',
  '}{',
  'star*',
  'what?',
  '[abc]',
  'with space',
  ' ',
  '100%',
  '%41',
  'A',
  'a%3Ab',
  'päß',
  '🔑鍵',
  'line\nbreak',
  'back\\slash',
  'x'.repeat(10_240),
];

/** Ways in which oidc-provider's development adapter, the reference, is known to differ. */
export interface Quirks {
  /** Its `consume` dereferences the stored object, so a missing id rejects instead of resolving. */
  readonly consumeOfMissingRejects?: boolean;
  /** It stores and returns the caller's own objects, so mutating them changes what is stored. */
  readonly sharesObjects?: boolean;
  /**
   * It forgets a revoked grant: a token of it saved later is found, and a refresh token consumed twice
   * leaves its grant alone (oidc-provider leaves both to adapters).
   */
  readonly forgetsRevokedGrants?: boolean;
}

let counter = 0;
/** Unique per call, so tests sharing a store (the reference adapter's) never collide. */
export function uniqueId(label: string): string {
  counter += 1;
  return `${label}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A payload with what JSON round trips get wrong: empty arrays, nested empty objects, unicode, null. */
export function payloadFor(model: string, id: string, extra: AdapterPayload = {}): AdapterPayload {
  return {
    jti: id,
    kind: model,
    iat: 1_700_000_000,
    exp: 1_900_000_000,
    scope: 'openid offline_access',
    amr: [],
    claims: { id_token: {}, userinfo: { email: null } },
    extra: {
      empty: {},
      list: [],
      nested: [{}, [], [[]], { deeper: { list: [] } }],
      unicode: 'päß 🔑 鍵 \u0000',
      n: 0,
      f: 1.5,
      yes: true,
      no: false,
    },
    ...extra,
  };
}

export function adapterConformance(name: string, build: () => AdapterFactory, quirks: Quirks = {}): void {
  describe(`${name}: oidc-provider Adapter conformance`, () => {
    it.each(MODELS)('stores, finds, consumes, replaces and destroys a %s exactly as given', async (model) => {
      const adapter = build()(model);
      const id = uniqueId(model);
      const payload = payloadFor(model, id);

      await adapter.upsert(id, payload, 60);
      expect(await adapter.find(id)).toStrictEqual(payload);

      const before = Math.floor(Date.now() / 1000);
      await adapter.consume(id);
      const consumed = await adapter.find(id);
      expect(consumed?.consumed).toEqual(expect.any(Number));
      expect(consumed?.consumed).toBeGreaterThanOrEqual(before);
      expect(consumed?.consumed).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
      expect({ ...consumed, consumed: undefined }).toStrictEqual({ ...payload, consumed: undefined });

      const replacement = payloadFor(model, id, { scope: 'replaced', amr: ['pwd'] });
      await adapter.upsert(id, replacement, 60);
      expect(await adapter.find(id)).toStrictEqual(replacement);

      await adapter.destroy(id);
      expect(await adapter.find(id)).toBeUndefined();
    });

    it('finds nothing by id, uid or user code that was never stored', async () => {
      const factory = build();
      for (const model of MODELS) {
        const adapter = factory(model);
        expect(await adapter.find(uniqueId('missing'))).toBeUndefined();
        expect(await adapter.findByUid(uniqueId('missing'))).toBeUndefined();
        expect(await adapter.findByUserCode(uniqueId('missing'))).toBeUndefined();
        await expect(adapter.destroy(uniqueId('missing'))).resolves.toBeUndefined();
        await expect(adapter.revokeByGrantId(uniqueId('missing'))).resolves.toBeUndefined();
      }
    });

    it('keeps the instances of different models apart under one id', async () => {
      const factory = build();
      const id = uniqueId('shared');
      for (const model of MODELS) await factory(model).upsert(id, payloadFor(model, id, { owner: model }), 60);
      await factory('AccessToken').destroy(id);
      for (const model of MODELS) {
        const found = await factory(model).find(id);
        if (model === 'AccessToken') expect(found).toBeUndefined();
        else expect(found?.owner).toBe(model);
      }
    });

    it('stores an instance without expiry when no expiresIn is given', async () => {
      const adapter = build()('Client');
      const id = uniqueId('client');
      const payload = payloadFor('Client', id, { client_id: id, redirect_uris: [], grant_types: [] });
      await adapter.upsert(id, payload);
      expect(await adapter.find(id)).toStrictEqual(payload);
    });

    it('does not keep an instance saved with no time left, nor the one it replaces', async () => {
      const adapter = build()('AccessToken');
      const id = uniqueId('at');
      await adapter.upsert(id, payloadFor('AccessToken', id), 60);
      await adapter.upsert(id, payloadFor('AccessToken', id), 0);
      expect(await adapter.find(id)).toBeUndefined();
    });

    it('clears the consumed mark when an instance is upserted again', async () => {
      const adapter = build()('AuthorizationCode');
      const id = uniqueId('code');
      await adapter.upsert(id, payloadFor('AuthorizationCode', id), 60);
      await adapter.consume(id);
      const replacement = payloadFor('AuthorizationCode', id, { scope: 'again' });
      await adapter.upsert(id, replacement, 60);
      const found = await adapter.find(id);
      expect(found).toStrictEqual(replacement);
      expect(found).not.toHaveProperty('consumed');
    });

    it('creates nothing when an id that does not exist is consumed', async () => {
      const factory = build();
      for (const model of ['AuthorizationCode', 'RefreshToken', 'DeviceCode'] as const) {
        const adapter = factory(model);
        const id = uniqueId('absent');
        const consumed = adapter.consume(id);
        if (quirks.consumeOfMissingRejects) await expect(consumed).rejects.toThrow();
        else await expect(consumed).resolves.toBeUndefined();
        expect(await adapter.find(id)).toBeUndefined();
      }
    });

    it('finds a session by its uid, and after a re-upsert with a new uid only by the new one', async () => {
      const adapter = build()('Session');
      const id = uniqueId('sess');
      const [oldUid, newUid] = [uniqueId('uid'), uniqueId('uid')];
      await adapter.upsert(id, payloadFor('Session', id, { uid: oldUid, accountId: 'alice' }), 60);
      expect((await adapter.findByUid(oldUid))?.accountId).toBe('alice');

      await adapter.upsert(id, payloadFor('Session', id, { uid: newUid, accountId: 'alice' }), 60);
      expect(await adapter.findByUid(oldUid)).toBeUndefined();
      expect((await adapter.findByUid(newUid))?.uid).toBe(newUid);

      await adapter.destroy(id);
      expect(await adapter.findByUid(newUid)).toBeUndefined();
    });

    it('finds a device code by its user code, and after a re-upsert only by the new one', async () => {
      const adapter = build()('DeviceCode');
      const id = uniqueId('dc');
      const [oldCode, newCode] = [uniqueId('UC'), uniqueId('UC')];
      await adapter.upsert(id, payloadFor('DeviceCode', id, { userCode: oldCode }), 60);
      expect((await adapter.findByUserCode(oldCode))?.jti).toBe(id);

      await adapter.upsert(id, payloadFor('DeviceCode', id, { userCode: newCode }), 60);
      expect(await adapter.findByUserCode(oldCode)).toBeUndefined();
      expect((await adapter.findByUserCode(newCode))?.userCode).toBe(newCode);

      await adapter.destroy(id);
      expect(await adapter.findByUserCode(newCode)).toBeUndefined();
    });

    it("never answers a lookup by uid or user code with another model's instance", async () => {
      const factory = build();
      const uid = uniqueId('uid');
      const sessionId = uniqueId('sess');
      await factory('Session').upsert(sessionId, payloadFor('Session', sessionId, { uid }), 60);
      expect(await factory('AccessToken').findByUid(uid)).toBeUndefined();
      expect(await factory('Interaction').findByUid(uid)).toBeUndefined();

      const userCode = uniqueId('UC');
      const [deviceId, otherId] = [uniqueId('dc'), uniqueId('bc')];
      await factory('DeviceCode').upsert(deviceId, payloadFor('DeviceCode', deviceId, { userCode }), 60);
      await factory('BackchannelAuthenticationRequest').upsert(
        otherId,
        payloadFor('BackchannelAuthenticationRequest', otherId, { userCode }),
        60,
      );
      expect((await factory('BackchannelAuthenticationRequest').findByUserCode(userCode))?.jti).toBe(otherId);
      expect((await factory('DeviceCode').findByUserCode(userCode))?.kind ?? 'DeviceCode').toBe('DeviceCode');
    });

    it("removes every token of a grant, across models, when the grant is revoked, and no other grant's", async () => {
      const factory = build();
      const [revoked, kept] = [uniqueId('grant'), uniqueId('grant')];
      const members = GRANTABLE.map((model) => ({ model, id: uniqueId(model), userCode: uniqueId('UC') }));
      for (const { model, id, userCode } of members) {
        await factory(model).upsert(id, payloadFor(model, id, { grantId: revoked, userCode }), 60);
      }
      const survivors = GRANTABLE.map((model) => ({ model, id: uniqueId(model) }));
      for (const { model, id } of survivors)
        await factory(model).upsert(id, payloadFor(model, id, { grantId: kept }), 60);
      // the Grant itself and non-grantable models are the provider's to remove, not revokeByGrantId's
      await factory('Grant').upsert(revoked, payloadFor('Grant', revoked), 60);
      const interactionId = uniqueId('interaction');
      await factory('Interaction').upsert(
        interactionId,
        payloadFor('Interaction', interactionId, { grantId: revoked }),
        60,
      );

      await factory('AccessToken').revokeByGrantId(revoked);

      for (const { model, id, userCode } of members) {
        expect(await factory(model).find(id)).toBeUndefined();
        expect(await factory(model).findByUserCode(userCode)).toBeUndefined();
      }
      for (const { model, id } of survivors) expect((await factory(model).find(id))?.grantId).toBe(kept);
      expect(await factory('Grant').find(revoked)).toBeDefined();
      expect(await factory('Interaction').find(interactionId)).toBeDefined();
    });

    it('no longer revokes an instance with a grant it has been moved away from', async () => {
      const adapter = build()('RefreshToken');
      const id = uniqueId('rt');
      const [from, to] = [uniqueId('grant'), uniqueId('grant')];
      await adapter.upsert(id, payloadFor('RefreshToken', id, { grantId: from }), 60);
      await adapter.upsert(id, payloadFor('RefreshToken', id, { grantId: to }), 60);

      await adapter.revokeByGrantId(from);
      expect((await adapter.find(id))?.grantId).toBe(to);
      await adapter.revokeByGrantId(to);
      expect(await adapter.find(id)).toBeUndefined();
    });

    it.skipIf(quirks.forgetsRevokedGrants)(
      'never finds a token of a revoked grant saved after the revocation, by a slow writer',
      async () => {
        const factory = build();
        const grantId = uniqueId('grant');
        const early = uniqueId('at');
        await factory('AccessToken').upsert(early, payloadFor('AccessToken', early, { grantId }), 60);
        await factory('AccessToken').revokeByGrantId(grantId);
        for (const model of GRANTABLE) {
          const late = uniqueId(model);
          await factory(model).upsert(late, payloadFor(model, late, { grantId }), 60);
          expect(await factory(model).find(late)).toBeUndefined();
        }
        expect(await factory('AccessToken').find(early)).toBeUndefined();
        // another grant's, and a grant-less instance of the same id space, are untouched
        const other = uniqueId('at');
        await factory('AccessToken').upsert(
          other,
          payloadFor('AccessToken', other, { grantId: uniqueId('grant') }),
          60,
        );
        expect(await factory('AccessToken').find(other)).toBeDefined();
      },
    );

    it.skipIf(quirks.forgetsRevokedGrants)(
      'revokes the grant when a refresh token already consumed is consumed again',
      async () => {
        const factory = build();
        const grantId = uniqueId('grant');
        const [refresh, access, reused] = [uniqueId('rt'), uniqueId('at'), uniqueId('rt')];
        await factory('RefreshToken').upsert(refresh, payloadFor('RefreshToken', refresh, { grantId }), 60);
        await factory('AccessToken').upsert(access, payloadFor('AccessToken', access, { grantId }), 60);

        await factory('RefreshToken').consume(refresh);
        expect((await factory('RefreshToken').find(refresh))?.consumed).toEqual(expect.any(Number));
        expect(await factory('AccessToken').find(access)).toBeDefined();
        // what a second racer saved after its own consume passed
        await factory('AccessToken').upsert(reused, payloadFor('AccessToken', reused, { grantId }), 60);

        await factory('RefreshToken').consume(refresh);
        expect(await factory('RefreshToken').find(refresh)).toBeUndefined();
        expect(await factory('AccessToken').find(access)).toBeUndefined();
        expect(await factory('AccessToken').find(reused)).toBeUndefined();
      },
    );

    it('keeps the grant when other models are consumed twice', async () => {
      const factory = build();
      const grantId = uniqueId('grant');
      const [code, access] = [uniqueId('code'), uniqueId('at')];
      await factory('AuthorizationCode').upsert(code, payloadFor('AuthorizationCode', code, { grantId }), 60);
      await factory('AccessToken').upsert(access, payloadFor('AccessToken', access, { grantId }), 60);
      await factory('AuthorizationCode').consume(code);
      await factory('AuthorizationCode').consume(code);
      // the provider itself revokes a grant whose code is used twice; the adapter does not second-guess it
      expect(await factory('AccessToken').find(access)).toBeDefined();
    });

    it('finds every one of 200 distinct instances written at once', async () => {
      const adapter = build()('AccessToken');
      const ids = Array.from({ length: 200 }, () => uniqueId('at'));
      await Promise.all(ids.map((id) => adapter.upsert(id, payloadFor('AccessToken', id), 60)));
      const found = await Promise.all(ids.map((id) => adapter.find(id)));
      expect(found.map((payload) => payload?.jti)).toEqual(ids);
    });

    it('leaves one whole instance, with only its own indexes, when 200 writes race on one id', async () => {
      const factory = build();
      const id = uniqueId('sess');
      const writes = Array.from({ length: 200 }, (_, n) => ({ n, uid: uniqueId('uid') }));
      const sessions = factory('Session');
      await Promise.all(writes.map(({ n, uid }) => sessions.upsert(id, payloadFor('Session', id, { uid, n }), 60)));

      const winner = await sessions.find(id);
      const won = writes.find(({ n }) => n === winner?.n);
      expect(won).toBeDefined();
      expect(winner).toStrictEqual(payloadFor('Session', id, { uid: won!.uid, n: won!.n }));
      const byUid = await Promise.all(writes.map(({ uid }) => sessions.findByUid(uid)));
      expect(byUid.filter(Boolean)).toHaveLength(1);
      expect(await sessions.findByUid(won!.uid)).toStrictEqual(winner);

      const tokens = factory('AccessToken');
      const grants = writes.map(() => uniqueId('grant'));
      await Promise.all(
        grants.map((grantId, n) => tokens.upsert(id, payloadFor('AccessToken', id, { grantId, n }), 60)),
      );
      const token = await tokens.find(id);
      const losers = grants.filter((grantId) => grantId !== token?.grantId);
      await Promise.all(losers.map((grantId) => tokens.revokeByGrantId(grantId)));
      expect(await tokens.find(id)).toStrictEqual(token);
      await tokens.revokeByGrantId(token!.grantId!);
      expect(await tokens.find(id)).toBeUndefined();
    });

    it('stores every hostile id, uid, user code and grant id as itself and never as another', async () => {
      const factory = build();
      for (const raw of HOSTILE_IDS) {
        await factory('AccessToken').upsert(raw, payloadFor('AccessToken', raw, { marker: raw, grantId: raw }), 60);
        await factory('Session').upsert(raw, payloadFor('Session', raw, { marker: raw, uid: raw }), 60);
        await factory('DeviceCode').upsert(raw, payloadFor('DeviceCode', raw, { marker: raw, userCode: raw }), 60);
      }
      for (const raw of HOSTILE_IDS) {
        expect((await factory('AccessToken').find(raw))?.marker).toBe(raw);
        expect((await factory('Session').findByUid(raw))?.marker).toBe(raw);
        expect((await factory('DeviceCode').findByUserCode(raw))?.marker).toBe(raw);
      }
      expect(await factory('AccessToken').find('%2541')).toBeUndefined();
      expect(await factory('AccessToken').find('a')).toBeUndefined();

      await factory('AccessToken').revokeByGrantId('%41');
      expect(await factory('AccessToken').find('%41')).toBeUndefined();
      expect((await factory('AccessToken').find('A'))?.marker).toBe('A');
      await factory('Session').destroy('A');
      expect((await factory('Session').findByUid('%41'))?.marker).toBe('%41');
    });

    it.skipIf(quirks.sharesObjects)(
      'keeps stored state out of reach of the objects callers pass and receive',
      async () => {
        const adapter = build()('Grant');
        const id = uniqueId('grant');
        const payload = payloadFor('Grant', id, { openid: { scope: 'openid' } });
        const pristine = structuredClone(payload);
        await adapter.upsert(id, payload, 60);
        (payload.openid as { scope: string }).scope = 'openid email';

        const found = await adapter.find(id);
        expect(found).toStrictEqual(pristine);
        (found!.openid as { scope: string }).scope = 'openid phone';
        found!.consumed = 1;
        expect(await adapter.find(id)).toStrictEqual(pristine);
      },
    );

    // the one real wait of the suite: 1 s TTLs must be gone after ~2 s on every adapter
    it('expires instances and their uid, user-code and grant indexes after their TTL', async () => {
      const factory = build();
      const grantId = uniqueId('grant');
      const uid = uniqueId('uid');
      const userCode = uniqueId('UC');
      const short = MODELS.map((model) => ({ model, id: uniqueId(model) }));
      for (const { model, id } of short) {
        await factory(model).upsert(id, payloadFor(model, id, { uid, userCode, grantId }), 1);
      }
      const lasting = uniqueId('at');
      await factory('AccessToken').upsert(lasting, payloadFor('AccessToken', lasting, { grantId }), 60);
      const forever = uniqueId('client');
      await factory('Client').upsert(forever, payloadFor('Client', forever));

      await sleep(2_200);

      for (const { model, id } of short) expect(await factory(model).find(id)).toBeUndefined();
      expect(await factory('Session').findByUid(uid)).toBeUndefined();
      expect(await factory('DeviceCode').findByUserCode(userCode)).toBeUndefined();
      expect((await factory('AccessToken').find(lasting))?.jti).toBe(lasting);
      expect((await factory('Client').find(forever))?.jti).toBe(forever);
      await factory('AccessToken').revokeByGrantId(grantId);
      expect(await factory('AccessToken').find(lasting)).toBeUndefined();
    });
  });
}
