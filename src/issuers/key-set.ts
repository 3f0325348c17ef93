import { errors, jwtVerify, type createLocalJWKSet, type JWTPayload, type JWTVerifyOptions } from 'jose';

/** A JSON Web Key Set as jose looks keys up in it. */
export type KeySet = ReturnType<typeof createLocalJWKSet>;

/**
 * Verifies a JWT against a key set. A token without `kid` matches every key of its type: each is tried,
 * as jose's documentation advises; an error other than a wrong signature (expired, bad claims) is final.
 */
export async function verifyWithKeySet(token: string, keySet: KeySet, options: JWTVerifyOptions): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, keySet, options)).payload;
  } catch (err) {
    if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
    for await (const key of err) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}
