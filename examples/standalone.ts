/**
 * The standalone server behind `npm start`: oidc-provider with appkeys mounted, "Provide Keys" on.
 *
 *   PORT                 default 3000
 *   ISSUER               default http://localhost:$PORT
 *   REDIS_URL            keep everything in Redis (else in memory, with a warning)
 *   APPKEYS_CLIENT_CACHE=1
 *                        with REDIS_URL: keep client records in memory, invalidated by Redis (clientCache)
 *   APPKEYS_HASH_SECRETS=1
 *                        keep client secrets as scrypt hashes (secrets: { hash: 'scrypt' })
 *   APPKEYS_ADMIN_CLIENT_ID / APPKEYS_ADMIN_CLIENT_SECRET
 *                        the static admin client (the secret is generated and printed when unset)
 *   LOG_LEVEL            JSON log lines on stdout from this level (default info); metrics at GET /metrics
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Redis } from 'ioredis';
import Provider, { type Configuration } from 'oidc-provider';

import { memoryStore } from '../adapters/memory/index.js';
import { redisAdapter, redisStore } from '../adapters/redis/index.js';
import { appKeys } from '../src/index.js';
import { observability, type LoggerOptions, type Observability } from './observability.js';

export interface StandaloneSettings {
  readonly port: number;
  readonly issuer?: string;
  readonly redisUrl?: string;
  readonly adminClientId: string;
  readonly adminClientSecret?: string;
  /** Level and destination of the JSON log lines. Default: `LOG_LEVEL` (else `info`), stdout. */
  readonly log?: LoggerOptions;
  /** `redisStore({ clientCache: true })`: client records in memory, invalidated by Redis. Default off. */
  readonly clientCache?: boolean;
  /** Key prefix of the appkeys store in Redis. Default `appkeys:`. */
  readonly prefix?: string;
  /** `secrets: { hash: 'scrypt' }`: client secrets kept as hashes. Default off. */
  readonly hashSecrets?: boolean;
}

export interface RunningServer {
  readonly url: string;
  readonly adminClientId: string;
  readonly adminClientSecret: string;
  /** The metrics (also served at `/metrics`) and the logger. */
  readonly observability: Observability;
  close(): Promise<void>;
}

export const PORTAL_CLIENT_ID = 'appkeys-portal';

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
        redirect_uris: [`${settings.issuer}/portal/callback`],
        scope: 'openid appkeys',
      },
    ],
    scopes: ['openid', 'offline_access', 'appkeys', 'appkeys:admin', 'api'],
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      // development login: any username, any password; replace with your own login in production
      devInteractions: { enabled: true },
    },
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

export async function startStandalone(settings: StandaloneSettings): Promise<RunningServer> {
  // listening first, so that with port 0 the issuer names the port actually bound
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', reject);
    server.listen(settings.port);
  });
  const { port } = server.address() as AddressInfo;
  const issuer = settings.issuer ?? `http://localhost:${port}`;
  const adminClientSecret = settings.adminClientSecret ?? randomBytes(24).toString('base64url');
  const redis = settings.redisUrl ? new Redis(settings.redisUrl) : undefined;

  const observed = observability(settings.log);
  const keys = appKeys({
    store: observed.instrumentStore(redis
      ? redisStore({ client: redis, prefix: settings.prefix ?? 'appkeys:', clientCache: settings.clientCache === true })
      : memoryStore()),
    provideKeys: { enabled: true },
    ...(settings.hashSecrets && { secrets: { hash: 'scrypt' } }),
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
    url: settings.issuer ?? `http://localhost:${port}`,
    adminClientId: settings.adminClientId,
    adminClientSecret,
    observability: observed,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await keys.store.close();
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** What `npm start` and `appkeys serve` print once listening: where, which storage, how to get tokens. */
export function banner(running: RunningServer, redisUrl: string | undefined): string {
  const admin = `${running.adminClientId}:${running.adminClientSecret}`;
  return [
    '',
    `appkeys server listening on ${running.url}`,
    `  storage: ${redisUrl ? `Redis at ${redisUrl.replace(/\/\/[^@/]*@/, '//***@')}` : 'memory (lost on restart; set REDIS_URL to keep it in Redis)'}`,
    `  admin client: ${running.adminClientId}`,
    `  admin secret: ${running.adminClientSecret}`,
    '',
    'Get an admin token (scope appkeys:admin):',
    `  curl -s -u '${admin}' -d grant_type=client_credentials -d scope=appkeys:admin ${running.url}/token`,
    '',
    'Get an owner token (scope appkeys) by signing in as a developer through the development login:',
    `  npm run -s owner-token -- alice        # ISSUER=${running.url} if not the default`,
    '',
    `The management API is under ${running.url}/appkeys (OpenAPI: ${running.url}/appkeys/openapi.json).`,
    `Metrics: ${running.url}/metrics; JSON logs on stdout (LOG_LEVEL, default info).`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('PORT must be a port number');
  const redisUrl = process.env.REDIS_URL || undefined;
  const running = await startStandalone({
    port,
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
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
