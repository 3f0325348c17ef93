import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

import { Redis } from 'ioredis';

/** Whether a `redis-server` is on PATH. */
export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The version of the redis-server on PATH (`redis-server --version`), or `not installed`. */
export function installedRedisVersion(): string {
  const result = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return /v=(\S+)/.exec(result.stdout ?? '')?.[1] ?? 'not installed';
}

/** The arguments of a private redis-server on `port`: loopback only, nothing persisted. */
export function privateRedisArgs(port: number): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'];
}

/** Starts `redis-server` with `args`; its output is dropped. */
export function spawnRedisServer(args: readonly string[]): ChildProcess {
  return spawn('redis-server', [...args], { stdio: 'ignore' });
}

export interface AnsweringOptions {
  /** Default 10 s. */
  readonly withinMs?: number;
  /** Stop waiting as soon as this says the server is gone. */
  readonly alive?: () => boolean;
}

/**
 * A connection to the Redis at `url` as soon as it answers PING: one that never reconnects nor queues,
 * for probing and administration. Rejects after `withinMs`, or once `alive()` turns false.
 */
export async function connectWhenAnswering(
  url: string,
  { withinMs = 10_000, alive = () => true }: AnsweringOptions = {},
): Promise<Redis> {
  const until = Date.now() + withinMs;
  let lastError: unknown;
  while (Date.now() < until && alive()) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      return client;
    } catch (err) {
      lastError = err;
      client.disconnect();
    }
    await sleep(25);
  }
  throw new Error(
    `redis at ${url} ` +
      `${alive() ? `did not answer within ${withinMs} ms` : 'exited before it answered'}: ${String(lastError)}`,
  );
}

/** Resolves once the redis-server `child` on `port` answers PING. */
export async function waitUntilAnswering(port: number, child: ChildProcess, withinMs?: number): Promise<void> {
  const probe = await connectWhenAnswering(`redis://127.0.0.1:${port}`, {
    ...(withinMs !== undefined && { withinMs }),
    alive: () => child.exitCode === null,
  });
  probe.disconnect();
}

/** A field of an INFO reply (`redis_version`, `process_id`), or `unknown`. */
export function infoField(info: string, field: string): string {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? 'unknown';
}

/** A numeric INFO field (`used_memory`, `used_cpu_user`); NaN when absent. */
export function infoNumber(info: string, field: string): number {
  return Number(infoField(info, field));
}

/** Calls per command name, from an `INFO commandstats` reply. */
export function commandCalls(info: string): Map<string, number> {
  return new Map([...commandStats(info)].map(([name, { calls }]) => [name, calls]));
}

/** Calls and microseconds per command name, from an `INFO commandstats` reply (`cmdstat_evalsha:calls=500,usec=…`). */
export function commandStats(info: string): Map<string, { calls: number; usec: number }> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    stats.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}
