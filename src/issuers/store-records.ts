import { canonicalJson } from '../canonical-json.js';
import type { ClientMetadata } from '../types.js';
import { externalPrefix } from './ref.js';
import type { StoredIssuer } from './types.js';

/**
 * What every store keeps of an issuer and of an external client, written once so that the memory and
 * Redis stores cannot disagree on what "unchanged" means or on what a first binding creates.
 */

const SEPARATOR = externalPrefix('').charAt(0);

/**
 * The canonical JSON of every field of an issuer but its times: two issuers with equal bodies are
 * `unchanged`. Refuses an issuer_id holding the separator of external client ids, which would put
 * another issuer's clients inside this issuer's lexical range (and delete them with it).
 */
export function issuerBody(issuer: StoredIssuer): string {
  if (typeof issuer.issuer_id !== 'string' || issuer.issuer_id.includes(SEPARATOR)) {
    throw new TypeError('issuer_id must be a string without U+0001, the separator of external client ids');
  }
  const { created_at: _created, updated_at: _updated, ...body } = issuer;
  return canonicalJson(body);
}

/**
 * The metadata of the record a store creates for an external client on its first binding: nothing but
 * its id (the store never holds an external client's secret). `clientId` must be an id of that issuer,
 * or `deleteIssuer` would not find the record.
 */
export function externalClientMetadata(issuerId: string, clientId: string): ClientMetadata {
  if (!clientId.startsWith(externalPrefix(issuerId))) {
    throw new TypeError("an external client's id must be externalClientRef(issuerId, client_id)");
  }
  return { client_id: clientId };
}
