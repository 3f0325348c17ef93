import { freePort } from '../../support/ports.js';
import { startScript } from '../../support/scripts.js';

/** One `npm start` server (`appkeys serve`) in its own Node process, on loopback. */
export interface ServerProcess {
  /** `http://127.0.0.1:<port>`, also its issuer. */
  readonly url: string;
  readonly pid: number;
  /** Whether the process is still running. */
  alive(): boolean;
  /** What it printed so far, for failure messages. */
  output(): string;
  /** Sends `signal` (SIGKILL if it is still running 3 s later) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface ServerEnv {
  readonly REDIS_URL: string;
  /** Shared, so that one admin token (kept in Redis) works on every process. */
  readonly APPKEYS_ADMIN_CLIENT_SECRET: string;
  readonly [name: string]: string;
}

const START_WITHIN_MS = 30_000;

/** Starts one standalone server process on a free port, its issuer on 127.0.0.1; resolves when it answers. */
export async function startServerProcess(env: ServerEnv): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = startScript('cli/main.ts', ['serve'], {
    env: { LOG_LEVEL: 'warn', ...env, PORT: String(port), ISSUER: url },
  });
  const server: ServerProcess = {
    url,
    pid: child.pid ?? -1,
    alive: () => child.running(),
    output: () => child.output(),
    async kill(signal = 'SIGKILL') {
      await child.stop(signal, 3000);
    },
  };
  try {
    await child.until(async () => {
      try {
        return (
          (await fetch(`${url}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(1000) })).ok ||
          undefined
        );
      } catch {
        return undefined;
      }
    }, START_WITHIN_MS);
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
  await Promise.all(servers.map((server) => server.kill('SIGTERM')));
}
