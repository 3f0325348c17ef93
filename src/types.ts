/** The single source of the package's public types. */

export const KEY_TYPES = ['PRODUCTION', 'SANDBOX'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export const APPLICATION_STATUSES = ['ACTIVE', 'BLOCKED'] as const;
export type ApplicationStatus = (typeof APPLICATION_STATUSES)[number];

/** `provided`: an existing client whose keys a developer proved; `generated`: created for the application. */
export type BindingOrigin = 'provided' | 'generated';

/** A binding as the HTTP API shows it. Never holds a secret. */
export interface Binding {
  readonly application_id: string;
  readonly key_type: KeyType;
  readonly client_id: string;
  readonly origin: BindingOrigin;
  readonly bound_at: string;
  readonly bound_by: string;
  /** A client of a third-party issuer: the issuer's id here… */
  readonly issuer_id?: string;
  /** …its issuer URL… */
  readonly issuer?: string;
  /** …and how possession of the client was proven (`none`: it was not, by the admin's choice). */
  readonly verification?: 'client_credentials' | 'none';
}

export interface Application {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** The owner's account id; `null` for an application an admin created for no account. */
  readonly owner: string | null;
  readonly status: ApplicationStatus;
  readonly created_at: string;
  readonly updated_at: string;
  readonly keys: Partial<Record<KeyType, Binding>>;
}

/**
 * What a client record carries of its binding, under the `appkeys_binding` client property. The
 * application's status is mirrored here by the script that changes it, so the token endpoint learns
 * everything from the client lookup it does anyway.
 */
export interface ClientBinding {
  readonly application_id: string;
  readonly key_type: KeyType;
  readonly origin: BindingOrigin;
  readonly status: ApplicationStatus;
  readonly bound_at: string;
  readonly bound_by: string;
  /** Set when the application was last blocked: tokens issued before it never count again. */
  readonly tokens_since?: string;
}

/** Client metadata as oidc-provider reads it (snake_case, RFC 7591), secret included. */
export type ClientMetadata = Record<string, unknown> & { client_id: string };

/** Who makes a request to the management API. */
export interface Actor {
  /** `resolver`: a gateway holding the scope `appkeys:resolve`, which may only resolve clients to applications. */
  readonly kind: 'owner' | 'admin' | 'resolver';
  /** The owner's account id; for an admin or resolver, `account:<id>` or `client:<client_id>` (audit only). */
  readonly id: string;
}

/** A page of a listing; `next_cursor` is opaque and absent on the last page. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next_cursor?: string;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly problems: readonly string[];
}
