import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

import { unreachable, usageError } from './exit.js';

const CONNECT_TIMEOUT_MS = 5000;

export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/** Where Redis is, as an operator module's `redis` says (or `REDIS_URL`, `--redis-url`). */
export type RedisSpec = (
  | { readonly url: string }
  | { readonly cluster: readonly RedisNode[] }
  | { readonly sentinels: readonly RedisNode[]; readonly name: string }
) & {
  /** ioredis options, as given (`ClusterOptions` for a cluster): passwords, TLS. */
  readonly options?: Readonly<Record<string, unknown>>;
};

/** The URL as it may be printed: without a password. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** Checks that `url` names a Redis server, so a typo is a usage error rather than an outage. */
export function checkRedisUrl(url: string | undefined, flag = '--redis-url'): string {
  if (!url) throw usageError(`no Redis given: set REDIS_URL or pass ${flag} URL (redis://host:port)`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usageError(`${flag} is not a URL: ${redactUrl(url)}`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw usageError(`${flag} must be a redis:// or rediss:// URL, not ${parsed.protocol}`);
  }
  return url;
}

/** The spec a command runs on, or exit 2 saying how to name one. */
export function requireRedis(spec: RedisSpec | undefined): RedisSpec {
  if (spec) return spec;
  throw usageError(
    'no Redis given: set REDIS_URL or pass --redis-url URL (redis://host:port), ' +
      'or --config FILE whose module names redis',
  );
}

const nodes = (list: readonly RedisNode[]) => list.map(({ host, port }) => `${host}:${port}`).join(', ');

/** Where the spec points, as printed: never a password. */
export function describeRedis(spec: RedisSpec): string {
  if ('url' in spec) return `Redis at ${redactUrl(spec.url)}`;
  if ('cluster' in spec) return `Redis Cluster at ${nodes(spec.cluster)}`;
  return `Redis master ${JSON.stringify(spec.name)} through Sentinels at ${nodes(spec.sentinels)}`;
}

/**
 * A command line's client does not reconnect: one that loses Redis stops (exit 3) rather than queueing
 * its changes. A server's reconnects, as ioredis does by default: the store bounds each call itself.
 */
function clientOf(spec: RedisSpec, reconnect: boolean): Redis | Cluster {
  const once: RedisOptions = reconnect
    ? {}
    : { connectTimeout: CONNECT_TIMEOUT_MS, maxRetriesPerRequest: 0, retryStrategy: () => null };
  const given = spec.options ?? {};
  if ('cluster' in spec) {
    const options = given as ClusterOptions;
    return new Cluster([...spec.cluster], {
      ...options,
      lazyConnect: true,
      ...(!reconnect && { clusterRetryStrategy: () => null }),
      redisOptions: { ...options.redisOptions, ...once },
    });
  }
  const options = { ...(given as RedisOptions), ...once, lazyConnect: true };
  if ('url' in spec) return new Redis(spec.url, options);
  return new Redis({
    ...options,
    sentinels: [...spec.sentinels],
    name: spec.name,
    ...(!reconnect && { sentinelRetryStrategy: () => null }),
  });
}

/**
 * A connected client for `spec` (standalone, Cluster or Sentinel), answering PING, or exit 3 naming
 * where it tried and why. `reconnect`: a server's client, which keeps trying once it has started.
 */
export async function connectFromSpec(
  spec: RedisSpec,
  { reconnect = false }: { reconnect?: boolean } = {},
): Promise<Redis | Cluster> {
  if ('url' in spec) checkRedisUrl(spec.url);
  const client = clientOf(spec, reconnect);
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)),
          CONNECT_TIMEOUT_MS + 500,
        );
      }),
    ]);
    return client;
  } catch (error) {
    client.disconnect();
    const reason = (lastError ?? (error instanceof Error ? error : undefined))?.message ?? String(error);
    throw unreachable(`cannot reach ${describeRedis(spec)}: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
}

export async function closeRedis(client: Redis | Cluster): Promise<void> {
  await client.quit().catch(() => client.disconnect());
}
