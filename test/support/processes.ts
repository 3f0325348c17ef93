import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { freePort } from './redis.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** One `npm start` server (`appkeys serve`) in its own Node process, on loopback. */
export interface ServerProcess {
  /** `http://127.0.0.1:<port>`, also its issuer. */
  readonly url: string;
  readonly pid: number;
  /** Whether the process is still running. */
  alive(): boolean;
  /** What it printed so far, for failure messages. */
  output(): string;
  /** Sends `signal` and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface ServerEnv {
  readonly REDIS_URL: string;
  /** Shared, so that one admin token (kept in Redis) works on every process. */
  readonly APPKEYS_ADMIN_CLIENT_SECRET: string;
  readonly [name: string]: string;
}

const START_WITHIN_MS = 30_000;

async function answering(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const until = Date.now() + START_WITHIN_MS;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`server process exited early (${child.exitCode ?? child.signalCode}):\n${log()}`);
    }
    try {
      const response = await fetch(`${url}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`server process did not answer within ${START_WITHIN_MS} ms:\n${log()}`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts one standalone server process on a free port, its issuer on 127.0.0.1; resolves when it answers. */
export async function startServerProcess(env: ServerEnv): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'serve'], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port), ISSUER: url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (chunk: Buffer) => {
    // the tail is what explains a failure; keep memory bounded however chatty the server is
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const server: ServerProcess = {
    url,
    pid: child.pid ?? -1,
    alive: () => child.exitCode === null && child.signalCode === null,
    output: () => log,
    async kill(signal = 'SIGKILL') {
      if (!server.alive()) return;
      const done = exited(child);
      child.kill(signal);
      await done;
    },
  };
  try {
    await answering(url, child, () => log);
  } catch (error) {
    await server.kill();
    throw error;
  }
  return server;
}

/** Starts `count` server processes side by side, all on the same Redis. */
export async function startServerProcesses(count: number, env: ServerEnv): Promise<ServerProcess[]> {
  const started = await Promise.allSettled(Array.from({ length: count }, () => startServerProcess(env)));
  const servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) {
    await stopServerProcesses(servers);
    throw failed.reason;
  }
  return servers;
}

/** Stops every process still running: SIGTERM, then SIGKILL after a grace period. */
export async function stopServerProcesses(servers: readonly ServerProcess[]): Promise<void> {
  await Promise.all(servers.map(async (server) => {
    if (!server.alive()) return;
    const graceful = server.kill('SIGTERM');
    const forced = sleep(3000, undefined, { ref: false }).then(() => server.kill('SIGKILL'));
    await Promise.race([graceful, forced]);
  }));
}
