import type { Issuer } from '../../src/issuers/types.js';
import { EXIT } from '../exit.js';
import { jsonLine, shownId, table } from '../output.js';
import { cliRedisStore, cliRegistry } from '../registry.js';
import { closeRedis, connectFromSpec, requireRedis } from '../redis.js';
import type { CommandContext, CommandModule } from '../spec.js';

// every cell comes from the store; table() makes each one printable
function row(issuer: Issuer): string[] {
  return [shownId(issuer.issuer_id), issuer.issuer, issuer.verification, issuer.metadata.token_endpoint];
}

export async function run(context: CommandContext): Promise<number> {
  const json = context.values.json === true;
  const redis = await connectFromSpec(requireRedis(context.redis));
  try {
    const registry = await cliRegistry(cliRedisStore(redis, context.prefix), context);
    // an operator's list, read whole by the store (no paging)
    const issuers = await registry.issuers.list();
    if (json) {
      for (const issuer of issuers) context.io.stdout.write(jsonLine(issuer));
      return EXIT.OK;
    }
    context.io.stdout.write(table(['ISSUER_ID', 'ISSUER', 'VERIFICATION', 'TOKEN_ENDPOINT'], issuers.map(row)));
    if (issuers.length === 0) context.io.stderr.write('no issuers registered\n');
    return EXIT.OK;
  } finally {
    await closeRedis(redis);
  }
}

export default { run } satisfies CommandModule;
