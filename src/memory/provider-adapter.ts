import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

import { GRANTABLE } from '../grantable.js';

export interface MemoryAdapterOptions {
  /** Seconds added to every expiry, as oidc-provider's own memory adapter does. Default 0. */
  readonly clockTolerance?: number;
  /**
   * How long, in seconds, a revoked grant stays marked revoked, so that a token of it saved late is
   * never found (as redisAdapter's `revokedGrantTtl`). Default 14 days.
   */
  readonly revokedGrantTtl?: number;
}

const DEFAULT_REVOKED_GRANT_TTL = 14 * 24 * 3600;

/**
 * The factory, plus a view of what it holds, so that an operator (or a test) can see that expired
 * entries do not accumulate.
 */
export type MemoryAdapterFactory = AdapterFactory & {
  /** Entries held: instances and index entries, expired ones included until they are swept. */
  readonly size: number;
  /** Removes every expired instance and its index entries now; the timer does this every minute. */
  sweep(): void;
};

const SWEEP_INTERVAL_MS = 60_000;

interface StoredInstance {
  /** A private copy: nothing the caller holds can reach it. */
  readonly payload: AdapterPayload;
  consumed: number | undefined;
  /** Epoch milliseconds; Infinity when the instance does not expire. */
  readonly expiresAt: number;
  readonly grantId: string | undefined;
  readonly uid: string | undefined;
  readonly userCode: string | undefined;
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

/**
 * Every model's instances and the indexes pointing at them. Index entries never outlive their instance:
 * whatever removes an instance (destroy, replacement, revocation, expiry) removes them with it, so
 * sweeping instances is enough to sweep everything.
 */
class Store {
  /** model → id → instance */
  readonly #instances = new Map<string, Map<string, StoredInstance>>();
  /** Session uid → Session id */
  readonly #uids = new Map<string, string>();
  /** model → user code → id; per model, so that one model's lookup never yields another's instance */
  readonly #userCodes = new Map<string, Map<string, string>>();
  /** grantId → model → ids */
  readonly #grants = new Map<string, Map<string, Set<string>>>();
  /** grantId → until when (epoch ms) it stays marked revoked */
  readonly #revoked = new Map<string, number>();
  readonly #revokedGrantTtlMs: number;

  constructor(revokedGrantTtl: number) {
    this.#revokedGrantTtlMs = revokedGrantTtl * 1000;
  }

  get size(): number {
    let size = this.#uids.size + this.#revoked.size;
    for (const ids of this.#instances.values()) size += ids.size;
    for (const codes of this.#userCodes.values()) size += codes.size;
    for (const models of this.#grants.values()) {
      for (const ids of models.values()) size += ids.size;
    }
    return size;
  }

  /** The live instance, or undefined; an expired one is removed on the way. */
  get(model: string, id: string, now: number): StoredInstance | undefined {
    const instance = this.#instances.get(model)?.get(id);
    if (instance === undefined) return undefined;
    if (instance.expiresAt <= now) {
      this.remove(model, id);
      return undefined;
    }
    // saved after its grant was revoked (by a slow request): as good as gone
    if (instance.grantId !== undefined && (this.#revoked.get(instance.grantId) ?? 0) > now) return undefined;
    return instance;
  }

  put(model: string, id: string, instance: StoredInstance): void {
    this.remove(model, id);
    getOrCreate(this.#instances, model, () => new Map()).set(id, instance);
    if (instance.uid !== undefined) this.#uids.set(instance.uid, id);
    if (instance.userCode !== undefined) {
      getOrCreate(this.#userCodes, model, () => new Map()).set(instance.userCode, id);
    }
    if (instance.grantId !== undefined) {
      const models = getOrCreate(this.#grants, instance.grantId, () => new Map<string, Set<string>>());
      getOrCreate(models, model, () => new Set()).add(id);
    }
  }

  /** Removes an instance and exactly the index entries that still point at it. */
  remove(model: string, id: string): void {
    const ids = this.#instances.get(model);
    const instance = ids?.get(id);
    if (ids === undefined || instance === undefined) return;
    ids.delete(id);
    if (ids.size === 0) this.#instances.delete(model);

    if (instance.uid !== undefined && this.#uids.get(instance.uid) === id) this.#uids.delete(instance.uid);
    if (instance.userCode !== undefined) {
      const codes = this.#userCodes.get(model);
      if (codes?.get(instance.userCode) === id) {
        codes.delete(instance.userCode);
        if (codes.size === 0) this.#userCodes.delete(model);
      }
    }
    if (instance.grantId !== undefined) {
      const models = this.#grants.get(instance.grantId);
      const members = models?.get(model);
      if (models !== undefined && members !== undefined) {
        members.delete(id);
        if (members.size === 0) models.delete(model);
        if (models.size === 0) this.#grants.delete(instance.grantId);
      }
    }
  }

  idByUid(uid: string): string | undefined {
    return this.#uids.get(uid);
  }

  idByUserCode(model: string, userCode: string): string | undefined {
    return this.#userCodes.get(model)?.get(userCode);
  }

  /** Removes every instance of the grant, whichever grantable model holds it, and marks it revoked. */
  revokeGrant(grantId: string, now: number): void {
    this.#revoked.set(grantId, Math.max(this.#revoked.get(grantId) ?? 0, now + this.#revokedGrantTtlMs));
    const models = this.#grants.get(grantId);
    if (models === undefined) return;
    for (const [model, ids] of [...models]) {
      for (const id of [...ids]) this.remove(model, id);
    }
  }

  sweep(now: number): void {
    for (const [grantId, until] of [...this.#revoked]) {
      if (until <= now) this.#revoked.delete(grantId);
    }
    for (const [model, ids] of [...this.#instances]) {
      for (const [id, instance] of [...ids]) {
        if (instance.expiresAt <= now) this.remove(model, id);
      }
    }
  }
}

function copyOut(instance: StoredInstance): AdapterPayload {
  const payload = structuredClone(instance.payload);
  if (instance.consumed !== undefined) payload.consumed = instance.consumed;
  return payload;
}

class MemoryModelAdapter implements Adapter {
  readonly #model: string;
  readonly #store: Store;
  readonly #toleranceMs: number;

  constructor(model: string, store: Store, clockTolerance: number) {
    this.#model = model;
    this.#store = store;
    this.#toleranceMs = clockTolerance * 1000;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const now = Date.now();
    const expiresAt = typeof expiresIn === 'number' ? now + expiresIn * 1000 + this.#toleranceMs : Infinity;
    if (expiresAt <= now) {
      // saved with no time left: it would never be found, so it replaces the old instance with nothing
      this.#store.remove(this.#model, id);
      return;
    }
    this.#store.put(this.#model, id, {
      payload: structuredClone(payload),
      consumed: undefined,
      expiresAt,
      grantId: GRANTABLE.has(this.#model) && payload.grantId ? payload.grantId : undefined,
      uid: this.#model === 'Session' && payload.uid ? payload.uid : undefined,
      userCode: payload.userCode ? payload.userCode : undefined,
    });
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const instance = this.#store.get(this.#model, id, Date.now());
    return instance && copyOut(instance);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    if (this.#model !== 'Session') return undefined;
    const id = this.#store.idByUid(uid);
    if (id === undefined) return undefined;
    const instance = this.#store.get(this.#model, id, Date.now());
    return instance && copyOut(instance);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const id = this.#store.idByUserCode(this.#model, userCode);
    if (id === undefined) return undefined;
    const instance = this.#store.get(this.#model, id, Date.now());
    return instance && copyOut(instance);
  }

  /** A refresh token consumed twice revokes its grant: see redisAdapter's `consume` for why. */
  async consume(id: string): Promise<void> {
    const now = Date.now();
    const instance = this.#store.get(this.#model, id, now);
    if (!instance) return;
    const consumedBefore = instance.consumed !== undefined;
    instance.consumed = Math.floor(now / 1000);
    if (this.#model === 'RefreshToken' && consumedBefore && instance.grantId !== undefined)
      this.#store.revokeGrant(instance.grantId, now);
  }

  async destroy(id: string): Promise<void> {
    this.#store.remove(this.#model, id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    this.#store.revokeGrant(grantId, Date.now());
  }
}

/**
 * An in-process oidc-provider Adapter factory for every model. Unlike oidc-provider's development
 * adapter it never evicts a live instance to make room: an instance lives until it expires, is
 * destroyed or its grant is revoked. Expired instances are dropped when touched and swept every minute.
 * State is lost with the process and not shared between processes: for one process only.
 */
export function memoryAdapter(options: MemoryAdapterOptions = {}): MemoryAdapterFactory {
  if (!options || typeof options !== 'object') throw new TypeError('memoryAdapter(options): options must be an object');
  const clockTolerance = options.clockTolerance ?? 0;
  if (typeof clockTolerance !== 'number' || !Number.isFinite(clockTolerance) || clockTolerance < 0) {
    throw new TypeError('memoryAdapter options.clockTolerance must be a non-negative number of seconds');
  }
  const revokedGrantTtl = options.revokedGrantTtl ?? DEFAULT_REVOKED_GRANT_TTL;
  if (!Number.isInteger(revokedGrantTtl) || revokedGrantTtl <= 0) {
    throw new TypeError('memoryAdapter options.revokedGrantTtl must be a positive integer of seconds');
  }

  const store = new Store(revokedGrantTtl);
  // the timer holds the store weakly, so that a factory nobody uses any more can be collected
  // (and then stops its own timer) instead of being kept alive by it
  const storeRef = new WeakRef(store);
  const timer: NodeJS.Timeout = setInterval(() => {
    const live = storeRef.deref();
    if (live === undefined) clearInterval(timer);
    else live.sweep(Date.now());
  }, SWEEP_INTERVAL_MS);
  timer.unref();

  const adapters = new Map<string, MemoryModelAdapter>();
  const factory = (model: string): Adapter =>
    getOrCreate(adapters, model, () => new MemoryModelAdapter(model, store, clockTolerance));
  return Object.defineProperties(factory, {
    size: { get: () => store.size, enumerable: true },
    sweep: { value: () => store.sweep(Date.now()), enumerable: true },
  }) as MemoryAdapterFactory;
}
