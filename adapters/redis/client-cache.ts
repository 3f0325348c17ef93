import type { Redis } from 'ioredis';

import { Connection, type Arg, type RedisClient, type Script } from './connection.js';

/**
 * An opt-in, in-process cache of client records (`redisStore({ clientCache })`), so that the token
 * endpoint's client lookup costs no round trip. Redis tells every process when a record changes:
 *
 * - one dedicated connection (the *tracker*) runs `CLIENT TRACKING ON BCAST PREFIX <client key prefix>
 *   REDIRECT <subscriber id>`: from then on the server reports every change of a key under that prefix
 *   (creation, change, deletion, expiry, FLUSHALL) whoever makes it, whether or not we read it;
 * - a second one (the *subscriber*) is SUBSCRIBEd to `__redis__:invalidate` and receives those reports
 *   (RESP2: a Pub/Sub message with the list of keys, or nil for a flush).
 *
 * Both are `duplicate()`s of the caller's ioredis client: tracking is never enabled on the caller's own
 * connection. Reads still go through the store's connection (with its timeout and 503 rules); in BCAST
 * mode the server does not need to have seen a key read to report its changes.
 *
 * Correctness rules, in order of importance:
 * 1. Nothing is served from memory unless tracking is known to be on, redirected to our live
 *    subscriber. Whenever either connection closes, the subscriber answers nothing, tracking turns out
 *    off or redirected elsewhere, or a flush arrives, the whole cache is dropped and reads go to Redis
 *    until tracking is established again on fresh connections.
 * 2. A value read before a change must never be cached after that change's invalidation was handled:
 *    a read in flight is marked stale when its key is invalidated (and every read in flight when the
 *    cache is dropped, via an epoch), and a stale read's answer is returned but not kept. Later readers
 *    never join a read that started before an invalidation.
 * 3. A change made through this store resolves only once this process has handled its invalidation
 *    (a PING on the subscriber after the change: Redis writes the invalidation to the subscriber before
 *    it reads our PING), so a process always reads its own changes.
 * 4. Entries expire after `maxAgeMs` whatever happens, bounding what no invalidation covers.
 *
 * What remains is the window of every invalidation scheme: another process's change is seen here once
 * its invalidation message has crossed the network and been read by this process's event loop (in the
 * order of microseconds to a few milliseconds); a request this process handles in between is answered
 * from the old record.
 */

/** Options of `redisStore({ clientCache })`. */
export interface ClientCacheOptions {
  /**
   * Most client records kept in memory; the least recently used go first. Default 10000. "No such
   * client" answers are kept apart, at most a quarter as many, so that made-up client ids cannot evict
   * real clients.
   */
  readonly maxEntries?: number;
  /**
   * Longest time in milliseconds a record is served from memory, invalidations or not: a bound on what
   * no invalidation reports (a connection that died silently until the heartbeat notices). Default 60000.
   */
  readonly maxAgeMs?: number;
}

export interface ClientCacheSettings {
  readonly maxEntries: number;
  readonly maxAgeMs: number;
  /** Bound of every command on the dedicated connections (the store's `timeoutMs`). */
  readonly timeoutMs: number;
  /** How often both dedicated connections are checked (PING, CLIENT TRACKINGINFO). */
  readonly heartbeatMs: number;
  /** Where a server that cannot track (Redis before 6.2, CLIENT refused by an ACL) is reported, once. */
  readonly warn: (message: string) => void;
}

export const CLIENT_CACHE_DEFAULTS = { maxEntries: 10_000, maxAgeMs: 60_000, heartbeatMs: 5_000 } as const;

/** A client record as HGETALL gave it, frozen; `{}` when there was no such key. */
export type CachedHash = Readonly<Record<string, string>>;

/** `idle` until first used; `tracking` serves from memory; `bypass` reads through to Redis. */
export type ClientCacheState = 'idle' | 'bypass' | 'tracking' | 'unsupported' | 'closed';

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

const CHANNEL = '__redis__:invalidate';
const TRACKER_NAME = 'appkeys-client-cache-tracker';
const SUBSCRIBER_NAME = 'appkeys-client-cache-invalidations';

/** `redisStore`'s `clientCache` option, checked: undefined when off. */
export function clientCacheSettings(value: unknown, timeoutMs: number, optionPath: string): ClientCacheSettings | undefined {
  if (value === undefined || value === false) return undefined;
  const shape = `${optionPath} must be true, false or { maxEntries?, maxAgeMs? }`;
  if (value !== true && (value === null || typeof value !== 'object' || Array.isArray(value))) throw new TypeError(shape);
  const options = (value === true ? {} : value) as Record<string, unknown>;
  for (const name of Object.keys(options)) {
    if (name !== 'maxEntries' && name !== 'maxAgeMs') throw new TypeError(`${shape}; unknown option ${name}`);
  }
  const positive = (name: 'maxEntries' | 'maxAgeMs'): number => {
    const given = options[name] ?? CLIENT_CACHE_DEFAULTS[name];
    if (typeof given !== 'number' || !Number.isSafeInteger(given) || given <= 0) {
      throw new TypeError(`${optionPath}.${name} must be a positive integer`);
    }
    return given;
  };
  return {
    maxEntries: positive('maxEntries'),
    maxAgeMs: positive('maxAgeMs'),
    timeoutMs,
    heartbeatMs: CLIENT_CACHE_DEFAULTS.heartbeatMs,
    warn: (message: string) => process.emitWarning(message, { code: 'APPKEYS_CLIENT_CACHE' }),
  };
}

const storeCaches = new WeakMap<object, ClientCache>();

/** The client cache of a store made by `redisStore({ clientCache })`, for its stats; undefined otherwise. */
export function clientCacheOf(store: object): ClientCache | undefined {
  return storeCaches.get(store);
}

/** Records `cache` as `store`'s, for `clientCacheOf`; returns the store. */
export function withClientCache<T extends object>(store: T, cache: ClientCache): T {
  storeCaches.set(store, cache);
  return store;
}

/**
 * The cache `redisStore({ clientCache })` asks for, or undefined when it is off; a TypeError when
 * misconfigured. The client must be a standalone ioredis client (with or without sentinels): a Cluster
 * would need tracking on the node that owns the slot, and node-redis has its own RESP3 client-side cache.
 */
export function clientCacheFor(
  value: unknown, client: RedisClient, clientPrefix: string, timeoutMs: number, optionPath: string,
): ClientCache | undefined {
  const settings = clientCacheSettings(value, timeoutMs, optionPath);
  if (!settings) return undefined;
  if (!isStandaloneIoredis(client)) {
    throw new TypeError(`${optionPath} needs a standalone ioredis client (Redis, with or without sentinels); Redis Cluster and node-redis clients are not supported`);
  }
  return new ClientCache(client, clientPrefix, settings);
}

function isStandaloneIoredis(client: unknown): client is Redis {
  const candidate = client as Record<string, unknown> | null;
  return !!candidate && typeof candidate === 'object' && typeof candidate.call === 'function'
    && typeof candidate.status === 'string' && typeof candidate.duplicate === 'function'
    && candidate.isCluster !== true && typeof candidate.options === 'object';
}

/** A bounded map in least-recently-used order (a Map keeps insertion order), whose entries expire. */
class Lru {
  readonly #entries = new Map<string, { readonly value: CachedHash; readonly at: number }>();
  readonly #max: number;
  readonly #maxAgeMs: number;

  constructor(max: number, maxAgeMs: number) {
    this.#max = max;
    this.#maxAgeMs = maxAgeMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, now: number): CachedHash | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (now - entry.at > this.#maxAgeMs) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: CachedHash, now: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, at: now });
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}

/** A read that went to Redis; `stale` once its key was invalidated (or the cache dropped) meanwhile. */
interface InFlight {
  stale: boolean;
  promise: Promise<CachedHash>;
}

export class ClientCache {
  readonly #client: Redis;
  readonly #settings: ClientCacheSettings;
  /** The ioredis `keyPrefix` of the caller's client: what the server's key names start with, beyond ours. */
  readonly #keyPrefix: string;
  /** The prefix tracked, as the server names keys. */
  readonly #trackedPrefix: string;
  readonly #records: Lru;
  readonly #absent: Lru;
  readonly #inFlight = new Map<string, InFlight>();

  #state: ClientCacheState = 'idle';
  /** Bumped whenever the cache is dropped: a read that started in an older epoch is never kept. */
  #epoch = 0;
  #tracker: Redis | undefined;
  #subscriber: Redis | undefined;
  /** CLIENT ID of the subscriber while it is connected and subscribed. */
  #subscriberId: string | undefined;
  /** Bumped on every connect and disconnect of each connection, so a stale set-up step stands down. */
  #trackerGeneration = 0;
  #subscriberGeneration = 0;
  #establishing = false;
  #subscribing = false;
  #heartbeat: NodeJS.Timeout | undefined;
  /** Callers of `tracking()` waiting for tracking to be established. */
  readonly #waiters = new Set<() => void>();
  #stats = { hits: 0, misses: 0, bypassed: 0, invalidations: 0, drops: 0, established: 0 };

  /** @param clientPrefix `StoreKeys.clientPrefix`: every client record's key starts with it. */
  constructor(client: Redis, clientPrefix: string, settings: ClientCacheSettings) {
    this.#client = client;
    this.#settings = settings;
    this.#keyPrefix = client.options.keyPrefix ?? '';
    this.#trackedPrefix = this.#keyPrefix + clientPrefix;
    this.#records = new Lru(settings.maxEntries, settings.maxAgeMs);
    this.#absent = new Lru(Math.max(1, Math.floor(settings.maxEntries / 4)), settings.maxAgeMs);
  }

  get state(): ClientCacheState {
    return this.#state;
  }

  stats(): ClientCacheStats {
    return { state: this.#state, ...this.#stats, size: this.#records.size + this.#absent.size };
  }

  /**
   * Starts the cache if it is idle and resolves whether it serves from memory within `timeoutMs`
   * (reads never wait for it: until then they go to Redis). For start-up checks and tests.
   */
  async tracking(timeoutMs = this.#settings.timeoutMs): Promise<boolean> {
    if (this.#state === 'idle') this.#start();
    if (this.#state === 'tracking') return true;
    if (this.#state !== 'bypass') return false;
    let waiter = () => {};
    const established = new Promise<void>((resolve) => {
      waiter = resolve;
      this.#waiters.add(resolve);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); });
    try {
      await Promise.race([established, timeout]);
    } finally {
      clearTimeout(timer);
      this.#waiters.delete(waiter);
    }
    // through the getter: the state changed while we waited
    return this.state === 'tracking';
  }

  /**
   * The record at `key`: from memory while tracking, else from `load` (one HGETALL on the store's
   * connection). Concurrent misses of one key share one load.
   */
  async read(key: string, load: () => Promise<Record<string, string>>): Promise<CachedHash> {
    if (this.#state === 'idle') this.#start();
    if (this.#state === 'tracking' && !this.#connectionsReady()) {
      // a connection closed and its event has not run yet: an invalidation may be lost already
      this.#drop('bypass');
    }
    if (this.#state !== 'tracking') {
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

  #load(key: string, load: () => Promise<Record<string, string>>): Promise<CachedHash> {
    const epoch = this.#epoch;
    const flight: InFlight = { stale: false, promise: Promise.resolve({}) };
    // in the map before `load` runs, so that even a synchronous failure finds it there to remove
    this.#inFlight.set(key, flight);
    flight.promise = (async () => {
      try {
        const value: CachedHash = Object.freeze({ ...(await load()) });
        if (!flight.stale && epoch === this.#epoch && this.#state === 'tracking') {
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

  /**
   * Resolves once every invalidation Redis sent before now has been handled: called after each change
   * made through this store, so that this process reads its own changes. Never rejects; when the
   * subscriber does not answer, the cache is dropped instead.
   */
  async fence(): Promise<void> {
    const subscriber = this.#subscriber;
    if (this.#state !== 'tracking' || !subscriber) return;
    try {
      await this.#bounded(subscriber.ping());
    } catch {
      this.#drop('bypass');
      this.#reconnect(subscriber);
    }
  }

  /** Drops everything and closes both dedicated connections (never the caller's client). */
  async close(): Promise<void> {
    this.#drop('closed');
    for (const resolve of this.#waiters) resolve();
    this.#waiters.clear();
    clearInterval(this.#heartbeat);
    this.#tracker?.disconnect();
    this.#subscriber?.disconnect();
  }

  // ---- invalidation ---------------------------------------------------------------------------------

  #invalidate(serverKey: string): void {
    const key = serverKey.startsWith(this.#keyPrefix) ? serverKey.slice(this.#keyPrefix.length) : serverKey;
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

  /** Forgets everything and stops serving from memory until tracking is established again. */
  #drop(next: 'bypass' | 'closed'): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'tracking') this.#stats.drops += 1;
    if (this.#state !== 'unsupported' || next === 'closed') this.#state = next;
    this.#forget();
  }

  #onMessage(channel: Buffer, message: unknown): void {
    if (channel.toString() !== CHANNEL) return;
    if (message === null || message === undefined) {
      // FLUSHALL, FLUSHDB, SWAPDB and the like: every key may have changed; tracking itself goes on
      if (this.#state === 'tracking') this.#stats.drops += 1;
      this.#forget();
      return;
    }
    for (const key of Array.isArray(message) ? message : [message]) {
      this.#invalidate(Buffer.isBuffer(key) ? key.toString('utf8') : String(key));
    }
  }

  // ---- connections ----------------------------------------------------------------------------------

  #start(): void {
    this.#state = 'bypass';
    const common = {
      lazyConnect: true,
      // this class subscribes and enables tracking itself, on each new connection, in order
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      // a command for a connection that is down fails at once instead of waiting for it
      enableOfflineQueue: false,
      // the tracked prefix and the channel are absolute names
      keyPrefix: '',
    };
    const tracker = this.#client.duplicate({ ...common, connectionName: TRACKER_NAME });
    const subscriber = this.#client.duplicate({ ...common, connectionName: SUBSCRIBER_NAME });
    this.#tracker = tracker;
    this.#subscriber = subscriber;
    // connection errors show as close and ready events; an unhandled 'error' would only be printed
    tracker.on('error', () => {});
    subscriber.on('error', () => {});
    tracker.on('ready', () => {
      this.#trackerGeneration += 1;
      this.#drop('bypass');
      void this.#establish();
    });
    tracker.on('close', () => {
      this.#trackerGeneration += 1;
      this.#drop('bypass');
    });
    subscriber.on('ready', () => void this.#subscribe(subscriber));
    subscriber.on('close', () => {
      this.#subscriberGeneration += 1;
      this.#subscriberId = undefined;
      this.#drop('bypass');
    });
    subscriber.on('messageBuffer', (channel: Buffer, message: unknown) => this.#onMessage(channel, message));
    tracker.connect().catch(() => {});
    subscriber.connect().catch(() => {});
    this.#heartbeat = setInterval(() => void this.#check(), this.#settings.heartbeatMs);
    this.#heartbeat.unref();
  }

  #connectionsReady(): boolean {
    return this.#tracker?.status === 'ready' && this.#subscriber?.status === 'ready';
  }

  /** On each (re)connection of the subscriber: learn its id, then subscribe (no command but PING after). */
  async #subscribe(subscriber: Redis): Promise<void> {
    const generation = ++this.#subscriberGeneration;
    this.#subscriberId = undefined;
    this.#drop('bypass');
    this.#subscribing = true;
    try {
      const id = String(await this.#bounded(subscriber.call('CLIENT', 'ID')));
      await this.#bounded(subscriber.subscribe(CHANNEL));
      if (generation !== this.#subscriberGeneration) return;
      this.#subscriberId = id;
    } catch (err) {
      this.#setUpFailed(err, subscriber, generation === this.#subscriberGeneration);
      return;
    } finally {
      if (generation === this.#subscriberGeneration) this.#subscribing = false;
    }
    await this.#establish();
  }

  /**
   * A set-up step failed. A refusal that will not change (an ACL, a server without client tracking)
   * turns the cache off for good, with a warning; another refusal (BUSY, LOADING…) is retried by the
   * heartbeat; a timeout or lost connection reconnects that connection, which reruns the set-up.
   */
  #setUpFailed(err: unknown, connection: Redis, current: boolean): void {
    if (isReplyError(err) && PERMANENT_REFUSAL.test((err as Error).message)) {
      this.#state = 'unsupported';
      clearInterval(this.#heartbeat);
      this.#tracker?.disconnect();
      this.#subscriber?.disconnect();
      this.#settings.warn(`redisStore clientCache is off: the server refused client tracking (${(err as Error).message}); `
        + 'every client lookup goes to Redis. It needs Redis 6.2 or later and, with ACLs, the CLIENT command and '
        + `the ${CHANNEL} channel.`);
    } else if (!isReplyError(err) && current) {
      this.#reconnect(connection);
    }
  }

  /**
   * Turns tracking on, redirected to the current subscriber, and starts serving from memory once the
   * server confirms it, provided neither connection changed meanwhile.
   */
  async #establish(): Promise<void> {
    const tracker = this.#tracker;
    const subscriberId = this.#subscriberId;
    if (this.#establishing || this.#state !== 'bypass' || !tracker || subscriberId === undefined || !this.#connectionsReady()) return;
    this.#establishing = true;
    const generations = [this.#trackerGeneration, this.#subscriberGeneration];
    try {
      // OFF first: BCAST cannot be switched on again, nor the redirect changed, while tracking is on
      await this.#bounded(tracker.call('CLIENT', 'TRACKING', 'OFF'));
      await this.#bounded(tracker.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', subscriberId, 'BCAST', 'PREFIX', this.#trackedPrefix));
      const problem = trackingProblem(await this.#bounded(tracker.call('CLIENT', 'TRACKINGINFO')), subscriberId);
      if (problem) throw new Error(problem);
    } catch (err) {
      this.#setUpFailed(err, tracker, generations[0] === this.#trackerGeneration);
      return;
    } finally {
      this.#establishing = false;
    }
    if (generations[0] !== this.#trackerGeneration || generations[1] !== this.#subscriberGeneration
      || subscriberId !== this.#subscriberId || this.#state !== 'bypass' || !this.#connectionsReady()) {
      return;
    }
    this.#epoch += 1;
    this.#state = 'tracking';
    this.#stats.established += 1;
    for (const resolve of this.#waiters) resolve();
    this.#waiters.clear();
  }

  /**
   * The heartbeat: while tracking, both connections must answer and tracking must still be on and
   * redirected to our subscriber; otherwise drop everything and reconnect. While bypassing, retry.
   */
  async #check(): Promise<void> {
    const tracker = this.#tracker;
    const subscriber = this.#subscriber;
    if (!tracker || !subscriber || this.#state === 'closed' || this.#state === 'unsupported') return;
    // a caller's retryStrategy may give up; the cache keeps trying on its own schedule
    for (const connection of [tracker, subscriber]) {
      if (connection.status === 'end') connection.connect().catch(() => {});
    }
    if (this.#state !== 'tracking') {
      // a subscriber whose set-up was refused starts again on a fresh connection
      if (subscriber.status === 'ready' && this.#subscriberId === undefined && !this.#subscribing) this.#reconnect(subscriber);
      else void this.#establish();
      return;
    }
    const subscriberId = this.#subscriberId;
    const [info, pong] = await Promise.allSettled([
      this.#bounded(tracker.call('CLIENT', 'TRACKINGINFO')),
      this.#bounded(subscriber.ping()),
    ]);
    if (this.#state !== 'tracking' || subscriberId !== this.#subscriberId) return;
    if (pong.status === 'rejected') {
      this.#drop('bypass');
      this.#reconnect(subscriber);
    }
    if (info.status === 'rejected' || trackingProblem(info.value, subscriberId ?? '')) {
      this.#drop('bypass');
      if (info.status === 'rejected') this.#reconnect(tracker);
      else void this.#establish();
    }
  }

  /** Closes a connection that misbehaves; its retry strategy connects it again, and set-up reruns. */
  #reconnect(connection: Redis): void {
    if (this.#state === 'closed') return;
    connection.disconnect(true);
  }

  async #bounded<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`client cache: no answer within ${this.#settings.timeoutMs} ms`)), this.#settings.timeoutMs);
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** What is wrong with a CLIENT TRACKINGINFO reply, given the subscriber we redirect to; undefined if nothing. */
function trackingProblem(reply: unknown, subscriberId: string): string | undefined {
  if (!Array.isArray(reply)) return 'unexpected CLIENT TRACKINGINFO reply';
  const fields = new Map<string, unknown>();
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
  const flags = fields.get('flags');
  const flagList = Array.isArray(flags) ? flags.map(String) : [];
  if (!flagList.includes('on') || !flagList.includes('bcast')) return 'tracking is off';
  if (flagList.includes('broken_redirect')) return 'the redirect is broken';
  if (String(fields.get('redirect')) !== subscriberId) return 'tracking redirects to another client';
  return undefined;
}

/** Refusals that retrying will not change: no such command or subcommand (before 6.2), no permission. */
const PERMANENT_REFUSAL = /^(NOPERM|ERR unknown (sub)?command|ERR Unknown subcommand|ERR syntax error)/i;

function isReplyError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

/**
 * The store's connection when the cache is on: every change resolves only after the cache has handled
 * the invalidations it caused (`fence`), also when it failed (it may have landed before a timeout).
 */
export class FencedConnection extends Connection {
  readonly #cache: ClientCache;

  constructor(cache: ClientCache, ...args: ConstructorParameters<typeof Connection>) {
    super(...args);
    this.#cache = cache;
  }

  override async run(script: Script, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    try {
      return await super.run(script, keys, args);
    } finally {
      if (script.deadline) await this.#cache.fence();
    }
  }
}
