/**
 * The JWS algorithms accepted from issuers and clients: asymmetric only, so that no key that verifies
 * can also sign, and a public JWKS can never be mistaken for a shared secret (HS*), nor `none` accepted.
 */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  // RFC 9864's fully specified name for EdDSA over Ed25519
  'Ed25519',
]);

export function isAsymmetricAlgorithm(alg: unknown): alg is string {
  return typeof alg === 'string' && ASYMMETRIC_ALGORITHMS.includes(alg);
}
