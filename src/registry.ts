import type Provider from 'oidc-provider';

import { publicMetadata, withoutServerOwned } from './client-record.js';
import * as err from './errors.js';
import { emit } from './events.js';
import { newApplicationId, newClientId, newClientSecret } from './ids.js';
import type { ResolvedOptions } from './options.js';
import { decodeCursor, encodeCursor } from './pagination.js';
import {
  checkClientSecretExpiration,
  compareWithStandIn,
  constructClient,
  isStaticClient,
  needsSecret,
} from './provider-internals.js';
import { verifyLocalAssertion } from './issuers/assertion.js';
import { externalClientRef, isExternalRef, LOCAL_CLIENTS_AFTER, parseExternalRef } from './issuers/ref.js';
import { IssuerService, type ExternalProof } from './issuers/service.js';
import type { Issuer } from './issuers/types.js';
import { ADMIN_SCOPE, managementScopeRefusal } from './scopes.js';
import { SecretsAtRest } from './secrets/at-rest.js';
import type { Access, BindingStore, StoredApplication, StoredBinding, StoredClient } from './store.js';
import type { Actor, Application, ApplicationStatus, Binding, ClientMetadata, KeyType, Page } from './types.js';
import * as validate from './validate.js';

type ProviderClient = InstanceType<Provider['Client']>;

/** Compared against when the client is unknown, so both failures cost the same work. */
const DUMMY_SECRET = 'appkeys-dummy-secret-for-unknown-clients-000000000000';

const REGENERATE_ATTEMPTS = 3;

/** The longest a signed assertion may live (from now to its `exp`) to be accepted as a proof, in seconds. */
const ASSERTION_LIFETIME_MAX = 300;

/** What a provide-keys request carries besides its body. */
export interface ProvideKeysRequest {
  /** The URL the request was sent to: the `aud` a signed assertion must name. */
  readonly audience?: string;
}

/**
 * The owner of an application an admin creates without naming one. No account can be it (account ids
 * are never empty), so such an application is no account's: it is shown with `owner: null`.
 */
const NO_OWNER = '';

export interface ClientView extends Record<string, unknown> {
  readonly client_id: string;
  readonly binding: Binding | null;
  readonly registered_at: string;
  readonly updated_at: string;
}

export type RegisterOutcome = 'created' | 'replaced' | 'unchanged';

export interface GeneratedKeys {
  readonly binding: Binding;
  readonly client_id: string;
  /** Shown once, in the response that created it. */
  readonly client_secret: string;
  readonly client: Record<string, unknown>;
}

function now(): string {
  return new Date().toISOString();
}

/**
 * A binding as the API shows it. A third-party issuer's client is shown by its own client_id beside
 * its issuer (the URL and verification when `issuers` has it: events carry the issuer_id only).
 */
function bindingView(binding: StoredBinding, issuers?: IssuerMap): Binding {
  const external = parseExternalRef(binding.client_id);
  const issuer = external && issuers?.get(external.issuerId);
  return {
    application_id: binding.application_id,
    key_type: binding.key_type,
    client_id: external ? external.clientId : binding.client_id,
    origin: binding.origin,
    bound_at: binding.bound_at,
    bound_by: binding.bound_by,
    ...(external && { issuer_id: external.issuerId }),
    ...(issuer && { issuer: issuer.issuer, verification: issuer.verification }),
  };
}

type IssuerMap = ReadonlyMap<string, Issuer>;

function issuerMap(issuers: readonly Issuer[]): IssuerMap {
  return new Map(issuers.map((issuer) => [issuer.issuer_id, issuer]));
}

function applicationView(stored: StoredApplication, issuers?: IssuerMap): Application {
  const keys: Partial<Record<KeyType, Binding>> = {};
  for (const binding of stored.bindings) keys[binding.key_type] = bindingView(binding, issuers);
  return {
    id: stored.id,
    name: stored.name,
    description: stored.description,
    owner: stored.owner === NO_OWNER ? null : stored.owner,
    status: stored.status,
    created_at: stored.created_at,
    updated_at: stored.updated_at,
    keys,
  };
}

function clientView(stored: StoredClient): ClientView {
  const clientId = stored.metadata.client_id;
  return {
    ...publicMetadata(stored.metadata),
    client_id: clientId,
    binding: stored.binding ? bindingView({ ...stored.binding, client_id: clientId }) : null,
    registered_at: stored.registered_at,
    updated_at: stored.updated_at,
  };
}

/** The provider's schema errors keep their RFC 7591 code (invalid_client_metadata, invalid_redirect_uri). */
function schemaError(cause: unknown): err.AppKeysError {
  const e = cause as { status?: unknown; error?: unknown; error_description?: unknown; message?: unknown };
  if (e && e.status === 400 && typeof e.error === 'string') {
    const description = typeof e.error_description === 'string' ? e.error_description : 'client metadata is invalid';
    return err.invalidClientMetadata(description, e.error);
  }
  if (cause instanceof TypeError) return err.invalidClientMetadata(cause.message);
  return err.invalidClientMetadata('client metadata is invalid');
}

/**
 * The domain rules of the registry, once: who may see and change what, how keys are proven and bound,
 * what deleting removes. Routes and the CLI call these; stores only store.
 */
export class Registry {
  readonly #store: BindingStore;
  readonly #provider: Provider;
  readonly #options: ResolvedOptions;
  readonly #secrets: SecretsAtRest;
  readonly #issuers: IssuerService;

  constructor(
    store: BindingStore,
    provider: Provider,
    options: ResolvedOptions,
    secrets = new SecretsAtRest(options.secrets),
  ) {
    this.#store = store;
    this.#provider = provider;
    this.#options = options;
    this.#secrets = secrets;
    this.#issuers = new IssuerService(store, provider, options.issuers);
  }

  /** Third-party issuers: the admin's list and the gateways' resolution. */
  get issuers(): IssuerService {
    return this.#issuers;
  }

  // ---- applications ----------------------------------------------------------------------------

  async createApplication(actor: Actor, input: Record<string, unknown>): Promise<Application> {
    validate.onlyFields(input, actor.kind === 'admin' ? ['name', 'description', 'owner'] : ['name', 'description']);
    const name = validate.text(input.name, 'name', validate.NAME_MAX);
    const description =
      input.description === undefined
        ? ''
        : validate.text(input.description, 'description', validate.DESCRIPTION_MAX, { allowEmpty: true });
    const owner =
      actor.kind === 'owner'
        ? actor.id
        : input.owner === undefined || input.owner === null
          ? NO_OWNER
          : validate.accountId(input.owner, 'owner');
    const at = now();
    const application = {
      id: newApplicationId(),
      name,
      nameKey: validate.nameKey(name),
      description,
      owner,
      status: 'ACTIVE' as const,
      created_at: at,
    };
    if ((await this.#store.createApplication(application)) === 'name_taken') throw err.applicationNameTaken();
    emit(this.#provider, 'appkeys.application.created', actor, { application_id: application.id, owner });
    return applicationView({ ...application, updated_at: at, bindings: [] });
  }

  async listApplications(actor: Actor, cursor: unknown, limit: number): Promise<Page<Application>> {
    const after = decodeCursor(cursor);
    const items = await this.#store.listApplications(accessOf(actor), after, limit + 1);
    const issuers = await this.#issuersOf(items.flatMap((item) => item.bindings));
    return this.#page(
      items.map((item) => applicationView(item, issuers)),
      limit,
      (app) => app.id,
    );
  }

  async getApplication(actor: Actor, applicationId: string): Promise<Application> {
    const stored = await this.#application(actor, applicationId);
    return applicationView(stored, await this.#issuersOf(stored.bindings));
  }

  async updateApplication(actor: Actor, applicationId: string, input: Record<string, unknown>): Promise<Application> {
    if (actor.kind !== 'admin' && input.status !== undefined) throw err.insufficientScope(ADMIN_SCOPE);
    validate.onlyFields(input, ['name', 'description', 'status']);
    const current = await this.#application(actor, applicationId);
    const name = input.name === undefined ? undefined : validate.text(input.name, 'name', validate.NAME_MAX);
    const description =
      input.description === undefined
        ? undefined
        : validate.text(input.description, 'description', validate.DESCRIPTION_MAX, { allowEmpty: true });
    const status: ApplicationStatus | undefined =
      input.status === undefined ? undefined : validate.applicationStatus(input.status);
    const outcome = await this.#store.updateApplication(
      current.id,
      {
        ...(name !== undefined && { name, nameKey: validate.nameKey(name) }),
        ...(description !== undefined && { description }),
        ...(status !== undefined && { status }),
        updated_at: now(),
      },
      accessOf(actor),
    );
    if (outcome === 'name_taken') throw err.applicationNameTaken();
    if (outcome === 'not_found') throw err.applicationNotFound();
    if (outcome === 'blocked') throw err.applicationBlocked();
    if (status !== undefined && status !== current.status) {
      emit(this.#provider, 'appkeys.application.status_changed', actor, { application_id: current.id, status });
    }
    return this.getApplication(actor, current.id);
  }

  async deleteApplication(actor: Actor, applicationId: string): Promise<void> {
    const current = await this.#application(actor, applicationId);
    const result = await this.#store.deleteApplication(current.id, accessOf(actor));
    if (result.outcome !== 'deleted')
      throw result.outcome === 'blocked' ? err.applicationBlocked() : err.applicationNotFound();
    const removed = result.bindings;
    for (const binding of removed) this.#bindingRemoved(actor, binding, 'application_deleted');
    emit(this.#provider, 'appkeys.application.deleted', actor, {
      application_id: current.id,
      // a third-party issuer's client by its own id; its issuer is in the binding.removed event
      unbound_client_ids: removed.filter((b) => b.origin === 'provided').map((b) => bindingView(b).client_id),
      deleted_client_ids: removed.filter((b) => b.origin === 'generated').map((b) => b.client_id),
    });
  }

  // ---- keys ------------------------------------------------------------------------------------

  /**
   * "Provide Keys": proves possession of an existing client, then binds it. The proof is the client's
   * secret, or a signed assertion (RFC 7523) for a local client with registered keys; a client of a
   * third-party issuer (`issuer_id`) is proven at that issuer. Unknown client and wrong proof are one
   * answer reached through the same work; failures are throttled in the store, and a throttled caller is
   * answered before any proof is checked, so no answer then depends on it. Resolves whether the binding
   * was created (false: this exact binding already existed).
   */
  async provideKeys(
    actor: Actor,
    applicationId: string,
    keyTypeInput: string,
    input: Record<string, unknown>,
    request: ProvideKeysRequest = {},
  ): Promise<{ created: boolean; binding: Binding }> {
    if (!this.#options.provideKeysEnabled) throw err.provideKeysDisabled();
    const keyType = validate.keyType(keyTypeInput);
    validate.onlyFields(input, ['client_id', 'client_secret', 'client_assertion', 'issuer_id']);
    const clientId = validate.clientId(input.client_id);
    const proof = proofOf(input);
    const issuer =
      input.issuer_id === undefined ? undefined : await this.#issuers.issuerForProof(input.issuer_id, proof);
    if (!issuer && proof.kind === 'none') throw err.invalidRequest('client_secret or client_assertion is required');
    const storeClientId = issuer ? externalClientRef(issuer.issuer_id, clientId) : clientId;
    const attempt = { caller: callerOf(actor), clientId: storeClientId };
    const failed = (throttled: boolean) =>
      emit(this.#provider, 'appkeys.provide_keys.failed', actor, {
        application_id: applicationId,
        key_type: keyType,
        client_id: clientId,
        ...(issuer && { issuer_id: issuer.issuer_id }),
        throttled,
      });

    const waitMs = await this.#store.attemptWait(attempt, this.#options.attempts, Date.now());
    if (waitMs > 0) {
      failed(true);
      throw err.tooManyAttempts(Math.ceil(waitMs / 1000));
    }
    const client = issuer ? undefined : await this.#provider.Client.find(clientId);
    const proven = issuer
      ? await this.#issuers.proves(issuer, clientId, proof)
      : await this.#provesLocal(clientId, client, proof, request.audience);
    if (!proven) {
      const retryAfterMs = await this.#store.recordFailedAttempt(attempt, this.#options.attempts, Date.now());
      failed(retryAfterMs > 0);
      if (retryAfterMs > 0) throw err.tooManyAttempts(Math.ceil(retryAfterMs / 1000));
      throw err.invalidClient();
    }
    // asked only after the secret is proven, so a stranger learns nothing about static client ids
    if (client && isStaticClient(client)) throw err.clientIsStatic();

    const boundAt = now();
    const result = await this.#store.bind({
      applicationId,
      access: accessOf(actor),
      keyType,
      clientId: storeClientId,
      boundAt,
      boundBy: actor.id,
      caller: attempt.caller,
      limits: this.#options.attempts,
      nowMs: Date.now(),
      ...(issuer && { issuerId: issuer.issuer_id }),
    });
    switch (result.outcome) {
      case 'created': {
        const binding = bindingView(
          {
            application_id: applicationId,
            key_type: keyType,
            client_id: storeClientId,
            origin: 'provided',
            bound_at: boundAt,
            bound_by: actor.id,
          },
          issuer && issuerMap([issuer]),
        );
        emit(this.#provider, 'appkeys.binding.created', actor, { ...binding });
        return { created: true, binding };
      }
      case 'exists':
        return { created: false, binding: await this.getBinding(actor, applicationId, keyType) };
      case 'throttled':
        throw err.tooManyAttempts(Math.ceil(result.retryAfterMs / 1000));
      case 'application_not_found':
        throw err.applicationNotFound();
      case 'application_blocked':
        throw err.applicationBlocked();
      // proven against a client the store does not hold (e.g. one resolved from elsewhere): not bindable
      case 'client_not_found':
        throw err.invalidClient();
      // deleted by an admin while its client was being proven
      case 'issuer_not_found':
        throw err.issuerNotFound();
      case 'client_already_bound':
        throw err.clientAlreadyBound();
      case 'key_type_already_bound':
        throw err.keyTypeAlreadyBound();
      default:
        throw new Error('unexpected bind outcome');
    }
  }

  /** "Generate Keys": a new client, validated by the provider's schema, created already bound. */
  async generateKeys(
    actor: Actor,
    applicationId: string,
    keyTypeInput: string,
    input: Record<string, unknown>,
  ): Promise<GeneratedKeys> {
    const keyType = validate.keyType(keyTypeInput);
    for (const field of ['client_id', 'client_secret', 'client_secret_expires_at', 'client_id_issued_at']) {
      if (input[field] !== undefined) throw err.invalidRequest(`${field} is chosen by the server for generated keys`);
    }
    this.#secrets.checkRequest(input);
    const current = await this.#changeableApplication(actor, applicationId);
    if (current.bindings.some((b) => b.key_type === keyType)) throw err.keyTypeAlreadyBound();

    const clientSecret = newClientSecret();
    const metadata = await this.#secrets.forNewClient(
      await this.#validatedMetadata({
        ...defaultsForGenerated(input),
        ...withoutServerOwned(input),
        client_id: newClientId(),
        client_secret: clientSecret,
      }),
    );
    const boundAt = now();
    const outcome = await this.#store.createAndBind({
      applicationId: current.id,
      access: accessOf(actor),
      keyType,
      metadata,
      boundAt,
      boundBy: actor.id,
    });
    if (outcome === 'application_not_found') throw err.applicationNotFound();
    if (outcome === 'application_blocked') throw err.applicationBlocked();
    if (outcome === 'key_type_already_bound') throw err.keyTypeAlreadyBound();
    if (outcome === 'client_exists') throw new Error('generated client id collided');
    const binding = bindingView({
      application_id: current.id,
      key_type: keyType,
      client_id: metadata.client_id,
      origin: 'generated',
      bound_at: boundAt,
      bound_by: actor.id,
    });
    emit(this.#provider, 'appkeys.binding.created', actor, { ...binding });
    return { binding, client_id: metadata.client_id, client_secret: clientSecret, client: publicMetadata(metadata) };
  }

  async getBinding(actor: Actor, applicationId: string, keyTypeInput: string): Promise<Binding> {
    const keyType = validate.keyType(keyTypeInput);
    const current = await this.#application(actor, applicationId);
    const binding = current.bindings.find((b) => b.key_type === keyType);
    if (!binding) throw err.bindingNotFound();
    return bindingView(binding, await this.#issuersOf([binding]));
  }

  async unbind(actor: Actor, applicationId: string, keyTypeInput: string): Promise<void> {
    const keyType = validate.keyType(keyTypeInput);
    const current = await this.#application(actor, applicationId);
    const result = await this.#store.unbind(current.id, keyType, accessOf(actor));
    if (result.outcome !== 'unbound')
      throw result.outcome === 'blocked' ? err.applicationBlocked() : err.bindingNotFound();
    this.#bindingRemoved(actor, result.binding, 'unbound');
  }

  /** A new secret for a generated client; provided clients keep the secret they were created with. */
  async regenerateSecret(
    actor: Actor,
    applicationId: string,
    keyTypeInput: string,
  ): Promise<{ client_id: string; client_secret: string }> {
    const keyType = validate.keyType(keyTypeInput);
    const current = await this.#changeableApplication(actor, applicationId);
    const binding = current.bindings.find((b) => b.key_type === keyType);
    if (!binding) throw err.bindingNotFound();
    if (binding.origin !== 'generated') throw err.clientManagedExternally();
    for (let attempt = 0; attempt < REGENERATE_ATTEMPTS; attempt += 1) {
      const stored = await this.#store.getClient(binding.client_id);
      if (!stored || stored.binding?.application_id !== binding.application_id) throw err.bindingNotFound();
      const clientSecret = newClientSecret();
      const metadata = await this.#secrets.withRotatedSecret(stored.metadata, clientSecret);
      // compare-and-set on the revision: a concurrent change to the client is never overwritten
      const outcome = await this.#store.replaceClientMetadata(metadata, stored.revision, now(), {
        unlessBlocked: actor.kind !== 'admin',
      });
      if (outcome === 'ok') {
        emit(this.#provider, 'appkeys.client.secret_rotated', actor, {
          client_id: binding.client_id,
          application_id: binding.application_id,
        });
        return { client_id: binding.client_id, client_secret: clientSecret };
      }
      if (outcome === 'not_found') throw err.bindingNotFound();
      if (outcome === 'blocked') throw err.applicationBlocked();
    }
    throw new err.AppKeysError(409, 'conflict', 'the client changed while its secret was being rotated; try again');
  }

  // ---- out-of-band clients (admin) -------------------------------------------------------------

  /** Registers, or replaces, a client created elsewhere, keeping its id and secret and any binding. */
  async registerClient(
    actor: Actor,
    clientIdInput: string,
    input: Record<string, unknown>,
  ): Promise<{ outcome: RegisterOutcome; client: ClientView }> {
    const clientId = validate.clientId(clientIdInput);
    if (input.client_id !== undefined && input.client_id !== clientId) {
      throw err.invalidRequest('client_id in the body must match the path');
    }
    if (await this.#isStatic(clientId)) throw err.clientIsStatic();
    this.#secrets.checkRequest(input);
    const metadata = await this.#secrets.forRegistration(
      await this.#validatedMetadata({ ...withoutServerOwned(input), client_id: clientId }),
      () => this.#store.getClient(clientId),
    );
    // re-registering the same metadata writes nothing (decided by the store, atomically): bulk imports
    // are idempotent and cheap
    const outcome = await this.#store.putClient(metadata, now());
    if (outcome !== 'unchanged') {
      emit(this.#provider, 'appkeys.client.registered', actor, {
        client_id: clientId,
        replaced: outcome === 'replaced',
      });
    }
    const stored = await this.#store.getClient(clientId);
    // deleted by a concurrent request since: answer with what this request wrote
    const at = now();
    return { outcome, client: clientView(stored ?? { metadata, registered_at: at, updated_at: at, revision: 1 }) };
  }

  async getClient(clientIdInput: string): Promise<ClientView> {
    const stored = await this.#store.getClient(validate.clientId(clientIdInput));
    if (!stored) throw err.clientNotFound();
    return clientView(stored);
  }

  async listClients(cursor: unknown, limit: number): Promise<Page<ClientView>> {
    const after = decodeCursor(cursor);
    // third-party issuers' clients sort first (ref.ts) and are bindings, not clients of this provider
    const items = await this.#store.listClients(
      after === undefined || after < LOCAL_CLIENTS_AFTER ? LOCAL_CLIENTS_AFTER : after,
      limit + 1,
    );
    return this.#page(items.map(clientView), limit, (client) => client.client_id);
  }

  async deleteClient(actor: Actor, clientIdInput: string, force: boolean): Promise<void> {
    const clientId = validate.clientId(clientIdInput);
    const result = await this.#store.deleteClient(clientId, force);
    if (result.outcome === 'not_found') throw err.clientNotFound();
    if (result.outcome === 'bound') throw err.clientAlreadyBound();
    const binding = result.outcome === 'deleted' ? result.binding : undefined;
    if (binding) this.#bindingRemoved(actor, binding, 'client_deleted');
    emit(this.#provider, 'appkeys.client.deleted', actor, { client_id: clientId, forced: Boolean(binding) });
  }

  /**
   * Forgets the failures counted against a client from every caller, so that Provide Keys works for it
   * again after many callers' failures locked it out. Admin only; resolves whether there were any.
   */
  async clearFailedAttempts(actor: Actor, clientIdInput: string): Promise<boolean> {
    const clientId = validate.clientId(clientIdInput);
    const cleared = await this.#store.clearFailedAttempts(clientId);
    emit(this.#provider, 'appkeys.client.attempts_cleared', actor, { client_id: clientId, cleared });
    return cleared;
  }

  // ---- internals -------------------------------------------------------------------------------

  /** The application if the actor may see it; another owner's application is "not found", not "forbidden". */
  async #application(actor: Actor, applicationId: string): Promise<StoredApplication> {
    if (
      typeof applicationId !== 'string' ||
      applicationId.length === 0 ||
      applicationId.length > validate.APPLICATION_ID_MAX
    )
      throw err.applicationNotFound();
    const stored = await this.#store.getApplication(applicationId);
    if (!stored || (actor.kind !== 'admin' && stored.owner !== actor.id)) throw err.applicationNotFound();
    return stored;
  }

  /**
   * The application if the actor may change it: an owner's is the admin's while BLOCKED. Stores check
   * the same again in the step that changes it; asking first spares work that would be refused.
   */
  async #changeableApplication(actor: Actor, applicationId: string): Promise<StoredApplication> {
    const stored = await this.#application(actor, applicationId);
    if (actor.kind !== 'admin' && stored.status === 'BLOCKED') throw err.applicationBlocked();
    return stored;
  }

  /** A local client's proof: its secret, or an assertion signed with its registered keys, used once. */
  async #provesLocal(
    clientId: string,
    client: ProviderClient | undefined,
    proof: ExternalProof,
    audience: string | undefined,
  ): Promise<boolean> {
    if (proof.kind === 'secret') return this.#proves(client, proof.secret);
    if (proof.kind !== 'assertion' || !client || audience === undefined) return false;
    const verified = await verifyLocalAssertion(client.metadata() as ClientMetadata, proof.assertion, {
      audience,
      nowMs: Date.now(),
      maxLifetimeSeconds: ASSERTION_LIFETIME_MAX,
    });
    if (!verified) return false;
    return this.#store.useAssertionId(clientId, verified.jti, verified.expiresAtMs, Date.now());
  }

  async #proves(client: ProviderClient | undefined, secret: string): Promise<boolean> {
    if (!client || typeof client.clientSecret !== 'string') {
      await compareWithStandIn(this.#provider.Client, DUMMY_SECRET, secret);
      return false;
    }
    if (!(await client.compareClientSecret(secret))) return false;
    try {
      checkClientSecretExpiration(client);
    } catch {
      return false;
    }
    return true;
  }

  async #isStatic(clientId: string): Promise<boolean> {
    const client = await this.#provider.Client.find(clientId);
    return Boolean(client && isStaticClient(client));
  }

  /** Client metadata as the provider's own schema normalizes it; its errors keep their RFC 7591 codes. */
  async #validatedMetadata(input: Record<string, unknown>): Promise<ClientMetadata> {
    const ClientClass = this.#provider.Client;
    let metadata: ClientMetadata;
    try {
      if (input.sector_identifier_uri !== undefined)
        await ClientClass.validate(input as Parameters<typeof ClientClass.validate>[0]);
      const client = constructClient(ClientClass, input);
      metadata = withoutServerOwned(client.metadata() as ClientMetadata);
    } catch (cause) {
      throw schemaError(cause);
    }
    if (needsSecret(ClientClass, metadata) && typeof metadata.client_secret !== 'string') {
      throw err.invalidClientMetadata(
        `client_secret is required for token_endpoint_auth_method ${String(metadata.token_endpoint_auth_method)}`,
      );
    }
    checkStoreClientRules(metadata);
    return metadata;
  }

  /** The issuers that bindings name, read only when one of them is a third-party issuer's client. */
  async #issuersOf(bindings: readonly StoredBinding[]): Promise<IssuerMap | undefined> {
    if (!bindings.some((binding) => isExternalRef(binding.client_id))) return undefined;
    return issuerMap(await this.#store.listIssuers());
  }

  #page<T>(items: T[], limit: number, idOf: (item: T) => string): Page<T> {
    if (items.length <= limit) return { items };
    const shown = items.slice(0, limit);
    return { items: shown, next_cursor: encodeCursor(idOf(shown[shown.length - 1]!)) };
  }

  #bindingRemoved(actor: Actor, binding: StoredBinding, reason: string): void {
    emit(this.#provider, 'appkeys.binding.removed', actor, {
      ...bindingView(binding),
      reason,
      client_deleted: binding.origin === 'generated' || reason === 'client_deleted',
    });
  }
}

/** Exactly one proof of possession: a secret, a signed assertion, or neither (an unverified issuer's client). */
function proofOf(input: Record<string, unknown>): ExternalProof {
  if (input.client_secret !== undefined && input.client_assertion !== undefined) {
    throw err.invalidRequest('send client_secret or client_assertion, not both');
  }
  if (input.client_secret !== undefined) return { kind: 'secret', secret: validate.clientSecret(input.client_secret) };
  if (input.client_assertion !== undefined) {
    return { kind: 'assertion', assertion: validate.compactJwt(input.client_assertion, 'client_assertion') };
  }
  return { kind: 'none' };
}

/** Who is counted for throttling: admins and owners apart, whatever their ids. */
function callerOf(actor: Actor): string {
  return `${actor.kind}:${actor.id}`;
}

/** What a store checks, in the step that makes a change, about who makes it. */
function accessOf(actor: Actor): Access {
  return actor.kind === 'admin' ? { kind: 'admin' } : { kind: 'owner', owner: actor.id };
}

/**
 * Rules for every client this registry writes (registered out of band or generated), beyond the
 * provider's schema: the management scopes are the operator's static clients' alone, and a client that
 * gets tokens for itself (client_credentials) must authenticate, else anyone knowing its id could.
 */
function checkStoreClientRules(metadata: ClientMetadata): void {
  const refusal = managementScopeRefusal(metadata.scope);
  if (refusal) throw err.invalidClientMetadata(refusal);
  const grants = Array.isArray(metadata.grant_types) ? metadata.grant_types : [];
  if (grants.includes('client_credentials') && metadata.token_endpoint_auth_method === 'none') {
    throw err.invalidClientMetadata(
      'a client_credentials client must authenticate: token_endpoint_auth_method none is not allowed',
    );
  }
}

/** Machine-to-machine keys unless the request asks for other grants. */
function defaultsForGenerated(input: Record<string, unknown>): Record<string, unknown> {
  if (input.grant_types === undefined)
    return { grant_types: ['client_credentials'], response_types: [], redirect_uris: [] };
  const grants = Array.isArray(input.grant_types) ? input.grant_types : [];
  const redirecting = grants.includes('authorization_code') || grants.includes('implicit');
  return redirecting ? {} : { response_types: [], redirect_uris: [] };
}
