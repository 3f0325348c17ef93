import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Redis } from 'ioredis';

import type { Script } from '../../adapters/redis/connection.js';
import * as providerScripts from '../../adapters/redis/scripts/provider.js';
import * as storeScripts from '../../adapters/redis/scripts/store.js';
import { freePort } from '../../support/ports.js';
import { stopChild, Tail } from '../../support/processes.js';
import type { NodeProcess } from '../../support/redis-cluster.js';
import {
  commandCalls,
  commandStats as parseCommandStats,
  connectWhenAnswering,
  infoField,
  infoNumber,
  privateRedisArgs,
  redisServerInstalled,
} from '../../support/redis-server.js';
import { withTimeout } from '../../support/wait.js';
import { spawnTracked } from './processes.js';

/** The Redis the benchmark runs against: a private redis-server, or the one REDIS_URL names. */
export interface BenchRedis {
  readonly url: string;
  /** True with REDIS_URL: other clients' traffic then shows in the command counts. */
  readonly external: boolean;
  /** The benchmark's own connection (INFO, ECHO); its commands are subtracted from every count. */
  readonly probe: Redis;
  /** `redis_version` from INFO server. */
  readonly version: string;
  /** The redis-server process, when it is ours (for CPU accounting); undefined with REDIS_URL. */
  readonly pid: number | undefined;
  /**
   * Stops what was started. On a shared REDIS_URL server it first removes this run's keys: those whose
   * name contains `runPrefix` (the adapter wraps its prefix in a hash tag, so match anywhere).
   */
  stop(runPrefix: string): Promise<void>;
}

/**
 * Runs redis-server and stops it when this benchmark goes away, however that happens: on SIGTERM, or
 * when its stdin reaches end of file, which the OS arranges even if the benchmark is killed with
 * SIGKILL (redis-server has no parent-death option of its own). Background jobs of a non-interactive
 * sh ignore SIGINT, so a Ctrl-C reaches redis through the trap, as a SIGTERM.
 */
const REDIS_GUARD = `
redis-server "$@" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid; exit 0' TERM INT HUP
while read -r _; do :; done
kill $pid 2>/dev/null
wait $pid
`;

/**
 * Starts `redis-server args` under the guard above, one of the benchmark's tracked children; what it
 * prints goes to `log`, if given.
 */
export function startGuardedRedis(args: readonly string[], log?: Tail): NodeProcess {
  const child = spawnTracked(
    'sh',
    ['-c', REDIS_GUARD, 'redis-guard', ...args],
    { stdio: ['pipe', log ? 'pipe' : 'ignore', log ? 'pipe' : 'ignore'] },
    'SIGTERM',
  );
  child.stdout?.on('data', (chunk: Buffer) => log?.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => log?.push(chunk));
  return {
    child,
    async stop() {
      child.stdin?.end();
      await stopChild(child);
    },
  };
}

export interface StartRedisOptions {
  /** Start a private redis-server even when REDIS_URL is set (measurements that need the whole server). */
  readonly forcePrivate?: boolean;
}

export async function startBenchRedis(options: StartRedisOptions = {}): Promise<BenchRedis> {
  const external = options.forcePrivate ? undefined : process.env.REDIS_URL;
  let stopServer = async (): Promise<void> => {};
  let probe: Redis;
  if (external) {
    probe = await connectWhenAnswering(external, { withinMs: 5000 });
  } else {
    if (!redisServerInstalled()) {
      throw new Error('redis-server is not on PATH: install it, or set REDIS_URL to a Redis to use');
    }
    const port = await freePort();
    const log = new Tail();
    const node = startGuardedRedis(privateRedisArgs(port), log);
    try {
      probe = await connectWhenAnswering(`redis://127.0.0.1:${port}`, { alive: () => node.child.exitCode === null });
    } catch (err) {
      await node.stop();
      throw new Error(`could not start redis-server (${String(err)})\n${log.toString()}`, { cause: err });
    }
    stopServer = () => node.stop();
  }
  const url = external ?? `redis://127.0.0.1:${probe.options.port}`;
  const serverInfo = await probe.info('server');
  const version = infoField(serverInfo, 'redis_version');

  return {
    url,
    external: Boolean(external),
    probe,
    version,
    pid: external ? undefined : infoNumber(serverInfo, 'process_id'),
    async stop(runPrefix) {
      if (external) await unlinkMatching(probe, `*${runPrefix}*`);
      probe.disconnect();
      await stopServer();
    },
  };
}

async function unlinkMatching(client: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) await client.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** Calls per command name, from `INFO commandstats`. */
export async function commandStats(client: Redis): Promise<Map<string, number>> {
  return commandCalls(await client.info('commandstats'));
}

function totalCalls(stats: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const calls of stats.values()) sum += calls;
  return sum;
}

/** Waits until no client but the probe sends commands for `quietMs`. */
async function waitUntilQuiet(probe: Redis, quietMs: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let previous = totalCalls(await commandStats(probe));
  while (Date.now() < until) {
    await sleep(quietMs);
    const current = totalCalls(await commandStats(probe));
    // the INFO that read `previous` is itself counted by the time of `current`
    if (current - previous <= 1) return;
    previous = current;
  }
  throw new Error(`Redis was still busy after ${timeoutMs} ms: cannot count one request's commands`);
}

/** Redis commands seen while `action` ran, per command name. */
export interface CommandCount {
  /** Every command executed, including those a Lua script ran (INFO commandstats counts both). */
  readonly total: ReadonlyMap<string, number>;
  /** The part of `total` that Lua scripts ran (seen with MONITOR as coming from "lua"). */
  readonly fromScripts: ReadonlyMap<string, number>;
  /**
   * The commands clients sent (round trips), by what they touched (MONITOR): `hgetall oidc:AccessToken`,
   * `evalsha appkeysBind-6`. The probe's own commands are left out.
   */
  readonly sent: ReadonlyMap<string, number>;
}

/** Script names by SHA, for labelling EVALSHA calls. */
const SCRIPT_NAMES = new Map<string, string>(
  [...Object.values(storeScripts), ...Object.values(providerScripts)]
    .filter(
      (value): value is Script => typeof value === 'object' && value !== null && 'sha' in value && 'name' in value,
    )
    .map((script) => [script.sha, script.name]),
);

/**
 * What a command touched, for the breakdown: the store's `{<prefix>appkeys:}client:<id>` →
 * `appkeys:client`, the provider adapter's `<prefix>oidc:AccessToken:{<id>}` → `oidc:AccessToken`, an
 * EVALSHA → the script's name.
 */
export function commandLabel(args: readonly string[]): string {
  const name = (args[0] ?? '').toLowerCase();
  if (name === 'evalsha') return `evalsha ${SCRIPT_NAMES.get(args[1] ?? '') ?? 'unknown script'}`;
  if (name === 'eval') return 'eval (first run of a script: NOSCRIPT fallback)';
  const key = args[1];
  if (key === undefined) return name;
  const lastPart = (prefix: string) => prefix.split(':').filter(Boolean).at(-1) ?? '';
  // the store's whole prefix is its hash tag: every key of it in one slot
  const store = /^\{([^}]*)\}([^:]*)/.exec(key);
  if (store) return `${name} ${lastPart(store[1]!)}:${store[2]!}`;
  // the provider adapter's keys are tagged by their own id, so that they spread over a cluster
  const model = /^([^{}]*:)?([^:{}]+):\{/.exec(key);
  if (model) return `${name} ${lastPart(model[1] ?? '')}:${model[2]!}`;
  return name;
}

/**
 * Counts the Redis commands `action` causes: INFO commandstats before and after gives the totals, and a
 * MONITOR connection tells which of them ran inside scripts, so that what remains are round trips, and
 * what each sent command touched. Nothing else may use the server meanwhile (true of the private server).
 */
export async function countCommands(redis: BenchRedis, action: () => Promise<void>): Promise<CommandCount> {
  // requests still in flight when a load round ended would land in the count (and, arriving while
  // ioredis is still switching the connection into MONITOR mode, break its reply parsing)
  await waitUntilQuiet(redis.probe, 250, 10_000);
  const monitor = await redis.probe.monitor();
  let monitorError: Error | undefined;
  monitor.on('error', (err: Error) => {
    monitorError ??= err;
  });
  const marker = `bench-marker-${randomBytes(8).toString('hex')}`;
  const fromScripts = new Map<string, number>();
  const sent = new Map<string, number>();
  const probeAddress = `${redis.probe.stream.localAddress ?? ''}:${redis.probe.stream.localPort ?? ''}`;
  let markerSeen!: () => void;
  const seen = new Promise<void>((resolve) => {
    markerSeen = resolve;
  });
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const name = (args[0] ?? '').toLowerCase();
    if (source === 'lua') {
      fromScripts.set(name, (fromScripts.get(name) ?? 0) + 1);
    } else if (name === 'echo' && args[1] === marker) {
      markerSeen();
    } else if (source !== probeAddress) {
      const label = commandLabel(args);
      sent.set(label, (sent.get(label) ?? 0) + 1);
    }
  });
  try {
    const before = await commandStats(redis.probe);
    await action();
    // MONITOR output arrives asynchronously: once our marker shows up, everything before it has too
    await redis.probe.echo(marker);
    await withTimeout(seen, 5000, 'MONITOR never showed the end marker');
    const after = await commandStats(redis.probe);
    if (monitorError) throw new Error(`MONITOR connection failed, command count unreliable: ${monitorError.message}`);

    const total = new Map<string, number>();
    for (const [name, calls] of after) {
      const delta = calls - (before.get(name) ?? 0);
      if (delta > 0) total.set(name, delta);
    }
    // the probe's own calls inside the window: the first INFO (counted once it returned) and the ECHO
    for (const own of ['info', 'echo']) {
      const left = (total.get(own) ?? 0) - 1;
      if (left > 0) total.set(own, left);
      else total.delete(own);
    }
    return { total, fromScripts, sent };
  } finally {
    monitor.disconnect();
  }
}

/** Redis's CPU seconds so far (user + system), from INFO cpu. */
export async function redisCpuSeconds(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  return infoNumber(info, 'used_cpu_user') + infoNumber(info, 'used_cpu_sys');
}

/** Calls and microseconds per command name, from INFO commandstats. */
export async function commandTimes(client: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  return parseCommandStats(await client.info('commandstats'));
}
