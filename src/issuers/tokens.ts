import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyOptions,
} from 'jose';

import { AppKeysError, issuerUnavailable, unresolvableToken } from '../errors.js';
import { verifyWithKeySet, type KeySet } from './key-set.js';
import { ASYMMETRIC_ALGORITHMS, isAsymmetricAlgorithm } from './algorithms.js';
import { remoteFetch } from './fetch.js';
import type { ResolvedIssuersOptions } from './options.js';
import type { Issuer } from './types.js';

/** A key set is kept this long, then fetched again: issuers rotate keys on a scale of days. */
const CACHE_MS = 10 * 60_000;
/** A token signed with a key not in the set fetches the set again, but not more often than this. */
const REFETCH_AFTER_MS = 30_000;
const CLOCK_TOLERANCE_S = 30;

interface CachedKeys {
  readonly jwksUri: string;
  readonly keySet: KeySet;
  readonly fetchedAtMs: number;
}

/** The `iss` a compact JWS claims, unverified: which issuer's keys to try. Undefined when not a JWT. */
export function unverifiedIssuerOf(token: string): string | undefined {
  try {
    const { iss } = decodeJwt(token);
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

const malformed = () => unresolvableToken('malformed_token', 'the token is not a signed JWT');
const badSignature = () =>
  unresolvableToken('invalid_signature', "no key of the issuer verifies the token's signature");

/** Refuses what no key set could verify before a key set is fetched for it. */
function checkShape(token: string): void {
  let alg: unknown;
  try {
    decodeJwt(token);
    ({ alg } = decodeProtectedHeader(token));
  } catch {
    throw malformed();
  }
  if (!isAsymmetricAlgorithm(alg)) {
    throw unresolvableToken('invalid_signature', 'the token is not signed with an asymmetric algorithm');
  }
}

function refusal(err: unknown): AppKeysError {
  if (err instanceof AppKeysError) return err;
  if (err instanceof errors.JWTExpired) return unresolvableToken('token_expired', 'the token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return unresolvableToken('unknown_issuer', 'the token was not issued by this issuer');
    if (err.claim === 'nbf') return unresolvableToken('token_expired', 'the token is not valid yet');
    return unresolvableToken('malformed_token', `the token's ${err.claim} claim is missing or invalid`);
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return malformed();
  // a bad signature, a key missing from the set, or a key of the issuer's that cannot be used
  return badSignature();
}

/**
 * The key sets of registered issuers, for verifying their JWT access tokens: each fetched from the
 * issuer's `jwks_uri` through `remoteFetch`, kept for ten minutes per issuer_id, fetched again sooner
 * (at most every 30 s) when a token names a key the set lacks. One fetch per issuer at a time.
 */
export class IssuerKeySets {
  readonly #options: ResolvedIssuersOptions;
  readonly #now: () => number;
  readonly #cache = new Map<string, CachedKeys>();
  readonly #pending = new Map<string, Promise<CachedKeys>>();

  constructor(options: ResolvedIssuersOptions, now: () => number = Date.now) {
    this.#options = options;
    this.#now = now;
  }

  /**
   * Verifies a JWT access token of `issuer`: signature (asymmetric algorithms only), `iss` equal to the
   * issuer identifier, `exp` required, `exp` and `nbf` with 30 s tolerance. Resolves with the payload;
   * throws 401 `malformed_token`, `invalid_signature`, `token_expired` or `unknown_issuer`, or 503 when
   * the issuer's keys cannot be fetched.
   */
  async verify(issuer: Issuer, token: string): Promise<JWTPayload> {
    checkShape(token);
    const jwksUri = issuer.metadata.jwks_uri;
    if (jwksUri === undefined) throw unresolvableToken('unknown_issuer', 'the issuer publishes no keys');
    const options: JWTVerifyOptions = {
      issuer: issuer.issuer,
      algorithms: [...ASYMMETRIC_ALGORITHMS],
      clockTolerance: CLOCK_TOLERANCE_S,
      currentDate: new Date(this.#now()),
      // an access token without an expiry would be vouched for forever
      requiredClaims: ['exp'],
    };
    const keys = await this.#keys(issuer.issuer_id, jwksUri, CACHE_MS);
    try {
      return await verifyWithKeySet(token, keys.keySet, options);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw refusal(err);
    }
    // the issuer may have rotated its keys since the set was fetched
    const fresh = await this.#keys(issuer.issuer_id, jwksUri, REFETCH_AFTER_MS);
    if (fresh === keys) throw badSignature();
    try {
      return await verifyWithKeySet(token, fresh.keySet, options);
    } catch (err) {
      throw refusal(err);
    }
  }

  /** Drops an issuer's keys, when it is deleted or re-registered. */
  forget(issuerId: string): void {
    this.#cache.delete(issuerId);
    this.#pending.delete(issuerId);
  }

  /** The cached set when no older than `maxAgeMs` and of the same `jwks_uri`, else a fetched one. */
  async #keys(issuerId: string, jwksUri: string, maxAgeMs: number): Promise<CachedKeys> {
    const cached = this.#cache.get(issuerId);
    if (cached !== undefined && cached.jwksUri === jwksUri && this.#now() - cached.fetchedAtMs < maxAgeMs) {
      return cached;
    }
    const pending = this.#pending.get(issuerId);
    if (pending !== undefined) return pending;
    const fetching = this.#fetch(jwksUri).then((keySet) => {
      const entry: CachedKeys = { jwksUri, keySet, fetchedAtMs: this.#now() };
      // a set fetched across a forget() is not kept
      if (this.#pending.get(issuerId) === fetching) this.#cache.set(issuerId, entry);
      return entry;
    });
    this.#pending.set(issuerId, fetching);
    try {
      return await fetching;
    } finally {
      if (this.#pending.get(issuerId) === fetching) this.#pending.delete(issuerId);
    }
  }

  /** Any failure to get a usable set is the issuer's, and a gateway can only try again: 503. */
  async #fetch(jwksUri: string): Promise<KeySet> {
    let answer: { status: number; json: unknown };
    try {
      answer = await remoteFetch(jwksUri, { method: 'GET' }, this.#options);
    } catch (err) {
      throw err instanceof AppKeysError && err.status === 503 ? err : issuerUnavailable(err);
    }
    if (answer.status !== 200) throw issuerUnavailable(new Error(`jwks_uri answered HTTP ${answer.status}`));
    try {
      return createLocalJWKSet(answer.json as JSONWebKeySet);
    } catch (err) {
      throw issuerUnavailable(err);
    }
  }
}
