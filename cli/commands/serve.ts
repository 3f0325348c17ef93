import type { Cluster, Redis } from 'ioredis';

import { CliError, EXIT, usageError } from '../exit.js';
import { closeRedis, connectFromSpec, describeRedis } from '../redis.js';
import { operatorBanner, startOperatorServer } from '../server/operator.js';
import { banner, standaloneRefusal, startStandalone } from '../server/standalone.js';
import {
  checkHost,
  checkPort,
  developmentLoginRefusal,
  DEFAULT_HOST,
  ListenError,
  type StartedServer,
} from '../server/start.js';
import type { CommandContext, CommandModule } from '../spec.js';

/** A value the server's own checks refuse is a usage error; their messages name the flag or variable. */
function usage<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw usageError((error as Error).message);
  }
}

function issuerOf(value: string, source: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return value;
  } catch {
    // one message for both
  }
  throw usageError(`${source} must be an http(s) URL`);
}

function signalled(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

interface Listening {
  readonly port: number;
  readonly host: string;
  readonly metrics?: { readonly port: number; readonly host: string };
}

function listeningOf({ values, io: { env } }: CommandContext): Listening {
  const port = usage(() =>
    typeof values.port === 'string' ? checkPort(values.port, '--port') : checkPort(env.PORT || '3000', 'PORT'),
  );
  const host = usage(() =>
    typeof values.host === 'string' ? checkHost(values.host, '--host') : checkHost(env.HOST || DEFAULT_HOST, 'HOST'),
  );
  const metricsPort = usage(() =>
    typeof values['metrics-port'] === 'string'
      ? checkPort(values['metrics-port'], '--metrics-port')
      : env.METRICS_PORT
        ? checkPort(env.METRICS_PORT, 'METRICS_PORT')
        : undefined,
  );
  const metricsHost = usage(() => checkHost(env.METRICS_HOST || DEFAULT_HOST, 'METRICS_HOST'));
  return { port, host, ...(metricsPort !== undefined && { metrics: { port: metricsPort, host: metricsHost } }) };
}

/** Starts a server on `redis`, which it then owns; on a failed start the client is closed here. */
async function starting<T extends StartedServer>(
  redis: Redis | Cluster | undefined,
  start: () => Promise<T>,
): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (redis) await closeRedis(redis);
    if (error instanceof ListenError) throw new CliError(EXIT.PROBLEMS, error.message);
    throw error;
  }
}

/** The development server: the development login, a generated admin client, memory unless Redis is named. */
async function development(context: CommandContext): Promise<StartedServer> {
  const {
    values,
    io: { env, stdout },
  } = context;
  const refusal = standaloneRefusal(env.NODE_ENV);
  if (refusal) throw new CliError(EXIT.PROBLEMS, refusal.message);
  const listening = listeningOf(context);
  const issuer =
    typeof values.issuer === 'string'
      ? issuerOf(values.issuer, '--issuer')
      : env.ISSUER
        ? issuerOf(env.ISSUER, 'ISSUER')
        : undefined;
  // fail now, with exit 3, rather than serve 503s from a server whose Redis is not there
  const redis = context.redis && (await connectFromSpec(context.redis, { reconnect: true }));
  const running = await starting(redis, () =>
    startStandalone({
      ...listening,
      nodeEnv: env.NODE_ENV,
      ...(issuer && { issuer }),
      ...(redis && { redis }),
      prefix: context.prefix,
      adminClientId: env.APPKEYS_ADMIN_CLIENT_ID || 'appkeys-admin',
      ...(env.APPKEYS_ADMIN_CLIENT_SECRET && { adminClientSecret: env.APPKEYS_ADMIN_CLIENT_SECRET }),
      clientCache: env.APPKEYS_CLIENT_CACHE === '1',
      hashSecrets: env.APPKEYS_HASH_SECRETS === '1',
    }),
  );
  stdout.write(banner(running, context.redis && describeRedis(context.redis)));
  return running;
}

/** The operator's configuration (`--config`): their clients, login and keys; their Redis. */
async function operator(context: CommandContext): Promise<StartedServer> {
  const {
    operator: config,
    values,
    io: { env, stdout },
  } = context;
  if (!config) throw new Error('no operator module');
  if (values.issuer !== undefined)
    throw usageError("--issuer is the development server's: with --config, the module's issuer is served");
  const refusal = developmentLoginRefusal({ nodeEnv: env.NODE_ENV, configuration: config.configuration });
  if (refusal) throw new CliError(EXIT.PROBLEMS, refusal.message);
  const listening = listeningOf(context);
  const redis = context.redis && (await connectFromSpec(context.redis, { reconnect: true }));
  const running = await starting(redis, () =>
    startOperatorServer(config, {
      ...listening,
      nodeEnv: env.NODE_ENV,
      ...(redis && { redis }),
      prefix: context.prefix,
    }),
  );
  stdout.write(operatorBanner(running, config, context.redis && describeRedis(context.redis)));
  return running;
}

export async function run(context: CommandContext): Promise<number> {
  const running = context.operator ? await operator(context) : await development(context);
  const signal = await signalled();
  context.io.stdout.write(`\n${signal}: shutting down\n`);
  await running.close();
  return EXIT.OK;
}

export default { run } satisfies CommandModule;
