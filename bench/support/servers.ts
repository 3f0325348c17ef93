import { join } from 'node:path';

import { startScript } from '../../support/scripts.js';
import { variant, type ServerVariant, type VariantName } from '../variants.js';
import { spawnTracked } from './processes.js';

/** A server variant running in its own child process. */
export interface RunningServer {
  readonly name: VariantName;
  readonly variant: ServerVariant;
  readonly baseUrl: string;
  readonly pid: number | undefined;
  /** What the child wrote to stderr lately (provider warnings, the first request errors). */
  log(): string;
  running(): boolean;
  /** The directory its CPU profiles (one per thread) are written to when it stops (`--cpu-prof`), if profiled. */
  readonly cpuProfile: string | undefined;
  stop(): Promise<void>;
}

export interface StartServerOptions {
  /** A Redis Cluster's nodes (`host:port`) to use instead of `redisUrl`. */
  readonly clusterNodes?: readonly string[] | undefined;
  /** Profile the server's CPU with `node --cpu-prof`, written to `<dir>/<name>/` on exit. */
  readonly cpuProfile?: { readonly dir: string; readonly name: string } | undefined;
}

/** Starts `bench/server.ts <name>`, one of the benchmark's own children. */
export async function startServer(
  name: VariantName,
  redisUrl: string | undefined,
  prefix: string,
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const chosen = variant(name);
  const clusterNodes = options.clusterNodes ?? [];
  if (chosen.redis && !redisUrl && clusterNodes.length === 0) throw new Error(`server variant "${name}" needs Redis`);
  const profile = options.cpuProfile;
  // one directory per server: --cpu-prof writes a profile per thread (tsx's loader runs in a worker), and
  // the main thread's is picked from it afterwards (see profile.ts)
  const profileDir = profile ? join(profile.dir, profile.name) : undefined;
  const child = startScript('bench/server.ts', [name], {
    nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    env: { BENCH_REDIS_URL: redisUrl ?? '', BENCH_REDIS_CLUSTER: clusterNodes.join(','), BENCH_PREFIX: prefix },
    spawn: spawnTracked,
  });

  let port: number;
  try {
    // tsx compiles on first start: allow for a slow machine
    port = await child.until((output) => {
      const match = /^listening (\d+)$/m.exec(output);
      return match ? Number(match[1]) : undefined;
    }, 30_000);
  } catch (err) {
    await child.stop();
    throw new Error(`server "${name}": ${(err as Error).message.split('\n')[0]}\n${indent(child.output())}`, {
      cause: err,
    });
  }

  return {
    name,
    variant: chosen,
    baseUrl: `http://127.0.0.1:${port}`,
    pid: child.pid,
    log: () => child.stderr(),
    running: () => child.running(),
    cpuProfile: profileDir,
    async stop() {
      // writing a CPU profile on exit takes a while: do not cut it short
      await child.stop('SIGTERM', profile ? 20_000 : 2000);
    },
  };
}

export function indent(text: string, by = '    '): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => by + line)
    .join('\n');
}
