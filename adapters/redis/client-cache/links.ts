import type { Redis } from 'ioredis';

import type { NodeRedisClient } from '../client.js';

/** The keys a message invalidates, as the server names them; null when every key may have changed (a flush). */
export type Invalidation = readonly string[] | null;

/**
 * One of the cache's own connections, whatever the library. It connects once and never reconnects on
 * its own: when anything goes wrong the tracker replaces both of its connections, so that set-up always
 * starts from a fresh connection to whichever node then owns the records (tracker.ts).
 */
export interface Link {
  /** Whether a command may be sent now. */
  readonly ready: boolean;
  /**
   * The server's address as the socket sees it, where each connection finds its server anew (through
   * sentinels); undefined where every connection goes to one configured address.
   */
  readonly peer: string | undefined;
  /** Resolves once ready; rejects when it cannot connect. */
  connect(): Promise<void>;
  call(args: readonly string[]): Promise<unknown>;
  /** PING: also allowed once subscribed. */
  ping(): Promise<unknown>;
  subscribe(channel: string, onMessage: (keys: Invalidation) => void): Promise<void>;
  /** Closes it; its `onLost` is not called for that. */
  close(): void;
}

/** Opens a link named `name` (CLIENT SETNAME); `onLost` runs once if it closes or fails on its own. */
export type OpenLink = (name: string, onLost: () => void) => Link;

/** A `duplicate()` of an ioredis client or cluster node: same server (or sentinels), auth and TLS. */
export function ioredisLink(base: Redis, name: string, onLost: () => void): Link {
  const connection = base.duplicate({
    lazyConnect: true,
    connectionName: name,
    // the tracked prefix and the channel are absolute names
    keyPrefix: '',
    retryStrategy: () => null,
    reconnectOnError: null,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    // a command for a connection that is down fails at once instead of waiting for it
    enableOfflineQueue: false,
  });
  // a name may resolve to several addresses of one server: compare only what sentinels gave
  const resolved = (base.options.sentinels?.length ?? 0) > 0;
  let closed = false;
  // failures show as a close; an unhandled 'error' would only be printed
  connection.on('error', () => {});
  connection.once('close', () => {
    if (closed) return;
    closed = true;
    onLost();
  });
  return {
    get ready() {
      return !closed && connection.status === 'ready';
    },
    get peer() {
      const { remoteAddress, remotePort } = connection.stream ?? {};
      return resolved && remoteAddress !== undefined ? `${remoteAddress}:${remotePort}` : undefined;
    },
    async connect() {
      await connection.connect();
    },
    call: ([command, ...args]) => connection.call(command!, ...args),
    ping: () => connection.ping(),
    async subscribe(channel, onMessage) {
      connection.on('messageBuffer', (from: Buffer, message: unknown) => {
        if (from.toString() === channel) onMessage(keysOf(message));
      });
      await connection.subscribe(channel);
    },
    close() {
      closed = true;
      connection.disconnect();
    },
  };
}

/** The part of a node-redis v5 client the cache drives on its own connections. */
interface NodeRedisLinkClient {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  sendCommand(args: readonly string[]): Promise<unknown>;
  subscribe(channel: string, listener: (message: unknown) => void): Promise<unknown>;
  on(event: 'error', listener: () => void): unknown;
  destroy(): void;
}

/** A node-redis v5 client that can be duplicated (`createClient()`, or a cluster's node client). */
interface DuplicableNodeRedis extends NodeRedisClient {
  readonly options?: { readonly socket?: object };
  duplicate(overrides: object): NodeRedisLinkClient;
}

function duplicable(client: NodeRedisClient): DuplicableNodeRedis {
  if (typeof (client as Partial<DuplicableNodeRedis>).duplicate !== 'function') {
    throw new TypeError('the node-redis client has no duplicate()');
  }
  return client as DuplicableNodeRedis;
}

/**
 * A `duplicate()` of a node-redis client (same server, credentials, TLS and database), in RESP2 so that
 * invalidations arrive as Pub/Sub messages, without anything of the caller's that RESP2 refuses.
 */
export function nodeRedisLink(base: NodeRedisClient, name: string, onLost: () => void): Link {
  const source = duplicable(base);
  const connection = source.duplicate({
    name,
    socket: { ...source.options?.socket, reconnectStrategy: false },
    RESP: 2,
    commandOptions: undefined,
    clientSideCache: undefined,
    emitInvalidate: undefined,
    maintNotifications: 'disabled',
    disableOfflineQueue: true,
  });
  let closed = false;
  const lost = () => {
    if (closed) return;
    closed = true;
    onLost();
  };
  // without reconnection, a lost socket shows only as an 'error'
  connection.on('error', lost);
  return {
    get ready() {
      return !closed && connection.isReady;
    },
    peer: undefined,
    async connect() {
      await connection.connect();
    },
    call: (args) => connection.sendCommand(args),
    ping: () => connection.sendCommand(['PING']),
    async subscribe(channel, onMessage) {
      await connection.subscribe(channel, (message) => onMessage(keysOf(message)));
    },
    close() {
      closed = true;
      try {
        connection.destroy();
      } catch {
        // already closed
      }
    },
  };
}

/** An invalidation message as either library gives it (RESP2: the list of keys, or nil for a flush). */
function keysOf(message: unknown): Invalidation {
  if (message === null || message === undefined) return null;
  return (Array.isArray(message) ? message : [message]).map((key: unknown) =>
    Buffer.isBuffer(key) ? key.toString('utf8') : String(key),
  );
}
