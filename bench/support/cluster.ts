import type { Redis } from 'ioredis';

import { keySlot } from '../../adapters/redis/client.js';
import { probe, slotRange, startRedisCluster } from '../../support/redis-cluster.js';
import { infoNumber } from '../../support/redis-server.js';
import { startGuardedRedis } from './redis.js';

/**
 * A private Redis Cluster for the benchmark (support/redis-cluster.ts), its nodes guarded like the
 * benchmark's other redis-servers, with one connection per master for what is read off each: CPU
 * used, keys held.
 */
export interface BenchCluster {
  readonly masters: number;
  /** `127.0.0.1:<port>` of each master, in slot order. */
  readonly nodes: readonly string[];
  /** The masters' redis-server processes (for the machine's CPU accounting). */
  readonly pids: readonly number[];
  /** Each master's CPU seconds so far (INFO cpu: used_cpu_user + used_cpu_sys). */
  cpuSeconds(): Promise<number[]>;
  /** Keys matching `pattern` on each master (SCAN). */
  countKeys(pattern: string): Promise<number[]>;
  /** Index of the master serving `key`'s slot. */
  masterOf(key: string): number;
  stop(): Promise<void>;
}

async function scanCount(client: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    count += keys.length;
    cursor = next;
  } while (cursor !== '0');
  return count;
}

export async function startBenchCluster(masters: number): Promise<BenchCluster> {
  const processes = await startRedisCluster({ masters, startNode: (args) => startGuardedRedis(args) });
  const probes = processes.masterPorts.map((port) => probe(port));
  try {
    await Promise.all(probes.map((client) => client.connect()));
    const pids = await Promise.all(probes.map(async (client) => infoNumber(await client.info('server'), 'process_id')));
    return {
      masters,
      nodes: processes.masterPorts.map((port) => `127.0.0.1:${port}`),
      pids,
      cpuSeconds: () =>
        Promise.all(
          probes.map(async (client) => {
            const info = await client.info('cpu');
            return infoNumber(info, 'used_cpu_user') + infoNumber(info, 'used_cpu_sys');
          }),
        ),
      countKeys: (pattern) => Promise.all(probes.map((client) => scanCount(client, pattern))),
      masterOf(key) {
        const slot = keySlot(key);
        return Array.from({ length: masters }, (_, i) => slotRange(i, masters)).findIndex(
          ([from, to]) => slot >= from && slot <= to,
        );
      },
      async stop() {
        for (const client of probes) client.disconnect();
        await processes.stop();
      },
    };
  } catch (err) {
    for (const client of probes) client.disconnect();
    await processes.stop();
    throw err;
  }
}
