/**
 * Every Redis key this package touches is built here, and nowhere else.
 *
 * The store's layout: `{<prefix>}<kind>:<encoded id>`. The whole prefix is the hash tag, so every key of
 * one store lives in one Redis Cluster slot and every script may touch any of them atomically. The
 * provider adapter's keys spread over slots instead (ProviderKeys). Ids are
 * percent-encoded down to `[A-Za-z0-9._-]`, so no input can contain a separator, a brace or a glob
 * character and thereby name another key or widen a SCAN pattern.
 */

const SAFE_BYTE = /^[A-Za-z0-9._-]$/;

/** Percent-encodes every UTF-8 byte outside `[A-Za-z0-9._-]`; injective, so distinct ids stay distinct. */
export function encodeKeyPart(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += SAFE_BYTE.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeKeyPart(encoded: string): string {
  return decodeURIComponent(encoded);
}

export function checkPrefix(prefix: unknown, optionPath: string): string {
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > 64) {
    throw new TypeError(`${optionPath} must be a non-empty string of at most 64 characters`);
  }
  if (/[{}*?[\]\\\s]/.test(prefix)) {
    throw new TypeError(`${optionPath} must not contain braces, glob characters or white space`);
  }
  return prefix;
}

/**
 * Keys of the oidc-provider Adapter: one hash per stored model instance, plus lookup indexes. Unlike the
 * store's, these keys do not share one hash tag: each instance, index entry and grant is tagged by its
 * own id, `<prefix><kind>:{<encoded id>}`, so that on a Redis Cluster tokens, sessions, grants and codes
 * spread over every master. A grant's set of members and its revocation marker share the grant's tag.
 */
export class ProviderKeys {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  model(model: string, id: string): string {
    return `${this.prefix}${model}:{${encodeKeyPart(id)}}`;
  }

  grant(grantId: string): string {
    return `${this.prefix}grant:{${encodeKeyPart(grantId)}}`;
  }

  /** Set when a grant is revoked: its tokens written later, by a slow process, are not found. */
  revokedGrant(grantId: string): string {
    return `${this.prefix}revoked:{${encodeKeyPart(grantId)}}`;
  }

  sessionUid(uid: string): string {
    return `${this.prefix}uid:{${encodeKeyPart(uid)}}`;
  }

  /** Per model, so that one model's lookup can never yield another model's instance. */
  userCode(model: string, userCode: string): string {
    return `${this.prefix}userCode:${model}:{${encodeKeyPart(userCode)}}`;
  }

  /** A SCAN pattern matching every instance of one model. */
  modelPattern(model: string): string {
    return `${this.prefix}${model}:{*`;
  }
}

/** Keys of the appkeys BindingStore. */
export class StoreKeys {
  readonly tag: string;

  constructor(prefix: string) {
    this.tag = `{${prefix}}`;
  }

  /** Hash: the client's opaque metadata plus, while bound, the server-owned binding (layout.ts). */
  client(clientId: string): string {
    return `${this.tag}client:${encodeKeyPart(clientId)}`;
  }

  /** Key prefix of `client()`, for scripts that reach a client from an id they read. */
  get clientPrefix(): string {
    return `${this.tag}client:`;
  }

  /** Sorted set (all scores 0) of every registered client id, listed by lexical range. */
  get clients(): string {
    return `${this.tag}clients`;
  }

  /** Hash: one application, with a `key:<KEY_TYPE>` field per binding. */
  application(applicationId: string): string {
    return `${this.tag}app:${encodeKeyPart(applicationId)}`;
  }

  get applicationPrefix(): string {
    return `${this.tag}app:`;
  }

  /** Sorted set of every application id (admin listing). */
  get applications(): string {
    return `${this.tag}apps`;
  }

  /** Sorted set of one owner's application ids. */
  ownerApplications(owner: string): string {
    return `${this.tag}owner:${encodeKeyPart(owner)}`;
  }

  /** Hash: normalized application name → application id, for one owner. */
  ownerNames(owner: string): string {
    return `${this.tag}names:${encodeKeyPart(owner)}`;
  }

  get ownerApplicationsPrefix(): string {
    return `${this.tag}owner:`;
  }

  get ownerNamesPrefix(): string {
    return `${this.tag}names:`;
  }

  /** Sorted set of one caller's failed provide-keys attempts on one client (sliding window). */
  callerAttempts(caller: string, clientId: string): string {
    return `${this.tag}attempts:${encodeKeyPart(caller)}:${encodeKeyPart(clientId)}`;
  }

  /** Sorted set of every caller's failed provide-keys attempts on one client. */
  clientAttempts(clientId: string): string {
    return `${this.clientAttemptsPrefix}${encodeKeyPart(clientId)}`;
  }

  /** Key prefix of `clientAttempts()`, for scripts that forget the failures of clients they remove. */
  get clientAttemptsPrefix(): string {
    return `${this.tag}client-attempts:`;
  }

  /** Hash: issuer_id → the issuer's JSON (layout.ts). */
  get issuers(): string {
    return `${this.tag}issuers`;
  }

  /** A client's used assertion id, held until the assertion expires. */
  assertionId(clientId: string, jti: string): string {
    return `${this.tag}jti:${encodeKeyPart(clientId)}:${encodeKeyPart(jti)}`;
  }

  /** SCAN pattern for keys of one kind; safe because the tag and kind contain no glob characters. */
  pattern(kind: 'client' | 'app' | 'owner' | 'names'): string {
    return `${this.tag}${kind}:*`;
  }
}
