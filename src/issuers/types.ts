/** Third-party issuers: what an admin registers and what the server learns from the issuer's metadata. */

export const VERIFICATIONS = ['client_credentials', 'none'] as const;
/** How a client of the issuer proves possession: a client_credentials grant at its token endpoint, or not at all. */
export type Verification = (typeof VERIFICATIONS)[number];

/** Extra parameters of the verifying client_credentials request, for issuers that need them. */
export interface Probe {
  readonly scope?: string;
  /** Sent as `audience` (Auth0 and others). */
  readonly audience?: string;
  /** Sent as `resource` (RFC 8707). */
  readonly resource?: string;
}

/** What the server keeps of the issuer's metadata (RFC 8414 / OpenID Discovery). */
export interface IssuerEndpoints {
  readonly token_endpoint: string;
  readonly jwks_uri?: string;
  readonly revocation_endpoint?: string;
  readonly introspection_endpoint?: string;
  readonly token_endpoint_auth_methods_supported?: readonly string[];
}

/** An issuer as the HTTP API shows it and the store keeps it. */
export interface Issuer {
  readonly issuer_id: string;
  /** The issuer identifier, exactly as its metadata states it. */
  readonly issuer: string;
  readonly verification: Verification;
  readonly probe?: Probe;
  readonly metadata: IssuerEndpoints;
  readonly created_at: string;
  readonly updated_at: string;
}

export type StoredIssuer = Issuer;
