/**
 * What every server `appkeys serve` runs shares, whichever configuration it serves: where it listens,
 * the metrics' own listener, the provider with appkeys mounted and observed, and how it closes.
 */
import { createServer, type Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';

import type { Cluster, Redis } from 'ioredis';
import type Provider from 'oidc-provider';
import type { Configuration } from 'oidc-provider';

import { memoryStore } from '../../adapters/memory/index.js';
import { redisAdapter, redisStore } from '../../adapters/redis/index.js';
import type { AppKeys, AppKeysOptions } from '../../src/index.js';
import type { LoggerOptions, Observability } from './observability.js';

/** Where a server listens unless told otherwise: this machine only. */
export const DEFAULT_HOST = '127.0.0.1';

/** Checks a port number given as text (`PORT`, `--port`); the message names where it came from. */
export function checkPort(value: string, source: string): number {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) > 65535)
    throw new RangeError(`${source} must be a port number (0–65535)`);
  return Number(value);
}

/** Checks an interface to listen on (`HOST`, `--host`): an IP address or a host name. */
export function checkHost(value: string, source: string): string {
  if (isIP(value) !== 0 || /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$/.test(value)) return value;
  throw new TypeError(`${source} must be an IP address or a host name`);
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/**
 * How a URL names a listener on `host`: `localhost` for loopback and for every interface (the URL a
 * browser on this machine, or one forwarded to a container, uses), the host itself otherwise.
 */
export function urlHost(host: string): string {
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

export function shownAddress({ address, family, port }: AddressInfo): string {
  return family === 'IPv6' ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The URL of a bound listener: `localhost` when it listens on every interface, else its address. */
function listenerUrl(host: string, bound: AddressInfo): string {
  return `http://${isWildcard(host) ? `localhost:${bound.port}` : shownAddress(bound)}`;
}

/** Where a server listens, for a banner: with a word on who can reach it. */
export function whereItListens(address: AddressInfo): string {
  if (isLoopback(address.address))
    return `${shownAddress(address)} (this machine only; set HOST to listen on another interface)`;
  if (isWildcard(address.address)) return `${shownAddress(address)} (every interface)`;
  return shownAddress(address);
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
  return new Error(
    "refusing to start: NODE_ENV=production, but this server would sign anyone in through oidc-provider's " +
      'development login (any username, no password). In production, run your own configuration, with your own login ' +
      '(configuration.interactions and findAccount, features.devInteractions off): `appkeys serve --config FILE`, or ' +
      'mount appKeys() into your own server (see README.md, ' +
      '"Running your configuration" and "Mounting into your server"). ' +
      'To try the development server out, unset NODE_ENV.',
  );
}

export interface ServerSettings {
  readonly port: number;
  /** The interface to listen on. Default `127.0.0.1`: reachable from this machine only. */
  readonly host?: string;
  /**
   * The issuer; absent, `http://localhost:PORT` (`http://HOST:PORT` for a HOST other than loopback or every
   * interface).
   */
  readonly issuer?: string;
  /** The provider configuration for that issuer, before `keys.configuration()` merges appkeys in. */
  readonly configuration: (issuer: string) => Configuration;
  /** `appKeys()` options; the store is built here. */
  readonly appkeys: Omit<AppKeysOptions, 'store'>;
  /**
   * The store's Redis, handed over (quit on close); absent: memory, with the store's warning. Unless the
   * configuration brings its own `adapter`, the provider's models live there too (under `oidc:`).
   */
  readonly redis?: Redis | Cluster;
  /** Key prefix of the appkeys store in Redis. Default `appkeys:`. */
  readonly storePrefix?: string;
  /** `redisStore({ clientCache: true })`: client records in memory, invalidated by Redis. Default off. */
  readonly clientCache?: boolean;
  /** Level and destination of the JSON log lines. Default: `LOG_LEVEL` (else `info`), stdout. */
  readonly log?: LoggerOptions;
  /**
   * Serve Prometheus metrics at `GET /metrics` on a listener of their own (host default `127.0.0.1`).
   * Default: not served. Never on the public listener: they are not authenticated.
   */
  readonly metrics?: { readonly port: number; readonly host?: string };
}

export interface StartedServer {
  /** The issuer. */
  readonly url: string;
  /** Where it listens. */
  readonly address: AddressInfo;
  /** Where the metrics are served (`settings.metrics`); undefined when they are not. */
  readonly metricsUrl?: string;
  /** The metrics and the logger. */
  readonly observability: Observability;
  readonly provider: Provider;
  readonly keys: AppKeys;
  close(): Promise<void>;
}

async function close(server: Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
}

/** The metrics' own listener, when asked for: Prometheus reaches it, the public does not. */
async function metricsListener(
  observed: Observability,
  settings: NonNullable<ServerSettings['metrics']>,
): Promise<{ server: Server; url: string }> {
  const host = settings.host ?? DEFAULT_HOST;
  const server = createServer(observed.metricsListener());
  const bound = await listen(server, settings.port, host);
  return { server, url: `${listenerUrl(host, bound)}/metrics` };
}

/** Listens, then serves the provider with appkeys mounted, observed (metrics and JSON logs). */
export async function startServer(settings: ServerSettings): Promise<StartedServer> {
  // loaded only now, so that a refused start prints its message alone (oidc-provider warns on import
  // when the runtime is one it does not support)
  const [{ default: ProviderClass }, { appKeys }, { observability }] = await Promise.all([
    import('oidc-provider'),
    import('../../src/index.js'),
    import('./observability.js'),
  ]);
  const { redis } = settings;
  const host = settings.host ?? DEFAULT_HOST;
  // listening first, so that with port 0 the issuer names the port actually bound
  const server = createServer();
  let bound: AddressInfo;
  let metrics: Awaited<ReturnType<typeof metricsListener>> | undefined;
  const observed = observability(settings.log);
  try {
    bound = await listen(server, settings.port, host);
    metrics = settings.metrics && (await metricsListener(observed, settings.metrics));
  } catch (error) {
    if (server.listening) await close(server);
    throw error;
  }
  const issuer = settings.issuer ?? `http://${urlHost(host)}:${bound.port}`;

  const keys = appKeys({
    ...settings.appkeys,
    store: observed.instrumentStore(
      redis
        ? redisStore({
            client: redis,
            prefix: settings.storePrefix ?? 'appkeys:',
            clientCache: settings.clientCache === true,
          })
        : memoryStore(),
    ),
  });
  const configuration = settings.configuration(issuer);
  const provider = new ProviderClass(
    issuer,
    keys.configuration({
      ...configuration,
      ...(redis &&
        configuration.adapter === undefined && { adapter: redisAdapter({ client: redis, prefix: 'oidc:' }) }),
    }),
  );
  provider.proxy = process.env.TRUST_PROXY === '1';
  provider.use(observed.middleware()); // ahead of the routes, so it sees their answers too
  keys.mount(provider);
  observed.attach(provider);

  server.on('request', provider.callback());

  return {
    url: issuer,
    address: bound,
    ...(metrics && { metricsUrl: metrics.url }),
    observability: observed,
    provider,
    keys,
    async close() {
      await Promise.all([close(server), metrics && close(metrics.server)]);
      await keys.store.close();
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
