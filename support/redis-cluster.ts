import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Redis } from 'ioredis';

import { portIsFree } from './ports.js';
import { stopChild } from './processes.js';
import { privateRedisArgs, spawnRedisServer, waitUntilAnswering } from './redis-server.js';
import { waitFor } from './wait.js';

/**
 * A private Redis Cluster on loopback, for the cluster tests and the benchmark: each node a redis-server
 * on a free port with its nodes.conf in a temporary directory, nothing persisted. The cluster is put
 * together by hand (slots, MEET, REPLICATE) rather than with `redis-cli --cluster create`, which refuses
 * fewer than three masters: the benchmark compares one master with several.
 */

const SLOTS = 16_384;

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

/** A running redis-server of the cluster, as its starter sees it. */
export interface NodeProcess {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  readonly masters: number;
  /** Replicas per master (0). */
  readonly replicas?: number;
  /**
   * Starts one node with these redis-server arguments. By default a plain child process, killed by
   * `stop()`; the benchmark passes one that also dies with it, however it ends.
   */
  readonly startNode?: (args: readonly string[]) => NodeProcess;
}

export interface RedisClusterProcesses {
  /** Every node's port: the masters first, then the replicas of the first master, of the second… */
  readonly ports: readonly number[];
  /** The masters' ports, as assigned at start (a failover may change roles later). */
  readonly masterPorts: readonly number[];
  /** Stops every node and removes the temporary directory. */
  stop(): Promise<void>;
}

function plainNode(args: readonly string[]): NodeProcess {
  const child = spawnRedisServer(args);
  return { child, stop: () => stopChild(child, 'SIGKILL') };
}

/** The slots of master `index` of `masters`: an even split in contiguous ranges. */
export function slotRange(index: number, masters: number): readonly [number, number] {
  return [Math.floor((index * SLOTS) / masters), Math.floor(((index + 1) * SLOTS) / masters) - 1];
}

async function clusterInfoOk(port: number, nodes: number): Promise<true | undefined> {
  const info = String(await command(port, 'CLUSTER', 'INFO'));
  return /cluster_state:ok/.test(info) &&
    new RegExp(`cluster_slots_ok:${SLOTS}\\b`).test(info) &&
    new RegExp(`cluster_known_nodes:${nodes}\\b`).test(info)
    ? true
    : undefined;
}

/**
 * Starts `masters` masters with `replicas` replicas each; resolves once every node reports
 * cluster_state:ok with every slot served, and every replica is in sync.
 */
export async function startRedisCluster(options: RedisClusterOptions): Promise<RedisClusterProcesses> {
  const { masters, replicas = 0, startNode = plainNode } = options;
  if (!Number.isInteger(masters) || masters < 1) throw new Error(`masters must be a positive integer, got ${masters}`);
  const dir = mkdtempSync(join(tmpdir(), 'appkeys-cluster-'));
  const nodes: NodeProcess[] = [];
  const taken = new Set<number>();
  const ports: number[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (let i = 0; i < masters * (1 + replicas); i += 1) {
      const port = await freeClusterPort(taken);
      taken.add(port).add(port + 10_000);
      ports.push(port);
      nodes.push(
        startNode([
          ...privateRedisArgs(port),
          '--dir',
          dir,
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '2000',
          // a node learns its own address from a peer's MEET; a lone master would announce an empty one
          '--cluster-announce-ip',
          '127.0.0.1',
        ]),
      );
    }
    await Promise.all(ports.map((port, i) => waitUntilAnswering(port, nodes[i]!.child)));

    // distinct config epochs before meeting spare the nodes resolving a collision (redis-cli does the same)
    await Promise.all(ports.map((port, i) => command(port, 'CLUSTER', 'SET-CONFIG-EPOCH', i + 1)));
    await Promise.all(
      ports.slice(0, masters).map((port, i) => command(port, 'CLUSTER', 'ADDSLOTSRANGE', ...slotRange(i, masters))),
    );
    await Promise.all(ports.slice(1).map((port) => command(port, 'CLUSTER', 'MEET', '127.0.0.1', ports[0]!)));
    await Promise.all(
      ports.map((port) =>
        waitFor(`node ${port} knowing all ${ports.length} nodes`, async () => {
          const info = String(await command(port, 'CLUSTER', 'INFO'));
          return new RegExp(`cluster_known_nodes:${ports.length}\\b`).test(info) ? true : undefined;
        }),
      ),
    );
    if (replicas > 0) {
      const ids = await Promise.all(
        ports.slice(0, masters).map(async (port) => String(await command(port, 'CLUSTER', 'MYID'))),
      );
      await Promise.all(
        ports.slice(masters).map((port, j) => command(port, 'CLUSTER', 'REPLICATE', ids[Math.floor(j / replicas)]!)),
      );
    }

    await Promise.all(
      ports.map((port) => waitFor(`cluster_state:ok on ${port}`, () => clusterInfoOk(port, ports.length))),
    );
    await Promise.all(
      ports.slice(masters).map((port) =>
        waitFor(`replica ${port} in sync`, async () => {
          const info = String(await command(port, 'INFO', 'replication'));
          return /master_link_status:up/.test(info) ? true : undefined;
        }),
      ),
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return { ports, masterPorts: ports.slice(0, masters), stop };
}
