import type { Adapter, AdapterPayload } from 'oidc-provider';

import type { StoredClient } from './store.js';
import type { ClientBinding } from './types.js';

/**
 * Whether an access token, as stored, still holds under its client's binding. Once a client is bound,
 * only tokens issued under that binding count: not its tokens from before it was bound, nor from an
 * earlier binding, nor from before a block (lifted since), and none while it is blocked. A client that
 * was unbound keeps only its tokens from before any binding. Tokens of clients the store does not hold
 * (static ones) are left to the provider.
 */
export function tokenHolds(record: StoredClient | undefined, payload: AdapterPayload): boolean {
  if (!record) return true;
  const extra = payload.extra as Record<string, unknown> | undefined;
  const issuedFor = typeof extra?.application_id === 'string' ? extra.application_id : undefined;
  const { binding } = record;
  if (!binding) return issuedFor === undefined;
  if (binding.status !== 'ACTIVE' || issuedFor !== binding.application_id || extra?.key_type !== binding.key_type)
    return false;
  return issuedUnder(binding, payload.iat);
}

/**
 * Whether a token was issued under the binding as it stands: not under an earlier binding of the same
 * application and key type (unbound, then bound again), and not before a block that has since been
 * lifted. `iat` has whole seconds, so the edges are conservative where it matters: a token of the
 * block's own second is never active again (a client that got one then simply asks anew), while a token
 * of the binding's own second counts (else a client's first token could come back inactive).
 */
function issuedUnder(binding: ClientBinding, iat: number | undefined): boolean {
  if (typeof iat !== 'number') return false;
  const boundSecond = Math.floor(Date.parse(binding.bound_at) / 1000);
  if (Number.isFinite(boundSecond) && iat < boundSecond) return false;
  if (binding.tokens_since !== undefined) {
    const blockedSecond = Math.floor(Date.parse(binding.tokens_since) / 1000);
    if (!Number.isFinite(blockedSecond) || iat <= blockedSecond) return false;
  }
  return true;
}

/**
 * The caller's adapter of an access token model, finding only tokens that hold under their client's
 * binding. Every endpoint that accepts an access token looks it up here — introspection, userinfo, the
 * management API, a resource server using the provider — so one check covers them all, and the token
 * endpoint, which only writes tokens, pays nothing for it. Everything else passes straight through.
 */
export class BindingCheckedTokens implements Adapter {
  readonly #inner: Adapter;
  readonly #clientRecord: (clientId: string) => Promise<StoredClient | undefined>;

  constructor(inner: Adapter, clientRecord: (clientId: string) => Promise<StoredClient | undefined>) {
    this.#inner = inner;
    this.#clientRecord = clientRecord;
  }

  async find(id: string): Promise<AdapterPayload | undefined | void> {
    const payload = await this.#inner.find(id);
    if (!payload || typeof payload.clientId !== 'string') return payload;
    return tokenHolds(await this.#clientRecord(payload.clientId), payload) ? payload : undefined;
  }

  upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<undefined | void> {
    return this.#inner.upsert(id, payload, expiresIn);
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined | void> {
    return this.#inner.findByUserCode(userCode);
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined | void> {
    return this.#inner.findByUid(uid);
  }

  consume(id: string): Promise<undefined | void> {
    return this.#inner.consume(id);
  }

  destroy(id: string): Promise<undefined | void> {
    return this.#inner.destroy(id);
  }

  revokeByGrantId(grantId: string): Promise<undefined | void> {
    return this.#inner.revokeByGrantId(grantId);
  }
}
