import { hashAllStoredSecrets } from '../../src/secrets/upgrade.js';
import { EXIT } from '../exit.js';
import { shownId } from '../output.js';
import { cliRedisStore } from '../registry.js';
import { closeRedis, connectFromSpec, requireRedis } from '../redis.js';
import type { CommandContext, CommandModule } from '../spec.js';

export async function run(context: CommandContext): Promise<number> {
  const redis = await connectFromSpec(requireRedis(context.redis));
  const store = cliRedisStore(redis, context.prefix);
  try {
    const report = await hashAllStoredSecrets(store);
    const { stdout } = context.io;
    const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    for (const { clientId, reason } of [...report.keptPlaintext].sort((a, b) => byId(a.clientId, b.clientId))) {
      stdout.write(`kept plaintext  ${shownId(clientId)}: ${reason} needs the secret itself\n`);
    }
    for (const clientId of [...report.changed].sort(byId)) {
      stdout.write(`not hashed      ${shownId(clientId)}: it kept changing meanwhile; run the command again\n`);
    }
    stdout.write(
      `hashed ${report.hashed}, already hashed ${report.alreadyHashed}, without secret ${report.withoutSecret}, ` +
        `kept plaintext ${report.keptPlaintext.length}, not hashed ${report.changed.length}\n`,
    );
    return report.keptPlaintext.length + report.changed.length > 0 ? EXIT.PROBLEMS : EXIT.OK;
  } finally {
    await store.close();
    await closeRedis(redis);
  }
}

export default { run } satisfies CommandModule;
