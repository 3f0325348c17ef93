import type { Redis } from 'ioredis';

import type { NodeRedisClient } from '../client.js';
import { ioredisLink, nodeRedisLink, type OpenLink } from './links.js';

/** The caller's client, as the cache tracks through it. */
export interface TrackingSource {
  /** What the server's key names start with beyond the store's: the caller's ioredis `keyPrefix`, or ''. */
  readonly keyPrefix: string;
  /** The prefix tracked, as the server names keys. */
  readonly trackedPrefix: string;
  /** A fresh connection to the server. */
  readonly open: OpenLink;
}

/**
 * The source for `client`: a standalone ioredis client (with or without sentinels) or a node-redis v5
 * `createClient()`; anything else is a TypeError naming `optionPath`. A cluster would need tracking on
 * the node that owns the records' slot.
 */
export function trackingSource(client: unknown, clientPrefix: string, optionPath: string): TrackingSource {
  const candidate = client as Record<string, unknown> | null;
  if (candidate && typeof candidate === 'object') {
    if (typeof candidate.call === 'function' && typeof candidate.status === 'string') {
      if (candidate.isCluster !== true && typeof candidate.duplicate === 'function') {
        const ioredis = client as Redis;
        const keyPrefix = ioredis.options.keyPrefix ?? '';
        const open: OpenLink = (name, onLost) => ioredisLink(ioredis, name, onLost);
        return { keyPrefix, trackedPrefix: keyPrefix + clientPrefix, open };
      }
    } else if (
      typeof candidate.sendCommand === 'function' &&
      typeof candidate.isReady === 'boolean' &&
      typeof candidate.duplicate === 'function' &&
      typeof candidate.getMasterNode !== 'function'
    ) {
      const open: OpenLink = (name, onLost) => nodeRedisLink(client as NodeRedisClient, name, onLost);
      return { keyPrefix: '', trackedPrefix: clientPrefix, open };
    }
  }
  throw new TypeError(
    `${optionPath} needs a standalone ioredis client (Redis, with or without sentinels) or a node-redis v5 ` +
      'createClient() client; Redis Cluster clients are not supported',
  );
}
