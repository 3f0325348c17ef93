import { canonicalJson } from '../canonical-json.js';
import { externalClientMetadata } from '../issuers/store-records.js';
import type { StoredIssuer } from '../issuers/types.js';
import type {
  Access,
  ApplicationChange,
  AttemptKey,
  AttemptLimits,
  BindingStore,
  BindRequest,
  BindResult,
  CreateAndBindRequest,
  DeleteApplicationResult,
  DeleteClientResult,
  NewApplication,
  ReplaceOptions,
  StoredApplication,
  StoredBinding,
  StoredClient,
  UnbindResult,
} from '../store.js';
import { KEY_TYPES, type ClientBinding, type ClientMetadata, type KeyType, type VerifyResult } from '../types.js';
import { AssertionIds } from './assertion-ids.js';
import * as issuers from './issuers.js';
import { newMemoryState, type ApplicationRecord, type ClientRecord, type MemoryState } from './records.js';
import { SortedIds } from './sorted-ids.js';
import { AttemptWindows } from './throttle.js';
import { verifyMemoryState } from './verify.js';

export interface MemoryStoreOptions {
  /**
   * Receives the warning that this store keeps nothing across restarts and shares nothing between
   * processes. Default: `process.emitWarning`, once per process; a function given here is called for
   * every store created.
   */
  readonly warn?: (message: string) => void;
}

export const MEMORY_STORE_WARNING =
  'oidc-provider-appkeys: using the in-memory BindingStore. Every application, binding and registered client ' +
  'is LOST when this process restarts and is NOT shared with other processes. Pass a persistent store ' +
  '(e.g. redisStore()) in production.';

let warnedThisProcess = false;

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

  readonly #state: MemoryState = newMemoryState();
  readonly #clients = this.#state.clients;
  readonly #clientIds = this.#state.clientIds;
  readonly #applications = this.#state.applications;
  readonly #applicationIds = this.#state.applicationIds;
  readonly #ownerApplications = this.#state.ownerApplications;
  readonly #ownerNames = this.#state.ownerNames;
  readonly #attempts = new AttemptWindows();
  readonly #assertionIds = new AssertionIds();

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
    this.#addClient(copy, at);
    return 'created';
  }

  async replaceClientMetadata(
    metadata: ClientMetadata,
    revision: number,
    at: string,
    options: ReplaceOptions = {},
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
    mapOf(this.#ownerNames, application.owner, () => new Map<string, string>()).set(
      application.nameKey,
      application.id,
    );
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
    applicationId: string,
    change: ApplicationChange,
    access: Access,
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
    const external =
      request.issuerId === undefined ? undefined : externalClientMetadata(request.issuerId, request.clientId);
    const retryAfterMs = this.#attempts.retryAfter(
      { caller: request.caller, clientId: request.clientId },
      request.limits,
      request.nowMs,
    );
    if (retryAfterMs > 0) return { outcome: 'throttled', retryAfterMs };

    const application = this.#applications.get(request.applicationId);
    const denied = refusal(application, request.access);
    if (denied) return { outcome: `application_${denied}` };
    if (!application) return { outcome: 'application_not_found' };
    // checked in this step, not by the caller, so that a concurrent deleteIssuer cannot leave a binding behind
    if (request.issuerId !== undefined && !this.#state.issuers.has(request.issuerId)) {
      return { outcome: 'issuer_not_found' };
    }
    const stored = this.#clients.get(request.clientId);
    const client = stored ?? (external && newClientRecord(external, request.boundAt));
    if (!client) return { outcome: 'client_not_found' };
    if (client.binding) {
      const same =
        client.binding.application_id === request.applicationId && client.binding.key_type === request.keyType;
      return { outcome: same ? 'exists' : 'client_already_bound' };
    }
    if (application.bindings.has(request.keyType)) return { outcome: 'key_type_already_bound' };

    // an external client's record is kept from its first binding on, never from a refused one
    if (!stored) this.#register(client);
    this.#attach(application, client, request.clientId, request.keyType, 'provided', request.boundAt, request.boundBy);
    return { outcome: 'created' };
  }

  async createAndBind(
    request: CreateAndBindRequest,
  ): Promise<'created' | 'application_not_found' | 'application_blocked' | 'key_type_already_bound' | 'client_exists'> {
    const application = this.#applications.get(request.applicationId);
    const denied = refusal(application, request.access);
    if (denied) return `application_${denied}`;
    if (!application) return 'application_not_found';
    if (application.bindings.has(request.keyType)) return 'key_type_already_bound';
    const metadata = copyMetadata(request.metadata);
    if (this.#clients.has(metadata.client_id)) return 'client_exists';
    const client = this.#addClient(metadata, request.boundAt);
    this.#attach(
      application,
      client,
      metadata.client_id,
      request.keyType,
      'generated',
      request.boundAt,
      request.boundBy,
    );
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
    return this.#attempts.record(attempt, limits, nowMs);
  }

  async attemptWait(attempt: AttemptKey, limits: AttemptLimits, nowMs: number): Promise<number> {
    return this.#attempts.retryAfter(attempt, limits, nowMs);
  }

  async clearFailedAttempts(clientId: string): Promise<boolean> {
    return this.#attempts.clear(clientId);
  }

  // ---- third-party issuers ---------------------------------------------------------------------

  async putIssuer(issuer: StoredIssuer): Promise<'created' | 'replaced' | 'unchanged' | 'issuer_taken' | 'bound'> {
    return issuers.putIssuer(this.#state, issuer);
  }

  async getIssuer(issuerId: string): Promise<StoredIssuer | undefined> {
    const issuer = this.#state.issuers.get(issuerId);
    return issuer && structuredClone(issuer);
  }

  async listIssuers(): Promise<StoredIssuer[]> {
    return issuers.listIssuers(this.#state);
  }

  async deleteIssuer(issuerId: string): Promise<'deleted' | 'not_found' | 'bound'> {
    const result = issuers.deleteIssuer(this.#state, issuerId);
    if (result.outcome !== 'deleted') return result.outcome;
    for (const clientId of result.removed) this.#attempts.clear(clientId);
    return 'deleted';
  }

  async useAssertionId(clientId: string, jti: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    return this.#assertionIds.use(clientId, jti, expiresAtMs, nowMs);
  }

  // ---- operations ------------------------------------------------------------------------------

  async verify(): Promise<VerifyResult> {
    return verifyMemoryState(this.#state);
  }

  async close(): Promise<void> {
    // Nothing to release: the store holds no timers or connections.
  }

  // ---- internals (synchronous, so that each public method stays one atomic step) -----------------

  #addClient(metadata: ClientMetadata, at: string): ClientRecord {
    return this.#register(newClientRecord(metadata, at));
  }

  #register(record: ClientRecord): ClientRecord {
    this.#clients.set(record.metadata.client_id, record);
    this.#clientIds.add(record.metadata.client_id);
    return record;
  }

  #attach(
    application: ApplicationRecord,
    client: ClientRecord,
    clientId: string,
    keyType: KeyType,
    origin: StoredBinding['origin'],
    boundAt: string,
    boundBy: string,
  ): void {
    application.bindings.set(keyType, {
      application_id: application.id,
      key_type: keyType,
      client_id: clientId,
      origin,
      bound_at: boundAt,
      bound_by: boundBy,
    });
    client.binding = {
      application_id: application.id,
      key_type: keyType,
      origin,
      status: application.status,
      bound_at: boundAt,
      bound_by: boundBy,
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

function newClientRecord(metadata: ClientMetadata, at: string): ClientRecord {
  return { metadata, binding: undefined, registered_at: at, updated_at: at, revision: 1 };
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

function mapOf<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}
