import type { Cluster, Redis } from 'ioredis';

/**
 * The Redis clients this package accepts, each behind one small interface: send a command (routed by
 * its first key), say whether a command may be sent now, and list the masters. Everything else —
 * timeouts, scripts, WAIT — lives once in connection.ts, whichever client the caller brought.
 */

export type Arg = string | number;

/** Options of a node-redis command; `typeMapping: {}` undoes any mapping the caller's client has. */
export interface NodeRedisCommandOptions {
  abortSignal?: AbortSignal;
  typeMapping?: object;
}

/** The part of a node-redis v5 client (`createClient()`) this package uses. */
export interface NodeRedisClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  sendCommand(args: readonly string[], options?: NodeRedisCommandOptions): Promise<unknown>;
  on(event: 'ready', listener: () => void): unknown;
}

/** A master or replica of a node-redis cluster, as `cluster.masters` lists them. */
export interface NodeRedisShardNode {
  readonly host: string;
  readonly port: number;
  readonly client?: NodeRedisClient | undefined;
}

/** The part of a node-redis v5 cluster client (`createCluster()`) this package uses. */
export interface NodeRedisCluster {
  readonly isOpen: boolean;
  readonly masters: readonly NodeRedisShardNode[];
  readonly slots: ReadonlyArray<{ readonly master: NodeRedisShardNode } | undefined>;
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
    options?: NodeRedisCommandOptions,
  ): Promise<unknown>;
  nodeClient(node: NodeRedisShardNode): NodeRedisClient | Promise<NodeRedisClient>;
}

/** What `redisStore` and `redisAdapter` take as `client`. It stays the caller's: nothing here quits it. */
export type RedisClient = Redis | Cluster | NodeRedisClient | NodeRedisCluster;

export interface SendOptions {
  /**
   * The command's first key, which routes it on a cluster. With `keyless`, the command has no key of
   * its own (WAIT) and runs on the master owning this key's slot, over the connection that served it.
   */
  readonly key?: string | undefined;
  readonly keyless?: boolean;
  /**
   * Aborted when the caller stops waiting: a command the client has not written yet is then dropped.
   * Given only to clients that take one (`abortable`).
   */
  readonly signal?: AbortSignal | undefined;
}

/** One Redis client, whatever its library, as connection.ts uses it. */
export interface CommandClient {
  /** The library and topology, for messages. */
  readonly kind: string;
  /** Whether `send` honours `signal` (node-redis); the others are spared an AbortController per call. */
  readonly abortable: boolean;
  /**
   * Why no command may be sent now toward the master owning `key` (the client or that node is
   * disconnected), or undefined when one may. A command refused here is never queued for later.
   */
  refusal(key?: string): string | undefined;
  send(args: readonly Arg[], options: SendOptions): Promise<unknown>;
  /** One client per master (just this one for a standalone server or a Sentinel-managed master). */
  masters(): Promise<CommandClient[]>;
}

/**
 * The client of `value`, told apart by shape at construction; anything else is a TypeError that names
 * `optionPath`. A node-redis Sentinel or pool is refused: their commands may each take a different
 * connection, so WAIT could not follow the write it is about.
 */
export function commandClient(value: unknown, optionPath: string): CommandClient {
  const client = value as Record<string, unknown> | null | undefined;
  const expected =
    `${optionPath} must be an ioredis client (Redis or Cluster) or a node-redis v5 client ` +
    `(createClient() or createCluster())`;
  if (!client || typeof client !== 'object') throw new TypeError(expected);
  if (typeof client.call === 'function' && typeof client.status === 'string') {
    if (client.isCluster === true && typeof client.nodes === 'function') return new IoredisCluster(value as Cluster);
    return new IoredisClient(value as Redis);
  }
  if (typeof client.sendCommand === 'function') {
    if (typeof client.getMasterNode === 'function') {
      throw new TypeError(`${expected}; a node-redis Sentinel client is not supported: use ioredis with sentinels`);
    }
    if (Array.isArray(client.masters) && typeof client.nodeClient === 'function' && Array.isArray(client.slots)) {
      return new NodeRedisClusterClient(value as NodeRedisCluster);
    }
    if (typeof client.isReady === 'boolean' && typeof client.isOpen === 'boolean' && typeof client.on === 'function') {
      return new NodeRedisStandalone(value as NodeRedisClient);
    }
  }
  throw new TypeError(expected);
}

// ---- ioredis ------------------------------------------------------------------------------------

/** ioredis statuses in which a command would be queued (or fail) rather than sent. */
const NOT_SENDING = new Set(['reconnecting', 'close', 'end']);

/** Clients that have been ready once; one listener per client however many stores share it. */
const everReady = new WeakSet<object>();
const watched = new WeakSet<object>();

function watchIoredis(client: Redis | Cluster): void {
  if (watched.has(client)) return;
  watched.add(client);
  if (client.status === 'ready') everReady.add(client);
  client.on('ready', () => everReady.add(client));
}

/** Before its first connection a client may hold a command until it connects; after it, it must not. */
function ioredisRefusal(client: Redis | Cluster, what: string): string | undefined {
  const { status } = client;
  if (NOT_SENDING.has(status) || (everReady.has(client) && status !== 'ready')) return `${what} is ${status}`;
  return undefined;
}

const strings = (args: readonly Arg[]) => args.map(String);

class IoredisClient implements CommandClient {
  readonly abortable = false;
  readonly kind = 'ioredis';
  readonly #client: Redis;

  constructor(client: Redis) {
    this.#client = client;
    watchIoredis(client);
  }

  refusal(): string | undefined {
    return ioredisRefusal(this.#client, 'redis client');
  }

  async send(args: readonly Arg[]): Promise<unknown> {
    const [command, ...rest] = strings(args);
    return this.#client.call(command!, ...rest);
  }

  async masters(): Promise<CommandClient[]> {
    return [this];
  }
}

class IoredisCluster implements CommandClient {
  readonly abortable = false;
  readonly kind = 'ioredis Cluster';
  readonly #cluster: Cluster;

  constructor(cluster: Cluster) {
    this.#cluster = cluster;
    watchIoredis(cluster);
  }

  /** The master connection serving `key`'s slot, as the cluster's slot table has it now. */
  #node(key: string): Redis | undefined {
    const owner = this.#cluster.slots[keySlot(key)]?.[0];
    if (!owner) return undefined;
    return this.#cluster.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === owner);
  }

  refusal(key?: string): string | undefined {
    const refused = ioredisRefusal(this.#cluster, 'redis cluster client');
    if (refused || key === undefined) return refused;
    const node = this.#node(key);
    // a node not connected yet ('wait') connects on first use; one that lost its connection must not queue
    return node && NOT_SENDING.has(node.status)
      ? `redis cluster node ${node.options.host}:${node.options.port} is ${node.status}`
      : undefined;
  }

  async send(args: readonly Arg[], { key, keyless }: SendOptions): Promise<unknown> {
    const [command, ...rest] = strings(args);
    if (!keyless) return this.#cluster.call(command!, ...rest);
    const node = key === undefined ? undefined : this.#node(key);
    if (!node) throw new Error(`Connection is closed: no master known for the slot of ${command}`);
    return node.call(command!, ...rest);
  }

  async masters(): Promise<CommandClient[]> {
    return this.#cluster.nodes('master').map((node) => new IoredisClient(node));
  }
}

// ---- node-redis ---------------------------------------------------------------------------------

/** Every reply as the RESP defaults give it: strings, numbers, arrays, maps as plain objects. */
const DEFAULT_TYPES: NodeRedisCommandOptions['typeMapping'] = {};

function nodeRedisRefusal(client: NodeRedisClient, what: string): string | undefined {
  if (!client.isOpen) return `${what} is closed`;
  if (client.isReady) {
    everReady.add(client);
    return undefined;
  }
  // node-redis queues a command sent while it reconnects (unless the caller's client disables its
  // offline queue): after the first connection, refuse instead
  return everReady.has(client) ? `${what} is reconnecting` : undefined;
}

function watchNodeRedis(client: NodeRedisClient): void {
  if (watched.has(client)) return;
  watched.add(client);
  if (client.isReady) everReady.add(client);
  client.on('ready', () => everReady.add(client));
}

class NodeRedisStandalone implements CommandClient {
  readonly abortable = true;
  readonly kind = 'node-redis';
  readonly #client: NodeRedisClient;

  constructor(client: NodeRedisClient) {
    this.#client = client;
    watchNodeRedis(client);
  }

  refusal(): string | undefined {
    return nodeRedisRefusal(this.#client, 'redis client');
  }

  async send(args: readonly Arg[], { signal }: SendOptions): Promise<unknown> {
    return this.#client.sendCommand(strings(args), { abortSignal: signal, typeMapping: DEFAULT_TYPES });
  }

  async masters(): Promise<CommandClient[]> {
    return [this];
  }
}

class NodeRedisClusterClient implements CommandClient {
  readonly abortable = true;
  readonly kind = 'node-redis cluster';
  readonly #cluster: NodeRedisCluster;

  constructor(cluster: NodeRedisCluster) {
    this.#cluster = cluster;
  }

  refusal(key?: string): string | undefined {
    if (!this.#cluster.isOpen) return 'redis cluster client is closed';
    if (key === undefined) return undefined;
    const master = this.#cluster.slots[keySlot(key)]?.master;
    // a master without a client yet gets one, connected, on first use
    return master?.client
      ? nodeRedisRefusal(master.client, `redis cluster node ${master.host}:${master.port}`)
      : undefined;
  }

  async send(args: readonly Arg[], { key, signal }: SendOptions): Promise<unknown> {
    // routed by `key` to its slot's master (never a replica), keyless commands included
    return this.#cluster.sendCommand(key, false, strings(args), { abortSignal: signal, typeMapping: DEFAULT_TYPES });
  }

  async masters(): Promise<CommandClient[]> {
    const clients = await Promise.all(this.#cluster.masters.map((master) => this.#cluster.nodeClient(master)));
    return clients.map((client) => new NodeRedisStandalone(client));
  }
}

// ---- slots --------------------------------------------------------------------------------------

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte += 1) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

/** The Redis Cluster slot of `key`: CRC16 (XMODEM) of its hash tag, or of the whole key without one. */
export function keySlot(key: string): number {
  let bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b); // '{'
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1); // '}'
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc & 16383;
}
