/**
 * Metrics and logs for a server running appkeys, built from what the extension already offers: the
 * provider events it emits (`appkeys.*`, payloads `{...details, actor, at}` that never hold a secret),
 * the `BindingStore` object passed to `appKeys()`, and the Koa app the routes run in. Nothing in `src/`
 * or in a store knows about any of it.
 *
 * - Prometheus metrics (prom-client) in a registry of their own, served at `GET /metrics` by a listener
 *   of their own (`metricsListener()`), not by the public app: they are not authenticated;
 * - JSON log lines (pino) on stdout, level from `LOG_LEVEL` (default `info`): one per appkeys event,
 *   one per server error (its name and message; never a request body).
 *
 * `appkeys serve` (start.ts) wires it in, whichever configuration it serves; a server of your own can
 * copy this file (it needs pino and prom-client, and the package's own exports):
 *
 *   const observed = observability();
 *   const keys = appKeys({ store: observed.instrumentStore(redisStore(...)), ... });
 *   provider.use(observed.middleware());   // before keys.mount(provider), so it sees appkeys answers too
 *   keys.mount(provider);
 *   observed.attach(provider);
 *   createServer(observed.metricsListener()).listen(9464, '127.0.0.1');   // for Prometheus only
 */
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';

import { AppKeysError, type AppKeysEvent, type AppKeysEventPayload, type BindingStore } from '../../src/index.js';

/** Fields no log line may show, whatever a future payload carries: pino replaces them. */
export const REDACTED_PATHS = [
  'client_secret',
  '*.client_secret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'password',
  '*.password',
  'client_assertion',
  '*.client_assertion',
  'token',
  '*.token',
] as const;

/** Every appkeys event and the level it is logged at; a `Record` so that a new event must be listed. */
const EVENT_LEVELS: Record<AppKeysEvent, Level> = {
  'appkeys.application.created': 'info',
  'appkeys.application.deleted': 'info',
  'appkeys.application.status_changed': 'info',
  'appkeys.binding.created': 'info',
  'appkeys.binding.removed': 'info',
  'appkeys.client.registered': 'info',
  'appkeys.client.deleted': 'info',
  'appkeys.client.secret_rotated': 'info',
  'appkeys.client.attempts_cleared': 'info',
  'appkeys.client.secret_hashed': 'info',
  'appkeys.client.secret_hash_failed': 'warn',
  'appkeys.provide_keys.failed': 'warn',
  'appkeys.issuer.registered': 'info',
  'appkeys.issuer.deleted': 'info',
};

export interface AppKeysMetrics {
  readonly registry: Registry;
  /** Bindings made, by how the client came (`provided`, `generated`) and key type. */
  readonly binds: Counter<'origin' | 'key_type'>;
  /** Bindings removed, by origin and why (`unbound`, `application_deleted`, `client_deleted`). */
  readonly unbinds: Counter<'origin' | 'reason'>;
  /** Failed provide-keys attempts (wrong secret or unknown client), and whether the caller was then throttled. */
  readonly provideKeysFailures: Counter<'throttled'>;
  /** Management API answers of 429 `too_many_attempts`. */
  readonly throttles: Counter;
  readonly applicationsCreated: Counter;
  readonly applicationsDeleted: Counter;
  /** Latency of every BindingStore call, by method and outcome (`ok`, `unavailable`, `error`). */
  readonly storeLatency: Histogram<'method' | 'outcome'>;
  /** Every HTTP request, by method, route template and status class (`2xx`, …). */
  readonly httpRequests: Counter<'method' | 'route' | 'status_class'>;
}

/** The metrics, registered in a new registry (never prom-client's global one). */
export function createMetrics(registry = new Registry()): AppKeysMetrics {
  const registers = [registry];
  return {
    registry,
    binds: new Counter({
      name: 'appkeys_bindings_created_total',
      help: 'Clients bound to applications.',
      labelNames: ['origin', 'key_type'],
      registers,
    }),
    unbinds: new Counter({
      name: 'appkeys_bindings_removed_total',
      help: 'Bindings removed.',
      labelNames: ['origin', 'reason'],
      registers,
    }),
    provideKeysFailures: new Counter({
      name: 'appkeys_provide_keys_failures_total',
      help: 'Failed provide-keys attempts.',
      labelNames: ['throttled'],
      registers,
    }),
    throttles: new Counter({
      name: 'appkeys_throttled_requests_total',
      help: 'Management API requests answered 429.',
      registers,
    }),
    applicationsCreated: new Counter({
      name: 'appkeys_applications_created_total',
      help: 'Applications created.',
      registers,
    }),
    applicationsDeleted: new Counter({
      name: 'appkeys_applications_deleted_total',
      help: 'Applications deleted.',
      registers,
    }),
    storeLatency: new Histogram({
      name: 'appkeys_store_call_duration_seconds',
      help: 'Duration of BindingStore calls.',
      labelNames: ['method', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by route and status class.',
      labelNames: ['method', 'route', 'status_class'],
      registers,
    }),
  };
}

export interface LoggerOptions {
  /** Default `LOG_LEVEL`, else `info`. */
  readonly level?: string;
  /** Where JSON lines go. Default stdout. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const settings = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    base: { service: 'appkeys' },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/**
 * A BindingStore whose every method is timed into `histogram` and delegated to `store`: the store's
 * own code is untouched, and properties that are not methods (`kind`) read through.
 */
export function instrumentStore(store: BindingStore, histogram: Histogram<'method' | 'outcome'>): BindingStore {
  const wrappers = new Map<string, unknown>();
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'constructor') return value;
      let wrapper = wrappers.get(property);
      if (!wrapper) {
        const method = value as (...args: unknown[]) => Promise<unknown>;
        wrapper = async (...args: unknown[]) => {
          const done = histogram.startTimer({ method: property });
          try {
            const result = await method.apply(target, args);
            done({ outcome: 'ok' });
            return result;
          } catch (error) {
            done({ outcome: error instanceof AppKeysError && error.status === 503 ? 'unavailable' : 'error' });
            throw error;
          }
        };
        wrappers.set(property, wrapper);
      }
      return wrapper;
    },
  });
}

/** An error as a log line may show it: what it is, not where it came from or what it carried. */
function errorFields(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: typeof error, message: String(error) };
}

/** The route a request matched, as a template (bounded label values); `unmatched` otherwise. */
function routeOf(ctx: { _matchedRoute?: unknown }): string {
  return typeof ctx._matchedRoute === 'string' ? ctx._matchedRoute : 'unmatched';
}

export interface ObservabilityOptions extends LoggerOptions {
  /** The appkeys route prefix, to tell its 429 answers. Default `/appkeys`. */
  readonly prefix?: string;
  /**
   * Also serve the metrics at this path of the app `middleware()` runs in. Default: not served there,
   * as that app is usually public; serve them with `metricsListener()` on a listener of their own.
   */
  readonly metricsPath?: string;
}

export interface Observability {
  readonly metrics: AppKeysMetrics;
  readonly logger: Logger;
  /** `instrumentStore(store, metrics.storeLatency)`. */
  instrumentStore(store: BindingStore): BindingStore;
  /** Counts every request (and serves `metricsPath`, when given); use it ahead of the appkeys routes. */
  middleware(): Middleware;
  /** A request listener for a server of its own: `GET /metrics` answers the metrics, any other path 404. */
  metricsListener(): (req: IncomingMessage, res: ServerResponse) => void;
  /** Logs and counts the provider's appkeys events and server errors. */
  attach(provider: Provider): void;
}

export function observability(options: ObservabilityOptions = {}): Observability {
  const metrics = createMetrics();
  const logger = createLogger(options);
  const prefix = options.prefix ?? '/appkeys';
  const inPrefix = (path: string) => path === prefix || path.startsWith(`${prefix}/`);
  const counted = (method: string, route: string, status: number) => {
    metrics.httpRequests.inc({ method, route, status_class: `${Math.floor(status / 100)}xx` });
  };

  return {
    metrics,
    logger,
    instrumentStore: (store) => instrumentStore(store, metrics.storeLatency),

    middleware() {
      return async function observed(ctx, next) {
        if (
          options.metricsPath !== undefined &&
          ctx.path === options.metricsPath &&
          (ctx.method === 'GET' || ctx.method === 'HEAD')
        ) {
          ctx.set('Content-Type', metrics.registry.contentType);
          ctx.set('Cache-Control', 'no-store');
          ctx.body = await metrics.registry.metrics();
          counted(ctx.method, options.metricsPath, 200);
          return;
        }
        let status = 500;
        try {
          await next();
          status = ctx.status;
        } finally {
          counted(ctx.method, routeOf(ctx as { _matchedRoute?: unknown }), status);
          if (status === 429 && inPrefix(ctx.path)) metrics.throttles.inc();
        }
      };
    },

    metricsListener() {
      return (req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        const answer = (status: number, type: string, body: string, headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', ...headers });
          res.end(req.method === 'HEAD' ? undefined : body);
          counted(req.method ?? 'GET', path === '/metrics' ? '/metrics' : 'unmatched', status);
        };
        if (path !== '/metrics') {
          answer(404, 'text/plain; charset=utf-8', 'not found: metrics are at /metrics\n');
        } else if (req.method !== 'GET' && req.method !== 'HEAD') {
          answer(405, 'text/plain; charset=utf-8', 'method not allowed\n', { Allow: 'GET, HEAD' });
        } else {
          metrics.registry.metrics().then(
            (text) => answer(200, metrics.registry.contentType, text),
            () => answer(500, 'text/plain; charset=utf-8', 'metrics unavailable\n'),
          );
        }
      };
    },

    attach(provider) {
      // the provider is an EventEmitter; its published types list only its own events
      const events = provider as unknown as EventEmitter;
      for (const [event, level] of Object.entries(EVENT_LEVELS) as [AppKeysEvent, Level][]) {
        events.on(event, (payload: AppKeysEventPayload) => {
          logger[level]({ ...payload, event }, event);
        });
      }
      events.on('appkeys.binding.created', (payload: AppKeysEventPayload) => {
        metrics.binds.inc({ origin: String(payload.origin), key_type: String(payload.key_type) });
      });
      events.on('appkeys.binding.removed', (payload: AppKeysEventPayload) => {
        metrics.unbinds.inc({ origin: String(payload.origin), reason: String(payload.reason) });
      });
      events.on('appkeys.provide_keys.failed', (payload: AppKeysEventPayload) => {
        metrics.provideKeysFailures.inc({ throttled: String(payload.throttled === true) });
      });
      events.on('appkeys.application.created', () => metrics.applicationsCreated.inc());
      events.on('appkeys.application.deleted', () => metrics.applicationsDeleted.inc());

      // the path only: a query string may carry a code or a token
      events.on('appkeys.server_error', (error: unknown, where: { method?: string; path?: string } = {}) => {
        logger.error(
          { event: 'appkeys.server_error', error: errorFields(error), method: where.method, path: where.path },
          'appkeys.server_error',
        );
      });
      events.on('server_error', (ctx: { method?: string; path?: string } | undefined, error: unknown) => {
        logger.error(
          { event: 'server_error', error: errorFields(error), method: ctx?.method, path: ctx?.path },
          'server_error',
        );
      });
    },
  };
}
