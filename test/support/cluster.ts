import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Cluster, Redis, type ClusterOptions } from 'ioredis';
import { createCluster } from 'redis';

import type { NodeRedisCluster } from '../../adapters/redis/client.js';
import { portIsFree } from '../../support/ports.js';
import { stopChild } from '../../support/processes.js';
import { privateRedisArgs, spawnRedisServer, waitUntilAnswering } from '../../support/redis-server.js';
import { waitFor } from '../../support/wait.js';
import { namespace } from './redis.js';

/**
 * Private redis-server processes for the cluster and Sentinel tests: loopback, free ports, nothing
 * persisted, a temporary directory each, everything killed and removed by `stop()`.
 */

export function redisToolsAvailable(): boolean {
  return ['redis-server', 'redis-cli'].every(
    (tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0,
  );
}

/** Whether these suites run here: like `redisOrSkip`, a failure with APPKEYS_REQUIRE_REDIS=1. */
export function redisToolsOrSkip(): boolean {
  if (redisToolsAvailable()) return true;
  const message = 'redis-server or redis-cli not found: the Redis Cluster and Sentinel suites cannot run';
  if (process.env.APPKEYS_REQUIRE_REDIS === '1') throw new Error(`${message} (APPKEYS_REQUIRE_REDIS=1)`);
  process.stderr.write(`\n!!!!!!!! SKIPPING: ${message} !!!!!!!!\n\n`);
  return false;
}

/** A free loopback port whose cluster bus port (+10000) is free too, distinct from `taken`. */
export async function freeClusterPort(taken: ReadonlySet<number> = new Set()): Promise<number> {
  for (let tries = 0; tries < 200; tries += 1) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await portIsFree(port)) && (await portIsFree(port + 10_000))) return port;
  }
  throw new Error('no free port pair for a cluster node');
}

/** A one-off ioredis connection that never retries nor queues, for probing and administration. */
export function probe(port: number): Redis {
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  return client;
}

/** Runs one command on the server at `port` over a fresh connection. */
export async function command(port: number, name: string, ...args: (string | number)[]): Promise<unknown> {
  const client = probe(port);
  try {
    await client.connect();
    return await client.call(name, ...args);
  } finally {
    client.disconnect();
  }
}

export interface TestCluster {
  /** Every node's port, masters and replicas. */
  readonly ports: readonly number[];
  /** The ports of the masters, as the nodes report their roles now. */
  masterPorts(): Promise<number[]>;
  /** An ioredis Cluster client, ready; disconnected by `stop()`. */
  ioredis(options?: ClusterOptions): Promise<Cluster>;
  /** A node-redis cluster client, connected; closed by `stop()`. */
  nodeRedis(): Promise<NodeRedisCluster & { destroy(): void }>;
  /** A fresh key prefix, so tests sharing the cluster never see each other's keys. */
  namespace(label?: string): string;
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of `masters` masters with `replicas` replicas each on loopback, each node a private
 * redis-server with its nodes.conf in a temporary directory; resolves once every node reports
 * cluster_state:ok and every replica is in sync.
 */
export async function startCluster(masters = 3, replicas = 0): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'appkeys-cluster-'));
  const children: ChildProcess[] = [];
  const ioredisClients = new Set<Cluster>();
  const nodeRedisClients = new Set<{ destroy(): void }>();
  const taken = new Set<number>();
  const ports: number[] = [];
  const stop = async () => {
    for (const client of ioredisClients) client.disconnect();
    for (const client of nodeRedisClients) client.destroy();
    await Promise.all(children.map((child) => stopChild(child, 'SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (let i = 0; i < masters * (1 + replicas); i += 1) {
      const port = await freeClusterPort(taken);
      taken.add(port).add(port + 10_000);
      ports.push(port);
      children.push(
        spawnRedisServer([
          ...privateRedisArgs(port),
          '--dir',
          dir,
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '2000',
        ]),
      );
    }
    await Promise.all(ports.map((port, i) => waitUntilAnswering(port, children[i]!)));

    const created = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((port) => `127.0.0.1:${port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);

    await Promise.all(
      ports.map((port) =>
        waitFor(`cluster_state:ok on ${port}`, async () => {
          const info = String(await command(port, 'CLUSTER', 'INFO'));
          return /cluster_state:ok/.test(info) &&
            /cluster_slots_ok:16384/.test(info) &&
            new RegExp(`cluster_known_nodes:${ports.length}\\b`).test(info)
            ? true
            : undefined;
        }),
      ),
    );
    await Promise.all(
      ports.map((port) =>
        waitFor(`node ${port} a master or a replica in sync`, async () => {
          const info = String(await command(port, 'INFO', 'replication'));
          return /role:master/.test(info) || /master_link_status:up/.test(info) ? true : undefined;
        }),
      ),
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    ports,
    async masterPorts() {
      const roles = await Promise.all(ports.map(async (port) => ((await command(port, 'ROLE')) as [string])[0]));
      return ports.filter((_, i) => roles[i] === 'master');
    },
    async ioredis(options: ClusterOptions = {}) {
      const cluster = new Cluster(
        ports.map((port) => ({ host: '127.0.0.1', port })),
        options,
      );
      cluster.on('error', () => {});
      ioredisClients.add(cluster);
      await new Promise<void>((resolve, reject) => {
        cluster.once('ready', () => resolve());
        cluster.once('end', () => reject(new Error('ioredis Cluster ended before it was ready')));
      });
      return cluster;
    },
    async nodeRedis() {
      const cluster = createCluster({ rootNodes: ports.map((port) => ({ url: `redis://127.0.0.1:${port}` })) });
      cluster.on('error', () => {});
      await cluster.connect();
      nodeRedisClients.add(cluster);
      return cluster;
    },
    namespace,
    stop,
  };
}
