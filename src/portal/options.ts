import type { PortalSessionStore } from './sessions.js';

/** `appKeys({ portal })`: the developer portal and admin console served under `<prefix>/portal/`. */
export interface PortalOptions {
  /** Default `false`. */
  readonly enabled?: boolean;
  /**
   * The portal's client at this provider, which the operator configures as a static client: grant
   * `authorization_code`, response type `code`, redirect URI `<issuer origin><prefix>/portal/callback`,
   * `scope` listing `appkeys` (and `appkeys:admin` where admins get it by scope). Default `appkeys-portal`.
   */
  readonly clientId?: string;
  /** For a confidential portal client (`client_secret_basic`). Default: a public client, PKCE alone. */
  readonly clientSecret?: string;
  /** What the portal asks for at sign-in; must include `appkeys`. Default `openid appkeys`. */
  readonly scope?: string;
  /**
   * Who also gets the admin console: account ids, or a function of the account id. An account whose
   * sign-in was granted `appkeys:admin` is an admin too. Default: nobody by account.
   */
  readonly admins?: readonly string[] | ((accountId: string) => boolean | Promise<boolean>);
  /** Lifetime of a signed-in session, in seconds, from sign-in. Default 3600. */
  readonly sessionTtlSeconds?: number;
  /**
   * Where sessions live. Default: the provider's own adapter (`configuration.adapter`, so Redis when
   * the provider keeps its models there), under the model name `AppKeysPortalSession`.
   */
  readonly sessions?: PortalSessionStore;
  /**
   * Where the portal redeems authorization codes. Default: the provider's token endpoint at its issuer
   * URL; set it when that address is not reachable from the server itself (e.g. behind a proxy).
   */
  readonly tokenEndpoint?: string;
}

export interface ResolvedPortalOptions {
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly scope: string;
  readonly isAdmin: (accountId: string) => Promise<boolean>;
  readonly sessionTtlSeconds: number;
  readonly sessions: PortalSessionStore | undefined;
  readonly tokenEndpoint: string | undefined;
}

type Fail = (path: string, expectation: string) => never;

const KNOWN = [
  'enabled',
  'clientId',
  'clientSecret',
  'scope',
  'admins',
  'sessionTtlSeconds',
  'sessions',
  'tokenEndpoint',
];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalText(value: unknown, path: string, fail: Fail): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) fail(path, 'must be a non-empty string');
  return value;
}

function adminCheck(value: unknown, fail: Fail): (accountId: string) => Promise<boolean> {
  if (value === undefined) return async () => false;
  if (typeof value === 'function') {
    const decide = value as (accountId: string) => unknown;
    return async (accountId) => (await decide(accountId)) === true;
  }
  if (!Array.isArray(value) || value.some((id) => typeof id !== 'string' || id.length === 0)) {
    fail('portal.admins', 'must be an array of account ids or a function (accountId) => boolean');
  }
  const ids = new Set<string>(value as string[]);
  return async (accountId) => ids.has(accountId);
}

/** Checks `options.portal`; undefined unless the portal is enabled. */
export function resolvePortalOptions(input: unknown, fail: Fail): ResolvedPortalOptions | undefined {
  if (input === undefined) return undefined;
  if (!isObject(input)) fail('portal', 'must be an object such as { enabled: true }');
  for (const key of Object.keys(input)) {
    if (!KNOWN.includes(key)) fail(`portal.${key}`, `is not an option (known: ${KNOWN.join(', ')})`);
  }
  if (input.enabled !== undefined && typeof input.enabled !== 'boolean') fail('portal.enabled', 'must be a boolean');

  const scope = optionalText(input.scope, 'portal.scope', fail) ?? 'openid appkeys';
  if (!scope.split(' ').includes('appkeys'))
    fail('portal.scope', 'must include appkeys (the portal acts for the owners who sign in)');
  const ttl = input.sessionTtlSeconds ?? 3600;
  if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl <= 0)
    fail('portal.sessionTtlSeconds', 'must be a positive integer');
  const { sessions } = input;
  if (
    sessions !== undefined &&
    (!isObject(sessions) || ['find', 'upsert', 'destroy'].some((m) => typeof sessions[m] !== 'function'))
  ) {
    fail('portal.sessions', 'must have find, upsert and destroy (an oidc-provider Adapter will do)');
  }
  const tokenEndpoint = optionalText(input.tokenEndpoint, 'portal.tokenEndpoint', fail);
  if (tokenEndpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(tokenEndpoint))
    fail('portal.tokenEndpoint', 'must be an http(s) URL');
  const isAdmin = adminCheck(input.admins, fail);
  const clientId = optionalText(input.clientId, 'portal.clientId', fail) ?? 'appkeys-portal';
  const clientSecret = optionalText(input.clientSecret, 'portal.clientSecret', fail);

  if (input.enabled !== true) return undefined;
  return {
    clientId,
    clientSecret,
    scope,
    isAdmin,
    sessionTtlSeconds: ttl,
    sessions: sessions as PortalSessionStore | undefined,
    tokenEndpoint,
  };
}
