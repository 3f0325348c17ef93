/**
 * `appkeys serve --config FILE`: the operator's own provider configuration (their clients, login,
 * keys) with appkeys mounted, the store on their Redis. Nothing here adds a client or a login.
 */
import type { OperatorConfig } from '../config.js';
import { metricsLine } from './standalone.js';
import {
  developmentLoginRefusal,
  startServer,
  whereItListens,
  type ServerSettings,
  type StartedServer,
} from './start.js';

export type OperatorSettings = Pick<ServerSettings, 'port' | 'host' | 'redis' | 'log' | 'metrics'> & {
  /** Key prefix of the appkeys store in Redis. Default: the module's `redis.prefix`, else `appkeys:`. */
  readonly prefix?: string;
  /** Default `process.env.NODE_ENV`; `production` is refused while the configuration enables the development login. */
  readonly nodeEnv?: string;
};

/** Listens and serves the operator's provider; rejects, before it listens, what `developmentLoginRefusal()` refuses. */
export async function startOperatorServer(
  operator: OperatorConfig,
  settings: OperatorSettings,
): Promise<StartedServer> {
  const refusal = developmentLoginRefusal({
    nodeEnv: settings.nodeEnv ?? process.env.NODE_ENV,
    configuration: operator.configuration,
  });
  if (refusal) throw refusal;
  const { port, host, redis, log, metrics } = settings;
  const prefix = settings.prefix ?? operator.redis?.prefix;
  return startServer({
    port,
    ...(host !== undefined && { host }),
    issuer: operator.issuer,
    configuration: () => operator.configuration,
    // the module's portal is appKeys()'s `portal` option: served next to the API, signed in through its login
    appkeys: operator.portal ? { ...operator.appkeys, portal: operator.portal } : operator.appkeys,
    ...(redis !== undefined && { redis }),
    ...(prefix !== undefined && { storePrefix: prefix }),
    ...(operator.redis?.clientCache !== undefined && { clientCache: operator.redis.clientCache }),
    ...(log !== undefined && { log }),
    ...(metrics !== undefined && { metrics }),
  });
}

/**
 * What `serve --config` prints once listening. No client and no secret: the operator's clients are
 * theirs, and a secret in a module is never shown.
 */
export function operatorBanner(running: StartedServer, operator: OperatorConfig, storage: string | undefined): string {
  const api = `${running.url}${running.keys.options.prefix}`;
  return [
    '',
    // the issuer is the module's, which need not name this address (a proxy in front, say)
    `appkeys server for ${running.url}`,
    `  configuration: ${operator.file}`,
    `  address: ${whereItListens(running.address)}`,
    `  storage: ${
      storage ?? 'memory (lost on restart, not shared between processes; name redis in the module or set REDIS_URL)'
    }`,
    '',
    `The management API is under ${api} (OpenAPI: ${api}/openapi.json).`,
    ...(running.keys.options.portal ? [`The portal: ${api}/portal/ (its admin console: ${api}/portal/admin).`] : []),
    'Admins: tokens of a static client whose scope lists appkeys:admin. Owners: signed-in accounts, scope appkeys.',
    metricsLine(running.metricsUrl),
    '',
  ].join('\n');
}
