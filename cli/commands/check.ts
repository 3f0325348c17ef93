import { redisMaintenance } from '../../adapters/redis/repair.js';
import type { VerifyResult } from '../../src/types.js';
import { EXIT } from '../exit.js';
import { printable } from '../output.js';
import { closeRedis, connectFromSpec, requireRedis } from '../redis.js';
import type { CommandContext, CommandModule, Output } from '../spec.js';

function report(out: Output, result: VerifyResult, heading: string): void {
  if (result.ok) {
    out.write(`${heading}no problems found\n`);
    return;
  }
  for (const problem of result.problems) out.write(`problem: ${printable(problem)}\n`);
  out.write(`${heading}${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} found\n`);
}

export async function run(context: CommandContext): Promise<number> {
  const repair = context.values.repair === true;
  const redis = await connectFromSpec(requireRedis(context.redis));
  try {
    const maintenance = redisMaintenance({ client: redis, prefix: context.prefix });
    const { stdout } = context.io;
    const before = await maintenance.verify();
    report(stdout, before, '');
    if (before.ok || !repair) return before.ok ? EXIT.OK : EXIT.PROBLEMS;

    stdout.write('repairing\n');
    const repaired = await maintenance.repair({
      onChange: (change) => stdout.write(`fixed: ${printable(change.description)}\n`),
    });
    for (const text of repaired.unrepairable) stdout.write(`cannot fix: ${printable(text)}\n`);
    stdout.write(`${repaired.changed} fix${repaired.changed === 1 ? '' : 'es'} made\n`);
    const after = await maintenance.verify();
    report(stdout, after, 'after repair: ');
    return after.ok ? EXIT.OK : EXIT.PROBLEMS;
  } finally {
    await closeRedis(redis);
  }
}

export default { run } satisfies CommandModule;
