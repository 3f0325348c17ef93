import { parseArgs, type ParseArgsConfig } from 'node:util';

import { checkPrefix } from '../adapters/redis/keys.js';
import { loadOperatorConfig } from './config.js';
import { CliError, EXIT, usageError } from './exit.js';
import { commandHelp, commandUsage, groupHelp, topHelp } from './help.js';
import { printable } from './output.js';
import type { RedisSpec } from './redis.js';
import { COMMANDS, GLOBAL_OPTIONS, GROUPS, type CommandSpec, type Io, type OptionSpec } from './spec.js';

type Options = NonNullable<ParseArgsConfig['options']>;

function parseOptions(options: Readonly<Record<string, OptionSpec>>): Options {
  return Object.fromEntries(
    Object.entries(options).map(([name, option]) => [
      name,
      { type: option.type, ...(option.short && { short: option.short }) },
    ]),
  );
}

/** node:util's messages, without its hint about `--` that means nothing here. */
function parseFailure(error: unknown): CliError {
  const message = error instanceof Error ? error.message : String(error);
  return usageError(message.replace(/\. To specify a positional argument starting with a '-'.*$/s, ''));
}

type Values = Record<string, string | boolean | undefined>;

function parse(
  args: readonly string[],
  options: Options,
  allowPositionals: boolean,
): { values: Values; positionals: string[] } {
  try {
    // no option is `multiple`, so every value is one string or boolean
    const { values, positionals } = parseArgs({ args: [...args], options, allowPositionals, strict: true });
    return { values: values as Values, positionals };
  } catch (error) {
    throw parseFailure(error);
  }
}

/** Splits off the global options given before the command word. */
function leadingGlobals(argv: readonly string[]): { globals: Values; rest: string[] } {
  const options = parseOptions(GLOBAL_OPTIONS);
  const { tokens } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: false, tokens: true });
  const first = tokens.find((token) => token.kind === 'positional' || token.kind === 'option-terminator');
  const start = first ? first.index : argv.length;
  const { values } = parse(argv.slice(0, start), options, false);
  return { globals: values, rest: argv.slice(first?.kind === 'option-terminator' ? start + 1 : start) };
}

function findCommand(words: readonly string[]): { spec?: CommandSpec; consumed: number; group?: string } {
  const [first, second] = words;
  if (first === undefined) return { consumed: 0 };
  if (first in GROUPS) {
    const spec = COMMANDS.find((candidate) => candidate.path[0] === first && candidate.path[1] === second);
    return spec ? { spec, consumed: 2 } : { consumed: 1, group: first };
  }
  const spec = COMMANDS.find((candidate) => candidate.path.length === 1 && candidate.path[0] === first);
  return spec ? { spec, consumed: 1 } : { consumed: 0 };
}

/** `appkeys help [command…]` and `--help` anywhere show help and exit 0. */
function helpFor(words: readonly string[]): string {
  const { spec, group } = findCommand(words);
  if (spec) return commandHelp(spec);
  if (group) return groupHelp(group);
  return topHelp();
}

async function dispatch(argv: readonly string[], io: Io): Promise<number> {
  const { globals, rest } = leadingGlobals(argv);
  if (rest[0] === 'help') {
    io.stdout.write(helpFor(rest.slice(1)));
    return EXIT.OK;
  }
  const { spec, consumed, group } = findCommand(rest);
  if (!spec) {
    const asksHelp = globals.help === true || rest.includes('--help') || rest.includes('-h');
    if (asksHelp) {
      io.stdout.write(group ? groupHelp(group) : topHelp());
      return EXIT.OK;
    }
    const what = group
      ? rest[1] === undefined
        ? `appkeys ${group} needs a command`
        : `unknown command: appkeys ${group} ${rest[1]}`
      : rest[0] === undefined
        ? 'no command given'
        : `unknown command: ${rest[0]}`;
    io.stderr.write(`appkeys: ${printable(what)}\n\n${group ? groupHelp(group) : topHelp()}`);
    return EXIT.USAGE;
  }

  const commandArgs = rest.slice(consumed);
  // asked for help: answer even if the rest of the line would not parse
  if (globals.help === true || commandArgs.includes('--help') || commandArgs.includes('-h')) {
    io.stdout.write(commandHelp(spec));
    return EXIT.OK;
  }
  const { values, positionals } = parse(
    commandArgs,
    parseOptions({ ...spec.options, ...GLOBAL_OPTIONS }),
    spec.positionals.length > 0,
  );
  if (positionals.length !== spec.positionals.length) {
    throw usageError(
      positionals.length < spec.positionals.length
        ? `missing ${spec.positionals.slice(positionals.length).join(' ')}; usage: ${commandUsage(spec)}`
        : `unexpected argument ${positionals[spec.positionals.length]}; usage: ${commandUsage(spec)}`,
    );
  }

  const given = (name: string) => {
    const value = values[name] ?? globals[name];
    return typeof value === 'string' ? value : undefined;
  };
  let prefix: string;
  try {
    prefix = checkPrefix(given('prefix') ?? 'appkeys:', '--prefix');
  } catch (error) {
    throw usageError((error as Error).message);
  }
  const configFile = given('config');
  const operator = configFile === undefined ? undefined : await loadOperatorConfig(configFile);
  if (given('prefix') === undefined && operator?.redis?.prefix !== undefined) prefix = operator.redis.prefix;
  // a URL from the command line or the environment wins over the module's redis, as DESIGN says
  const url = given('redis-url') || io.env.REDIS_URL || undefined;
  const redis: RedisSpec | undefined = url !== undefined ? { url } : operator?.redis;
  const module = await spec.load();
  return module.run({ values, positionals, prefix, redis, operator, io });
}

/** Runs one command line and resolves its exit code; every failure is reported here, once. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    // a message may relay stored text or the command line's own arguments
    const report = (message: string) => io.stderr.write(`appkeys: ${printable(message)}\n`);
    if (error instanceof CliError) {
      report(error.message);
      return error.exitCode;
    }
    const status = (error as { status?: unknown } | undefined)?.status;
    if (status === 503) {
      report('Redis became unreachable while the command ran');
      return EXIT.UNREACHABLE;
    }
    report(error instanceof Error ? error.message : String(error));
    return EXIT.PROBLEMS;
  }
}
