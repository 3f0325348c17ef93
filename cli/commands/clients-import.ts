import { readFile } from 'node:fs/promises';
import { text as readAll } from 'node:stream/consumers';

import type { Registry, RegisterOutcome } from '../../src/registry.js';
import type { BindingStore } from '../../src/store.js';
import { dryRunStore } from '../dry-run-store.js';
import { EXIT, unreachable, usageError } from '../exit.js';
import { printable, scrubber, shownId } from '../output.js';
import { progressBar } from '../progress.js';
import { CLI_ACTOR, cliRedisStore, cliRegistry } from '../registry.js';
import { closeRedis, connectFromSpec, requireRedis } from '../redis.js';
import type { CommandContext, CommandModule } from '../spec.js';

/** Registrations in flight at once: enough to hide round trips to a remote Redis, few enough to be gentle. */
const CONCURRENCY = 8;

interface Entry {
  /** 1-based position in the file. */
  readonly position: number;
  readonly clientId: unknown;
  readonly metadata: unknown;
}

type Result =
  | { readonly outcome: RegisterOutcome }
  | { readonly outcome: 'rejected'; readonly error: string; readonly description: string };

/** Where JSON.parse stopped, as line:column, without quoting the input (it holds secrets). */
function jsonLocation(source: string, error: unknown): string {
  const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
  if (position === undefined) return '';
  const before = source.slice(0, Number(position));
  const line = before.split('\n').length;
  const column = Number(position) - before.lastIndexOf('\n');
  return ` at line ${line}, column ${column}`;
}

async function readEntries(file: string, context: CommandContext): Promise<Entry[]> {
  let source: string;
  try {
    source = file === '-' ? await readAll(context.io.stdin) : await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw usageError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? 'read failed')}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch (error) {
    throw usageError(`${file} is not valid JSON${jsonLocation(source, error)}`);
  }
  if (!Array.isArray(parsed)) throw usageError(`${file} must hold a JSON array of client metadata objects`);
  return parsed.map((metadata: unknown, index) => ({
    position: index + 1,
    clientId: metadata && typeof metadata === 'object' ? (metadata as Record<string, unknown>).client_id : undefined,
    metadata,
  }));
}

function secretsOf(entries: readonly Entry[]): string[] {
  return entries.flatMap(({ metadata }) => {
    const secret =
      metadata && typeof metadata === 'object' ? (metadata as Record<string, unknown>).client_secret : undefined;
    return typeof secret === 'string' ? [secret] : [];
  });
}

/** The file's own mistakes, found before anything is registered: not an object, no client_id, a repeat. */
function shapeProblems(entries: readonly Entry[]): Map<number, Result> {
  const problems = new Map<number, Result>();
  const firstSeen = new Map<string, number>();
  for (const entry of entries) {
    if (!entry.metadata || typeof entry.metadata !== 'object' || Array.isArray(entry.metadata)) {
      problems.set(entry.position, {
        outcome: 'rejected',
        error: 'invalid_request',
        description: 'the entry is not a JSON object',
      });
    } else if (typeof entry.clientId !== 'string') {
      problems.set(entry.position, {
        outcome: 'rejected',
        error: 'invalid_request',
        description: 'client_id is missing or not a string',
      });
    } else if (firstSeen.has(entry.clientId)) {
      problems.set(entry.position, {
        outcome: 'rejected',
        error: 'invalid_request',
        description: `client_id appears more than once in the file (first at entry ${firstSeen.get(entry.clientId)})`,
      });
    } else {
      firstSeen.set(entry.clientId, entry.position);
    }
  }
  return problems;
}

async function register(registry: Registry, entry: Entry): Promise<Result> {
  try {
    const { outcome } = await registry.registerClient(
      CLI_ACTOR,
      entry.clientId as string,
      entry.metadata as Record<string, unknown>,
    );
    return { outcome };
  } catch (error) {
    const {
      status,
      error: code,
      error_description: description,
    } = error as { status?: number; error?: unknown; error_description?: unknown };
    // a refusal by the rules or the schema rejects this entry; anything else stops the import
    if (typeof status === 'number' && status >= 400 && status < 500 && typeof code === 'string') {
      return { outcome: 'rejected', error: code, description: typeof description === 'string' ? description : '' };
    }
    throw error;
  }
}

export async function run(context: CommandContext): Promise<number> {
  const [file] = context.positionals as [string];
  const dryRun = context.values['dry-run'] === true;
  const where = requireRedis(context.redis);
  const entries = await readEntries(file, context);
  const scrub = scrubber(secretsOf(entries));
  const results = shapeProblems(entries);

  const redis = await connectFromSpec(where);
  let store: BindingStore | undefined;
  let stopped: unknown;
  try {
    store = cliRedisStore(redis, context.prefix);
    const registry = await cliRegistry(dryRun ? dryRunStore(store) : store, context);
    const todo = entries.filter((entry) => !results.has(entry.position));
    const progress = progressBar(context.io.stderr, dryRun ? 'checking' : 'importing', todo.length);
    let next = 0;
    const worker = async () => {
      while (stopped === undefined && next < todo.length) {
        const entry = todo[next]!;
        next += 1;
        try {
          results.set(entry.position, await register(registry, entry));
        } catch (error) {
          stopped ??= error;
        }
        progress.tick();
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, todo.length) }, worker));
    progress.done();
  } finally {
    await store?.close();
    await closeRedis(redis);
  }

  const counts = { created: 0, replaced: 0, unchanged: 0, rejected: 0 };
  const lines: string[] = [];
  for (const entry of entries) {
    const result = results.get(entry.position);
    if (!result) continue;
    counts[result.outcome] += 1;
    const id = shownId(entry.clientId);
    if (result.outcome === 'created' || result.outcome === 'replaced') {
      lines.push(
        `${dryRun ? `would ${result.outcome === 'created' ? 'create ' : 'replace'}` : result.outcome.padEnd(8)}  ${id}`,
      );
    } else if (result.outcome === 'rejected') {
      lines.push(
        `${dryRun ? 'would reject ' : 'rejected'}  ${id} (entry ${entry.position}): ` +
          `${result.error}${result.description ? ` — ${result.description}` : ''}`,
      );
    }
  }
  const summary =
    `created ${counts.created}, replaced ${counts.replaced}, unchanged ${counts.unchanged}, ` +
    `rejected ${counts.rejected}`;
  const out = [...lines, `${dryRun ? 'dry run, nothing written: ' : ''}${summary}`];
  if (stopped !== undefined) {
    const left = entries.length - results.size;
    out.push(`stopped with ${left} of ${entries.length} entries not processed`);
  }
  // scrubbed first, so that a secret is found as it was given; reasons may quote what the file held
  context.io.stdout.write(out.map((line) => `${printable(scrub(line))}\n`).join(''));

  if (stopped !== undefined) {
    if ((stopped as { status?: unknown }).status === 503)
      throw unreachable('Redis became unreachable during the import');
    throw new Error(scrub(stopped instanceof Error ? stopped.message : String(stopped)));
  }
  return counts.rejected > 0 ? EXIT.PROBLEMS : EXIT.OK;
}

export default { run } satisfies CommandModule;
