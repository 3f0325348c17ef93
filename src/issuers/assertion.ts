import { createLocalJWKSet, type JSONWebKeySet, type JWTPayload } from 'jose';

import { ASYMMETRIC_ALGORITHMS, isAsymmetricAlgorithm } from './algorithms.js';
import { verifyWithKeySet } from './key-set.js';

const CLOCK_SKEW_S = 30;
const MAX_JTI_LENGTH = 256;

/** What `verifyLocalAssertion` reads of a local client's metadata. */
export interface AssertingClient {
  readonly client_id: string;
  readonly jwks?: unknown;
  readonly token_endpoint_auth_signing_alg?: unknown;
}

export interface AssertionExpectations {
  /** The URL the assertion is for (its `aud` must be or contain it). */
  readonly audience: string;
  readonly nowMs: number;
  /** The longest `exp - now` accepted, so that a leaked assertion is not good for long. */
  readonly maxLifetimeSeconds: number;
}

export interface VerifiedAssertion {
  readonly jti: string;
  /** The assertion's `exp`: it is refused from then on, so its `jti` need be remembered until then only. */
  readonly expiresAtMs: number;
}

function algorithmsOf(client: AssertingClient): string[] | undefined {
  const pinned = client.token_endpoint_auth_signing_alg;
  if (pinned === undefined || pinned === null) return [...ASYMMETRIC_ALGORITHMS];
  return isAsymmetricAlgorithm(pinned) ? [pinned] : undefined;
}

function claimsAcceptable(
  payload: JWTPayload,
  expected: AssertionExpectations,
): payload is JWTPayload & {
  jti: string;
  exp: number;
} {
  const nowS = expected.nowMs / 1000;
  const { exp, iat, jti } = payload;
  // no tolerance after exp, so that a jti remembered until exp covers every moment the assertion is accepted
  if (typeof exp !== 'number' || exp <= nowS || exp > nowS + expected.maxLifetimeSeconds + CLOCK_SKEW_S) return false;
  if (iat !== undefined && (typeof iat !== 'number' || iat > nowS + CLOCK_SKEW_S)) return false;
  return typeof jti === 'string' && jti.length > 0 && jti.length <= MAX_JTI_LENGTH;
}

/**
 * Verifies a client assertion (RFC 7523, private_key_jwt) of a local client: signed by a key of the
 * client's inline `jwks` with an asymmetric algorithm (the client's `token_endpoint_auth_signing_alg`
 * when it sets one), `iss` and `sub` the client_id, `aud` the expected URL, `exp` in the future and no
 * further than `maxLifetimeSeconds` (+30 s of clock skew), `iat` and `nbf` not in the future beyond the
 * same skew, a `jti` of 1 to 256 characters. Undefined on any failure, whatever it is, so that an answer
 * tells nothing about the client's keys. Single use is the caller's (`store.useAssertionId`).
 */
export async function verifyLocalAssertion(
  client: AssertingClient,
  assertion: string,
  expected: AssertionExpectations,
): Promise<VerifiedAssertion | undefined> {
  const algorithms = algorithmsOf(client);
  if (algorithms === undefined || client.jwks === undefined || client.jwks === null) return undefined;
  try {
    const payload = await verifyWithKeySet(assertion, createLocalJWKSet(client.jwks as JSONWebKeySet), {
      algorithms,
      issuer: client.client_id,
      subject: client.client_id,
      audience: expected.audience,
      currentDate: new Date(expected.nowMs),
      clockTolerance: CLOCK_SKEW_S,
      requiredClaims: ['exp', 'jti'],
    });
    if (!claimsAcceptable(payload, expected)) return undefined;
    return { jti: payload.jti, expiresAtMs: payload.exp * 1000 };
  } catch {
    return undefined;
  }
}
