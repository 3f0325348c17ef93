import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import { invalidClientMetadata } from '../errors.js';
import type { StoredClient } from '../store.js';
import type { ClientMetadata } from '../types.js';
import { VerificationCache } from './cache.js';
import type { ResolvedSecretsOptions } from './options.js';
import { plaintextNeed, plaintextRefusal } from './rules.js';
import { hashSecret, isSecretHash, verifySecret } from './scrypt.js';

/** Stand-ins remembered both ways, so that the token path computes each one's HMAC once, not per request. */
const MEMO_LIMIT = 10_000;

function remember(memo: Map<string, string>, key: string, value: string): void {
  // clearing when full keeps the bound with no bookkeeping; what falls out is recomputed
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, value);
}

/**
 * How one `appKeys()` keeps and checks client secrets: the form each one is stored in, and the
 * verification of a hashed one (through the provider's `compareClientSecret`, see ./provider.ts).
 *
 * The provider never holds a stored hash as it is. What it gets as `client_secret` is the hash
 * followed by `#` and an HMAC of it under a key drawn when the process starts (a "stand-in"): every
 * key oidc-provider derives from a client secret (HS* request objects, symmetric request-object
 * decryption) is then one nobody knows, so a copy of the store gives no key to forge anything with.
 */
export class SecretsAtRest {
  /** Whether secrets are hashed before they are stored. */
  readonly hashing: boolean;
  readonly #standInKey = randomBytes(32);
  readonly #cache: VerificationCache | undefined;
  readonly #inFlight = new Map<string, Promise<boolean>>();
  readonly #standIns = new Map<string, string>();
  readonly #hashes = new Map<string, string>();
  #dummy: Promise<string> | undefined;

  constructor(options: ResolvedSecretsOptions) {
    this.hashing = options.hash;
    this.#cache = options.cache && new VerificationCache(options.cache);
  }

  // ---- the provider's view ---------------------------------------------------------------------

  #tag(hash: string): string {
    return createHmac('sha256', this.#standInKey).update(hash).digest('base64url');
  }

  /** A stored secret as the provider's `Client` model gets it: a hash becomes its stand-in. */
  forProvider(secret: unknown): unknown {
    if (typeof secret !== 'string') return secret;
    const known = this.#standIns.get(secret);
    if (known !== undefined) return known;
    if (!isSecretHash(secret)) return secret;
    const standIn = `${secret}#${this.#tag(secret)}`;
    remember(this.#standIns, secret, standIn);
    return standIn;
  }

  /** The stored hash behind a stand-in this process made, or undefined for anything else. */
  hashOf(secret: unknown): string | undefined {
    if (typeof secret !== 'string') return undefined;
    const known = this.#hashes.get(secret);
    if (known !== undefined) return known;
    const at = secret.lastIndexOf('#');
    if (at < 0) return undefined;
    const hash = secret.slice(0, at);
    const tag = Buffer.from(secret.slice(at + 1));
    const expected = Buffer.from(this.#tag(hash));
    if (tag.length !== expected.length || !timingSafeEqual(tag, expected) || !isSecretHash(hash)) return undefined;
    remember(this.#hashes, secret, hash);
    return hash;
  }

  // ---- verification ----------------------------------------------------------------------------

  /** Successful verifications the cache holds now (0 without a cache). */
  get cachedVerifications(): number {
    return this.#cache?.size ?? 0;
  }

  /**
   * Whether `presented` is the secret `hash` was made from. With the cache, a recent success for the
   * same client and hash answers at once, and concurrent checks of one triple share one scrypt run.
   */
  async verify(clientId: string | undefined, hash: string, presented: string): Promise<boolean> {
    const cache = this.#cache;
    if (!cache || typeof clientId !== 'string') return verifySecret(hash, presented);
    const key = cache.keyOf(clientId, hash, presented);
    if (cache.has(key)) return true;
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = verifySecret(hash, presented).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    const matches = await pending;
    if (matches) cache.remember(key);
    return matches;
  }

  /**
   * The work of a failed verification, for a failure that did not need it (an unknown client, a
   * plaintext record): all failures then cost the same.
   */
  async dummyVerify(presented: string): Promise<void> {
    this.#dummy ??= hashSecret(randomBytes(32).toString('base64url'));
    await verifySecret(await this.#dummy, presented);
  }

  // ---- what is stored --------------------------------------------------------------------------

  #hashed(metadata: ClientMetadata, hash: string): ClientMetadata {
    const need = plaintextNeed(metadata);
    if (need) throw invalidClientMetadata(plaintextRefusal(need));
    return { ...metadata, client_secret: hash };
  }

  /**
   * Refuses a registration request that asks for what a hashed secret cannot do, before the schema
   * sees it (so the answer names this reason, also for algorithms the provider does not support).
   */
  checkRequest(input: Readonly<Record<string, unknown>>): void {
    if (!this.hashing) return;
    const need = plaintextNeed(input);
    if (need) throw invalidClientMetadata(plaintextRefusal(need));
  }

  /**
   * Metadata of an out-of-band registration as it is to be stored. The same secret registered again
   * keeps the stored hash (hashes have random salts), so that re-registering unchanged metadata is
   * answered `unchanged` — also with hashing off, so that no import turns a hash back into plaintext.
   */
  async forRegistration(
    metadata: ClientMetadata,
    current: () => Promise<StoredClient | undefined>,
  ): Promise<ClientMetadata> {
    const secret = metadata.client_secret;
    if (typeof secret !== 'string') return metadata;
    if (isSecretHash(secret) || this.hashOf(secret)) {
      throw invalidClientMetadata('client_secret must be the secret itself, not a hash of it');
    }
    const stored = (await current())?.metadata.client_secret;
    if (isSecretHash(stored) && (await verifySecret(stored, secret))) return this.#hashed(metadata, stored);
    return this.hashing ? this.#hashed(metadata, await hashSecret(secret)) : metadata;
  }

  /** Metadata of a new client whose secret this server made (generated keys). */
  async forNewClient(metadata: ClientMetadata): Promise<ClientMetadata> {
    const secret = metadata.client_secret;
    if (!this.hashing || typeof secret !== 'string') return metadata;
    return this.#hashed(metadata, await hashSecret(secret));
  }

  /**
   * Metadata with a rotated secret. A client registered before hashing that needs the plaintext keeps
   * getting it: it cannot be refused after the fact.
   */
  async withRotatedSecret(metadata: ClientMetadata, secret: string): Promise<ClientMetadata> {
    if (!this.hashing || plaintextNeed(metadata)) return { ...metadata, client_secret: secret };
    return { ...metadata, client_secret: await hashSecret(secret) };
  }

  /**
   * Metadata the provider writes (RFC 7591 registration, RFC 7592 update) as it is to be stored: a
   * stand-in coming back is its hash again; a new secret is hashed when hashing is on.
   */
  async forProviderWrite(metadata: ClientMetadata): Promise<ClientMetadata> {
    const secret = metadata.client_secret;
    if (typeof secret !== 'string') return metadata;
    const kept = this.hashOf(secret) ?? (isSecretHash(secret) ? secret : undefined);
    if (kept) return this.#hashed(metadata, kept);
    return this.hashing ? this.#hashed(metadata, await hashSecret(secret)) : metadata;
  }
}
