import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Redis, type RedisOptions } from 'ioredis';

import { freePort } from '../../support/ports.js';
import { stopChild } from '../../support/processes.js';
import { privateRedisArgs, spawnRedisServer, waitUntilAnswering } from '../../support/redis-server.js';
import { waitFor } from '../../support/wait.js';
import { command } from './cluster.js';

/** The master name the sentinels monitor. */
export const MASTER_NAME = 'appkeys';

export interface TestSentinel {
  readonly sentinelPorts: readonly number[];
  /** The port of the master the sentinels name now. */
  masterPort(): Promise<number>;
  /** An ioredis client that finds the master through the sentinels; disconnected by `stop()`. */
  ioredis(options?: RedisOptions): Redis;
  /** SIGKILLs the current master; resolves with its port once the sentinels have promoted another. */
  killMasterAndAwaitFailover(): Promise<{ oldPort: number; newPort: number }>;
  stop(): Promise<void>;
}

export interface SentinelSetup {
  /** Replicas of the master (`--replicaof`). Default 1. */
  readonly replicas?: number;
  /** Sentinels, each with quorum 1. Default 1. */
  readonly sentinels?: number;
}

/**
 * A master, its replicas and sentinels on loopback, nothing persisted: quorum 1, a master is down after
 * 1 s without answer, failover timeout 3 s. Resolves once every replica is in sync and every sentinel
 * knows every replica, so that a failover can start at once.
 */
export async function startSentinel({ replicas = 1, sentinels = 1 }: SentinelSetup = {}): Promise<TestSentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'appkeys-sentinel-'));
  const servers = new Map<number, ChildProcess>();
  const sentinelChildren: ChildProcess[] = [];
  const clients = new Set<Redis>();
  const sentinelPorts: number[] = [];
  const stop = async () => {
    for (const client of clients) client.disconnect();
    await Promise.all([...servers.values(), ...sentinelChildren].map((child) => stopChild(child, 'SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  };
  const dataServer = (port: number, extra: readonly string[] = []) =>
    spawnRedisServer([...privateRedisArgs(port), '--dir', dir, ...extra]);
  const masterPort = async () => {
    const [, port] = (await command(sentinelPorts[0]!, 'SENTINEL', 'get-master-addr-by-name', MASTER_NAME)) as [
      string,
      string,
    ];
    return Number(port);
  };

  try {
    const master = await freePort();
    servers.set(master, dataServer(master));
    await waitUntilAnswering(master, servers.get(master)!);
    for (let i = 0; i < replicas; i += 1) {
      const port = await freePort();
      servers.set(port, dataServer(port, ['--replicaof', '127.0.0.1', String(master)]));
      await waitUntilAnswering(port, servers.get(port)!);
    }
    await Promise.all(
      [...servers.keys()]
        .filter((port) => port !== master)
        .map((port) =>
          waitFor(`replica ${port} in sync`, async () =>
            /master_link_status:up/.test(String(await command(port, 'INFO', 'replication'))) ? true : undefined,
          ),
        ),
    );

    for (let i = 0; i < sentinels; i += 1) {
      const port = await freePort();
      const config = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        config,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'protected-mode no',
          `dir ${dir}`,
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master} 1`,
          `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
          `sentinel failover-timeout ${MASTER_NAME} 3000`,
          `sentinel parallel-syncs ${MASTER_NAME} ${replicas}`,
          '',
        ].join('\n'),
      );
      const child = spawnRedisServer([config, '--sentinel']);
      sentinelChildren.push(child);
      sentinelPorts.push(port);
      await waitUntilAnswering(port, child);
    }
    await Promise.all(
      sentinelPorts.map((port) =>
        waitFor(`sentinel ${port} knowing ${replicas} replicas`, async () => {
          const known = (await command(port, 'SENTINEL', 'replicas', MASTER_NAME)) as string[][];
          const healthy = known.filter((fields) => fields[fields.indexOf('flags') + 1] === 'slave');
          return healthy.length === replicas ? true : undefined;
        }),
      ),
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    sentinelPorts,
    masterPort,
    ioredis(options: RedisOptions = {}) {
      const client = new Redis({
        sentinels: sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
        name: MASTER_NAME,
        ...options,
      });
      client.on('error', () => {});
      clients.add(client);
      return client;
    },
    async killMasterAndAwaitFailover() {
      const oldPort = await masterPort();
      await stopChild(servers.get(oldPort), 'SIGKILL');
      servers.delete(oldPort);
      const newPort = await waitFor(
        'the sentinels promoting a replica',
        async () => {
          const port = await masterPort();
          if (port === oldPort) return undefined;
          return /role:master/.test(String(await command(port, 'INFO', 'replication'))) ? port : undefined;
        },
        { withinMs: 30_000 },
      );
      return { oldPort, newPort };
    },
    stop,
  };
}
