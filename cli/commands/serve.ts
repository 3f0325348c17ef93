import { CliError, EXIT, usageError } from '../exit.js';
import { closeRedis, connectRedis, checkRedisUrl } from '../redis.js';
import type { CommandContext, CommandModule } from '../spec.js';

function portOf(value: string, source: string): number {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) > 65535) throw usageError(`${source} must be a port number (0–65535)`);
  return Number(value);
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
  const port = typeof values.port === 'string' ? portOf(values.port, '--port') : portOf(env.PORT || '3000', 'PORT');
  const issuer = typeof values.issuer === 'string'
    ? issuerOf(values.issuer, '--issuer')
    : env.ISSUER ? issuerOf(env.ISSUER, 'ISSUER') : undefined;
  const redisUrl = context.redisUrl === undefined ? undefined : checkRedisUrl(context.redisUrl);
  // fail now, with exit 3, rather than serve 503s from a server whose Redis is not there
  if (redisUrl) await closeRedis(await connectRedis(redisUrl));

  const { banner, startStandalone } = await import('../../examples/standalone.js');
  let running;
  try {
    running = await startStandalone({
      port,
      ...(issuer && { issuer }),
      ...(redisUrl && { redisUrl }),
      prefix: context.prefix,
      adminClientId: env.APPKEYS_ADMIN_CLIENT_ID || 'appkeys-admin',
      ...(env.APPKEYS_ADMIN_CLIENT_SECRET && { adminClientSecret: env.APPKEYS_ADMIN_CLIENT_SECRET }),
      hashSecrets: env.APPKEYS_HASH_SECRETS === '1',
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new CliError(EXIT.PROBLEMS, `cannot listen on port ${port}: ${code === 'EADDRINUSE' ? 'it is in use' : 'permission denied'}`);
    }
    throw error;
  }
  io.stdout.write(banner(running, redisUrl));

  const signal = await signalled();
  io.stdout.write(`\n${signal}: shutting down\n`);
  await running.close();
  return EXIT.OK;
}

export default { run } satisfies CommandModule;
