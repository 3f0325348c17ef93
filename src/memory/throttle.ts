import type { AttemptKey, AttemptLimits } from '../store.js';

/** Failure timestamps of one throttling window, oldest first, and the window length they were kept for. */
interface AttemptWindow {
  times: number[];
  windowMs: number;
}

/** How many windows may exist before expired ones are swept, at least. */
const MIN_SWEEP_SIZE = 1024;

/**
 * The memory store's throttling of failed provide-keys attempts: two sliding windows per attempt, one
 * per (caller, client) and one per client. The readable reference of what the Redis scripts do.
 */
export class AttemptWindows {
  readonly #windows = new Map<string, AttemptWindow>();
  #sweepAt = MIN_SWEEP_SIZE;

  /** Records a failure in both windows unless one is full; resolves the wait then (0: recorded). */
  record(attempt: AttemptKey, limits: AttemptLimits, nowMs: number): number {
    const retryAfterMs = this.retryAfter(attempt, limits, nowMs);
    if (retryAfterMs > 0) return retryAfterMs;
    for (const key of [callerWindowKey(attempt), clientWindowKey(attempt)]) {
      let window = this.#windows.get(key);
      if (!window) {
        window = { times: [], windowMs: limits.windowMs };
        this.#windows.set(key, window);
      }
      window.windowMs = limits.windowMs;
      // Kept sorted, so the oldest leave from the front even if callers' clocks disagree slightly.
      const at = window.times.findLastIndex((t) => t <= nowMs) + 1;
      window.times.splice(at, 0, nowMs);
    }
    this.#sweepIfLarge(nowMs);
    return 0;
  }

  /** Forgets a client's window of failures from every caller; each caller's own window stays. */
  clear(clientId: string): boolean {
    return this.#windows.delete(clientWindowKey({ clientId }));
  }

  /** Milliseconds until both windows are below their limits again; 0 when they already are. */
  retryAfter(attempt: AttemptKey, limits: AttemptLimits, nowMs: number): number {
    return Math.max(
      this.#windowRetryAfter(callerWindowKey(attempt), limits.perCaller, limits.windowMs, nowMs),
      this.#windowRetryAfter(clientWindowKey(attempt), limits.perClient, limits.windowMs, nowMs),
    );
  }

  #windowRetryAfter(key: string, limit: number, windowMs: number, nowMs: number): number {
    const window = this.#windows.get(key);
    if (!window) return 0;
    // A failure at t counts while nowMs - t < windowMs.
    const firstLive = window.times.findIndex((t) => t > nowMs - windowMs);
    if (firstLive === -1) {
      this.#windows.delete(key);
      return 0;
    }
    if (firstLive > 0) window.times.splice(0, firstLive);
    const { times } = window;
    if (times.length < limit) return 0;
    // The oldest (count - limit + 1) failures must leave; the last of them leaves at its t + windowMs.
    const leaving = times[Math.min(times.length - limit, times.length - 1)] as number;
    return Math.max(1, leaving + windowMs - nowMs);
  }

  /** Drops windows whose failures have all expired, whenever the number of windows has doubled. */
  #sweepIfLarge(nowMs: number): void {
    if (this.#windows.size < this.#sweepAt) return;
    for (const [key, window] of this.#windows) {
      const newest = window.times[window.times.length - 1];
      if (newest === undefined || newest <= nowMs - window.windowMs) this.#windows.delete(key);
    }
    this.#sweepAt = Math.max(MIN_SWEEP_SIZE, this.#windows.size * 2);
  }
}

// JSON arrays keep the two parts apart whatever characters they contain.
const callerWindowKey = (attempt: AttemptKey) => JSON.stringify(['caller', attempt.caller, attempt.clientId]);
const clientWindowKey = (attempt: Pick<AttemptKey, 'clientId'>) => JSON.stringify(['client', attempt.clientId]);
