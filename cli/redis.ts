import { Redis } from 'ioredis';

import { unreachable, usageError } from './exit.js';

const CONNECT_TIMEOUT_MS = 5000;

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

/**
 * A connected ioredis client, or exit 3 with the reason. It does not reconnect: a command line that
 * loses Redis stops (exit 3) rather than queueing its changes.
 */
export async function connectRedis(url: string): Promise<Redis> {
  const client = new Redis(checkRedisUrl(url), {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let lastError: Error | undefined;
  client.on('error', (error: Error) => { lastError = error; });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS + 500);
      }),
    ]);
    return client;
  } catch (error) {
    client.disconnect();
    const reason = (lastError ?? (error instanceof Error ? error : undefined))?.message ?? String(error);
    throw unreachable(`cannot reach Redis at ${redactUrl(url)}: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
}

export async function closeRedis(client: Redis): Promise<void> {
  await client.quit().catch(() => client.disconnect());
}
