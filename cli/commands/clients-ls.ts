import type { ClientView } from '../../src/registry.js';
import { EXIT, usageError } from '../exit.js';
import { jsonLine, table } from '../output.js';
import { cliRedisStore, cliRegistry } from '../registry.js';
import { closeRedis, connectFromSpec, requireRedis } from '../redis.js';
import type { CommandContext, CommandModule } from '../spec.js';

const PAGE_SIZE = 100;

function limitOf(value: string | boolean | undefined): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  if (typeof value !== 'string' || !/^[1-9][0-9]{0,8}$/.test(value))
    throw usageError('--limit must be a positive integer');
  return Number(value);
}

function row(client: ClientView): string[] {
  const grants = Array.isArray(client.grant_types) ? client.grant_types.join(',') : '';
  const binding = client.binding ? `${client.binding.application_id} ${client.binding.key_type}` : '-';
  return [client.client_id, grants || '-', binding];
}

export async function run(context: CommandContext): Promise<number> {
  const limit = limitOf(context.values.limit);
  const json = context.values.json === true;
  const redis = await connectFromSpec(requireRedis(context.redis));
  try {
    const registry = await cliRegistry(cliRedisStore(redis, context.prefix), context);
    // a table needs every width first: rows are kept (three short strings each); JSON lines stream
    const rows: string[][] = [];
    let cursor: string | undefined;
    let shown = 0;
    do {
      const page = await registry.listClients(cursor, Math.min(PAGE_SIZE, limit - shown));
      for (const client of page.items) {
        if (json) context.io.stdout.write(jsonLine(client));
        else rows.push(row(client));
      }
      shown += page.items.length;
      cursor = page.next_cursor;
    } while (cursor !== undefined && shown < limit);
    if (!json) {
      context.io.stdout.write(table(['CLIENT_ID', 'GRANT_TYPES', 'BINDING'], rows));
      if (rows.length === 0) context.io.stderr.write('no clients registered\n');
    }
    return EXIT.OK;
  } finally {
    await closeRedis(redis);
  }
}

export default { run } satisfies CommandModule;
