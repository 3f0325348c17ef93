import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

import { GRANTABLE } from '../../src/grantable.js';
import { Connection, type RedisClient } from './connection.js';
import { checkPrefix, ProviderKeys } from './keys.js';
import { hashFields } from './replies.js';
import * as scripts from './scripts/provider.js';

export interface RedisAdapterOptions {
  /**
   * An ioredis client (standalone, Sentinel or Cluster) or a node-redis v5 client (`createClient()`,
   * `createCluster()`).
   */
  readonly client: RedisClient;
  /** Prefix of every key. Default `oidc:`. Keys are not tagged by it: they spread over a cluster's slots. */
  readonly prefix?: string;
  /** Upper bound of every Redis call in milliseconds. Default 2000. */
  readonly timeoutMs?: number;
  /**
   * How long, in seconds at least, a revoked grant stays marked revoked, so that a token of it written
   * late (by a process that was slow to save it) is never found. It also lives as long as the longest
   * member the grant had. Default 14 days, oidc-provider's default lifetime of a grant and its refresh
   * tokens; raise it if yours live longer.
   */
  readonly revokedGrantTtl?: number;
}

const DEFAULT_REVOKED_GRANT_TTL = 14 * 24 * 3600;

/** Turns an instance hash (HGETALL reply, or a script's) into the provider's payload. */
export function payloadFromHash(reply: unknown): AdapterPayload | undefined {
  if (reply === null || reply === undefined) return undefined;
  const fields = hashFields(reply);
  if (typeof fields.payload !== 'string') return undefined;
  const payload = JSON.parse(fields.payload) as AdapterPayload;
  if (fields.consumed !== undefined) payload.consumed = Number(fields.consumed);
  return payload;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : String(value ?? ''));

/** What the models of one factory share. */
interface Shared {
  readonly connection: Connection;
  readonly keys: ProviderKeys;
  readonly revokedGrantTtl: number;
}

/**
 * One model's instances. An instance, its index entries and its grant live in slots of their own, so a
 * change that spans them is made as steps of one slot each, in an order that leaves nothing wrong if a
 * step is never made: the instance first, then its index entries (a lookup checks that the instance
 * still names the entry), then its grant's set of members (only used to find what to remove on
 * revocation; the revocation marker, checked on every find, is what keeps a revoked grant's tokens dead).
 */
class RedisModelAdapter implements Adapter {
  readonly #model: string;
  readonly #shared: Shared;

  constructor(model: string, shared: Shared) {
    this.#model = model;
    this.#shared = shared;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    if (typeof expiresIn === 'number' && expiresIn <= 0) {
      // saved with no time left: a TTL of 0 would mean "never expires", so replace it with nothing
      await this.destroy(id);
      return;
    }
    const { connection, keys } = this.#shared;
    const key = keys.model(this.#model, id);
    const grantId = GRANTABLE.has(this.#model) && payload.grantId ? String(payload.grantId) : '';
    const grantKey = grantId ? keys.grant(grantId) : '';
    const uidKey = this.#model === 'Session' && payload.uid ? keys.sessionUid(String(payload.uid)) : '';
    const codeKey = payload.userCode ? keys.userCode(this.#model, String(payload.userCode)) : '';
    const ttl = typeof expiresIn === 'number' ? Math.ceil(expiresIn) : 0;

    const old = (await connection.run(
      scripts.writeInstance,
      [key],
      [JSON.stringify(payload), ttl, grantKey, grantId, uidKey, codeKey],
    )) as unknown[];
    const [oldUid, oldCode, oldGrant] = old.map(text);
    const steps: Promise<unknown>[] = [];
    for (const [now, before] of [
      [uidKey, oldUid],
      [codeKey, oldCode],
    ] as const) {
      if (now) steps.push(connection.run(scripts.pointIndex, [now], [key, ttl]));
      if (before && before !== now) steps.push(connection.run(scripts.dropIndex, [before], [key]));
    }
    // an instance that moves to another grant (or to none) must no longer die with the old one
    if (oldGrant && oldGrant !== grantKey) steps.push(connection.run(scripts.leaveGrant, [oldGrant], [key]));
    if (grantKey) steps.push(connection.run(scripts.joinGrant, [grantKey], [key, ttl]));
    await Promise.all(steps);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#read(this.#shared.keys.model(this.#model, id));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    // only Sessions are indexed by uid: any other model would be handed a Session
    if (this.#model !== 'Session') return undefined;
    return this.#findByIndex(this.#shared.keys.sessionUid(uid), 'uid_key');
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#findByIndex(this.#shared.keys.userCode(this.#model, userCode), 'code_key');
  }

  /**
   * With refresh-token rotation, oidc-provider checks `consumed`, then consumes: two concurrent uses of
   * one refresh token both pass the check. The second consume sees the first's mark and revokes the
   * grant, so both racers' new tokens are dead and reuse detection holds on a networked store.
   */
  async consume(id: string): Promise<void> {
    const reply = await this.#shared.connection.run(
      scripts.consume,
      [this.#shared.keys.model(this.#model, id)],
      [Math.floor(Date.now() / 1000)],
    );
    if (!Array.isArray(reply)) return;
    const [, consumedBefore, grantId] = reply.map(text);
    if (this.#model === 'RefreshToken' && consumedBefore && grantId) await this.revokeByGrantId(grantId);
  }

  async destroy(id: string): Promise<void> {
    await this.#remove(this.#shared.keys.model(this.#model, id), '');
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    const { connection, keys, revokedGrantTtl } = this.#shared;
    const grantKey = keys.grant(grantId);
    const members = (await connection.run(
      scripts.revokeGrant,
      [grantKey, keys.revokedGrant(grantId)],
      [revokedGrantTtl],
    )) as unknown[];
    await Promise.all(members.map((member) => this.#remove(text(member), grantKey)));
  }

  /** An instance, unless its grant was revoked: then it is as good as gone. */
  async #read(
    key: string,
    index?: { readonly key: string; readonly field: string },
  ): Promise<AdapterPayload | undefined> {
    const { connection, keys } = this.#shared;
    const fields = hashFields(await connection.send('HGETALL', key));
    // an index entry left behind by an instance that has moved on names nothing any more
    if (index && fields[index.field] !== index.key) return undefined;
    const payload = payloadFromHash(fields);
    if (!payload || !fields.grant_id) return payload;
    return Number(await connection.send('EXISTS', keys.revokedGrant(fields.grant_id))) === 1 ? undefined : payload;
  }

  async #findByIndex(indexKey: string, field: string): Promise<AdapterPayload | undefined> {
    const key = await this.#shared.connection.send('GET', indexKey);
    if (typeof key !== 'string') return undefined;
    return this.#read(key, { key: indexKey, field });
  }

  /** Removes an instance (only while it belongs to `grantKey`, when given), then what pointed at it. */
  async #remove(key: string, grantKey: string): Promise<void> {
    const { connection } = this.#shared;
    const reply = await connection.run(scripts.removeInstance, [key], [grantKey]);
    if (!Array.isArray(reply)) return;
    const [, uidKey, codeKey, ownGrant] = reply.map(text);
    await Promise.all([
      ...[uidKey, codeKey].filter(Boolean).map((index) => connection.run(scripts.dropIndex, [index!], [key])),
      ...(ownGrant && ownGrant !== grantKey ? [connection.run(scripts.leaveGrant, [ownGrant], [key])] : []),
    ]);
  }
}

/**
 * An oidc-provider Adapter factory keeping every model in Redis: one hash per instance with its TTL.
 * Keys spread over a Redis Cluster's slots (keys.ts); every change is one script per slot it touches.
 */
export function redisAdapter(options: RedisAdapterOptions): AdapterFactory {
  if (!options || typeof options !== 'object') throw new TypeError('redisAdapter(options): options must be an object');
  const keys = new ProviderKeys(checkPrefix(options.prefix ?? 'oidc:', 'redisAdapter options.prefix'));
  const timeoutMs = options.timeoutMs ?? 2000;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError('redisAdapter options.timeoutMs must be a positive integer');
  }
  const revokedGrantTtl = options.revokedGrantTtl ?? DEFAULT_REVOKED_GRANT_TTL;
  if (!Number.isInteger(revokedGrantTtl) || revokedGrantTtl <= 0) {
    throw new TypeError('redisAdapter options.revokedGrantTtl must be a positive integer of seconds');
  }
  const connection = new Connection(options.client, { timeoutMs, optionPath: 'redisAdapter options.client' });
  const shared: Shared = { connection, keys, revokedGrantTtl };
  const adapters = new Map<string, RedisModelAdapter>();
  return (model: string) => {
    let adapter = adapters.get(model);
    if (!adapter) {
      adapter = new RedisModelAdapter(model, shared);
      adapters.set(model, adapter);
    }
    return adapter;
  };
}
