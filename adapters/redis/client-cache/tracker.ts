import type { Invalidation, Link } from './links.js';
import type { ClientCacheSettings } from './options.js';
import { ownershipProblem, permanentRefusal, trackingProblem } from './replies.js';
import type { Placement, TrackingSource } from './source.js';

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
/** First wait before opening connections again after a failure; it doubles up to the heartbeat. */
const RETRY_MS = 100;

/** Two connections to the node holding the records, from their opening until anything goes wrong. */
interface Session {
  readonly placement: Placement;
  readonly tracker: Link;
  readonly subscriber: Link;
  /** CLIENT ID of the subscriber, once it is subscribed. */
  subscriberId?: string;
}

/**
 * Keeps Redis reporting every change of a client record to this process, on two connections of its
 * own to the node that holds them (the server, or on a cluster the master owning the store's slot);
 * tracking is never enabled on the caller's connections:
 *
 * - the *tracker* runs `CLIENT TRACKING ON BCAST PREFIX <client key prefix> REDIRECT <subscriber id>`:
 *   from then on the server reports every change of a key under that prefix (creation, change,
 *   deletion, expiry, FLUSHALL) whoever makes it, whether or not we read it;
 * - the *subscriber* is SUBSCRIBEd to `__redis__:invalidate` and receives those reports (RESP2: a
 *   Pub/Sub message with the list of keys, or nil for a flush).
 *
 * Its state says whether the cache may serve from memory: only while tracking is known to be on,
 * redirected to our live subscriber, on the node the caller's client sends the records' commands to
 * (and, on a cluster, which says it is a master owning their slot). Whenever either connection closes,
 * a check fails or the caller's client routes the slot elsewhere (a failover, a resharding), the
 * listener is told to forget everything, both connections are closed, and the state falls back to
 * `bypass` until tracking is established again on fresh connections to whichever node holds the
 * records then.
 */
export class Tracker {
  readonly #source: TrackingSource;
  readonly #settings: Pick<ClientCacheSettings, 'timeoutMs' | 'heartbeatMs' | 'warn'>;
  readonly #listener: TrackerListener;

  #state: ClientCacheState = 'idle';
  #session: Session | undefined;
  #placing = false;
  #checking = false;
  #retry: NodeJS.Timeout | undefined;
  /** Failed attempts since tracking was last established, for the wait before the next one. */
  #failures = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  /** Callers of `whenTracking()` waiting for tracking to be established. */
  readonly #waiters = new Set<() => void>();
  #drops = 0;
  #established = 0;

  constructor(
    source: TrackingSource,
    settings: Pick<ClientCacheSettings, 'timeoutMs' | 'heartbeatMs' | 'warn'>,
    listener: TrackerListener,
  ) {
    this.#source = source;
    this.#settings = settings;
    this.#listener = listener;
  }

  get state(): ClientCacheState {
    return this.#state;
  }

  /** Times the whole cache was dropped (disconnect, flush, failed check), and tracking (re-)established. */
  counts(): { readonly drops: number; readonly established: number } {
    return { drops: this.#drops, established: this.#established };
  }

  /** Starts tracking if idle, and says whether a read may be served from memory (or kept) now. */
  serving(): boolean {
    if (this.#state === 'idle') this.#start();
    const session = this.#session;
    if (this.#state === 'tracking' && session && !this.#sound(session)) {
      // a connection closed and its event has not run yet, or the caller's client was redirected: an
      // invalidation may be lost already
      this.#lose(session);
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
    const session = this.#session;
    if (this.#state !== 'tracking' || !session) return;
    try {
      await this.#bounded(session.subscriber.ping());
    } catch {
      this.#lose(session);
    }
  }

  /** Forgets everything and closes both dedicated connections (never the caller's client). */
  close(): void {
    this.#drop('closed');
    this.#stop();
    for (const resolve of this.#waiters) resolve();
    this.#waiters.clear();
  }

  /** Forgets everything and stops serving from memory until tracking is established again. */
  #drop(next: 'bypass' | 'closed'): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'tracking') this.#drops += 1;
    if (this.#state !== 'unsupported' || next === 'closed') this.#state = next;
    this.#listener.forget();
  }

  /** Closes the session and every timer, for good. */
  #stop(): void {
    clearInterval(this.#heartbeat);
    clearTimeout(this.#retry);
    this.#retry = undefined;
    const session = this.#session;
    this.#session = undefined;
    session?.tracker.close();
    session?.subscriber.close();
  }

  #active(): boolean {
    return this.#state === 'bypass' || this.#state === 'tracking';
  }

  #onMessage(keys: Invalidation): void {
    if (keys === null) {
      // FLUSHALL, FLUSHDB, SWAPDB and the like: every key may have changed; tracking itself goes on
      if (this.#state === 'tracking') this.#drops += 1;
      this.#listener.forget();
      return;
    }
    const prefix = this.#source.keyPrefix;
    for (const key of keys) this.#listener.invalidate(key.startsWith(prefix) ? key.slice(prefix.length) : key);
  }

  // ---- sessions -------------------------------------------------------------------------------------

  #start(): void {
    this.#state = 'bypass';
    this.#heartbeat = setInterval(() => void this.#check(), this.#settings.heartbeatMs);
    this.#heartbeat.unref();
    void this.#open();
  }

  /** Opens a session on the node that holds the records now, and sets it up. */
  async #open(): Promise<void> {
    if (!this.#active() || this.#session || this.#placing || this.#retry) return;
    this.#placing = true;
    let placement: Placement | undefined;
    try {
      placement = await this.#bounded(this.#source.place());
    } catch {
      placement = undefined;
    } finally {
      this.#placing = false;
    }
    if (!this.#active() || this.#session) return;
    if (!placement) {
      this.#retryLater();
      return;
    }
    const links: Link[] = [];
    const lost = () => this.#lose(session);
    let session: Session;
    try {
      links.push(placement.open(TRACKER_NAME, lost), placement.open(SUBSCRIBER_NAME, lost));
      session = { placement, tracker: links[0]!, subscriber: links[1]! };
    } catch (err) {
      // the caller's client cannot be duplicated as the cache needs (its options refuse it)
      for (const link of links) link.close();
      this.#unsupported(`its connections could not be made (${String(err)})`);
      return;
    }
    this.#session = session;
    await this.#setUp(session);
  }

  /**
   * Subscribes, turns tracking on redirected to the subscriber, checks both, and starts serving from
   * memory once the server confirms it, provided nothing changed meanwhile.
   */
  async #setUp(session: Session): Promise<void> {
    const { tracker, subscriber } = session;
    try {
      await this.#bounded(Promise.all([tracker.connect(), subscriber.connect()]));
      const id = String(await this.#bounded(subscriber.call(['CLIENT', 'ID'])));
      await this.#bounded(subscriber.subscribe(CHANNEL, (keys) => this.#onMessage(keys)));
      session.subscriberId = id;
      // a client id names a client of one server only: a Sentinel failover between the two connections
      // could have put them on different servers
      if (tracker.peer !== subscriber.peer) throw new Error('the two connections reached different servers');
      const prefix = this.#source.trackedPrefix;
      await this.#bounded(tracker.call(['CLIENT', 'TRACKING', 'ON', 'REDIRECT', id, 'BCAST', 'PREFIX', prefix]));
      const problem = (await this.#problem(session)) ?? (this.#sound(session) ? undefined : 'redirected');
      if (problem) throw new Error(problem);
    } catch (err) {
      if (permanentRefusal(err)) this.#unsupported(`the server refused client tracking (${err.message})`);
      else this.#lose(session);
      return;
    }
    if (session !== this.#session || this.#state !== 'bypass') return;
    // a read begun before tracking was on is never kept
    this.#listener.forget();
    this.#state = 'tracking';
    this.#established += 1;
    this.#failures = 0;
    for (const resolve of this.#waiters) resolve();
    this.#waiters.clear();
  }

  /** Whether both connections are up and the caller's client still routes the records to their node. */
  #sound(session: Session): boolean {
    return session.tracker.ready && session.subscriber.ready && session.placement.routed();
  }

  /**
   * What the server says is wrong with the session: tracking off or redirected elsewhere, or on a
   * cluster the node no longer a master owning the slot; undefined if nothing. Rejects when it does not
   * answer.
   */
  async #problem(session: Session): Promise<string | undefined> {
    const info = await this.#bounded(session.tracker.call(['CLIENT', 'TRACKINGINFO']));
    const tracking = trackingProblem(info, session.subscriberId ?? '');
    const { slot } = session.placement;
    if (tracking || slot === undefined) return tracking;
    return ownershipProblem(await this.#bounded(session.tracker.call(['CLUSTER', 'NODES'])), slot);
  }

  /** Drops everything, closes the session's connections and opens fresh ones after a while. */
  #lose(session: Session): void {
    if (session !== this.#session) return;
    this.#session = undefined;
    session.tracker.close();
    session.subscriber.close();
    this.#drop('bypass');
    this.#retryLater();
  }

  #retryLater(): void {
    if (!this.#active() || this.#retry) return;
    const delay = Math.min(this.#settings.heartbeatMs, RETRY_MS * 2 ** this.#failures);
    this.#failures += 1;
    // spread, so that the processes of a deployment do not all come back at once
    this.#retry = setTimeout(
      () => {
        this.#retry = undefined;
        void this.#open();
      },
      delay / 2 + Math.random() * (delay / 2),
    );
    this.#retry.unref();
  }

  /**
   * What will not change (a refusal by an ACL or by a server without client tracking, a client that
   * cannot be duplicated) turns the cache off for good, with a warning.
   */
  #unsupported(why: string): void {
    if (!this.#active()) return;
    this.#drop('bypass');
    this.#state = 'unsupported';
    this.#stop();
    this.#settings.warn(
      `redisStore clientCache is off: ${why}; ` +
        'every client lookup goes to Redis. It needs Redis 6.2 or later and, with ACLs, the CLIENT command, ' +
        `the ${CHANNEL} channel and on a cluster CLUSTER NODES.`,
    );
  }

  /**
   * The heartbeat: while tracking, both connections must answer, tracking must still be on and
   * redirected to our subscriber, and on a cluster the node must still be a master owning the slot;
   * otherwise drop everything and start again. Without a session, open one.
   */
  async #check(): Promise<void> {
    const session = this.#session;
    if (!session) {
      void this.#open();
      return;
    }
    if (this.#state !== 'tracking' || this.#checking) return;
    this.#checking = true;
    try {
      const [problem, pong] = await Promise.allSettled([
        this.#problem(session),
        this.#bounded(session.subscriber.ping()),
      ]);
      const failed = problem.status === 'rejected' || problem.value !== undefined || pong.status === 'rejected';
      if (failed || !this.#sound(session)) this.#lose(session);
    } finally {
      this.#checking = false;
    }
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
