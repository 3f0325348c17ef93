import { EXIT } from '../exit.js';
import { shownId } from '../output.js';
import { issuerRefusal } from '../refusals.js';
import { CLI_ACTOR, cliRedisStore, cliRegistry } from '../registry.js';
import { closeRedis, connectFromSpec, requireRedis } from '../redis.js';
import type { CommandContext, CommandModule } from '../spec.js';

export async function run(context: CommandContext): Promise<number> {
  const [issuerId] = context.positionals as [string];
  const redis = await connectFromSpec(requireRedis(context.redis));
  try {
    const registry = await cliRegistry(cliRedisStore(redis, context.prefix), context);
    try {
      await registry.issuers.delete(CLI_ACTOR, issuerId);
    } catch (error) {
      throw issuerRefusal(error, issuerId) ?? error;
    }
    context.io.stdout.write(`removed issuer ${shownId(issuerId)}\n`);
    return EXIT.OK;
  } finally {
    await closeRedis(redis);
  }
}

export default { run } satisfies CommandModule;
