import { EXIT, usageError } from '../exit.js';
import { printable, shownId } from '../output.js';
import { CLI_ACTOR, cliRedisStore, cliRegistry } from '../registry.js';
import { closeRedis, connectFromSpec, requireRedis } from '../redis.js';
import type { CommandContext, CommandModule } from '../spec.js';

export async function run(context: CommandContext): Promise<number> {
  const [clientId] = context.positionals as [string];
  const redis = await connectFromSpec(requireRedis(context.redis));
  try {
    const registry = await cliRegistry(cliRedisStore(redis, context.prefix), context);
    let cleared: boolean;
    try {
      cleared = await registry.clearFailedAttempts(CLI_ACTOR, clientId);
    } catch (error) {
      const { error: code, error_description: description } = error as { error?: unknown; error_description?: unknown };
      if (code === 'invalid_request')
        throw usageError(`CLIENT_ID ${printable(String(description)).replace(/^client_id /, '')}`);
      throw error;
    }
    context.io.stdout.write(
      cleared
        ? `cleared the failed provide-keys attempts counted against ${shownId(clientId)}\n`
        : `no failed provide-keys attempts were counted against ${shownId(clientId)}\n`,
    );
    return EXIT.OK;
  } finally {
    await closeRedis(redis);
  }
}

export default { run } satisfies CommandModule;
