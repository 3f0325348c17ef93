import type { RedisClient } from '../connection.js';
import { ClientCache } from './cache.js';
import { clientCacheSettings } from './options.js';

/**
 * An opt-in, in-process cache of client records (`redisStore({ clientCache })`), so that the token
 * endpoint's client lookup costs no round trip. Redis tells every process when a record changes
 * (tracker.ts: CLIENT TRACKING in BCAST mode, on two connections of the cache's own, duplicated from
 * the caller's ioredis or node-redis client). Every client record shares the store's hash tag, so on a
 * Redis Cluster one master holds them all: the cache tracks on that master only (source.ts). Reads
 * still go through the store's connection (with its timeout and 503 rules, and its cluster routing); in
 * BCAST mode the server does not need to have seen a key read to report its changes.
 *
 * Correctness rules, in order of importance:
 * 1. Nothing is served from memory unless tracking is known to be on, redirected to our live
 *    subscriber, on the node the caller's client sends the records' commands to. Whenever either
 *    connection closes, the subscriber answers nothing, tracking turns out off or redirected
 *    elsewhere, a flush arrives, the caller's client routes the slot to another node, or the tracked
 *    node says it is no longer a master owning the slot (a failover, a resharding), the whole cache is
 *    dropped and reads go to Redis until tracking is established again on fresh connections to
 *    whichever node holds the records then (tracker.ts).
 * 2. A value read before a change must never be cached after that change's invalidation was handled:
 *    a read in flight is marked stale when its key is invalidated (and every read in flight when the
 *    cache is dropped, via an epoch), and a stale read's answer is returned but not kept; neither is
 *    an answer that arrives once the caller's client routes the slot elsewhere. Later readers never
 *    join a read that started before an invalidation (cache.ts).
 * 3. A change made through this store resolves only once this process has handled its invalidation
 *    (a PING on the subscriber after the change: Redis writes the invalidation to the subscriber before
 *    it reads our PING), so a process always reads its own changes (fenced-connection.ts). A change the
 *    cluster redirected to a new master redirects the caller's client too, which drops the cache.
 * 4. Entries expire after `maxAgeMs` whatever happens, bounding what no invalidation covers (lru.ts).
 *
 * What remains is the window of every invalidation scheme: another process's change is seen here once
 * its invalidation message has crossed the network and been read by this process's event loop (in the
 * order of microseconds to a few milliseconds); a request this process handles in between is answered
 * from the old record. After a failover on a cluster, until this process is redirected or its heartbeat
 * sees the demotion, changes made on the new master are reported through the old one while it
 * replicates them, a little later.
 */

export { ClientCache, type CachedHash, type ClientCacheStats } from './cache.js';
export type { ClientCacheState } from './tracker.js';
export { FencedConnection } from './fenced-connection.js';
export { clientCacheSettings, type ClientCacheOptions, type ClientCacheSettings } from './options.js';

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
 * misconfigured (options.ts).
 */
export function clientCacheFor(
  value: unknown,
  client: RedisClient,
  clientPrefix: string,
  timeoutMs: number,
  optionPath: string,
): ClientCache | undefined {
  const settings = clientCacheSettings(value, timeoutMs, optionPath);
  if (!settings) return undefined;
  return new ClientCache(client, clientPrefix, settings, optionPath);
}
