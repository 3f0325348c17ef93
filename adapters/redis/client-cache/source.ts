import type { Cluster, Redis } from 'ioredis';

import { keySlot, type NodeRedisClient, type NodeRedisCluster } from '../client.js';
import { ioredisLink, nodeRedisLink, type OpenLink } from './links.js';

/** Where tracking runs: one server, and how to tell whether the caller's client still goes there. */
export interface Placement {
  /** On a cluster, the slot of every client record, which the node must own; undefined on one server. */
  readonly slot: number | undefined;
  /** Whether the caller's client still sends that slot's commands to this node (always, on one server). */
  routed(): boolean;
  /** A fresh connection to the node. */
  readonly open: OpenLink;
}

/** The caller's client, as the cache tracks through it. */
export interface TrackingSource {
  /** What the server's key names start with beyond the store's: the caller's ioredis `keyPrefix`, or ''. */
  readonly keyPrefix: string;
  /** The prefix tracked, as the server names keys. */
  readonly trackedPrefix: string;
  /**
   * The node that holds the client records now: the server, or the cluster master owning their slot as
   * the caller's client routes it; undefined while that client knows none (a cluster not connected yet).
   */
  place(): Promise<Placement | undefined>;
}

/**
 * The source for `client`: an ioredis client (standalone, with or without sentinels, or Cluster) or a
 * node-redis v5 client (`createClient()` or `createCluster()`); anything else is a TypeError naming
 * `optionPath`. Every client record shares the store's hash tag, so on a cluster one master holds
 * them all and tracking needs connections to that master only.
 */
export function trackingSource(client: unknown, clientPrefix: string, optionPath: string): TrackingSource {
  const candidate = client as Record<string, unknown> | null;
  if (candidate && typeof candidate === 'object') {
    if (typeof candidate.call === 'function' && typeof candidate.status === 'string') {
      if (candidate.isCluster === true) return ioredisCluster(client as Cluster, clientPrefix, optionPath);
      if (typeof candidate.duplicate === 'function') return ioredisServer(client as Redis, clientPrefix);
    }
    if (typeof candidate.sendCommand === 'function' && typeof candidate.getMasterNode !== 'function') {
      if (
        Array.isArray(candidate.masters) &&
        typeof candidate.nodeClient === 'function' &&
        Array.isArray(candidate.slots)
      )
        return nodeRedisCluster(client as NodeRedisCluster, clientPrefix);
      if (typeof candidate.isReady === 'boolean' && typeof candidate.duplicate === 'function')
        return nodeRedisServer(client as NodeRedisClient, clientPrefix);
    }
  }
  throw new TypeError(
    `${optionPath} needs an ioredis client (Redis, with or without sentinels, or Cluster) or a node-redis v5 ` +
      'client (createClient() or createCluster())',
  );
}

const everywhere = () => true;

function ioredisServer(client: Redis, clientPrefix: string): TrackingSource {
  const keyPrefix = client.options.keyPrefix ?? '';
  const placement: Placement = {
    slot: undefined,
    routed: everywhere,
    open: (name, onLost) => ioredisLink(client, name, onLost),
  };
  return { keyPrefix, trackedPrefix: keyPrefix + clientPrefix, place: async () => placement };
}

function ioredisCluster(cluster: Cluster, clientPrefix: string, optionPath: string): TrackingSource {
  // a read a replica answers may predate an invalidation already handled, and would be kept
  if ((cluster.options.scaleReads ?? 'master') !== 'master') {
    throw new TypeError(`${optionPath} needs an ioredis Cluster that reads from masters (scaleReads 'master')`);
  }
  const keyPrefix = cluster.options.keyPrefix ?? '';
  const trackedPrefix = keyPrefix + clientPrefix;
  const slot = keySlot(trackedPrefix);
  return {
    keyPrefix,
    trackedPrefix,
    async place() {
      const owner = cluster.slots[slot]?.[0];
      const node = cluster.nodes('master').find((each) => `${each.options.host}:${each.options.port}` === owner);
      if (!node) return undefined;
      return {
        slot,
        routed: () => cluster.slots[slot]?.[0] === owner,
        open: (name, onLost) => ioredisLink(node, name, onLost),
      };
    },
  };
}

function nodeRedisServer(client: NodeRedisClient, clientPrefix: string): TrackingSource {
  const placement: Placement = {
    slot: undefined,
    routed: everywhere,
    open: (name, onLost) => nodeRedisLink(client, name, onLost),
  };
  return { keyPrefix: '', trackedPrefix: clientPrefix, place: async () => placement };
}

function nodeRedisCluster(cluster: NodeRedisCluster, clientPrefix: string): TrackingSource {
  const slot = keySlot(clientPrefix);
  const ownerOf = () => {
    const master = cluster.slots[slot]?.master;
    return master && `${master.host}:${master.port}`;
  };
  return {
    keyPrefix: '',
    trackedPrefix: clientPrefix,
    async place() {
      const master = cluster.slots[slot]?.master;
      if (!master) return undefined;
      const owner = ownerOf();
      const node = await cluster.nodeClient(master);
      return {
        slot,
        routed: () => ownerOf() === owner,
        open: (name, onLost) => nodeRedisLink(node, name, onLost),
      };
    },
  };
}
