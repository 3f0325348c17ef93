/**
 * The standalone server behind `npm start`: oidc-provider with appkeys mounted, "Provide Keys" on.
 *
 *   PORT                 default 3000
 *   HOST                 the interface to listen on, default 127.0.0.1 (this machine only)
 *   ISSUER               default http://localhost:$PORT (http://$HOST:$PORT for a HOST other than
 *                        loopback or every interface)
 *   REDIS_URL            keep everything in Redis (else in memory, with a warning)
 *   APPKEYS_CLIENT_CACHE=1
 *                        with REDIS_URL: keep client records in memory, invalidated by Redis (clientCache)
 *   APPKEYS_HASH_SECRETS=1
 *                        keep client secrets as scrypt hashes (secrets: { hash: 'scrypt' })
 *   APPKEYS_ADMIN_CLIENT_ID / APPKEYS_ADMIN_CLIENT_SECRET
 *                        the static admin client (the secret is generated and printed when unset; a
 *                        secret given is never printed)
 *   METRICS_PORT         serve Prometheus metrics at GET /metrics on a listener of their own, on this
 *                        port (default: not served; never on the public listener)
 *   METRICS_HOST         the interface of that listener, default 127.0.0.1
 *   LOG_LEVEL            JSON log lines on stdout from this level (default info)
 *   NODE_ENV=production  refused: this server signs people in with the development login
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';

import { Redis } from 'ioredis';
import type { Configuration } from 'oidc-provider';

import { memoryStore } from '../adapters/memory/index.js';
import { redisAdapter, redisStore } from '../adapters/redis/index.js';
import type { LoggerOptions, Observability } from './observability.js';

export interface StandaloneSettings {
  readonly port: number;
  /** The interface to listen on. Default `127.0.0.1`: reachable from this machine only. */
  readonly host?: string;
  readonly issuer?: string;
  readonly redisUrl?: string;
  readonly adminClientId: string;
  /** The static admin client's secret; generated when absent, and only then shown by `banner()`. */
  readonly adminClientSecret?: string;
  /** Level and destination of the JSON log lines. Default: `LOG_LEVEL` (else `info`), stdout. */
  readonly log?: LoggerOptions;
  /** `redisStore({ clientCache: true })`: client records in memory, invalidated by Redis. Default off. */
  readonly clientCache?: boolean;
  /** Key prefix of the appkeys store in Redis. Default `appkeys:`. */
  readonly prefix?: string;
  /**
   * Serve Prometheus metrics at `GET /metrics` on a listener of their own (host default `127.0.0.1`).
   * Default: not served. Never on the public listener: they are not authenticated.
   */
  readonly metrics?: { readonly port: number; readonly host?: string };
  /** Default `process.env.NODE_ENV`; `production` is refused (see `developmentLoginRefusal()`). */
  readonly nodeEnv?: string;
  /** `secrets: { hash: 'scrypt' }`: client secrets kept as hashes. Default off. */
  readonly hashSecrets?: boolean;
}

export interface RunningServer {
  readonly url: string;
  /** Where it listens. */
  readonly address: AddressInfo;
  readonly adminClientId: string;
  readonly adminClientSecret: string;
  /** Whether the server made the secret up, so that it is the banner's to show. */
  readonly adminClientSecretGenerated: boolean;
  /** Where the metrics are served (`settings.metrics`); undefined when they are not. */
  readonly metricsUrl?: string;
  /** The metrics and the logger. */
  readonly observability: Observability;
  close(): Promise<void>;
}

export const PORTAL_CLIENT_ID = 'appkeys-portal';

/** The account that gets the portal's admin console, signing in through the development login. */
export const PORTAL_ADMIN = 'admin';

/** Where the server listens unless told otherwise: this machine only. */
export const DEFAULT_HOST = '127.0.0.1';

/** Checks a port number given as text (`PORT`, `--port`); the message names where it came from. */
export function checkPort(value: string, source: string): number {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) > 65535) throw new RangeError(`${source} must be a port number (0–65535)`);
  return Number(value);
}

/** Checks an interface to listen on (`HOST`, `--host`): an IP address or a host name. */
export function checkHost(value: string, source: string): string {
  if (isIP(value) !== 0 || /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$/.test(value)) return value;
  throw new TypeError(`${source} must be an IP address or a host name`);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/**
 * How a URL names a listener on `host`: `localhost` for loopback and for every interface (the URL a
 * browser on this machine, or one forwarded to a container, uses), the host itself otherwise.
 */
function urlHost(host: string): string {
  if (isLoopback(host) || isWildcard(host)) return 'localhost';
  return isIP(host) === 6 ? `[${host}]` : host;
}

const LISTEN_FAILURES: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'no interface of this machine has that address',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved',
};

/** A listener that could not be opened; the message names the address and why. */
export class ListenError extends Error {
  readonly code: string | undefined;

  constructor(host: string, port: number, cause: NodeJS.ErrnoException) {
    const why = (cause.code && LISTEN_FAILURES[cause.code]) ?? cause.message;
    super(`cannot listen on ${isIP(host) === 6 ? `[${host}]` : host}:${port}: ${why}`);
    this.name = 'ListenError';
    this.code = cause.code;
  }
}

async function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => reject(new ListenError(host, port, error));
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

function shownAddress({ address, family, port }: AddressInfo): string {
  return family === 'IPv6' ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The URL of a bound listener: `localhost` when it listens on every interface, else its address. */
function listenerUrl(host: string, bound: AddressInfo): string {
  return `http://${isWildcard(host) ? `localhost:${bound.port}` : shownAddress(bound)}`;
}

/** The standalone server's provider features, the development login among them. */
function standaloneFeatures(): NonNullable<Configuration['features']> {
  return {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    // development login: any username, any password; there is no other login in this server
    devInteractions: { enabled: true },
  };
}

/**
 * Why a server must not start, or undefined when it may: with `NODE_ENV=production`, a provider that
 * would serve oidc-provider's development login (on unless `features.devInteractions.enabled` is
 * `false`), which signs anyone in as any account without a password.
 */
export function developmentLoginRefusal(settings: {
  readonly nodeEnv: string | undefined;
  readonly configuration: Pick<Configuration, 'features'>;
}): Error | undefined {
  if (settings.nodeEnv !== 'production') return undefined;
  if (settings.configuration.features?.devInteractions?.enabled === false) return undefined;
  return new Error('refusing to start: NODE_ENV=production, but this server would sign anyone in through oidc-provider\'s '
    + 'development login (any username, no password). In production, mount appKeys() into your own server, with your '
    + 'own login (configuration.interactions and findAccount, features.devInteractions off): see README.md, "Mounting '
    + 'into your server". To try this server out, unset NODE_ENV.');
}

/** `developmentLoginRefusal()` for the standalone server, whose only login is the development one. */
export function standaloneRefusal(nodeEnv: string | undefined): Error | undefined {
  return developmentLoginRefusal({ nodeEnv, configuration: { features: standaloneFeatures() } });
}

/**
 * The provider configuration of the standalone server, before `keys.configuration()` merges appkeys in.
 * The CLI builds its schema-only provider from it, so an import is validated as this server validates.
 */
export function standaloneConfiguration(settings: {
  readonly issuer: string;
  readonly adminClientId: string;
  readonly adminClientSecret: string;
  readonly redis?: Redis;
}): Configuration {
  return {
    ...(settings.redis && { adapter: redisAdapter({ client: settings.redis, prefix: 'oidc:' }) }),
    clients: [
      {
        client_id: settings.adminClientId,
        client_secret: settings.adminClientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'appkeys:admin',
      },
      {
        // the developer portal: owners sign in through it to get an `appkeys` token
        client_id: PORTAL_CLIENT_ID,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        // the portal's own callback, and the one `npm run owner-token` uses
        redirect_uris: [`${settings.issuer}/appkeys/portal/callback`, `${settings.issuer}/portal/callback`],
        scope: 'openid appkeys',
      },
    ],
    scopes: ['openid', 'offline_access', 'appkeys', 'appkeys:admin', 'api'],
    features: standaloneFeatures(),
    ttl: {
      AccessToken: 600,
      ClientCredentials: 600,
      AuthorizationCode: 60,
      Grant: 3600,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
    },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
  };
}

async function close(server: Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
}

/** The metrics' own listener, when asked for: Prometheus reaches it, the public does not. */
async function metricsListener(observed: Observability, settings: NonNullable<StandaloneSettings['metrics']>): Promise<{ server: Server; url: string }> {
  const host = settings.host ?? DEFAULT_HOST;
  const server = createServer(observed.metricsListener());
  const bound = await listen(server, settings.port, host);
  return { server, url: `${listenerUrl(host, bound)}/metrics` };
}

export async function startStandalone(settings: StandaloneSettings): Promise<RunningServer> {
  const refusal = standaloneRefusal(settings.nodeEnv ?? process.env.NODE_ENV);
  if (refusal) throw refusal;
  // loaded only now, so that a refused start prints its message alone (oidc-provider warns on import
  // when the runtime is one it does not support)
  const [{ default: Provider }, { appKeys }, { observability }] = await Promise.all([
    import('oidc-provider'), import('../src/index.js'), import('./observability.js'),
  ]);
  const host = settings.host ?? DEFAULT_HOST;
  // listening first, so that with port 0 the issuer names the port actually bound
  const server = createServer();
  const bound = await listen(server, settings.port, host);
  const observed = observability(settings.log);
  let metrics: Awaited<ReturnType<typeof metricsListener>> | undefined;
  try {
    metrics = settings.metrics && await metricsListener(observed, settings.metrics);
  } catch (error) {
    await close(server);
    throw error;
  }
  const issuer = settings.issuer ?? `http://${urlHost(host)}:${bound.port}`;
  const adminClientSecret = settings.adminClientSecret ?? randomBytes(24).toString('base64url');
  const redis = settings.redisUrl ? new Redis(settings.redisUrl) : undefined;

  const keys = appKeys({
    store: observed.instrumentStore(redis
      ? redisStore({ client: redis, prefix: settings.prefix ?? 'appkeys:', clientCache: settings.clientCache === true })
      : memoryStore()),
    provideKeys: { enabled: true },
    ...(settings.hashSecrets && { secrets: { hash: 'scrypt' } }),
    portal: { enabled: true, admins: [PORTAL_ADMIN] },
  });

  const configuration = standaloneConfiguration({
    issuer, adminClientId: settings.adminClientId, adminClientSecret, ...(redis && { redis }),
  });

  const provider = new Provider(issuer, keys.configuration(configuration));
  provider.proxy = process.env.TRUST_PROXY === '1';
  provider.use(observed.middleware()); // ahead of the routes, so it sees their answers too
  keys.mount(provider);
  observed.attach(provider);

  server.on('request', provider.callback());

  return {
    url: issuer,
    address: bound,
    adminClientId: settings.adminClientId,
    adminClientSecret,
    adminClientSecretGenerated: settings.adminClientSecret === undefined,
    ...(metrics && { metricsUrl: metrics.url }),
    observability: observed,
    async close() {
      await Promise.all([close(server), metrics && close(metrics.server)]);
      await keys.store.close();
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** `text` as one shell word. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The curl `-u` argument for the admin client: with a generated secret, the secret itself; with one the
 * operator gave, a reference to the variable it came from, so that it never reaches a terminal or a log.
 */
function adminCredentials(running: RunningServer): string {
  if (running.adminClientSecretGenerated) return shellQuote(`${running.adminClientId}:${running.adminClientSecret}`);
  return /^[A-Za-z0-9._~-]+$/.test(running.adminClientId)
    ? `"${running.adminClientId}:$APPKEYS_ADMIN_CLIENT_SECRET"`
    : `${shellQuote(`${running.adminClientId}:`)}"$APPKEYS_ADMIN_CLIENT_SECRET"`;
}

function whereItListens({ address }: RunningServer): string {
  if (isLoopback(address.address)) return `${shownAddress(address)} (this machine only; set HOST to listen on another interface)`;
  if (isWildcard(address.address)) return `${shownAddress(address)} (every interface)`;
  return shownAddress(address);
}

/** What `npm start` and `appkeys serve` print once listening: where, which storage, how to get tokens. */
export function banner(running: RunningServer, redisUrl: string | undefined): string {
  return [
    '',
    `appkeys server listening on ${running.url}`,
    `  address: ${whereItListens(running)}`,
    `  storage: ${redisUrl ? `Redis at ${redisUrl.replace(/\/\/[^@/]*@/, '//***@')}` : 'memory (lost on restart; set REDIS_URL to keep it in Redis)'}`,
    `  admin client: ${running.adminClientId}`,
    `  admin secret: ${running.adminClientSecretGenerated ? running.adminClientSecret : 'from APPKEYS_ADMIN_CLIENT_SECRET (not shown)'}`,
    '',
    `Get an admin token (scope appkeys:admin)${running.adminClientSecretGenerated ? '' : ', with APPKEYS_ADMIN_CLIENT_SECRET set in your shell'}:`,
    `  curl -s -u ${adminCredentials(running)} -d grant_type=client_credentials -d scope=appkeys:admin ${running.url}/token`,
    '',
    'Get an owner token (scope appkeys) by signing in as a developer through the development login:',
    `  npm run -s owner-token -- alice        # ISSUER=${running.url} if not the default`,
    '',
    `The management API is under ${running.url}/appkeys (OpenAPI: ${running.url}/appkeys/openapi.json).`,
    `The portal: ${running.url}/appkeys/portal/ (sign in as any name; "${PORTAL_ADMIN}" also gets the admin console).`,
    running.metricsUrl
      ? `Metrics: ${running.metricsUrl} (a listener of their own); JSON logs on stdout (LOG_LEVEL, default info).`
      : 'Metrics: off (set METRICS_PORT to serve them on a listener of their own, on 127.0.0.1 unless METRICS_HOST);'
        + ' JSON logs on stdout (LOG_LEVEL, default info).',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const port = checkPort(process.env.PORT || '3000', 'PORT');
  const host = checkHost(process.env.HOST || DEFAULT_HOST, 'HOST');
  const metricsPort = process.env.METRICS_PORT ? checkPort(process.env.METRICS_PORT, 'METRICS_PORT') : undefined;
  const metricsHost = checkHost(process.env.METRICS_HOST || DEFAULT_HOST, 'METRICS_HOST');
  const redisUrl = process.env.REDIS_URL || undefined;
  const running = await startStandalone({
    port,
    host,
    ...(metricsPort !== undefined && { metrics: { port: metricsPort, host: metricsHost } }),
    ...(process.env.ISSUER && { issuer: process.env.ISSUER }),
    ...(redisUrl && { redisUrl }),
    adminClientId: process.env.APPKEYS_ADMIN_CLIENT_ID || 'appkeys-admin',
    ...(process.env.APPKEYS_ADMIN_CLIENT_SECRET && { adminClientSecret: process.env.APPKEYS_ADMIN_CLIENT_SECRET }),
    clientCache: process.env.APPKEYS_CLIENT_CACHE === '1',
    hashSecrets: process.env.APPKEYS_HASH_SECRETS === '1',
  });
  process.stdout.write(banner(running, redisUrl));

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    process.stdout.write(`\n${signal}: shutting down\n`);
    running.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`appkeys: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
