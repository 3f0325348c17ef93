import { invalidRequest } from './errors.js';
import { APPLICATION_STATUSES, KEY_TYPES, type ApplicationStatus, type KeyType } from './types.js';

/** Input rules of the registry: one place, used by the HTTP routes and the CLI alike. */

export const NAME_MAX = 200;
export const DESCRIPTION_MAX = 1000;
export const CLIENT_ID_MAX = 512;
export const SECRET_MAX = 1024;
export const OWNER_MAX = 256;
/** Application ids are far shorter (ids.ts); a longer one is not looked up. */
export const APPLICATION_ID_MAX = 128;
/** RFC 6749's VSCHAR: printable ASCII and space. A string, so that the OpenAPI document states it as is. */
export const CLIENT_ID_PATTERN = '^[\\x20-\\x7E]+$';
const CLIENT_ID_CHARACTERS = new RegExp(CLIENT_ID_PATTERN);

export function keyType(value: unknown): KeyType {
  if (typeof value !== 'string' || !(KEY_TYPES as readonly string[]).includes(value)) {
    throw invalidRequest(`key_type must be one of ${KEY_TYPES.join(', ')}`);
  }
  return value as KeyType;
}

export function applicationStatus(value: unknown): ApplicationStatus {
  if (typeof value !== 'string' || !(APPLICATION_STATUSES as readonly string[]).includes(value)) {
    throw invalidRequest(`status must be one of ${APPLICATION_STATUSES.join(', ')}`);
  }
  return value as ApplicationStatus;
}

/** Unicode text without control characters, 1–max characters (code points). */
export function text(value: unknown, field: string, max: number, { allowEmpty = false } = {}): string {
  if (typeof value !== 'string') throw invalidRequest(`${field} must be a string`);
  const length = [...value].length;
  if ((!allowEmpty && length === 0) || length > max) {
    throw invalidRequest(`${field} must be ${allowEmpty ? '0' : '1'}–${max} characters`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value) && field !== 'description') {
    throw invalidRequest(`${field} must not contain control characters`);
  }
  if (!value.isWellFormed()) throw invalidRequest(`${field} must be valid Unicode`);
  return value;
}

/** C0 and C1 controls, DEL, and the bidirectional overrides that reorder what a terminal shows. */
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * An account id (an owner): 1–OWNER_MAX characters of well-formed Unicode without control characters,
 * so that it can be shown in a terminal or a page as it is.
 */
export function accountId(value: unknown, field = 'account id'): string {
  if (typeof value !== 'string' || value.length === 0 || [...value].length > OWNER_MAX) {
    throw invalidRequest(`${field} must be a string of 1–${OWNER_MAX} characters`);
  }
  if (CONTROLS.test(value) || !value.isWellFormed())
    throw invalidRequest(`${field} must not contain control characters`);
  return value;
}

/** A client_id as RFC 6749 allows it, 1–CLIENT_ID_MAX characters. */
export function clientId(value: unknown, field = 'client_id'): string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > CLIENT_ID_MAX ||
    !CLIENT_ID_CHARACTERS.test(value)
  ) {
    throw invalidRequest(`${field} must be 1–${CLIENT_ID_MAX} printable ASCII characters`);
  }
  return value;
}

export function clientSecret(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > SECRET_MAX) {
    throw invalidRequest(`client_secret must be a string of 1–${SECRET_MAX} characters`);
  }
  return value;
}

/** Names are unique per owner regardless of case and Unicode form. */
export function nameKey(name: string): string {
  return name.normalize('NFKC').toLowerCase().trim();
}

/** Rejects fields the request does not know, so a typo is an error rather than silently ignored. */
export function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key))
      throw invalidRequest(`unknown field ${JSON.stringify(key).slice(0, 80)}; allowed: ${allowed.join(', ')}`);
  }
}

export const ISSUER_ID_MAX = 64;
export const ISSUER_ID_PATTERN = '^[A-Za-z0-9._-]{1,64}$';
const ISSUER_ID_CHARACTERS = new RegExp(ISSUER_ID_PATTERN);
/** Longer than any signed assertion or access token a client or gateway sends in practice. */
export const JWT_MAX = 8192;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** An issuer's id here: short and safe in a URL path, a Redis key and a terminal alike. */
export function issuerId(value: unknown, field = 'issuer_id'): string {
  if (typeof value !== 'string' || !ISSUER_ID_CHARACTERS.test(value)) {
    throw invalidRequest(`${field} must be 1–${ISSUER_ID_MAX} characters of A–Z a–z 0–9 . _ -`);
  }
  return value;
}

/** A compact JWS (a signed JWT), as a string of at most JWT_MAX characters. */
export function compactJwt(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length > JWT_MAX || !COMPACT_JWS.test(value)) {
    throw invalidRequest(`${field} must be a signed JWT (compact serialization) of at most ${JWT_MAX} characters`);
  }
  return value;
}
