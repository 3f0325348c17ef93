/** How many ids may be held before expired ones are swept, at least. */
const MIN_SWEEP_SIZE = 1024;

/**
 * The memory store's single-use assertion ids: each (client, jti) is held until its expiry, on the
 * callers' clock (`nowMs`), as the Redis store holds its key for `expiresAtMs - nowMs`.
 */
export class AssertionIds {
  /** (client, jti) → the time it may be used again. */
  readonly #until = new Map<string, number>();
  #sweepAt = MIN_SWEEP_SIZE;

  /** Records the id unless it is held; answers whether it was recorded (false: a replay). */
  use(clientId: string, jti: string, expiresAtMs: number, nowMs: number): boolean {
    // JSON keeps the two parts apart whatever characters they contain
    const key = JSON.stringify([clientId, jti]);
    const held = this.#until.get(key);
    if (held !== undefined && held > nowMs) return false;
    // held at least a millisecond, as Redis's PX cannot be 0
    this.#until.set(key, Math.max(expiresAtMs, nowMs + 1));
    this.#sweepIfLarge(nowMs);
    return true;
  }

  /** Drops expired ids whenever their number has doubled: it holds about the live ones, not every id ever used. */
  #sweepIfLarge(nowMs: number): void {
    if (this.#until.size < this.#sweepAt) return;
    for (const [key, until] of this.#until) if (until <= nowMs) this.#until.delete(key);
    this.#sweepAt = Math.max(MIN_SWEEP_SIZE, this.#until.size * 2);
  }
}
