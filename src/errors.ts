/**
 * One error type for everything the extension reports. `error` is the spec-style code that reaches the
 * client; `expose: false` errors become `server_error` with nothing internal in the body (see
 * `errorBody` in http/error-out.ts, the only place an error becomes a response).
 */
export class AppKeysError extends Error {
  readonly status: number;
  readonly statusCode: number;
  readonly error: string;
  // snake_case like oidc-provider's own errors, so that its error handler renders ours the same way
  readonly error_description: string;
  readonly expose: boolean;
  /** Seconds, for 429 and 503 answers. */
  readonly retryAfter: number | undefined;

  /**
   * As in oidc-provider, `message` is the error code: an AppKeysError thrown inside a provider endpoint
   * (a store outage during a token request, say) is rendered by the provider as
   * `{error, error_description}` with this status.
   */
  constructor(
    status: number,
    error: string,
    description: string,
    options: { retryAfter?: number; cause?: unknown } = {},
  ) {
    super(error, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppKeysError';
    this.status = status;
    this.statusCode = status;
    this.error = error;
    this.error_description = description;
    this.expose = status < 500 || status === 503;
    this.retryAfter = options.retryAfter;
  }
}

export const invalidRequest = (description: string) => new AppKeysError(400, 'invalid_request', description);
export const invalidClientMetadata = (description: string, code = 'invalid_client_metadata') =>
  new AppKeysError(400, code, description);
export const invalidToken = (description = 'the access token is missing, invalid or expired') =>
  new AppKeysError(401, 'invalid_token', description);
export const insufficientScope = (scope: string) =>
  new AppKeysError(403, 'insufficient_scope', `this request needs the scope ${scope}`);
/** One answer for an unknown client and a wrong secret, so neither can be told from the other. */
export const invalidClient = () => new AppKeysError(401, 'invalid_client', 'client authentication failed');
export const provideKeysDisabled = () =>
  new AppKeysError(403, 'provide_keys_disabled', 'providing existing keys is not enabled on this server');
export const applicationNotFound = () => new AppKeysError(404, 'application_not_found', 'no such application');
export const bindingNotFound = () =>
  new AppKeysError(404, 'binding_not_found', 'no keys of this type are bound to the application');
export const clientNotFound = () => new AppKeysError(404, 'client_not_found', 'no such client');
export const applicationNameTaken = () =>
  new AppKeysError(409, 'application_name_taken', 'you already have an application with this name');
export const clientAlreadyBound = () =>
  new AppKeysError(409, 'client_already_bound', 'this client is already bound to an application');
export const keyTypeAlreadyBound = () =>
  new AppKeysError(409, 'key_type_already_bound', 'the application already has keys of this type');
export const clientIsStatic = () =>
  new AppKeysError(409, 'client_is_static', 'statically configured clients cannot be registered or bound here');
export const clientManagedExternally = () =>
  new AppKeysError(
    409,
    'client_managed_externally',
    'this client was provided from elsewhere; rotate its secret where it was created',
  );
export const applicationBlocked = () =>
  new AppKeysError(
    403,
    'application_blocked',
    'an administrator has blocked this application; only an administrator can change it',
  );
export const tooManyAttempts = (retryAfter: number) =>
  new AppKeysError(429, 'too_many_attempts', 'too many failed attempts; try again later', { retryAfter });
export const storeUnavailable = (cause?: unknown) =>
  new AppKeysError(503, 'temporarily_unavailable', 'the key registry is unavailable; try again shortly', {
    retryAfter: 5,
    cause,
  });

export function isStoreUnavailable(err: unknown): boolean {
  return err instanceof AppKeysError && err.status === 503;
}

// ---- third-party issuers ------------------------------------------------------------------------

export const issuerNotFound = () => new AppKeysError(404, 'issuer_not_found', 'no such issuer');
/** The issuer's metadata could not be used: the description says why (never a secret). */
export const invalidIssuer = (description: string) => new AppKeysError(400, 'invalid_issuer', description);
export const issuerTaken = () =>
  new AppKeysError(409, 'issuer_taken', 'another issuer_id is registered for this issuer');
export const issuerInUse = (description = 'clients of this issuer are bound to applications; unbind them first') =>
  new AppKeysError(409, 'issuer_in_use', description);
/** The issuer did not answer in time, or answered with a server error: nothing was written. */
export const issuerUnavailable = (cause?: unknown) =>
  new AppKeysError(503, 'temporarily_unavailable', 'the issuer could not be reached; try again shortly', {
    retryAfter: 5,
    cause,
  });
export const clientNotBound = () =>
  new AppKeysError(404, 'client_not_bound', 'this client is not bound to an application');
/**
 * A token `POST /appkeys/resolve` cannot vouch for. `code` says why: `unknown_issuer`,
 * `invalid_signature`, `token_expired`, `malformed_token`, or `no_client` (it names no client).
 */
export const unresolvableToken = (code: string, description: string) => new AppKeysError(401, code, description);
