import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

import { GRANTABLE } from '../../src/grantable.js';
import { Connection, type RedisClient } from './connection.js';
import { checkPrefix, ProviderKeys } from './keys.js';
import { hashFields } from './replies.js';
import * as scripts from './scripts/provider.js';

export interface RedisAdapterOptions {
  /** An ioredis client (standalone, Sentinel or Cluster) or a node-redis v5 client (`createClient()`, `createCluster()`). */
  readonly client: RedisClient;
  /** Prefix of every key; it is also the Cluster hash tag. Default `oidc:`. */
  readonly prefix?: string;
  /** Upper bound of every Redis call in milliseconds. Default 2000. */
  readonly timeoutMs?: number;
}

/** Turns an instance hash (HGETALL reply, or a script's) into the provider's payload. */
export function payloadFromHash(reply: unknown): AdapterPayload | undefined {
  if (reply === null || reply === undefined) return undefined;
  const fields = hashFields(reply);
  if (typeof fields.payload !== 'string') return undefined;
  const payload = JSON.parse(fields.payload) as AdapterPayload;
  if (fields.consumed !== undefined) payload.consumed = Number(fields.consumed);
  return payload;
}

class RedisModelAdapter implements Adapter {
  readonly #model: string;
  readonly #connection: Connection;
  readonly #keys: ProviderKeys;

  constructor(model: string, connection: Connection, keys: ProviderKeys) {
    this.#model = model;
    this.#connection = connection;
    this.#keys = keys;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    // an absent index is named by the model key itself: '' would hash to another Redis Cluster slot
    const key = this.#keys.model(this.#model, id);
    const grantKey = GRANTABLE.has(this.#model) && payload.grantId ? this.#keys.grant(payload.grantId) : key;
    const uidKey = this.#model === 'Session' && payload.uid ? this.#keys.sessionUid(payload.uid) : key;
    const codeKey = payload.userCode ? this.#keys.userCode(this.#model, payload.userCode) : key;
    if (typeof expiresIn === 'number' && expiresIn <= 0) {
      // saved with no time left: a TTL of 0 would mean "never expires", so replace it with nothing
      await this.destroy(id);
      return;
    }
    const ttl = typeof expiresIn === 'number' ? Math.ceil(expiresIn) : 0;
    await this.#connection.run(
      scripts.upsert,
      [key, grantKey, uidKey, codeKey],
      [JSON.stringify(payload), ttl],
    );
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return payloadFromHash(await this.#connection.send('HGETALL', this.#keys.model(this.#model, id)));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    // only Sessions are indexed by uid: any other model would be handed a Session
    if (this.#model !== 'Session') return undefined;
    return payloadFromHash(await this.#connection.run(scripts.findByIndex, [this.#keys.sessionUid(uid)], []));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return payloadFromHash(await this.#connection.run(scripts.findByIndex, [this.#keys.userCode(this.#model, userCode)], []));
  }

  async consume(id: string): Promise<void> {
    await this.#connection.run(scripts.consume, [this.#keys.model(this.#model, id)], [Math.floor(Date.now() / 1000)]);
  }

  async destroy(id: string): Promise<void> {
    await this.#connection.run(scripts.destroy, [this.#keys.model(this.#model, id)], []);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#connection.run(scripts.revokeByGrantId, [this.#keys.grant(grantId)], []);
  }
}

/**
 * An oidc-provider Adapter factory keeping every model in Redis: one hash per instance with its TTL,
 * every write one script (one round trip), every key under one hash tag so it works on Redis Cluster.
 */
export function redisAdapter(options: RedisAdapterOptions): AdapterFactory {
  if (!options || typeof options !== 'object') throw new TypeError('redisAdapter(options): options must be an object');
  const keys = new ProviderKeys(checkPrefix(options.prefix ?? 'oidc:', 'redisAdapter options.prefix'));
  const timeoutMs = options.timeoutMs ?? 2000;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError('redisAdapter options.timeoutMs must be a positive integer');
  }
  const connection = new Connection(options.client, { timeoutMs, optionPath: 'redisAdapter options.client' });
  const adapters = new Map<string, RedisModelAdapter>();
  return (model: string) => {
    let adapter = adapters.get(model);
    if (!adapter) {
      adapter = new RedisModelAdapter(model, connection, keys);
      adapters.set(model, adapter);
    }
    return adapter;
  };
}
