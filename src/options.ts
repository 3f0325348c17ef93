import type { Context } from 'koa';

import { resolvePortalOptions, type PortalOptions, type ResolvedPortalOptions } from './portal/options.js';
import { resolveSecretsOptions, type ResolvedSecretsOptions, type SecretsOptions } from './secrets/options.js';
import { DEFAULT_ISSUERS_OPTIONS, type ResolvedIssuersOptions } from './issuers/options.js';
import type { BindingStore } from './store.js';
import type { Actor } from './types.js';

/** Options of `appKeys()`. Every one is checked at construction; errors name the option's path. */
export interface AppKeysOptions {
  /** Where applications, bindings and out-of-band clients live. Default: `memoryStore()`, with a warning. */
  readonly store?: BindingStore;
  /** "Provide Keys": binding an existing client by proving its secret (WSO2's `mapExistingAuthApps`). */
  readonly provideKeys?: {
    /** Default `false`: only generated keys can be bound. */
    readonly enabled?: boolean;
    /** Throttling of failed attempts, counted in the store so every process shares it. */
    readonly attempts?: {
      /** Failures allowed per (caller, client_id) within the window. Default 5. */
      readonly perCaller?: number;
      /** Failures allowed per client_id, from anyone, within the window. Default 50. */
      readonly perClient?: number;
      /** The sliding window, in seconds. Default 600. */
      readonly windowSeconds?: number;
    };
  };
  /** `true`: clients of the appkeys store without a binding get no tokens (`unauthorized_client`). */
  readonly requireBinding?: boolean;
  /** Path prefix of the management routes. Default `/appkeys`. */
  readonly prefix?: string;
  /**
   * Replaces the Bearer-token check: resolve the caller, or `undefined` for 401. Throw an
   * `AppKeysError` for another answer.
   */
  readonly authenticate?: (ctx: Context) => Promise<Actor | undefined>;
  /** Largest accepted request body in bytes. Default 64 KiB. */
  readonly bodyLimitBytes?: number;
  /** How client secrets are kept in the store: `{ hash: 'scrypt' }` keeps hashes only. Default: as given. */
  readonly secrets?: SecretsOptions;
  /** The developer portal and admin console under `<prefix>/portal/`: `{ enabled: true, admins }`. Default off. */
  readonly portal?: PortalOptions;
  /** Third-party issuers whose clients may be provided (see README, "Third-party issuers"). */
  readonly issuers?: IssuersOptions;
}

export interface IssuersOptions {
  /**
   * Default `false`: issuers and every endpoint they name must be `https`. `true` also allows `http` to a
   * loopback address (127.0.0.0/8, ::1, localhost), for development and tests; never other hosts.
   */
  readonly allowHttpLoopback?: boolean;
  /** Bound of every call to an issuer, body included, in milliseconds. Default 5000. */
  readonly timeoutMs?: number;
  /** Largest response read from an issuer, in bytes; longer ones are cut and refused. Default 256 KiB. */
  readonly maxResponseBytes?: number;
}

export interface ResolvedOptions {
  readonly store: BindingStore | undefined;
  readonly provideKeysEnabled: boolean;
  readonly attempts: { readonly perCaller: number; readonly perClient: number; readonly windowMs: number };
  readonly requireBinding: boolean;
  readonly prefix: string;
  readonly authenticate: AppKeysOptions['authenticate'];
  readonly bodyLimitBytes: number;
  readonly secrets: ResolvedSecretsOptions;
  /** Undefined unless the portal is enabled. */
  readonly portal: ResolvedPortalOptions | undefined;
  readonly issuers: ResolvedIssuersOptions;
}

const STORE_METHODS = [
  'getClient',
  'putClient',
  'replaceClientMetadata',
  'deleteClient',
  'listClients',
  'createApplication',
  'getApplication',
  'listApplications',
  'updateApplication',
  'deleteApplication',
  'bind',
  'createAndBind',
  'unbind',
  'recordFailedAttempt',
  'attemptWait',
  'clearFailedAttempts',
  'putIssuer',
  'getIssuer',
  'listIssuers',
  'deleteIssuer',
  'useAssertionId',
  'verify',
  'close',
] as const;

function fail(path: string, expectation: string): never {
  throw new TypeError(`appKeys: options.${path} ${expectation}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalBoolean(value: unknown, path: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(path, 'must be a boolean');
  return value;
}

function optionalPositiveInteger(value: unknown, path: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) fail(path, 'must be a positive integer');
  return value;
}

function checkKnownKeys(value: Record<string, unknown>, path: string, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) fail(`${path}${path ? '.' : ''}${key}`, `is not an option (known: ${known.join(', ')})`);
  }
}

export function resolveOptions(input: unknown = {}): ResolvedOptions {
  if (!isObject(input)) throw new TypeError('appKeys: options must be an object');
  checkKnownKeys(input, '', [
    'store',
    'provideKeys',
    'requireBinding',
    'prefix',
    'authenticate',
    'bodyLimitBytes',
    'secrets',
    'portal',
    'issuers',
  ]);

  const { store } = input;
  if (store !== undefined) {
    if (!isObject(store)) fail('store', 'must be a BindingStore (memoryStore() or redisStore())');
    const missing = STORE_METHODS.filter((method) => typeof store[method] !== 'function');
    if (missing.length) fail('store', `is not a BindingStore: missing ${missing.join(', ')}`);
  }

  const provideKeys = input.provideKeys ?? {};
  if (!isObject(provideKeys)) fail('provideKeys', 'must be an object');
  checkKnownKeys(provideKeys, 'provideKeys', ['enabled', 'attempts']);
  const attempts = provideKeys.attempts ?? {};
  if (!isObject(attempts)) fail('provideKeys.attempts', 'must be an object');
  checkKnownKeys(attempts, 'provideKeys.attempts', ['perCaller', 'perClient', 'windowSeconds']);

  const prefix = input.prefix ?? '/appkeys';
  if (typeof prefix !== 'string' || !/^(\/[A-Za-z0-9._~-]+)+$/.test(prefix)) {
    fail('prefix', 'must be a path such as /appkeys (segments of letters, digits, . _ ~ -; no trailing slash)');
  }

  if (input.authenticate !== undefined && typeof input.authenticate !== 'function') {
    fail('authenticate', 'must be a function (ctx) => Promise<Actor | undefined>');
  }

  return {
    store: store as BindingStore | undefined,
    provideKeysEnabled: optionalBoolean(provideKeys.enabled, 'provideKeys.enabled', false),
    attempts: {
      perCaller: optionalPositiveInteger(attempts.perCaller, 'provideKeys.attempts.perCaller', 5),
      perClient: optionalPositiveInteger(attempts.perClient, 'provideKeys.attempts.perClient', 50),
      windowMs: optionalPositiveInteger(attempts.windowSeconds, 'provideKeys.attempts.windowSeconds', 600) * 1000,
    },
    requireBinding: optionalBoolean(input.requireBinding, 'requireBinding', false),
    prefix,
    authenticate: input.authenticate as AppKeysOptions['authenticate'],
    bodyLimitBytes: optionalPositiveInteger(input.bodyLimitBytes, 'bodyLimitBytes', 64 * 1024),
    secrets: resolveSecretsOptions(input.secrets, fail),
    portal: resolvePortalOptions(input.portal, fail),
    issuers: resolveIssuersOptions(input.issuers),
  };
}

function resolveIssuersOptions(input: unknown): ResolvedIssuersOptions {
  if (input === undefined) return DEFAULT_ISSUERS_OPTIONS;
  if (!isObject(input)) fail('issuers', 'must be an object');
  checkKnownKeys(input, 'issuers', ['allowHttpLoopback', 'timeoutMs', 'maxResponseBytes']);
  const defaults = DEFAULT_ISSUERS_OPTIONS;
  return {
    allowHttpLoopback: optionalBoolean(
      input.allowHttpLoopback,
      'issuers.allowHttpLoopback',
      defaults.allowHttpLoopback,
    ),
    timeoutMs: optionalPositiveInteger(input.timeoutMs, 'issuers.timeoutMs', defaults.timeoutMs),
    maxResponseBytes: optionalPositiveInteger(
      input.maxResponseBytes,
      'issuers.maxResponseBytes',
      defaults.maxResponseBytes,
    ),
  };
}
