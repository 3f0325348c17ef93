import { Redis } from 'ioredis';

import { CliError, EXIT, usageError } from '../exit.js';
import { closeRedis, connectRedis, checkRedisUrl, redactUrl } from '../redis.js';
import { banner, standaloneRefusal, startStandalone } from '../server/standalone.js';
import { checkHost, checkPort, DEFAULT_HOST, ListenError } from '../server/start.js';
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

export async function run(context: CommandContext): Promise<number> {
  const { values, io } = context;
  const { env } = io;
  const refusal = standaloneRefusal(env.NODE_ENV);
  if (refusal) throw new CliError(EXIT.PROBLEMS, refusal.message);
  const port = usage(() => (typeof values.port === 'string' ? checkPort(values.port, '--port') : checkPort(env.PORT || '3000', 'PORT')));
  const host = usage(() => (typeof values.host === 'string'
    ? checkHost(values.host, '--host') : checkHost(env.HOST || DEFAULT_HOST, 'HOST')));
  const metricsPort = usage(() => (typeof values['metrics-port'] === 'string'
    ? checkPort(values['metrics-port'], '--metrics-port') : env.METRICS_PORT ? checkPort(env.METRICS_PORT, 'METRICS_PORT') : undefined));
  const metricsHost = usage(() => checkHost(env.METRICS_HOST || DEFAULT_HOST, 'METRICS_HOST'));
  const issuer = typeof values.issuer === 'string'
    ? issuerOf(values.issuer, '--issuer')
    : env.ISSUER ? issuerOf(env.ISSUER, 'ISSUER') : undefined;
  const redisUrl = context.redisUrl === undefined ? undefined : checkRedisUrl(context.redisUrl);
  // fail now, with exit 3, rather than serve 503s from a server whose Redis is not there
  if (redisUrl) await closeRedis(await connectRedis(redisUrl));

  const redis = redisUrl ? new Redis(redisUrl) : undefined;
  let running;
  try {
    running = await startStandalone({
      port,
      host,
      nodeEnv: env.NODE_ENV,
      ...(metricsPort !== undefined && { metrics: { port: metricsPort, host: metricsHost } }),
      ...(issuer && { issuer }),
      ...(redis && { redis }),
      prefix: context.prefix,
      adminClientId: env.APPKEYS_ADMIN_CLIENT_ID || 'appkeys-admin',
      ...(env.APPKEYS_ADMIN_CLIENT_SECRET && { adminClientSecret: env.APPKEYS_ADMIN_CLIENT_SECRET }),
      clientCache: env.APPKEYS_CLIENT_CACHE === '1',
      hashSecrets: env.APPKEYS_HASH_SECRETS === '1',
    });
  } catch (error) {
    if (redis) await closeRedis(redis);
    if (error instanceof ListenError) throw new CliError(EXIT.PROBLEMS, error.message);
    throw error;
  }
  io.stdout.write(banner(running, redisUrl && `Redis at ${redactUrl(redisUrl)}`));

  const signal = await signalled();
  io.stdout.write(`\n${signal}: shutting down\n`);
  await running.close();
  return EXIT.OK;
}

export default { run } satisfies CommandModule;
