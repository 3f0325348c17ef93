import { spawnSync } from 'node:child_process';

import { Cluster, type ClusterOptions } from 'ioredis';
import { createCluster } from 'redis';

import type { NodeRedisCluster } from '../../adapters/redis/client.js';
import { command, startRedisCluster } from '../../support/redis-cluster.js';
import { namespace } from './redis.js';

export { command, freeClusterPort, probe } from '../../support/redis-cluster.js';

/**
 * Private redis-server processes for the cluster and Sentinel tests: loopback, free ports, nothing
 * persisted, a temporary directory each, everything killed and removed by `stop()`.
 */

export function redisToolsAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Whether these suites run here: like `redisOrSkip`, a failure with APPKEYS_REQUIRE_REDIS=1. */
export function redisToolsOrSkip(): boolean {
  if (redisToolsAvailable()) return true;
  const message = 'redis-server not found: the Redis Cluster and Sentinel suites cannot run';
  if (process.env.APPKEYS_REQUIRE_REDIS === '1') throw new Error(`${message} (APPKEYS_REQUIRE_REDIS=1)`);
  process.stderr.write(`\n!!!!!!!! SKIPPING: ${message} !!!!!!!!\n\n`);
  return false;
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
  const processes = await startRedisCluster({ masters, replicas });
  const { ports } = processes;
  const ioredisClients = new Set<Cluster>();
  const nodeRedisClients = new Set<{ destroy(): void }>();
  const stop = async () => {
    for (const client of ioredisClients) client.disconnect();
    for (const client of nodeRedisClients) client.destroy();
    await processes.stop();
  };

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
