/**
 * How the store names a client of a third-party issuer. The store keeps one record per bound client, keyed
 * by its id; an external client's key is `\u0001<issuer_id>\u0001<client_id>`. Local client ids are
 * VSCHAR (RFC 6749, `validate.ts`), so no local id can start with U+0001 and the two never meet; and
 * every external id of one issuer shares the prefix `externalPrefix(issuerId)`, which the store uses
 * to find an issuer's clients by lexical range.
 */
const SEPARATOR = '\u0001';

export interface ExternalClient {
  readonly issuerId: string;
  readonly clientId: string;
}

export function externalClientRef(issuerId: string, clientId: string): string {
  return `${SEPARATOR}${issuerId}${SEPARATOR}${clientId}`;
}

/** The lexical prefix of every external client id of one issuer. */
export function externalPrefix(issuerId: string): string {
  return `${SEPARATOR}${issuerId}${SEPARATOR}`;
}

export function isExternalRef(storeClientId: string): boolean {
  return storeClientId.startsWith(SEPARATOR);
}

/** The issuer and client an external store id names, or undefined for a local client id. */
export function parseExternalRef(storeClientId: string): ExternalClient | undefined {
  if (!isExternalRef(storeClientId)) return undefined;
  const end = storeClientId.indexOf(SEPARATOR, 1);
  if (end < 0) return undefined;
  return { issuerId: storeClientId.slice(1, end), clientId: storeClientId.slice(end + 1) };
}

/**
 * The smallest string after every local client id's prefix range below U+0020: listings of local
 * clients start after it, so that external records (U+0001…) are never shown as clients.
 */
export const LOCAL_CLIENTS_AFTER = '\u001f';
