import { createHmac, randomBytes } from 'node:crypto';

export interface VerificationCacheLimits {
  readonly maxEntries: number;
  readonly maxAgeMs: number;
}

/**
 * Recent successful verifications of this process, so that a client asking for tokens often pays for
 * scrypt once per `maxAgeMs` rather than once per request. An entry is keyed by an HMAC, under a key
 * drawn when the process starts, of (client_id, stored hash, presented secret): it holds no secret
 * and no plain digest of one, and a rotated secret (another stored hash) never matches an old entry.
 * Only successes are recorded. Entries expire `maxAgeMs` after they were made, whatever their use.
 */
export class VerificationCache {
  readonly #key = randomBytes(32);
  readonly #limits: VerificationCacheLimits;
  /** Key → expiry (ms); a Map iterates in insertion order, so the first entry is the least recently used. */
  readonly #entries = new Map<string, number>();

  constructor(limits: VerificationCacheLimits) {
    this.#limits = limits;
  }

  /** The entry's key; each part is length-prefixed so that no two triples share one. */
  keyOf(clientId: string, storedHash: string, presented: string): string {
    const hmac = createHmac('sha256', this.#key);
    for (const part of [clientId, storedHash, presented]) {
      const bytes = Buffer.from(part, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      hmac.update(length).update(bytes);
    }
    return hmac.digest('base64url');
  }

  has(key: string, now = Date.now()): boolean {
    const expires = this.#entries.get(key);
    if (expires === undefined) return false;
    this.#entries.delete(key);
    if (expires <= now) return false;
    this.#entries.set(key, expires);
    return true;
  }

  remember(key: string, now = Date.now()): void {
    this.#entries.delete(key);
    this.#entries.set(key, now + this.#limits.maxAgeMs);
    while (this.#entries.size > this.#limits.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
