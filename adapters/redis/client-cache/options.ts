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
  /** How often both dedicated connections are checked (PING, CLIENT TRACKINGINFO, on a cluster CLUSTER NODES). */
  readonly heartbeatMs: number;
  /** Where a server that cannot track (Redis before 6.2, CLIENT refused by an ACL) is reported, once. */
  readonly warn: (message: string) => void;
}

export const CLIENT_CACHE_DEFAULTS = { maxEntries: 10_000, maxAgeMs: 60_000, heartbeatMs: 5_000 } as const;

/** `redisStore`'s `clientCache` option, checked: undefined when off. */
export function clientCacheSettings(
  value: unknown,
  timeoutMs: number,
  optionPath: string,
): ClientCacheSettings | undefined {
  if (value === undefined || value === false) return undefined;
  const shape = `${optionPath} must be true, false or { maxEntries?, maxAgeMs? }`;
  if (value !== true && (value === null || typeof value !== 'object' || Array.isArray(value)))
    throw new TypeError(shape);
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
