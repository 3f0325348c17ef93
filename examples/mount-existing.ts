/**
 * Adding appkeys to a server that already exists: an outer Koa app with its own routes, and an
 * oidc-provider with its own adapter and its own static clients, mounted under a path.
 *
 * Adding the extension is three lines (marked ADDED below): `keys.configuration(existingConfiguration)`,
 * `outer.use(keys.routes(provider))`, and the store's `close()`. Every model but `Client` stays on the
 * existing adapter, so the tokens the server issues live where they always did; the static clients
 * get the tokens they always got; the outer app's routes are untouched.
 *
 * The management API sits at the outer app's root (`/appkeys`), next to the provider at `/oidc`. Its
 * callers are the portal's own users, not Bearer tokens: `authenticate(ctx)` replaces the token check.
 * In this example a gateway in front of the app authenticates portal users and passes the user in
 * `x-portal-user` (it must strip that header from what clients send); a real portal reads its own
 * session here.
 *
 *   npx tsx examples/mount-existing.ts          PORT (3001), MOUNT_PATH (/oidc), REDIS_URL (else memory)
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

import Router from '@koa/router';
import { Redis } from 'ioredis';
import Koa, { type Context, type Middleware } from 'koa';
import Provider, { type AdapterFactory, type Configuration } from 'oidc-provider';

import { memoryAdapter, memoryStore } from '../adapters/memory/index.js';
import { redisAdapter, redisStore } from '../adapters/redis/index.js';
import { appKeys, type Actor, type AppKeys, type BindingStore } from '../src/index.js';

export interface StaticClient {
  readonly id: string;
  readonly secret: string;
}

export interface ExistingServerOptions {
  /** The provider's issuer: the outer app's origin plus `mountPath`. */
  readonly issuer: string;
  /** Where the provider is mounted in the outer app. Default `/oidc`; `''` mounts it at the root. */
  readonly mountPath?: string;
  /** Keep the existing server's tokens and the appkeys store in Redis (under these prefixes); default memory. */
  readonly redis?: { readonly client: Redis; readonly tokenPrefix?: string; readonly appkeysPrefix?: string };
  /** Portal users who are appkeys admins (they import out-of-band clients). Default `['ops']`. */
  readonly portalAdmins?: readonly string[];
  /** `false`: the server as it was before appkeys, for comparison. Default `true`. */
  readonly withAppKeys?: boolean;
  readonly billingSecret?: string;
  readonly webSecret?: string;
}

export interface ExistingServer {
  /** The outer Koa app: serve `app.callback()`. */
  readonly app: Koa;
  readonly provider: Provider;
  /** The existing server's adapter: where every provider model but `Client` lives. */
  readonly adapter: AdapterFactory;
  /** The extension, when added. */
  readonly keys: AppKeys | undefined;
  /** A confidential service client (client_credentials) the server always had. */
  readonly billing: StaticClient;
  /** A web client (authorization_code) the server always had. */
  readonly web: StaticClient & { readonly redirectUri: string };
  close(): Promise<void>;
}

/** The portal header this example trusts (see the file's comment). */
export const PORTAL_USER_HEADER = 'x-portal-user';
const PORTAL_USER = /^[A-Za-z0-9._@-]{1,64}$/;

// ---- the server as it was --------------------------------------------------------------------------

/** The existing provider configuration: its own clients, scopes, features and token claims. */
function existingConfiguration(
  billing: StaticClient,
  web: ExistingServer['web'],
  adapter: AdapterFactory,
): Configuration {
  return {
    adapter,
    clients: [
      {
        client_id: billing.id,
        client_secret: billing.secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'invoices:read',
      },
      {
        client_id: web.id,
        client_secret: web.secret,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [web.redirectUri],
      },
    ],
    scopes: ['openid', 'offline_access', 'invoices:read'],
    // the existing server's own claim: kept, and still first, once appkeys wraps this hook
    extraTokenClaims: () => ({ tenant: 'acme' }),
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      // development login; the existing server has its own
      devInteractions: { enabled: true },
    },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
  };
}

/**
 * Mounts the provider under `path` the way Express mounts an app: the provider answers on its own Koa
 * context (its own `proxy`, cookie keys and error handling) with `req.url` stripped of the path and
 * `req.originalUrl` kept, from which it builds its URLs. The same as `koa-mount`, without the dependency.
 * Outer middleware that runs after it reads the status from `ctx.res.statusCode`.
 */
export function mountProvider(path: string, provider: Provider): Middleware {
  const handle = provider.callback();
  return async function mountedProvider(ctx: Context, next) {
    if (path !== '' && ctx.path !== path && !ctx.path.startsWith(`${path}/`)) return next();
    const req = ctx.req as IncomingMessage & { originalUrl?: string };
    req.originalUrl = ctx.originalUrl;
    const rest = ctx.url.slice(path.length);
    req.url = rest.startsWith('/') ? rest : `/${rest}`;
    ctx.respond = false;
    await handle(req, ctx.res);
  };
}

/** The outer app's own routes. */
function ownRoutes() {
  const router = new Router();
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/portal/me', (ctx) => {
    const user = ctx.state.portalUser as string | undefined;
    if (!user) ctx.throw(401, 'sign in to the portal');
    ctx.body = { user };
  });
  return router.routes();
}

/** The portal's session: here, the user the gateway vouches for. */
const portalSession: Middleware = async (ctx, next) => {
  const user = ctx.get(PORTAL_USER_HEADER);
  if (PORTAL_USER.test(user)) ctx.state.portalUser = user;
  await next();
};

/** appkeys' caller check replaced by the portal's session: admins by name, everyone else an owner. */
function portalActor(admins: readonly string[]) {
  return async (ctx: Context): Promise<Actor | undefined> => {
    const user = ctx.state.portalUser as string | undefined;
    if (!user) return undefined;
    return { kind: admins.includes(user) ? 'admin' : 'owner', id: user };
  };
}

// ---- the server with appkeys added -----------------------------------------------------------------

export function createExistingServer(options: ExistingServerOptions): ExistingServer {
  const mountPath = options.mountPath ?? '/oidc';
  if (mountPath !== '' && !/^(\/[A-Za-z0-9._~-]+)+$/.test(mountPath))
    throw new TypeError('mountPath must be a path such as /oidc, or empty');
  const billing: StaticClient = {
    id: 'billing-svc',
    secret: options.billingSecret ?? randomBytes(24).toString('base64url'),
  };
  const web = {
    id: 'web-app',
    secret: options.webSecret ?? randomBytes(24).toString('base64url'),
    redirectUri: 'https://web.example.com/callback',
  };

  // the existing server's adapter, untouched by appkeys
  const adapter: AdapterFactory = options.redis
    ? redisAdapter({ client: options.redis.client, prefix: options.redis.tokenPrefix ?? 'oidc:' })
    : memoryAdapter();
  const configuration = existingConfiguration(billing, web, adapter);

  let keys: AppKeys | undefined;
  let provider: Provider;
  if (options.withAppKeys === false) {
    provider = new Provider(options.issuer, configuration);
  } else {
    const store: BindingStore = options.redis
      ? redisStore({ client: options.redis.client, prefix: options.redis.appkeysPrefix ?? 'appkeys:' })
      : memoryStore();
    keys = appKeys({
      store,
      provideKeys: { enabled: true },
      authenticate: portalActor(options.portalAdmins ?? ['ops']),
    });
    provider = new Provider(options.issuer, keys.configuration(configuration)); // ADDED: keys.configuration(...)
  }
  provider.proxy = process.env.TRUST_PROXY === '1';

  const app = new Koa();
  app.proxy = provider.proxy;
  app.use(portalSession);
  app.use(ownRoutes());
  if (keys) app.use(keys.routes(provider)); // ADDED: the management API at /appkeys
  app.use(mountProvider(mountPath, provider));

  return {
    app,
    provider,
    adapter,
    keys,
    billing,
    web,
    async close() {
      await keys?.store.close(); // ADDED
    },
  };
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3001);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('PORT must be a port number');
  const mountPath = process.env.MOUNT_PATH ?? '/oidc';
  const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL) : undefined;
  const origin = process.env.ISSUER_ORIGIN ?? `http://localhost:${port}`;
  const existing = createExistingServer({
    issuer: `${origin}${mountPath}`,
    mountPath,
    ...(redis && { redis: { client: redis } }),
  });

  const server = existing.app.listen(port);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  const { port: bound } = server.address() as AddressInfo;
  const base = `http://localhost:${bound}`;
  process.stdout.write(
    [
      '',
      `existing server on ${base}: provider at ${base}${mountPath}, appkeys at ${base}/appkeys, ` +
        `health at ${base}/health`,
      `  static clients: ${existing.billing.id} (client_credentials), ${existing.web.id} (authorization_code)`,
      `  ${existing.billing.id} secret: ${existing.billing.secret}`,
      '',
      'Import a client created elsewhere, as the portal admin "ops":',
      `  curl -s -X PUT ${base}/appkeys/clients/partner-svc -H '${PORTAL_USER_HEADER}: ops'` +
        ` -H 'Content-Type: application/json' \\`,
      `    -d '{"client_secret":"partner-secret-from-elsewhere","grant_types":["client_credentials"],` +
        `"response_types":[],"redirect_uris":[]}'`,
      'Then, as the developer "alice": create an application and provide those keys:',
      `  curl -s -X POST ${base}/appkeys/applications -H '${PORTAL_USER_HEADER}: alice'` +
        ` -H 'Content-Type: application/json' -d '{"name":"Partner"}'`,
      `  curl -s -X PUT ${base}/appkeys/applications/APP_ID/keys/PRODUCTION -H '${PORTAL_USER_HEADER}: alice'` +
        ` -H 'Content-Type: application/json' \\`,
      `    -d '{"client_id":"partner-svc","client_secret":"partner-secret-from-elsewhere"}'`,
      '',
    ].join('\n'),
  );

  const shutdown = () => {
    server.close();
    server.closeAllConnections();
    existing.close().then(
      async () => {
        if (redis) await redis.quit().catch(() => redis.disconnect());
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
