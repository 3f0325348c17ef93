import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { Redis, type RedisOptions } from 'ioredis';

/**
 * A private redis-server for one test file: started on a free loopback port with nothing persisted,
 * stopped afterwards. With REDIS_URL set, that server is used instead and each test still gets its own
 * keyspace through `namespace()`.
 */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** A new ioredis client; closed by `stop()`. */
  client(options?: RedisOptions): Redis;
  /** A fresh key prefix, so that tests sharing a server never see each other's keys. */
  namespace(label?: string): string;
  /** Kills the private server (to test outages); no-op with REDIS_URL. */
  kill(): Promise<void>;
  /** Starts the private server again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function redisServerAvailable(): boolean {
  if (process.env.REDIS_URL) return true;
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return probe.status === 0;
}

/**
 * Whether Redis suites run here. Without redis-server they skip loudly; with APPKEYS_REQUIRE_REDIS=1
 * (as CI sets) a missing Redis is a failure instead.
 */
export function redisOrSkip(): boolean {
  if (redisServerAvailable()) return true;
  const message = 'redis-server not found and REDIS_URL not set: Redis-backed tests cannot run';
  if (process.env.APPKEYS_REQUIRE_REDIS === '1') {
    throw new Error(`${message} (APPKEYS_REQUIRE_REDIS=1)`);
  }
  process.stderr.write(`\n!!!!!!!! SKIPPING Redis suites: ${message} !!!!!!!!\n\n`);
  return false;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilAnswering(port: number, child: ChildProcess, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`redis-server exited early with code ${child.exitCode}`);
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      probe.disconnect();
    }
    await sleep(25);
  }
  throw new Error(`redis-server on port ${port} did not answer within ${deadlineMs} ms`);
}

function spawnRedis(port: number, extraArgs: readonly string[]): ChildProcess {
  return spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--protected-mode', 'no', ...extraArgs,
  ], { stdio: 'ignore' });
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

export async function startRedis(extraArgs: readonly string[] = []): Promise<TestRedis> {
  const clients = new Set<Redis>();
  const external = process.env.REDIS_URL;
  let child: ChildProcess | undefined;
  let port: number;
  let url: string;

  if (external) {
    url = external;
    port = Number(new URL(external).port || 6379);
  } else {
    port = await freePort();
    url = `redis://127.0.0.1:${port}`;
    child = spawnRedis(port, extraArgs);
    await waitUntilAnswering(port, child);
  }

  return {
    url,
    port,
    client(options: RedisOptions = {}) {
      const client = new Redis(url, options);
      client.on('error', () => {});
      clients.add(client);
      return client;
    },
    namespace(label = 't') {
      return `test:${label}:${randomBytes(6).toString('hex')}:`;
    },
    async kill() {
      await stopChild(child);
    },
    async restart() {
      if (external) return;
      await stopChild(child);
      child = spawnRedis(port, extraArgs);
      await waitUntilAnswering(port, child);
    },
    async stop() {
      for (const client of clients) client.disconnect();
      clients.clear();
      await stopChild(child);
    },
  };
}
