/**
 * Client metadata that needs the client secret in plaintext: oidc-provider 9 verifies `client_secret_jwt`
 * assertions and signs HS* responses with the secret itself, and derives the keys of symmetric
 * encryption (`dir`, `A*KW`, `A*GCMKW`; PBES2 where supported) from it. A client whose secret is kept
 * only as a hash can do none of these. Fields as oidc-provider 9's client schema names them.
 */

/** Signing algorithms; HS* use the secret as the HMAC key. */
const SIGNING_ALGS = [
  'token_endpoint_auth_signing_alg',
  'id_token_signed_response_alg',
  'userinfo_signed_response_alg',
  'introspection_signed_response_alg',
  'authorization_signed_response_alg',
  'request_object_signing_alg',
  'backchannel_authentication_request_signing_alg',
] as const;

/** Key management algorithms; symmetric ones wrap or are a key derived from the secret. */
const ENCRYPTION_ALGS = [
  'id_token_encrypted_response_alg',
  'userinfo_encrypted_response_alg',
  'introspection_encrypted_response_alg',
  'authorization_encrypted_response_alg',
  'request_object_encryption_alg',
] as const;

const SYMMETRIC_KEY_MANAGEMENT = /^(dir|A\d{3}(GCM)?KW|PBES2-.*)$/;

/**
 * What in `metadata` needs the plaintext secret, as the field and its value (`id_token_signed_response_alg
 * HS256`), or undefined when nothing does.
 */
export function plaintextNeed(metadata: Readonly<Record<string, unknown>>): string | undefined {
  if (metadata.token_endpoint_auth_method === 'client_secret_jwt')
    return 'token_endpoint_auth_method client_secret_jwt';
  for (const field of SIGNING_ALGS) {
    const alg = metadata[field];
    if (typeof alg === 'string' && alg.startsWith('HS')) return `${field} ${alg}`;
  }
  for (const field of ENCRYPTION_ALGS) {
    const alg = metadata[field];
    if (typeof alg === 'string' && SYMMETRIC_KEY_MANAGEMENT.test(alg)) return `${field} ${alg}`;
  }
  return undefined;
}

/** The refusal of such metadata for a client whose secret is kept only as a hash. */
export function plaintextRefusal(need: string): string {
  return (
    `${need} needs the client secret in plaintext, and this client's secret is kept only as a hash ` +
    `(secrets: { hash: 'scrypt' })`
  );
}
