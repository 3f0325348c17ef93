import type { StoredIssuer } from '../issuers/types.js';
import { externalPrefix } from '../issuers/ref.js';
import { issuerBody } from '../issuers/store-records.js';
import type { MemoryState } from './records.js';
import { compareUtf8 } from './sorted-ids.js';

/**
 * The memory store's issuers: synchronous steps on its state, each atomic as the store's methods are.
 * The readable reference of what the Redis store's issuer scripts do.
 */

/** The ids of an issuer's external client records: one run of the sorted client ids. */
export function externalClientIds(state: MemoryState, issuerId: string): string[] {
  return state.clientIds.startingWith(externalPrefix(issuerId));
}

function anyBound(state: MemoryState, clientIds: readonly string[]): boolean {
  return clientIds.some((id) => state.clients.get(id)?.binding !== undefined);
}

export function putIssuer(
  state: MemoryState,
  issuer: StoredIssuer,
): 'created' | 'replaced' | 'unchanged' | 'issuer_taken' | 'bound' {
  const body = issuerBody(issuer);
  const stored = state.issuers.get(issuer.issuer_id);
  if (stored && issuerBody(stored) === body) return 'unchanged';
  for (const [id, other] of state.issuers) {
    if (id !== issuer.issuer_id && other.issuer === issuer.issuer) return 'issuer_taken';
  }
  // a binding shows its issuer's URL and verification: they must not change under a bound client
  const shown = (record: StoredIssuer) => `${record.issuer} ${record.verification}`;
  if (stored && shown(stored) !== shown(issuer) && anyBound(state, externalClientIds(state, issuer.issuer_id))) {
    return 'bound';
  }
  const copy = JSON.parse(JSON.stringify(issuer)) as StoredIssuer;
  state.issuers.set(issuer.issuer_id, stored ? { ...copy, created_at: stored.created_at } : copy);
  return stored ? 'replaced' : 'created';
}

export function listIssuers(state: MemoryState): StoredIssuer[] {
  return [...state.issuers].sort(([a], [b]) => compareUtf8(a, b)).map(([, issuer]) => structuredClone(issuer));
}

/**
 * Removes an issuer and its unbound external client records; resolves the ids of those removed, for the
 * store to forget their failed attempts too.
 */
export function deleteIssuer(
  state: MemoryState,
  issuerId: string,
): { outcome: 'deleted'; removed: string[] } | { outcome: 'not_found' | 'bound' } {
  if (!state.issuers.has(issuerId)) return { outcome: 'not_found' };
  const removed = externalClientIds(state, issuerId);
  if (anyBound(state, removed)) return { outcome: 'bound' };
  for (const id of removed) {
    state.clients.delete(id);
    state.clientIds.delete(id);
  }
  state.issuers.delete(issuerId);
  return { outcome: 'deleted', removed };
}
