import { describe, expect, it } from 'vitest';

import { SecretsAtRest } from '../src/secrets/at-rest.js';
import { VerificationCache } from '../src/secrets/cache.js';
import { DEFAULT_CACHE } from '../src/secrets/options.js';
import { plaintextNeed } from '../src/secrets/rules.js';
import { hashSecret, isSecretHash, setCostOfNewHashesForTests, verifySecret } from '../src/secrets/scrypt.js';

setCostOfNewHashesForTests({ ln: 10, r: 8, p: 1 });

const SECRET = 'a-client-secret-0123456789';

describe('scrypt hashes in PHC format', () => {
  it('verifies the secret a hash was made from, with the parameters the hash names', async () => {
    const hash = await hashSecret(SECRET, { ln: 11, r: 4, p: 2 });
    expect(hash).toMatch(/^\$scrypt\$ln=11,r=4,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifySecret(hash, SECRET)).toBe(true);
    expect(await verifySecret(hash, `${SECRET}x`)).toBe(false);
    expect(await verifySecret(hash.replace('ln=11', 'ln=10'), SECRET)).toBe(false);
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([hashSecret(SECRET), hashSecret(SECRET)]);
    expect(a).not.toBe(b);
  });

  it('refuses parameters out of bounds or text that is not such a hash, without running scrypt on it', async () => {
    const hash = await hashSecret(SECRET);
    for (const bad of [
      hash.replace('ln=10', 'ln=25'),
      hash.replace('r=8', 'r=64'),
      hash.replace('$scrypt$', '$argon2id$'),
      SECRET,
      '',
    ]) {
      expect(isSecretHash(bad)).toBe(false);
      expect(await verifySecret(bad, SECRET)).toBe(false);
    }
  });
});

describe('the verification cache', () => {
  it('keys entries by an HMAC that holds no part of its inputs and differs for each triple', () => {
    const cache = new VerificationCache(DEFAULT_CACHE);
    const key = cache.keyOf('client', '$scrypt$hash', SECRET);
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key).not.toContain('client');
    expect(
      new Set([
        key,
        cache.keyOf('client', '$scrypt$hash', `${SECRET}x`),
        cache.keyOf('client', '$scrypt$other', SECRET),
        cache.keyOf('other', '$scrypt$hash', SECRET),
        cache.keyOf('clien', 't$scrypt$hash', SECRET),
      ]).size,
    ).toBe(5);
    expect(new VerificationCache(DEFAULT_CACHE).keyOf('client', '$scrypt$hash', SECRET)).not.toBe(key);
  });

  it('forgets an entry maxAgeMs after it was made, however often it is used, and the least recently used first', () => {
    const cache = new VerificationCache({ maxEntries: 2, maxAgeMs: 1000 });
    cache.remember('a', 0);
    expect(cache.has('a', 999)).toBe(true);
    expect(cache.has('a', 1000)).toBe(false);

    cache.remember('a', 0);
    cache.remember('b', 0);
    expect(cache.has('a', 1)).toBe(true);
    cache.remember('c', 2);
    expect(cache.size).toBe(2);
    expect(cache.has('b', 3)).toBe(false);
    expect(cache.has('a', 3)).toBe(true);
    expect(cache.has('c', 3)).toBe(true);
  });

  it('records successes only, and never answers for another stored hash', async () => {
    const secrets = new SecretsAtRest({ hash: true, cache: DEFAULT_CACHE });
    const hash = await hashSecret(SECRET);
    expect(await secrets.verify('svc', hash, 'wrong')).toBe(false);
    expect(secrets.cachedVerifications).toBe(0);
    expect(await Promise.all([secrets.verify('svc', hash, SECRET), secrets.verify('svc', hash, SECRET)])).toEqual([
      true,
      true,
    ]);
    expect(secrets.cachedVerifications).toBe(1);
    expect(await secrets.verify('svc', hash, SECRET)).toBe(true);
    expect(await secrets.verify('svc', await hashSecret('rotated-secret'), SECRET)).toBe(false);
    expect(secrets.cachedVerifications).toBe(1);
  });
});

describe('the stand-in the provider holds', () => {
  it('leads back to the stored hash only from the process that made it', async () => {
    const hash = await hashSecret(SECRET);
    const secrets = new SecretsAtRest({ hash: true, cache: undefined });
    const standIn = secrets.forProvider(hash) as string;
    expect(standIn.startsWith(`${hash}#`)).toBe(true);
    expect(secrets.hashOf(standIn)).toBe(hash);
    expect(new SecretsAtRest({ hash: true, cache: undefined }).hashOf(standIn)).toBeUndefined();
    expect(secrets.hashOf(`${hash}#${'A'.repeat(43)}`)).toBeUndefined();
    expect(secrets.hashOf(hash)).toBeUndefined();
    expect(secrets.forProvider(SECRET)).toBe(SECRET);
  });
});

describe('what needs the plaintext secret', () => {
  it('names client_secret_jwt, HS* signing and symmetric or PBES2 key management, and nothing else', () => {
    expect(plaintextNeed({ token_endpoint_auth_method: 'client_secret_jwt' })).toBe(
      'token_endpoint_auth_method client_secret_jwt',
    );
    for (const field of [
      'id_token_signed_response_alg',
      'userinfo_signed_response_alg',
      'introspection_signed_response_alg',
      'authorization_signed_response_alg',
      'request_object_signing_alg',
      'token_endpoint_auth_signing_alg',
    ]) {
      expect(plaintextNeed({ [field]: 'HS384' })).toBe(`${field} HS384`);
    }
    for (const alg of ['dir', 'A128KW', 'A256GCMKW', 'PBES2-HS512+A256KW']) {
      expect(plaintextNeed({ request_object_encryption_alg: alg })).toBe(`request_object_encryption_alg ${alg}`);
    }
    expect(
      plaintextNeed({
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256',
        id_token_encrypted_response_alg: 'RSA-OAEP',
        id_token_encrypted_response_enc: 'A128CBC-HS256',
        userinfo_encrypted_response_alg: 'ECDH-ES+A128KW',
      }),
    ).toBeUndefined();
  });
});
