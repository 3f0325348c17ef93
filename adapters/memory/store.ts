import { canonicalJson } from '../../src/canonical-json.js';
import type {
  Access, ApplicationChange, AttemptKey, AttemptLimits, BindingStore, BindRequest, BindResult, CreateAndBindRequest,
  DeleteApplicationResult, DeleteClientResult, NewApplication, ReplaceOptions, StoredApplication, StoredBinding,
  StoredClient, UnbindResult,
} from '../../src/store.js';
import {
  KEY_TYPES, type ApplicationStatus, type ClientBinding, type ClientMetadata, type KeyType, type VerifyResult,
} from '../../src/types.js';

export interface MemoryStoreOptions {
  /**
   * Receives the warning that this store keeps nothing across restarts and shares nothing between
   * processes. Default: `process.emitWarning`, once per process; a function given here is called for
   * every store created.
   */
  readonly warn?: (message: string) => void;
}

export const MEMORY_STORE_WARNING =
  'oidc-provider-appkeys: using the in-memory BindingStore. Every application, binding and registered client '
  + 'is LOST when this process restarts and is NOT shared with other processes. Pass a persistent store '
  + '(e.g. redisStore()) in production.';

let warnedThisProcess = false;

/**
 * Orders strings as the bytes of their UTF-8 encoding compare (what Redis ZRANGEBYLEX and
 * `Buffer.compare` do), which is code point order. UTF-16 code unit order differs only where a
 * surrogate meets U+E000–U+FFFF: at the first differing unit, lift surrogates above that range.
 */
export function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x += x <= 0xdfff ? 0x2000 : -0x800;
      y += y <= 0xdfff ? 0x2000 : -0x800;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** Ids kept in UTF-8 byte order, for listings that page with an exclusive `after`. */
class SortedIds {
  readonly #ids: string[] = [];

  /** Index of the first id greater than `id` (`inclusive`: greater or equal). */
  #bound(id: string, inclusive: boolean): number {
    let low = 0;
    let high = this.#ids.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const order = compareUtf8(this.#ids[mid] as string, id);
      if (order < 0 || (!inclusive && order === 0)) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  add(id: string): void {
    const at = this.#bound(id, true);
    if (this.#ids[at] !== id) this.#ids.splice(at, 0, id);
  }

  delete(id: string): void {
    const at = this.#bound(id, true);
    if (this.#ids[at] === id) this.#ids.splice(at, 1);
  }

  has(id: string): boolean {
    return this.#ids[this.#bound(id, true)] === id;
  }

  page(after: string | undefined, limit: number): string[] {
    const start = after === undefined ? 0 : this.#bound(after, false);
    return this.#ids.slice(start, start + Math.max(0, Math.floor(limit)));
  }

  get size(): number {
    return this.#ids.length;
  }

  values(): readonly string[] {
    return this.#ids;
  }
}

interface ClientRecord {
  metadata: ClientMetadata;
  binding: ClientBinding | undefined;
  readonly registered_at: string;
  updated_at: string;
  revision: number;
}

interface ApplicationRecord {
  readonly id: string;
  name: string;
  nameKey: string;
  description: string;
  readonly owner: string;
  status: ApplicationStatus;
  readonly created_at: string;
  updated_at: string;
  readonly bindings: Map<KeyType, StoredBinding>;
}

/** Failure timestamps of one throttling window, oldest first, and the window length they were kept for. */
interface AttemptWindow {
  times: number[];
  windowMs: number;
}

/** How many windows may exist before expired ones are swept, at least. */
const MIN_SWEEP_SIZE = 1024;

/**
 * The embedded default store: everything in this process's memory. Each method does all of its
 * checks and writes synchronously, without an await between them, so every change is atomic here.
 */
export function memoryStore(options: MemoryStoreOptions = {}): BindingStore {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('memoryStore(options): options must be an object');
  }
  if (options.warn !== undefined && typeof options.warn !== 'function') {
    throw new TypeError('memoryStore options.warn must be a function');
  }
  if (options.warn) {
    options.warn(MEMORY_STORE_WARNING);
  } else if (!warnedThisProcess) {
    warnedThisProcess = true;
    process.emitWarning(MEMORY_STORE_WARNING, { type: 'AppKeysWarning', code: 'APPKEYS_MEMORY_STORE' });
  }
  return new MemoryBindingStore();
}

class MemoryBindingStore implements BindingStore {
  readonly kind = 'memory';

  readonly #clients = new Map<string, ClientRecord>();
  readonly #clientIds = new SortedIds();
  readonly #applications = new Map<string, ApplicationRecord>();
  readonly #applicationIds = new SortedIds();
  readonly #ownerApplications = new Map<string, SortedIds>();
  /** owner → nameKey → application id */
  readonly #ownerNames = new Map<string, Map<string, string>>();
  readonly #attempts = new Map<string, AttemptWindow>();
  #sweepAt = MIN_SWEEP_SIZE;

  // ---- clients ---------------------------------------------------------------------------------

  async getClient(clientId: string): Promise<StoredClient | undefined> {
    const record = this.#clients.get(clientId);
    return record && clientView(record);
  }

  async putClient(metadata: ClientMetadata, at: string): Promise<'created' | 'replaced' | 'unchanged'> {
    const copy = copyMetadata(metadata);
    const existing = this.#clients.get(copy.client_id);
    if (existing && canonicalJson(existing.metadata) === canonicalJson(copy)) return 'unchanged';
    if (existing) {
      existing.metadata = copy;
      existing.updated_at = at;
      existing.revision += 1;
      return 'replaced';
    }
    this.#addClient(copy, undefined, at);
    return 'created';
  }

  async replaceClientMetadata(
    metadata: ClientMetadata, revision: number, at: string, options: ReplaceOptions = {},
  ): Promise<'ok' | 'not_found' | 'conflict' | 'blocked'> {
    const copy = copyMetadata(metadata);
    const existing = this.#clients.get(copy.client_id);
    if (!existing) return 'not_found';
    if (existing.revision !== revision) return 'conflict';
    if (options.unlessBlocked && existing.binding?.status === 'BLOCKED') return 'blocked';
    existing.metadata = copy;
    existing.updated_at = at;
    existing.revision += 1;
    return 'ok';
  }

  async deleteClient(clientId: string, force: boolean): Promise<DeleteClientResult> {
    const record = this.#clients.get(clientId);
    if (!record) return { outcome: 'not_found' };
    if (record.binding && !force) return { outcome: 'bound' };
    const { binding } = record;
    let removed: StoredBinding | undefined;
    if (binding) {
      const bindings = this.#applications.get(binding.application_id)?.bindings;
      const held = bindings?.get(binding.key_type);
      if (held?.client_id === clientId) bindings?.delete(binding.key_type);
      removed = held?.client_id === clientId ? held : storedBinding(clientId, binding);
    }
    this.#clients.delete(clientId);
    this.#clientIds.delete(clientId);
    return removed ? { outcome: 'deleted', binding: { ...removed } } : { outcome: 'deleted' };
  }

  async listClients(after: string | undefined, limit: number): Promise<StoredClient[]> {
    return this.#clientIds.page(after, limit).map((id) => clientView(this.#clients.get(id) as ClientRecord));
  }

  // ---- applications ----------------------------------------------------------------------------

  async createApplication(application: NewApplication): Promise<'created' | 'name_taken'> {
    const names = this.#ownerNames.get(application.owner);
    if (names?.has(application.nameKey)) return 'name_taken';
    if (this.#applications.has(application.id)) {
      // Ids come from the registry's random generator; a repeat is a bug there, never an overwrite here.
      throw new Error(`application ${JSON.stringify(application.id)} already exists`);
    }
    this.#applications.set(application.id, {
      id: application.id,
      name: application.name,
      nameKey: application.nameKey,
      description: application.description,
      owner: application.owner,
      status: application.status,
      created_at: application.created_at,
      updated_at: application.created_at,
      bindings: new Map(),
    });
    this.#applicationIds.add(application.id);
    mapOf(this.#ownerApplications, application.owner, () => new SortedIds()).add(application.id);
    mapOf(this.#ownerNames, application.owner, () => new Map<string, string>()).set(application.nameKey, application.id);
    return 'created';
  }

  async getApplication(applicationId: string): Promise<StoredApplication | undefined> {
    const record = this.#applications.get(applicationId);
    return record && applicationView(record);
  }

  async listApplications(access: Access, after: string | undefined, limit: number): Promise<StoredApplication[]> {
    const ids = access.kind === 'admin' ? this.#applicationIds : this.#ownerApplications.get(access.owner);
    if (!ids) return [];
    return ids.page(after, limit).map((id) => applicationView(this.#applications.get(id) as ApplicationRecord));
  }

  async updateApplication(
    applicationId: string, change: ApplicationChange, access: Access,
  ): Promise<'ok' | 'not_found' | 'name_taken' | 'blocked'> {
    const record = this.#applications.get(applicationId);
    const denied = refusal(record, access);
    if (denied) return denied;
    if (!record) return 'not_found';
    const names = mapOf(this.#ownerNames, record.owner, () => new Map<string, string>());
    const nameKey = change.nameKey;
    if (nameKey !== undefined && nameKey !== record.nameKey) {
      const holder = names.get(nameKey);
      if (holder !== undefined && holder !== applicationId) return 'name_taken';
      names.delete(record.nameKey);
      names.set(nameKey, applicationId);
      record.nameKey = nameKey;
    }
    if (change.name !== undefined) record.name = change.name;
    if (change.description !== undefined) record.description = change.description;
    if (change.status !== undefined) {
      record.status = change.status;
      for (const binding of record.bindings.values()) {
        const client = this.#clients.get(binding.client_id);
        if (client?.binding) {
          client.binding = {
            ...client.binding,
            status: change.status,
            // tokens issued before a block stay dead after it is lifted
            ...(change.status === 'BLOCKED' && { tokens_since: change.updated_at }),
          };
        }
      }
    }
    record.updated_at = change.updated_at;
    return 'ok';
  }

  async deleteApplication(applicationId: string, access: Access): Promise<DeleteApplicationResult> {
    const record = this.#applications.get(applicationId);
    const denied = refusal(record, access);
    if (denied) return { outcome: denied };
    if (!record) return { outcome: 'not_found' };
    const removed = [...record.bindings.values()];
    for (const binding of removed) this.#releaseClient(binding);
    this.#applications.delete(applicationId);
    this.#applicationIds.delete(applicationId);
    const owned = this.#ownerApplications.get(record.owner);
    owned?.delete(applicationId);
    if (owned?.size === 0) this.#ownerApplications.delete(record.owner);
    const names = this.#ownerNames.get(record.owner);
    if (names?.get(record.nameKey) === applicationId) names.delete(record.nameKey);
    if (names?.size === 0) this.#ownerNames.delete(record.owner);
    return { outcome: 'deleted', bindings: removed.map((binding) => ({ ...binding })) };
  }

  // ---- bindings --------------------------------------------------------------------------------

  async bind(request: BindRequest): Promise<BindResult> {
    const retryAfterMs = this.#retryAfter(request.attempt, request.limits, request.nowMs);
    if (retryAfterMs > 0) return { outcome: 'throttled', retryAfterMs };

    const application = this.#applications.get(request.applicationId);
    const denied = refusal(application, request.access);
    if (denied) return { outcome: `application_${denied}` };
    if (!application) return { outcome: 'application_not_found' };
    const client = this.#clients.get(request.clientId);
    if (!client) return { outcome: 'client_not_found' };
    if (client.binding) {
      const same = client.binding.application_id === request.applicationId && client.binding.key_type === request.keyType;
      return { outcome: same ? 'exists' : 'client_already_bound' };
    }
    if (application.bindings.has(request.keyType)) return { outcome: 'key_type_already_bound' };

    this.#attach(application, client, request.clientId, request.keyType, request.origin, request.boundAt, request.boundBy);
    return { outcome: 'created' };
  }

  async createAndBind(request: CreateAndBindRequest): Promise<
    'created' | 'application_not_found' | 'application_blocked' | 'key_type_already_bound' | 'client_exists'
  > {
    const application = this.#applications.get(request.applicationId);
    const denied = refusal(application, request.access);
    if (denied) return `application_${denied}`;
    if (!application) return 'application_not_found';
    if (application.bindings.has(request.keyType)) return 'key_type_already_bound';
    const metadata = copyMetadata(request.metadata);
    if (this.#clients.has(metadata.client_id)) return 'client_exists';
    const client = this.#addClient(metadata, undefined, request.boundAt);
    this.#attach(application, client, metadata.client_id, request.keyType, 'generated', request.boundAt, request.boundBy);
    return 'created';
  }

  async unbind(applicationId: string, keyType: KeyType, access: Access): Promise<UnbindResult> {
    const application = this.#applications.get(applicationId);
    const denied = refusal(application, access);
    if (denied) return { outcome: denied };
    const binding = application?.bindings.get(keyType);
    if (!binding) return { outcome: 'not_found' };
    this.#releaseClient(binding);
    return { outcome: 'unbound', binding: { ...binding } };
  }

  // ---- throttling ------------------------------------------------------------------------------

  async recordFailedAttempt(attempt: AttemptKey, limits: AttemptLimits, nowMs: number): Promise<number> {
    const retryAfterMs = this.#retryAfter(attempt, limits, nowMs);
    if (retryAfterMs > 0) return retryAfterMs;
    for (const key of [callerWindowKey(attempt), clientWindowKey(attempt)]) {
      const window = mapOf(this.#attempts, key, () => ({ times: [], windowMs: limits.windowMs }));
      window.windowMs = limits.windowMs;
      // Kept sorted, so the oldest leave from the front even if callers' clocks disagree slightly.
      const at = window.times.findLastIndex((t) => t <= nowMs) + 1;
      window.times.splice(at, 0, nowMs);
    }
    this.#sweepIfLarge(nowMs);
    return 0;
  }

  async attemptWait(attempt: AttemptKey, limits: AttemptLimits, nowMs: number): Promise<number> {
    return this.#retryAfter(attempt, limits, nowMs);
  }

  async clearFailedAttempts(clientId: string): Promise<boolean> {
    return this.#attempts.delete(clientWindowKey({ clientId }));
  }

  // ---- operations ------------------------------------------------------------------------------

  async verify(): Promise<VerifyResult> {
    const problems: string[] = [];
    const show = JSON.stringify;

    for (const [clientId, client] of this.#clients) {
      if (client.metadata.client_id !== clientId) {
        problems.push(`client ${show(clientId)}: its metadata names client_id ${show(client.metadata.client_id)}`);
      }
      if (!this.#clientIds.has(clientId)) problems.push(`client ${show(clientId)}: missing from the client listing`);
      const binding = client.binding;
      if (!binding) continue;
      const application = this.#applications.get(binding.application_id);
      if (!application) {
        problems.push(`client ${show(clientId)}: bound to application ${show(binding.application_id)}, which does not exist`);
        continue;
      }
      const held = application.bindings.get(binding.key_type);
      if (!held || held.client_id !== clientId) {
        problems.push(`client ${show(clientId)}: bound to ${show(binding.application_id)}/${binding.key_type}, `
          + `but that application holds ${held ? show(held.client_id) : 'no client'} there`);
        continue;
      }
      if (binding.origin !== held.origin || binding.bound_at !== held.bound_at || binding.bound_by !== held.bound_by) {
        problems.push(`client ${show(clientId)}: its binding's origin/bound_at/bound_by differ from application ${show(application.id)}'s`);
      }
      if (binding.status !== application.status) {
        problems.push(`client ${show(clientId)}: binding status ${binding.status}, application ${show(application.id)} is ${application.status}`);
      }
    }
    for (const id of this.#clientIds.values()) {
      if (!this.#clients.has(id)) problems.push(`client listing names ${show(id)}, which has no record`);
    }

    for (const [applicationId, application] of this.#applications) {
      const where = `application ${show(applicationId)}`;
      if (application.id !== applicationId) problems.push(`${where}: its record names id ${show(application.id)}`);
      if (!this.#applicationIds.has(applicationId)) problems.push(`${where}: missing from the application listing`);
      if (!this.#ownerApplications.get(application.owner)?.has(applicationId)) {
        problems.push(`${where}: missing from owner ${show(application.owner)}'s index`);
      }
      const holder = this.#ownerNames.get(application.owner)?.get(application.nameKey);
      if (holder !== applicationId) {
        problems.push(`${where}: name key ${show(application.nameKey)} of owner ${show(application.owner)} points to `
          + `${holder === undefined ? 'nothing' : show(holder)}`);
      }
      for (const [keyType, binding] of application.bindings) {
        if (binding.key_type !== keyType || binding.application_id !== applicationId) {
          problems.push(`${where}: ${keyType} binding is recorded as ${show(binding.application_id)}/${binding.key_type}`);
        }
        const client = this.#clients.get(binding.client_id);
        if (!client) {
          problems.push(`${where}: ${keyType} is bound to client ${show(binding.client_id)}, which does not exist`);
        } else if (client.binding?.application_id !== applicationId || client.binding.key_type !== keyType) {
          problems.push(`${where}: ${keyType} is bound to client ${show(binding.client_id)}, whose record says `
            + `${client.binding ? `${show(client.binding.application_id)}/${client.binding.key_type}` : 'unbound'}`);
        }
      }
    }
    for (const id of this.#applicationIds.values()) {
      if (!this.#applications.has(id)) problems.push(`application listing names ${show(id)}, which has no record`);
    }
    for (const [owner, ids] of this.#ownerApplications) {
      for (const id of ids.values()) {
        const application = this.#applications.get(id);
        if (application?.owner !== owner) {
          problems.push(`owner ${show(owner)}'s index names application ${show(id)}, `
            + `${application ? `owned by ${show(application.owner)}` : 'which does not exist'}`);
        }
      }
    }
    for (const [owner, names] of this.#ownerNames) {
      for (const [nameKey, id] of names) {
        const application = this.#applications.get(id);
        if (application?.owner !== owner || application.nameKey !== nameKey) {
          problems.push(`owner ${show(owner)}'s name ${show(nameKey)} points to application ${show(id)}, `
            + `${application ? `named ${show(application.nameKey)} of owner ${show(application.owner)}` : 'which does not exist'}`);
        }
      }
    }
    return { ok: problems.length === 0, problems };
  }

  async close(): Promise<void> {
    // Nothing to release: the store holds no timers or connections.
  }

  // ---- internals (synchronous, so that each public method stays one atomic step) -----------------

  #addClient(metadata: ClientMetadata, binding: ClientBinding | undefined, at: string): ClientRecord {
    const record: ClientRecord = { metadata, binding, registered_at: at, updated_at: at, revision: 1 };
    this.#clients.set(metadata.client_id, record);
    this.#clientIds.add(metadata.client_id);
    return record;
  }

  #attach(
    application: ApplicationRecord, client: ClientRecord, clientId: string, keyType: KeyType,
    origin: StoredBinding['origin'], boundAt: string, boundBy: string,
  ): void {
    application.bindings.set(keyType, {
      application_id: application.id, key_type: keyType, client_id: clientId, origin, bound_at: boundAt, bound_by: boundBy,
    });
    client.binding = {
      application_id: application.id, key_type: keyType, origin, status: application.status, bound_at: boundAt, bound_by: boundBy,
    };
  }

  /** Removes a binding from its application and its client; a generated client goes with it. */
  #releaseClient(binding: StoredBinding): void {
    this.#applications.get(binding.application_id)?.bindings.delete(binding.key_type);
    const client = this.#clients.get(binding.client_id);
    if (!client) return;
    if (binding.origin === 'generated') {
      this.#clients.delete(binding.client_id);
      this.#clientIds.delete(binding.client_id);
    } else {
      client.binding = undefined;
    }
  }

  /** Milliseconds until both windows are below their limits again; 0 when they already are. */
  #retryAfter(attempt: AttemptKey, limits: AttemptLimits, nowMs: number): number {
    return Math.max(
      this.#windowRetryAfter(callerWindowKey(attempt), limits.perCaller, limits.windowMs, nowMs),
      this.#windowRetryAfter(clientWindowKey(attempt), limits.perClient, limits.windowMs, nowMs),
    );
  }

  #windowRetryAfter(key: string, limit: number, windowMs: number, nowMs: number): number {
    const window = this.#attempts.get(key);
    if (!window) return 0;
    // A failure at t counts while nowMs - t < windowMs.
    const firstLive = window.times.findIndex((t) => t > nowMs - windowMs);
    if (firstLive === -1) {
      this.#attempts.delete(key);
      return 0;
    }
    if (firstLive > 0) window.times.splice(0, firstLive);
    const { times } = window;
    if (times.length < limit) return 0;
    // The oldest (count - limit + 1) failures must leave; the last of them leaves at its t + windowMs.
    const leaving = times[Math.min(times.length - limit, times.length - 1)] as number;
    return Math.max(1, leaving + windowMs - nowMs);
  }

  /** Drops windows whose failures have all expired, whenever the number of windows has doubled. */
  #sweepIfLarge(nowMs: number): void {
    if (this.#attempts.size < this.#sweepAt) return;
    for (const [key, window] of this.#attempts) {
      const newest = window.times[window.times.length - 1];
      if (newest === undefined || newest <= nowMs - window.windowMs) this.#attempts.delete(key);
    }
    this.#sweepAt = Math.max(MIN_SWEEP_SIZE, this.#attempts.size * 2);
  }
}

/**
 * Why `access` may not change `application`, if it may not: another owner's application is not found
 * (never "forbidden", so ids cannot be probed), and a BLOCKED one is the admin's until lifted.
 */
function refusal(application: ApplicationRecord | undefined, access: Access): 'not_found' | 'blocked' | undefined {
  if (!application || access.kind === 'admin') return undefined;
  if (application.owner !== access.owner) return 'not_found';
  return application.status === 'BLOCKED' ? 'blocked' : undefined;
}

function copyMetadata(metadata: ClientMetadata): ClientMetadata {
  if (metadata === null || typeof metadata !== 'object' || typeof metadata.client_id !== 'string') {
    throw new TypeError('client metadata must be an object with a string client_id');
  }
  return structuredClone(metadata);
}

function clientView(record: ClientRecord): StoredClient {
  const view: StoredClient = {
    metadata: structuredClone(record.metadata),
    registered_at: record.registered_at,
    updated_at: record.updated_at,
    revision: record.revision,
  };
  return record.binding ? { ...view, binding: { ...record.binding } } : view;
}

function applicationView(record: ApplicationRecord): StoredApplication {
  return {
    id: record.id,
    name: record.name,
    description: record.description,
    owner: record.owner,
    status: record.status,
    created_at: record.created_at,
    updated_at: record.updated_at,
    bindings: KEY_TYPES.flatMap((keyType) => {
      const binding = record.bindings.get(keyType);
      return binding ? [{ ...binding }] : [];
    }),
  };
}

function storedBinding(clientId: string, binding: ClientBinding): StoredBinding {
  return {
    application_id: binding.application_id,
    key_type: binding.key_type,
    client_id: clientId,
    origin: binding.origin,
    bound_at: binding.bound_at,
    bound_by: binding.bound_by,
  };
}

// JSON arrays keep the two parts apart whatever characters they contain.
const callerWindowKey = (attempt: AttemptKey) => JSON.stringify(['caller', attempt.caller, attempt.clientId]);
const clientWindowKey = (attempt: Pick<AttemptKey, 'clientId'>) => JSON.stringify(['client', attempt.clientId]);

function mapOf<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}
