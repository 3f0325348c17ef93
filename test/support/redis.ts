import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

import { Redis, type RedisOptions } from 'ioredis';

import { freePort } from '../../support/ports.js';
import { stopChild } from '../../support/processes.js';
import {
  privateRedisArgs,
  redisServerInstalled,
  spawnRedisServer,
  waitUntilAnswering,
} from '../../support/redis-server.js';

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

export interface StartRedisOptions {
  /** A private server even with REDIS_URL set (a test that counts every command the server runs). */
  readonly forcePrivate?: boolean;
}

/**
 * Whether Redis suites run here. Without redis-server they skip loudly; with APPKEYS_REQUIRE_REDIS=1
 * (as CI sets) a missing Redis is a failure instead.
 */
export function redisOrSkip(): boolean {
  if (process.env.REDIS_URL || redisServerInstalled()) return true;
  const message = 'redis-server not found and REDIS_URL not set: Redis-backed tests cannot run';
  if (process.env.APPKEYS_REQUIRE_REDIS === '1') {
    throw new Error(`${message} (APPKEYS_REQUIRE_REDIS=1)`);
  }
  process.stderr.write(`\n!!!!!!!! SKIPPING Redis suites: ${message} !!!!!!!!\n\n`);
  return false;
}

/** A key prefix of its own for one test. */
export function namespace(label = 't'): string {
  return `test:${label}:${randomBytes(6).toString('hex')}:`;
}

export async function startRedis({ forcePrivate = false }: StartRedisOptions = {}): Promise<TestRedis> {
  const clients = new Set<Redis>();
  const external = forcePrivate ? undefined : process.env.REDIS_URL;
  let child: ChildProcess | undefined;
  let port: number;
  let url: string;
  const spawnServer = async () => {
    child = spawnRedisServer(privateRedisArgs(port));
    await waitUntilAnswering(port, child);
  };

  if (external) {
    url = external;
    port = Number(new URL(external).port || 6379);
  } else {
    port = await freePort();
    url = `redis://127.0.0.1:${port}`;
    await spawnServer();
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
    namespace,
    async kill() {
      await stopChild(child, 'SIGKILL');
    },
    async restart() {
      if (external) return;
      await stopChild(child, 'SIGKILL');
      await spawnServer();
    },
    async stop() {
      for (const client of clients) client.disconnect();
      clients.clear();
      await stopChild(child, 'SIGKILL');
    },
  };
}
