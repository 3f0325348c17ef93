import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { variant, type ServerVariant, type VariantName } from '../variants.js';
import { spawnTracked, stopChild, Tail } from './processes.js';
import { withTimeout } from './timeout.js';

const SERVER_SCRIPT = fileURLToPath(new URL('../server.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

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
  /** Profile the server's CPU with `node --cpu-prof`, written to `<dir>/<name>/` on exit. */
  readonly cpuProfile?: { readonly dir: string; readonly name: string } | undefined;
}

/** Starts `bench/server.ts <name>` with tsx in-process (no tsx CLI wrapper, so one pid to kill). */
export async function startServer(
  name: VariantName, redisUrl: string | undefined, prefix: string, options: StartServerOptions = {},
): Promise<RunningServer> {
  const chosen = variant(name);
  if (chosen.redis && !redisUrl) throw new Error(`server variant "${name}" needs Redis`);
  const profile = options.cpuProfile;
  // one directory per server: --cpu-prof writes a profile per thread (tsx's loader runs in a worker), and
  // the main thread's is picked from it afterwards (see profile.ts)
  const profileDir = profile ? join(profile.dir, profile.name) : undefined;
  const profileArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawnTracked(process.execPath, [...profileArgs, '--import', 'tsx', SERVER_SCRIPT, name], {
    cwd: REPO_ROOT,
    env: { ...process.env, BENCH_REDIS_URL: redisUrl ?? '', BENCH_PREFIX: prefix },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const log = new Tail();
  child.stderr?.on('data', (chunk: Buffer) => log.push(chunk));

  let stdout = '';
  const listening = new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^listening (\d+)$/m.exec(stdout);
      if (match) resolve(Number(match[1]));
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`exited (${signal ?? code}) before listening`)));
  });
  let port: number;
  try {
    // tsx compiles on first start: allow for a slow machine
    port = await withTimeout(listening, 30_000, 'did not print its port within 30 s');
  } catch (err) {
    await stopChild(child);
    throw new Error(`server "${name}": ${(err as Error).message}\n${indent(log.toString())}`);
  }

  return {
    name,
    variant: chosen,
    baseUrl: `http://127.0.0.1:${port}`,
    pid: child.pid,
    log: () => log.toString(),
    running: () => child.exitCode === null && child.signalCode === null,
    cpuProfile: profileDir,
    async stop() {
      child.stdin?.end();
      // writing a CPU profile on exit takes a while: do not cut it short
      await stopChild(child, profile ? 20_000 : 2000);
    },
  };
}

export function indent(text: string, by = '    '): string {
  return text.trimEnd().split('\n').map((line) => by + line).join('\n');
}

