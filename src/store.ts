import type {
  Application,
  ApplicationStatus,
  Binding,
  ClientBinding,
  ClientMetadata,
  KeyType,
  VerifyResult,
} from './types.js';
import type { StoredIssuer } from './issuers/types.js';

/**
 * The BindingStore contract: what a store implements. Stores do atomic storage and nothing else: every
 * method is one atomic step, and every rule of who may do what lives in src/registry.ts. Methods
 * reject with an `AppKeysError` of status 503 (`storeUnavailable()`) when the store cannot be reached,
 * and then have changed nothing, now or later.
 *
 * `memoryStore()` (adapters/memory) and `redisStore()` (adapters/redis) implement it and pass the same
 * conformance suite (test/store-conformance.test.ts).
 */
export interface BindingStore {
  /** A short name for logs and errors, e.g. `redis` or `memory`. */
  readonly kind: string;

  // ---- clients ---------------------------------------------------------------------------------

  /** The client record, or `undefined` when no such client is registered. */
  getClient(clientId: string): Promise<StoredClient | undefined>;

  /**
   * Registers a client or replaces its metadata, keeping any binding (binding fields are never taken
   * from metadata). Resolves `created`, `replaced`, or `unchanged` when the stored metadata already
   * equals `metadata` (compared as `canonicalJson`), in which case nothing is written.
   */
  putClient(metadata: ClientMetadata, at: string): Promise<'created' | 'replaced' | 'unchanged'>;

  /**
   * Replaces the metadata of a client whose revision is still `revision` (compare-and-set).
   * Resolves `ok`, `not_found`, `conflict` when the record changed meanwhile, or `blocked` when
   * `unlessBlocked` is set and the client's application is BLOCKED (checked in the same step).
   */
  replaceClientMetadata(
    metadata: ClientMetadata,
    revision: number,
    at: string,
    options?: ReplaceOptions,
  ): Promise<'ok' | 'not_found' | 'conflict' | 'blocked'>;

  /**
   * Removes a client. A bound client is removed only with `force`, and then its binding goes too.
   * Resolves `{ outcome: 'deleted', binding? }` (the binding it had), `not_found`, or `bound`.
   */
  deleteClient(clientId: string, force: boolean): Promise<DeleteClientResult>;

  /** Client ids in UTF-8 byte order (as Redis sorts), after `after` (exclusive), at most `limit`. */
  listClients(after: string | undefined, limit: number): Promise<StoredClient[]>;

  // ---- applications ----------------------------------------------------------------------------

  /**
   * Creates an application. Resolves `created`, or `name_taken` when its owner has one of that
   * `nameKey`. Precondition: `id` is new (the registry draws 80 random bits per id).
   */
  createApplication(application: NewApplication): Promise<'created' | 'name_taken'>;

  /** The application with its bindings, or `undefined`. */
  getApplication(applicationId: string): Promise<StoredApplication | undefined>;

  /** Applications in id byte order after `after`: every one for an admin, an owner's own for an owner. */
  listApplications(access: Access, after: string | undefined, limit: number): Promise<StoredApplication[]>;

  /**
   * Changes name, description or status. A status change is mirrored into the bound client records in
   * the same step. Resolves `ok`, `not_found` (also: not this owner's), `name_taken`, or `blocked`.
   */
  updateApplication(
    applicationId: string,
    change: ApplicationChange,
    access: Access,
  ): Promise<'ok' | 'not_found' | 'name_taken' | 'blocked'>;

  /**
   * Deletes an application: provided clients are unbound and kept, generated clients deleted.
   * Resolves the bindings it had, `not_found` (also: not this owner's), or `blocked`.
   */
  deleteApplication(applicationId: string, access: Access): Promise<DeleteApplicationResult>;

  // ---- bindings --------------------------------------------------------------------------------

  /**
   * Binds an existing client as `provided` keys (a `generated` client is created bound, by
   * `createAndBind`). Refused while the caller's failed attempts on this client, or the client's from
   * anyone, are over the limit (`throttled`, with `retryAfterMs`). `exists` when this exact binding is
   * already there.
   */
  bind(request: BindRequest): Promise<BindResult>;

  /** Creates a client and binds it in one step (no orphan client can be left behind). */
  createAndBind(
    request: CreateAndBindRequest,
  ): Promise<'created' | 'application_not_found' | 'application_blocked' | 'key_type_already_bound' | 'client_exists'>;

  /**
   * Removes the binding of one key type; a generated client is deleted with it. Resolves the removed
   * binding, `not_found` when there was none (or the application is not this owner's), or `blocked`.
   */
  unbind(applicationId: string, keyType: KeyType, access: Access): Promise<UnbindResult>;

  // ---- throttling of failed provide-keys attempts ----------------------------------------------

  /**
   * Records a failed attempt in two sliding windows (per caller and client, per client) and resolves
   * how long the caller must wait before the next attempt is allowed (0: not throttled). A failure at
   * time t counts while `now - t < windowMs`; when a window is full nothing is recorded and the wait is
   * the time until enough failures leave it (at least 1 ms). `bind` applies the same check first.
   * Binding changes never touch a client's `revision` or `updated_at`; only metadata changes do.
   */
  recordFailedAttempt(attempt: AttemptKey, limits: AttemptLimits, nowMs: number): Promise<number>;

  /** How long the caller must wait before trying again (0: not throttled), recording nothing. */
  attemptWait(attempt: AttemptKey, limits: AttemptLimits, nowMs: number): Promise<number>;

  /**
   * Forgets every failure counted against a client from anyone (its per-client window), so that a
   * client locked out by many callers can be provided again. Per-caller windows stay: they hold back
   * only the caller who failed. Resolves whether there was anything to forget.
   */
  clearFailedAttempts(clientId: string): Promise<boolean>;

  // ---- third-party issuers (src/issuers/) -------------------------------------------------------

  /**
   * Registers or replaces an issuer, keeping `created_at` on replace. Resolves `unchanged` when every
   * field but the times is equal (nothing written), `issuer_taken` when another issuer_id holds the same
   * `issuer` URL, or `bound` when the `issuer` URL or `verification` would change while clients of this
   * issuer are bound (a binding shows both).
   */
  putIssuer(issuer: StoredIssuer): Promise<'created' | 'replaced' | 'unchanged' | 'issuer_taken' | 'bound'>;

  getIssuer(issuerId: string): Promise<StoredIssuer | undefined>;

  /** Every issuer, in issuer_id byte order: an operator's list, small enough to read whole. */
  listIssuers(): Promise<StoredIssuer[]>;

  /**
   * Removes an issuer and the records of its external clients. Refused (`bound`) while one of them is
   * bound, in the same step, so that no binding can outlive its issuer.
   */
  deleteIssuer(issuerId: string): Promise<'deleted' | 'not_found' | 'bound'>;

  /**
   * Records a signed assertion's `jti` for one client as used until `expiresAtMs`. Resolves false when
   * it was used already (a replay).
   */
  useAssertionId(clientId: string, jti: string, expiresAtMs: number, nowMs: number): Promise<boolean>;

  // ---- operations ------------------------------------------------------------------------------

  /** Checks every invariant on the live data: binding ⇄ client record ⇄ owner index ⇄ name index. */
  verify(): Promise<VerifyResult>;

  /** Releases what the store holds (timers); never closes a client the caller passed in. */
  close(): Promise<void>;
}

/**
 * On whose behalf a change is made, checked in the same atomic step as the change: an admin may act on
 * every application; an owner only on their own, and not while an admin holds it BLOCKED. Two cases,
 * so that no owner id can ever mean "any owner".
 */
export type Access = { readonly kind: 'admin' } | { readonly kind: 'owner'; readonly owner: string };

export interface ReplaceOptions {
  /** Refuse (`blocked`) when the client's application is BLOCKED: an owner's change. */
  readonly unlessBlocked?: boolean;
}

export interface StoredClient {
  readonly metadata: ClientMetadata;
  readonly binding?: ClientBinding;
  readonly registered_at: string;
  readonly updated_at: string;
  /** Increases with every metadata change, for compare-and-set. */
  readonly revision: number;
}

/** A binding as stores hold it: the same fields the HTTP API shows. */
export type StoredBinding = Binding;

/** An application as stores hold it: the API's shape, with its bindings as a list. */
export interface StoredApplication extends Omit<Application, 'keys' | 'owner'> {
  /** The owner's account id, or `''` for an application an admin created for no account. */
  readonly owner: string;
  readonly bindings: readonly StoredBinding[];
}

export interface NewApplication {
  readonly id: string;
  readonly name: string;
  /** The name as compared for uniqueness per owner (see registry's `nameKey`). */
  readonly nameKey: string;
  readonly description: string;
  readonly owner: string;
  readonly status: ApplicationStatus;
  readonly created_at: string;
}

export interface ApplicationChange {
  readonly name?: string;
  readonly nameKey?: string;
  readonly description?: string;
  readonly status?: ApplicationStatus;
  readonly updated_at: string;
}

export interface AttemptKey {
  /** Who tried (owner account or admin id). */
  readonly caller: string;
  readonly clientId: string;
}

export interface AttemptLimits {
  readonly perCaller: number;
  readonly perClient: number;
  readonly windowMs: number;
}

export interface BindRequest {
  readonly applicationId: string;
  readonly access: Access;
  readonly keyType: KeyType;
  readonly clientId: string;
  readonly boundAt: string;
  readonly boundBy: string;
  /** Who binds, as `recordFailedAttempt` counts them: the windows checked are `{ caller, clientId }`'s. */
  readonly caller: string;
  readonly limits: AttemptLimits;
  readonly nowMs: number;
  /**
   * Set for a client of a third-party issuer: `clientId` is then `externalClientRef(issuerId, …)`, the
   * step creates that client's record (metadata `{ client_id: <that id> }`) when it has none, and refuses
   * (`issuer_not_found`) when the issuer
   * is not registered, so that a binding cannot outlive a concurrent `deleteIssuer`.
   */
  readonly issuerId?: string;
}

export type BindResult =
  | { readonly outcome: 'created' | 'exists' }
  | {
      readonly outcome:
        | 'application_not_found'
        | 'application_blocked'
        | 'client_not_found'
        | 'issuer_not_found'
        | 'client_already_bound'
        | 'key_type_already_bound';
    }
  | { readonly outcome: 'throttled'; readonly retryAfterMs: number };

export interface CreateAndBindRequest {
  readonly applicationId: string;
  readonly access: Access;
  readonly keyType: KeyType;
  readonly metadata: ClientMetadata;
  readonly boundAt: string;
  readonly boundBy: string;
}

export type DeleteClientResult =
  { readonly outcome: 'deleted'; readonly binding?: StoredBinding } | { readonly outcome: 'not_found' | 'bound' };

export type DeleteApplicationResult =
  | { readonly outcome: 'deleted'; readonly bindings: readonly StoredBinding[] }
  | { readonly outcome: 'not_found' | 'blocked' };

export type UnbindResult =
  { readonly outcome: 'unbound'; readonly binding: StoredBinding } | { readonly outcome: 'not_found' | 'blocked' };
