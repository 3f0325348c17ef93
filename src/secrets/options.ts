import type { VerificationCacheLimits } from './cache.js';

/** `appKeys({ secrets })`: how client secrets are kept in the appkeys store. */
export interface SecretsOptions {
  /**
   * `'scrypt'`: secrets of clients in the appkeys store are kept as PHC-format scrypt hashes, and
   * clients whose metadata needs the plaintext (`client_secret_jwt`, HS* signing, symmetric
   * encryption) are refused. Default `'none'`: kept as given.
   */
  readonly hash?: 'scrypt' | 'none';
  /**
   * Recent successful verifications kept in this process (keyed by an HMAC, never a secret), so that
   * a busy client pays for scrypt once per `maxAgeMs`. Default on: 10,000 entries, 60 s. `false`:
   * every authentication runs scrypt.
   */
  readonly cache?: boolean | { readonly maxEntries?: number; readonly maxAgeMs?: number };
}

export interface ResolvedSecretsOptions {
  readonly hash: boolean;
  readonly cache: VerificationCacheLimits | undefined;
}

export const DEFAULT_CACHE: VerificationCacheLimits = { maxEntries: 10_000, maxAgeMs: 60_000 };

type Fail = (path: string, expectation: string) => never;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function known(value: Record<string, unknown>, path: string, keys: readonly string[], fail: Fail): void {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) fail(`${path}.${key}`, `is not an option (known: ${keys.join(', ')})`);
  }
}

function positiveInteger(value: unknown, path: string, fallback: number, fail: Fail): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) fail(path, 'must be a positive integer');
  return value;
}

/** Checks `options.secrets`; `fail` throws the TypeError naming the path, as for every other option. */
export function resolveSecretsOptions(input: unknown, fail: Fail): ResolvedSecretsOptions {
  if (input === undefined) return { hash: false, cache: DEFAULT_CACHE };
  if (!isObject(input)) fail('secrets', "must be an object such as { hash: 'scrypt' }");
  known(input, 'secrets', ['hash', 'cache'], fail);
  const { hash = 'none', cache = true } = input;
  if (hash !== 'scrypt' && hash !== 'none') fail('secrets.hash', "must be 'scrypt' or 'none'");
  if (typeof cache === 'boolean') return { hash: hash === 'scrypt', cache: cache ? DEFAULT_CACHE : undefined };
  if (!isObject(cache)) fail('secrets.cache', 'must be a boolean or { maxEntries, maxAgeMs }');
  known(cache, 'secrets.cache', ['maxEntries', 'maxAgeMs'], fail);
  return {
    hash: hash === 'scrypt',
    cache: {
      maxEntries: positiveInteger(cache.maxEntries, 'secrets.cache.maxEntries', DEFAULT_CACHE.maxEntries, fail),
      maxAgeMs: positiveInteger(cache.maxAgeMs, 'secrets.cache.maxAgeMs', DEFAULT_CACHE.maxAgeMs, fail),
    },
  };
}
