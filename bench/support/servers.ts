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
  /** What the child wrote to stderr lately (provider warnings, the first request errors). */
  log(): string;
  running(): boolean;
  stop(): Promise<void>;
}

/** Starts `bench/server.ts <name>` with tsx in-process (no tsx CLI wrapper, so one pid to kill). */
export async function startServer(name: VariantName, redisUrl: string | undefined, prefix: string): Promise<RunningServer> {
  const chosen = variant(name);
  if (chosen.redis && !redisUrl) throw new Error(`server variant "${name}" needs Redis`);
  const child = spawnTracked(process.execPath, ['--import', 'tsx', SERVER_SCRIPT, name], {
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
    log: () => log.toString(),
    running: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      child.stdin?.end();
      await stopChild(child);
    },
  };
}

export function indent(text: string, by = '    '): string {
  return text.trimEnd().split('\n').map((line) => by + line).join('\n');
}

