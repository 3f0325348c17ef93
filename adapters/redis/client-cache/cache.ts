import type { RedisClient } from '../client.js';
import { Lru } from './lru.js';
import type { ClientCacheSettings } from './options.js';
import { trackingSource } from './source.js';
import { Tracker, type ClientCacheState } from './tracker.js';

/** A client record as HGETALL gave it, frozen; `{}` when there was no such key. */
export type CachedHash = Readonly<Record<string, string>>;

export interface ClientCacheStats {
  readonly state: ClientCacheState;
  /** Reads answered from memory. */
  readonly hits: number;
  /** Reads that went to Redis with the cache tracking (and may have filled it). */
  readonly misses: number;
  /** Reads that went to Redis because tracking was not established. */
  readonly bypassed: number;
  /** Keys invalidated by the server. */
  readonly invalidations: number;
  /** Times the whole cache was dropped (disconnect, flush, failed check). */
  readonly drops: number;
  /** Times tracking was (re-)established. */
  readonly established: number;
  readonly size: number;
}

/** A read that went to Redis; `stale` once its key was invalidated (or the cache dropped) meanwhile. */
interface InFlight {
  stale: boolean;
  promise: Promise<CachedHash>;
}

/**
 * The records themselves: served from memory only while the tracker says so, and never one read
 * before a change whose invalidation was handled (see index.ts for the rules).
 */
export class ClientCache {
  readonly #settings: ClientCacheSettings;
  readonly #tracker: Tracker;
  readonly #records: Lru<CachedHash>;
  readonly #absent: Lru<CachedHash>;
  readonly #inFlight = new Map<string, InFlight>();
  /** Bumped whenever the cache is dropped: a read that started in an older epoch is never kept. */
  #epoch = 0;
  #stats = { hits: 0, misses: 0, bypassed: 0, invalidations: 0 };

  /**
   * @param client The store's client (any `redisStore` takes); the cache opens connections of its own.
   * @param clientPrefix `StoreKeys.clientPrefix`: every client record's key starts with it.
   * @param optionPath How a client the cache cannot track through is named in the TypeError.
   */
  constructor(client: RedisClient, clientPrefix: string, settings: ClientCacheSettings, optionPath = 'client') {
    const source = trackingSource(client, clientPrefix, optionPath);
    this.#settings = settings;
    this.#records = new Lru(settings.maxEntries, settings.maxAgeMs);
    this.#absent = new Lru(Math.max(1, Math.floor(settings.maxEntries / 4)), settings.maxAgeMs);
    this.#tracker = new Tracker(source, settings, {
      invalidate: (key) => this.#invalidate(key),
      forget: () => this.#forget(),
    });
  }

  get state(): ClientCacheState {
    return this.#tracker.state;
  }

  stats(): ClientCacheStats {
    const { drops, established } = this.#tracker.counts();
    return { state: this.state, ...this.#stats, drops, established, size: this.#records.size + this.#absent.size };
  }

  /**
   * Starts the cache if it is idle and resolves whether it serves from memory within `timeoutMs`
   * (reads never wait for it: until then they go to Redis). For start-up checks and tests.
   */
  async tracking(timeoutMs = this.#settings.timeoutMs): Promise<boolean> {
    return this.#tracker.whenTracking(timeoutMs);
  }

  /**
   * The record at `key`: from memory while tracking, else from `load` (one HGETALL on the store's
   * connection). Concurrent misses of one key share one load.
   */
  async read(key: string, load: () => Promise<Record<string, string>>): Promise<CachedHash> {
    if (!this.#tracker.serving()) {
      this.#stats.bypassed += 1;
      return load();
    }
    const now = performance.now();
    const hit = this.#records.get(key, now) ?? this.#absent.get(key, now);
    if (hit) {
      this.#stats.hits += 1;
      return hit;
    }
    const joined = this.#inFlight.get(key);
    if (joined) return joined.promise;
    this.#stats.misses += 1;
    return this.#load(key, load);
  }

  /**
   * Resolves once every invalidation Redis sent before now has been handled: called after each change
   * made through this store, so that this process reads its own changes. Never rejects.
   */
  async fence(): Promise<void> {
    await this.#tracker.fence();
  }

  /** Drops everything and closes both dedicated connections (never the caller's client). */
  async close(): Promise<void> {
    this.#tracker.close();
  }

  #load(key: string, load: () => Promise<Record<string, string>>): Promise<CachedHash> {
    const epoch = this.#epoch;
    const flight: InFlight = { stale: false, promise: Promise.resolve({}) };
    // in the map before `load` runs, so that even a synchronous failure finds it there to remove
    this.#inFlight.set(key, flight);
    flight.promise = (async () => {
      try {
        const value: CachedHash = Object.freeze({ ...(await load()) });
        // through the tracker: the caller's client may have been redirected to another node meanwhile
        if (!flight.stale && epoch === this.#epoch && this.#tracker.serving()) {
          const now = performance.now();
          if (Object.keys(value).length === 0) {
            this.#records.delete(key);
            this.#absent.set(key, value, now);
          } else {
            this.#absent.delete(key);
            this.#records.set(key, value, now);
          }
        }
        return value;
      } finally {
        if (this.#inFlight.get(key) === flight) this.#inFlight.delete(key);
      }
    })();
    return flight.promise;
  }

  #invalidate(key: string): void {
    this.#stats.invalidations += 1;
    this.#records.delete(key);
    this.#absent.delete(key);
    const flight = this.#inFlight.get(key);
    if (flight) {
      flight.stale = true;
      this.#inFlight.delete(key);
    }
  }

  /** Forgets every entry, and every read in flight so that none of them is kept. */
  #forget(): void {
    this.#epoch += 1;
    this.#records.clear();
    this.#absent.clear();
    for (const flight of this.#inFlight.values()) flight.stale = true;
    this.#inFlight.clear();
  }
}
