import type { Redis } from 'ioredis';

import type { ClientCacheSettings } from './options.js';

/** `idle` until first used; `tracking` serves from memory; `bypass` reads through to Redis. */
export type ClientCacheState = 'idle' | 'bypass' | 'tracking' | 'unsupported' | 'closed';

/** What the tracker tells the cache it keeps current. */
export interface TrackerListener {
  /** The record at `key` (as the store names it, without the client's `keyPrefix`) changed. */
  invalidate(key: string): void;
  /** Every record may have changed, or a change may go unreported: forget entries and reads in flight. */
  forget(): void;
}

const CHANNEL = '__redis__:invalidate';
const TRACKER_NAME = 'appkeys-client-cache-tracker';
const SUBSCRIBER_NAME = 'appkeys-client-cache-invalidations';

/**
 * Keeps Redis reporting every change of a client record to this process, on two `duplicate()`s of the
 * caller's ioredis client (tracking is never enabled on the caller's own connection):
 *
 * - the *tracker* runs `CLIENT TRACKING ON BCAST PREFIX <client key prefix> REDIRECT <subscriber id>`:
 *   from then on the server reports every change of a key under that prefix (creation, change,
 *   deletion, expiry, FLUSHALL) whoever makes it, whether or not we read it;
 * - the *subscriber* is SUBSCRIBEd to `__redis__:invalidate` and receives those reports (RESP2: a
 *   Pub/Sub message with the list of keys, or nil for a flush).
 *
 * Its state says whether the cache may serve from memory: only while tracking is known to be on,
 * redirected to our live subscriber. Whenever either connection closes, the subscriber answers nothing,
 * tracking turns out off or redirected elsewhere, the listener is told to forget everything and the
 * state falls back to `bypass` until tracking is established again on fresh connections.
 */
export class Tracker {
  readonly #client: Redis;
  readonly #settings: Pick<ClientCacheSettings, 'timeoutMs' | 'heartbeatMs' | 'warn'>;
  readonly #listener: TrackerListener;
  /** The ioredis `keyPrefix` of the caller's client: what the server's key names start with, beyond ours. */
  readonly #keyPrefix: string;
  /** The prefix tracked, as the server names keys. */
  readonly #trackedPrefix: string;

  #state: ClientCacheState = 'idle';
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
  /** Callers of `whenTracking()` waiting for tracking to be established. */
  readonly #waiters = new Set<() => void>();
  #drops = 0;
  #established = 0;

  /** @param clientPrefix `StoreKeys.clientPrefix`: every client record's key starts with it. */
  constructor(
    client: Redis,
    clientPrefix: string,
    settings: Pick<ClientCacheSettings, 'timeoutMs' | 'heartbeatMs' | 'warn'>,
    listener: TrackerListener,
  ) {
    this.#client = client;
    this.#settings = settings;
    this.#listener = listener;
    this.#keyPrefix = client.options.keyPrefix ?? '';
    this.#trackedPrefix = this.#keyPrefix + clientPrefix;
  }

  get state(): ClientCacheState {
    return this.#state;
  }

  /** Times the whole cache was dropped (disconnect, flush, failed check), and tracking (re-)established. */
  counts(): { readonly drops: number; readonly established: number } {
    return { drops: this.#drops, established: this.#established };
  }

  /** Starts tracking if idle, and says whether a read may be served from memory now. */
  serving(): boolean {
    if (this.#state === 'idle') this.#start();
    if (this.#state === 'tracking' && !this.#connectionsReady()) {
      // a connection closed and its event has not run yet: an invalidation may be lost already
      this.#drop('bypass');
    }
    return this.#state === 'tracking';
  }

  /** Starts tracking if idle and resolves whether it is on within `timeoutMs`. */
  async whenTracking(timeoutMs: number): Promise<boolean> {
    if (this.#state === 'idle') this.#start();
    if (this.#state === 'tracking') return true;
    if (this.#state !== 'bypass') return false;
    let waiter = () => {};
    const established = new Promise<void>((resolve) => {
      waiter = resolve;
      this.#waiters.add(resolve);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
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
   * Resolves once every invalidation Redis sent before now has been handled: Redis writes the
   * invalidation to the subscriber before it reads our PING. Never rejects; when the subscriber does not
   * answer, the cache is dropped instead.
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

  /** Forgets everything and closes both dedicated connections (never the caller's client). */
  close(): void {
    this.#drop('closed');
    for (const resolve of this.#waiters) resolve();
    this.#waiters.clear();
    clearInterval(this.#heartbeat);
    this.#tracker?.disconnect();
    this.#subscriber?.disconnect();
  }

  /** Forgets everything and stops serving from memory until tracking is established again. */
  #drop(next: 'bypass' | 'closed'): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'tracking') this.#drops += 1;
    if (this.#state !== 'unsupported' || next === 'closed') this.#state = next;
    this.#listener.forget();
  }

  #onMessage(channel: Buffer, message: unknown): void {
    if (channel.toString() !== CHANNEL) return;
    if (message === null || message === undefined) {
      // FLUSHALL, FLUSHDB, SWAPDB and the like: every key may have changed; tracking itself goes on
      if (this.#state === 'tracking') this.#drops += 1;
      this.#listener.forget();
      return;
    }
    for (const key of Array.isArray(message) ? message : [message]) {
      const serverKey = Buffer.isBuffer(key) ? key.toString('utf8') : String(key);
      this.#listener.invalidate(
        serverKey.startsWith(this.#keyPrefix) ? serverKey.slice(this.#keyPrefix.length) : serverKey,
      );
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
      this.#settings.warn(
        `redisStore clientCache is off: the server refused client tracking (${(err as Error).message}); ` +
          'every client lookup goes to Redis. It needs Redis 6.2 or later and, with ACLs, the CLIENT command and ' +
          `the ${CHANNEL} channel.`,
      );
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
    if (
      this.#establishing ||
      this.#state !== 'bypass' ||
      !tracker ||
      subscriberId === undefined ||
      !this.#connectionsReady()
    )
      return;
    this.#establishing = true;
    const generations = [this.#trackerGeneration, this.#subscriberGeneration];
    try {
      // OFF first: BCAST cannot be switched on again, nor the redirect changed, while tracking is on
      await this.#bounded(tracker.call('CLIENT', 'TRACKING', 'OFF'));
      await this.#bounded(
        tracker.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', subscriberId, 'BCAST', 'PREFIX', this.#trackedPrefix),
      );
      const problem = trackingProblem(await this.#bounded(tracker.call('CLIENT', 'TRACKINGINFO')), subscriberId);
      if (problem) throw new Error(problem);
    } catch (err) {
      this.#setUpFailed(err, tracker, generations[0] === this.#trackerGeneration);
      return;
    } finally {
      this.#establishing = false;
    }
    if (
      generations[0] !== this.#trackerGeneration ||
      generations[1] !== this.#subscriberGeneration ||
      subscriberId !== this.#subscriberId ||
      this.#state !== 'bypass' ||
      !this.#connectionsReady()
    ) {
      return;
    }
    // a read begun before tracking was on is never kept
    this.#listener.forget();
    this.#state = 'tracking';
    this.#established += 1;
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
      if (subscriber.status === 'ready' && this.#subscriberId === undefined && !this.#subscribing)
        this.#reconnect(subscriber);
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
      timer = setTimeout(
        () => reject(new Error(`client cache: no answer within ${this.#settings.timeoutMs} ms`)),
        this.#settings.timeoutMs,
      );
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
