import { randomBytes } from 'node:crypto';

import type {
  Access,
  ApplicationChange,
  AttemptKey,
  AttemptLimits,
  BindRequest,
  BindResult,
  BindingStore,
  CreateAndBindRequest,
  DeleteApplicationResult,
  DeleteClientResult,
  NewApplication,
  ReplaceOptions,
  StoredApplication,
  StoredBinding,
  StoredClient,
  UnbindResult,
} from '../../src/store.js';
import type { ApplicationStatus, BindingOrigin, ClientMetadata, KeyType, VerifyResult } from '../../src/types.js';
import {
  clientCacheFor,
  FencedConnection,
  withClientCache,
  type ClientCache,
  type ClientCacheOptions,
} from './client-cache/index.js';
import { metadataDigest } from '../../src/canonical-json.js';
import { externalClientMetadata } from '../../src/issuers/store-records.js';
import type { StoredIssuer } from '../../src/issuers/types.js';
import { Connection, type RedisClient, type WaitForReplicas } from './connection.js';
import { checkPrefix, StoreKeys } from './keys.js';
import { clientBinding, LEGACY_BINDING_MESSAGE, type ApplicationHash, type ClientHash } from './layout.js';
import * as issuers from './issuers.js';
import { refusal } from './refusals.js';
import { hashFields } from './replies.js';
import * as scripts from './scripts/store.js';
import { verifyRedisStore } from './verify.js';

export interface RedisStoreOptions {
  /**
   * An ioredis client (`new Redis()`, also with `sentinels`, or `new Cluster()`) or a node-redis v5 client
   * (`createClient()` or `createCluster()`, connected). It stays the caller's: `close()` does not quit it.
   */
  readonly client: RedisClient;
  /** Prefix of every key, also their Cluster hash tag. Default `appkeys:`. */
  readonly prefix?: string;
  /** Upper bound of every Redis call in milliseconds, whatever the client's settings. Default 2000. */
  readonly timeoutMs?: number;
  /**
   * After each change, `WAIT replicas timeoutMs` on the connection that ran it. A change fewer replicas
   * acknowledged is answered storeUnavailable (503) although it did land on the master: "not durably
   * acknowledged", safe to retry. Default: no WAIT (a failover may lose changes acknowledged just before).
   */
  readonly waitForReplicas?: WaitForReplicas;
  /**
   * Keep client records in this process's memory, so that the token endpoint's client lookup costs no
   * round trip; Redis reports every change to every process (CLIENT TRACKING, BCAST) and the record is
   * dropped. Default off. Works with every client above, on two connections of its own duplicated from
   * it; on a cluster it tracks the master owning the store's slot and moves after a failover (an ioredis
   * Cluster must read from masters: `scaleReads: 'master'`). Needs Redis 6.2+. See client-cache/.
   */
  readonly clientCache?: boolean | ClientCacheOptions;
}

export function clientFromHash(fields: ClientHash): StoredClient | undefined {
  if (fields.metadata === undefined) return undefined;
  const client: { -readonly [K in keyof StoredClient]: StoredClient[K] } = {
    metadata: JSON.parse(fields.metadata) as ClientMetadata,
    registered_at: fields.registered_at ?? '',
    updated_at: fields.updated_at ?? '',
    revision: Number(fields.rev ?? 0),
  };
  if (fields.binding !== undefined) client.binding = clientBinding(fields.binding);
  // an earlier version's binding, not yet packed by repair: read as "unbound", a blocked application's
  // client would have tokens, so the lookup fails instead (one property test, on unbound records only)
  else if (fields.app !== undefined) throw new TypeError(LEGACY_BINDING_MESSAGE);
  return client;
}

function bindingFromTuple(applicationId: string, tuple: unknown): StoredBinding {
  const [keyType, clientId, origin, boundAt, boundBy] = (tuple as unknown[]).map(String);
  return {
    application_id: applicationId,
    key_type: keyType as KeyType,
    client_id: clientId!,
    origin: origin as BindingOrigin,
    bound_at: boundAt ?? '',
    bound_by: boundBy ?? '',
  };
}

function applicationFromReply(reply: unknown): StoredApplication | undefined {
  if (!Array.isArray(reply) || reply.length !== 2) return undefined;
  const fields: ApplicationHash = hashFields(reply[0]);
  const id = fields.id ?? '';
  return {
    id,
    name: fields.name ?? '',
    description: fields.description ?? '',
    owner: fields.owner ?? '',
    status: (fields.status ?? 'ACTIVE') as ApplicationStatus,
    created_at: fields.created_at ?? '',
    updated_at: fields.updated_at ?? '',
    bindings: (reply[1] as unknown[]).map((tuple) => bindingFromTuple(id, tuple)),
  };
}

const lexicalStart = (after: string | undefined) => (after === undefined ? '-' : `(${after}`);

/** The two ARGV every change made for someone takes: the access kind and the owner ('' for an admin). */
const accessArgs = (access: Access): [string, string] =>
  access.kind === 'admin' ? ['admin', ''] : ['owner', access.owner];

class RedisBindingStore implements BindingStore {
  readonly kind = 'redis';
  readonly #connection: Connection;
  readonly #keys: StoreKeys;
  readonly #cache: ClientCache | undefined;

  constructor(connection: Connection, keys: StoreKeys, cache?: ClientCache) {
    this.#connection = connection;
    this.#keys = keys;
    this.#cache = cache;
  }

  // on the token endpoint's path: no closure, no spread, nothing allocated that the answer does not need
  async getClient(clientId: string): Promise<StoredClient | undefined> {
    const key = this.#keys.client(clientId);
    const cache = this.#cache;
    return clientFromHash(cache ? await cache.read(key, () => this.#readHash(key)) : await this.#readHash(key));
  }

  async #readHash(key: string): Promise<Record<string, string>> {
    return hashFields(await this.#connection.send('HGETALL', key));
  }

  async putClient(metadata: ClientMetadata, at: string): Promise<'created' | 'replaced' | 'unchanged'> {
    const reply = Number(
      await this.#connection.run(
        scripts.putClient,
        [this.#keys.client(metadata.client_id), this.#keys.clients],
        [metadata.client_id, JSON.stringify(metadata), at, metadataDigest(metadata)],
      ),
    );
    if (reply === 1) return 'created';
    return reply === 2 ? 'replaced' : 'unchanged';
  }

  async replaceClientMetadata(
    metadata: ClientMetadata,
    revision: number,
    at: string,
    options: ReplaceOptions = {},
  ): Promise<'ok' | 'not_found' | 'conflict' | 'blocked'> {
    const reply = Number(
      await this.#connection.run(
        scripts.replaceClientMetadata,
        [this.#keys.client(metadata.client_id)],
        [JSON.stringify(metadata), revision, at, metadataDigest(metadata), options.unlessBlocked ? '1' : '0'],
      ),
    );
    if (reply === 1) return 'ok';
    if (reply === 0) return 'not_found';
    const outcome = refusal(reply);
    if (outcome === 'conflict' || outcome === 'blocked') return outcome;
    throw new Error(`unexpected replaceClientMetadata reply ${reply}`);
  }

  async deleteClient(clientId: string, force: boolean): Promise<DeleteClientResult> {
    const reply = await this.#connection.run(
      scripts.deleteClient,
      [this.#keys.client(clientId), this.#keys.clients],
      [clientId, force ? '1' : '0', this.#keys.applicationPrefix],
    );
    if (Array.isArray(reply)) {
      if (reply.length === 1) return { outcome: 'deleted' };
      const [, applicationId, keyType, origin, boundAt, boundBy] = reply.map(String);
      return {
        outcome: 'deleted',
        binding: bindingFromTuple(applicationId!, [keyType, clientId, origin, boundAt, boundBy]),
      };
    }
    if (Number(reply) === 0) return { outcome: 'not_found' };
    refusal(reply);
    return { outcome: 'bound' };
  }

  async listClients(after: string | undefined, limit: number): Promise<StoredClient[]> {
    const reply = await this.#connection.run(
      scripts.listClients,
      [this.#keys.clients],
      [lexicalStart(after), limit, this.#keys.clientPrefix],
    );
    return (reply as unknown[]).flatMap((hash) => clientFromHash(hashFields(hash)) ?? []);
  }

  async createApplication(application: NewApplication): Promise<'created' | 'name_taken'> {
    const reply = Number(
      await this.#connection.run(
        scripts.createApplication,
        [
          this.#keys.application(application.id),
          this.#keys.applications,
          this.#keys.ownerApplications(application.owner),
          this.#keys.ownerNames(application.owner),
        ],
        [
          application.id,
          application.name,
          application.nameKey,
          application.description,
          application.owner,
          application.status,
          application.created_at,
        ],
      ),
    );
    if (reply === 1) return 'created';
    refusal(reply);
    return 'name_taken';
  }

  async getApplication(applicationId: string): Promise<StoredApplication | undefined> {
    const reply = await this.#connection.run(
      scripts.getApplication,
      [this.#keys.application(applicationId)],
      [this.#keys.clientPrefix],
    );
    return applicationFromReply(reply);
  }

  async listApplications(access: Access, after: string | undefined, limit: number): Promise<StoredApplication[]> {
    const index = access.kind === 'admin' ? this.#keys.applications : this.#keys.ownerApplications(access.owner);
    const reply = await this.#connection.run(
      scripts.listApplications,
      [index],
      [lexicalStart(after), limit, this.#keys.applicationPrefix, this.#keys.clientPrefix],
    );
    return (reply as unknown[]).flatMap((app) => applicationFromReply(app) ?? []);
  }

  async updateApplication(
    applicationId: string,
    change: ApplicationChange,
    access: Access,
  ): Promise<'ok' | 'not_found' | 'name_taken' | 'blocked'> {
    const reply = Number(
      await this.#connection.run(
        scripts.updateApplication,
        [this.#keys.application(applicationId)],
        [
          change.name ?? '',
          change.nameKey ?? '',
          change.description === undefined ? '0' : '1',
          change.description ?? '',
          change.status ?? '',
          change.updated_at,
          this.#keys.ownerNamesPrefix,
          this.#keys.clientPrefix,
          ...accessArgs(access),
        ],
      ),
    );
    if (reply === 1) return 'ok';
    const outcome = refusal(reply);
    if (outcome === 'name_taken' || outcome === 'blocked') return outcome;
    if (outcome === 'application_not_found') return 'not_found';
    throw new Error(`unexpected updateApplication reply ${reply}`);
  }

  async deleteApplication(applicationId: string, access: Access): Promise<DeleteApplicationResult> {
    const reply = await this.#connection.run(
      scripts.deleteApplication,
      [this.#keys.application(applicationId), this.#keys.applications, this.#keys.clients],
      [this.#keys.clientPrefix, this.#keys.ownerApplicationsPrefix, this.#keys.ownerNamesPrefix, ...accessArgs(access)],
    );
    if (Array.isArray(reply)) {
      return { outcome: 'deleted', bindings: reply.slice(1).map((tuple) => bindingFromTuple(applicationId, tuple)) };
    }
    return { outcome: Number(reply) !== 0 && refusal(reply) === 'blocked' ? 'blocked' : 'not_found' };
  }

  async bind(request: BindRequest): Promise<BindResult> {
    const [kind, owner] = accessArgs(request.access);
    const external =
      request.issuerId === undefined ? undefined : externalClientMetadata(request.issuerId, request.clientId);
    const reply = await this.#connection.run(
      scripts.bind,
      [
        this.#keys.application(request.applicationId),
        this.#keys.client(request.clientId),
        this.#keys.callerAttempts(request.caller, request.clientId),
        this.#keys.clientAttempts(request.clientId),
        this.#keys.clients,
        this.#keys.issuers,
      ],
      [
        request.applicationId,
        request.keyType,
        request.clientId,
        request.boundAt,
        request.boundBy,
        kind,
        request.nowMs,
        request.limits.windowMs,
        request.limits.perCaller,
        request.limits.perClient,
        owner,
        request.issuerId ?? '',
        external ? JSON.stringify(external) : '',
        external ? metadataDigest(external) : '',
      ],
    );
    if (Array.isArray(reply)) return { outcome: 'throttled', retryAfterMs: Number(reply[1]) };
    const code = Number(reply);
    if (code === 1) return { outcome: 'created' };
    if (code === 0) return { outcome: 'exists' };
    const outcome = refusal(code);
    if (outcome === 'blocked') return { outcome: 'application_blocked' };
    if (
      outcome === 'client_exists' ||
      outcome === 'name_taken' ||
      outcome === 'conflict' ||
      outcome === 'issuer_taken'
    ) {
      throw new Error(`unexpected bind reply ${code}`);
    }
    return { outcome };
  }

  async createAndBind(
    request: CreateAndBindRequest,
  ): Promise<'created' | 'application_not_found' | 'application_blocked' | 'key_type_already_bound' | 'client_exists'> {
    const clientId = request.metadata.client_id;
    const [kind, owner] = accessArgs(request.access);
    const reply = Number(
      await this.#connection.run(
        scripts.createAndBind,
        [this.#keys.application(request.applicationId), this.#keys.client(clientId), this.#keys.clients],
        [
          request.applicationId,
          request.keyType,
          clientId,
          JSON.stringify(request.metadata),
          request.boundAt,
          request.boundBy,
          kind,
          metadataDigest(request.metadata),
          owner,
        ],
      ),
    );
    if (reply === 1) return 'created';
    const outcome = refusal(reply);
    if (outcome === 'blocked') return 'application_blocked';
    if (outcome === 'application_not_found' || outcome === 'key_type_already_bound' || outcome === 'client_exists') {
      return outcome;
    }
    throw new Error(`unexpected createAndBind reply ${reply}`);
  }

  async unbind(applicationId: string, keyType: KeyType, access: Access): Promise<UnbindResult> {
    const reply = await this.#connection.run(
      scripts.unbind,
      [this.#keys.application(applicationId), this.#keys.clients],
      [keyType, this.#keys.clientPrefix, ...accessArgs(access)],
    );
    if (!Array.isArray(reply)) return { outcome: Number(reply) === 0 ? 'not_found' : 'blocked' };
    const [, clientId, origin, boundAt, boundBy] = reply.map(String);
    return {
      outcome: 'unbound',
      binding: bindingFromTuple(applicationId, [keyType, clientId, origin, boundAt, boundBy]),
    };
  }

  async recordFailedAttempt(attempt: AttemptKey, limits: AttemptLimits, nowMs: number): Promise<number> {
    const reply = await this.#connection.run(
      scripts.recordFailedAttempt,
      [this.#keys.callerAttempts(attempt.caller, attempt.clientId), this.#keys.clientAttempts(attempt.clientId)],
      [nowMs, limits.windowMs, limits.perCaller, limits.perClient, `${nowMs}-${randomBytes(6).toString('hex')}`],
    );
    return Number(reply);
  }

  async attemptWait(attempt: AttemptKey, limits: AttemptLimits, nowMs: number): Promise<number> {
    const reply = await this.#connection.run(
      scripts.attemptWait,
      [this.#keys.callerAttempts(attempt.caller, attempt.clientId), this.#keys.clientAttempts(attempt.clientId)],
      [nowMs, limits.windowMs, limits.perCaller, limits.perClient],
    );
    return Number(reply);
  }

  async clearFailedAttempts(clientId: string): Promise<boolean> {
    return (
      Number(await this.#connection.run(scripts.clearFailedAttempts, [this.#keys.clientAttempts(clientId)], [])) > 0
    );
  }

  async putIssuer(issuer: StoredIssuer): Promise<'created' | 'replaced' | 'unchanged' | 'issuer_taken' | 'bound'> {
    return issuers.putIssuer(this.#connection, this.#keys, issuer);
  }

  async getIssuer(issuerId: string): Promise<StoredIssuer | undefined> {
    return issuers.getIssuer(this.#connection, this.#keys, issuerId);
  }

  async listIssuers(): Promise<StoredIssuer[]> {
    return issuers.listIssuers(this.#connection, this.#keys);
  }

  async deleteIssuer(issuerId: string): Promise<'deleted' | 'not_found' | 'bound'> {
    return issuers.deleteIssuer(this.#connection, this.#keys, issuerId);
  }

  async useAssertionId(clientId: string, jti: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    return issuers.useAssertionId(this.#connection, this.#keys, clientId, jti, expiresAtMs, nowMs);
  }

  async verify(): Promise<VerifyResult> {
    return verifyRedisStore(this.#connection, this.#keys);
  }

  async close(): Promise<void> {
    // the client belongs to the caller; the cache's own connections do not
    await this.#cache?.close();
  }
}

/** The BindingStore on Redis: every multi-key change one Lua script, all keys under one hash tag. */
export function redisStore(options: RedisStoreOptions): BindingStore {
  if (!options || typeof options !== 'object') throw new TypeError('redisStore(options): options must be an object');
  const keys = new StoreKeys(checkPrefix(options.prefix ?? 'appkeys:', 'redisStore options.prefix'));
  const timeoutMs = options.timeoutMs ?? 2000;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError('redisStore options.timeoutMs must be a positive integer');
  }
  const waitForReplicas = checkWaitForReplicas(options.waitForReplicas);
  const connectionOptions = { timeoutMs, waitForReplicas, optionPath: 'redisStore options.client' };
  const cache = clientCacheFor(
    options.clientCache,
    options.client,
    keys.clientPrefix,
    timeoutMs,
    'redisStore options.clientCache',
  );
  if (!cache) return new RedisBindingStore(new Connection(options.client, connectionOptions), keys);
  return withClientCache(
    new RedisBindingStore(new FencedConnection(cache, options.client, connectionOptions), keys, cache),
    cache,
  );
}

function checkWaitForReplicas(value: unknown): WaitForReplicas | undefined {
  if (value === undefined) return undefined;
  const path = 'redisStore options.waitForReplicas';
  if (!value || typeof value !== 'object') throw new TypeError(`${path} must be an object { replicas, timeoutMs }`);
  const { replicas, timeoutMs } = value as Record<string, unknown>;
  if (!Number.isInteger(replicas) || (replicas as number) < 1)
    throw new TypeError(`${path}.replicas must be a positive integer`);
  // WAIT with 0 would block for ever
  if (!Number.isInteger(timeoutMs) || (timeoutMs as number) < 1)
    throw new TypeError(`${path}.timeoutMs must be a positive integer`);
  return { replicas: replicas as number, timeoutMs: timeoutMs as number };
}
