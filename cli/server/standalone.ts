/**
 * The development server of `npm start` and `appkeys serve` without `--config`: oidc-provider with
 * appkeys mounted, "Provide Keys" on, the development login, a static admin client and the portal's
 * client. For trying appkeys out; an operator runs their own configuration (`--config`, operator.ts).
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

import type { Configuration } from 'oidc-provider';

import {
  developmentLoginRefusal,
  startServer,
  whereItListens,
  type ServerSettings,
  type StartedServer,
} from './start.js';

export interface StandaloneSettings extends Pick<
  ServerSettings,
  'port' | 'host' | 'issuer' | 'redis' | 'clientCache' | 'log' | 'metrics'
> {
  readonly adminClientId: string;
  /** The static admin client's secret; generated when absent, and only then shown by `banner()`. */
  readonly adminClientSecret?: string;
  /** Key prefix of the appkeys store in Redis. Default `appkeys:`. */
  readonly prefix?: string;
  /** Default `process.env.NODE_ENV`; `production` is refused (see `developmentLoginRefusal()`). */
  readonly nodeEnv?: string;
  /** `secrets: { hash: 'scrypt' }`: client secrets kept as hashes. Default off. */
  readonly hashSecrets?: boolean;
}

export interface RunningServer extends StartedServer {
  readonly adminClientId: string;
  readonly adminClientSecret: string;
  /** Whether the server made the secret up, so that it is the banner's to show. */
  readonly adminClientSecretGenerated: boolean;
}

export const PORTAL_CLIENT_ID = 'appkeys-portal';

/** The account that gets the portal's admin console, signing in through the development login. */
export const PORTAL_ADMIN = 'admin';

/** The development server's provider features, the development login among them. */
function standaloneFeatures(): NonNullable<Configuration['features']> {
  return {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    // development login: any username, any password; there is no other login in this server
    devInteractions: { enabled: true },
  };
}

/** `developmentLoginRefusal()` for the development server, whose only login is the development one. */
export function standaloneRefusal(nodeEnv: string | undefined): Error | undefined {
  return developmentLoginRefusal({ nodeEnv, configuration: { features: standaloneFeatures() } });
}

/**
 * The provider configuration of the development server, before `keys.configuration()` merges appkeys
 * in. The CLI builds its schema-only provider from it when no `--config` is given, so that an import is
 * validated as this server validates.
 */
export function standaloneConfiguration(settings: {
  readonly issuer: string;
  readonly adminClientId: string;
  readonly adminClientSecret: string;
}): Configuration {
  return {
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
    scopes: ['openid', 'offline_access', 'appkeys', 'appkeys:admin', 'appkeys:resolve', 'api'],
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

export async function startStandalone(settings: StandaloneSettings): Promise<RunningServer> {
  const refusal = standaloneRefusal(settings.nodeEnv ?? process.env.NODE_ENV);
  if (refusal) throw refusal;
  const adminClientSecret = settings.adminClientSecret ?? randomBytes(24).toString('base64url');
  const { port, host, issuer, redis, clientCache, log, metrics, prefix } = settings;
  const started = await startServer({
    port,
    ...(host !== undefined && { host }),
    ...(issuer !== undefined && { issuer }),
    ...(redis !== undefined && { redis }),
    ...(clientCache !== undefined && { clientCache }),
    ...(log !== undefined && { log }),
    ...(metrics !== undefined && { metrics }),
    ...(prefix !== undefined && { storePrefix: prefix }),
    appkeys: {
      provideKeys: { enabled: true },
      ...(settings.hashSecrets && { secrets: { hash: 'scrypt' } }),
      portal: { enabled: true, admins: [PORTAL_ADMIN] },
      // a development server: a third-party issuer may run beside it on http://localhost
      issuers: { allowHttpLoopback: true },
    },
    configuration: (issuer) =>
      standaloneConfiguration({ issuer, adminClientId: settings.adminClientId, adminClientSecret }),
  });
  return {
    ...started,
    adminClientId: settings.adminClientId,
    adminClientSecret,
    adminClientSecretGenerated: settings.adminClientSecret === undefined,
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

/** The metrics line of a banner. */
export function metricsLine(metricsUrl: string | undefined): string {
  return metricsUrl
    ? `Metrics: ${metricsUrl} (a listener of their own); JSON logs on stdout (LOG_LEVEL, default info).`
    : 'Metrics: off (set METRICS_PORT to serve them on a listener of their own, on 127.0.0.1 unless METRICS_HOST);' +
        ' JSON logs on stdout (LOG_LEVEL, default info).';
}

/**
 * What `npm start` and `appkeys serve` print once listening: that this is the development server,
 * where, which storage (`storage`: where Redis is, as printable; absent: memory), how to get tokens.
 */
export function banner(running: RunningServer, storage: string | undefined): string {
  return [
    '',
    `appkeys server listening on ${running.url}`,
    '  development server: the development login signs anyone in as any account;' +
      ' pass --config FILE to run your configuration',
    `  address: ${whereItListens(running.address)}`,
    `  storage: ${storage ?? 'memory (lost on restart; set REDIS_URL to keep it in Redis)'}`,
    `  admin client: ${running.adminClientId}`,
    `  admin secret: ${
      running.adminClientSecretGenerated ? running.adminClientSecret : 'from APPKEYS_ADMIN_CLIENT_SECRET (not shown)'
    }`,
    '',
    `Get an admin token (scope appkeys:admin)${
      running.adminClientSecretGenerated ? '' : ', with APPKEYS_ADMIN_CLIENT_SECRET set in your shell'
    }:`,
    `  curl -s -u ${adminCredentials(running)} -d grant_type=client_credentials -d` +
      ` scope=appkeys:admin ${running.url}/token`,
    '',
    'Get an owner token (scope appkeys) by signing in as a developer through the development login:',
    `  npm run -s owner-token -- alice        # ISSUER=${running.url} if not the default`,
    '',
    `The management API is under ${running.url}/appkeys (OpenAPI: ${running.url}/appkeys/openapi.json).`,
    `The portal: ${running.url}/appkeys/portal/ (sign in as any name; "${PORTAL_ADMIN}" also gets the admin console).`,
    metricsLine(running.metricsUrl),
    '',
  ].join('\n');
}
