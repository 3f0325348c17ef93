import { EXIT_CODES_HELP, exitCodeLines } from './exit.js';
import { COMMANDS, GLOBAL_OPTIONS, GROUPS, type CommandSpec, type OptionSpec } from './spec.js';

function optionLines(options: Readonly<Record<string, OptionSpec>>): string[] {
  const rows = Object.entries(options).map(([name, option]) => {
    const flag = `${option.short ? `-${option.short}, ` : ''}--${name}${option.value ? ` ${option.value}` : ''}`;
    return [flag, option.description] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return rows.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`);
}

export function commandUsage(spec: CommandSpec): string {
  return `appkeys ${[...spec.path, ...spec.positionals].join(' ')} [options]`;
}

export function commandHelp(spec: CommandSpec): string {
  const options = { ...spec.options, ...GLOBAL_OPTIONS };
  return [
    `Usage: ${commandUsage(spec)}`,
    '',
    spec.description,
    '',
    'Options:',
    ...optionLines(options),
    '',
    'Exit codes:',
    ...exitCodeLines(spec.exitCodes),
    '',
  ].join('\n');
}

export function groupHelp(group: string): string {
  const commands = COMMANDS.filter((spec) => spec.path[0] === group);
  const width = Math.max(...commands.map((spec) => spec.path.join(' ').length));
  return [
    `Usage: appkeys ${group} <command> [options]`,
    '',
    `${GROUPS[group] ?? group}`,
    '',
    'Commands:',
    ...commands.map((spec) => `  ${spec.path.join(' ').padEnd(width)}  ${spec.summary}`),
    '',
    `Run \`appkeys ${group} <command> --help\` for a command's options.`,
    '',
  ].join('\n');
}

export function topHelp(): string {
  const width = Math.max(...COMMANDS.map((spec) => spec.path.join(' ').length + spec.positionals.join(' ').length + 1));
  return [
    'Usage: appkeys [--config FILE] [--prefix PREFIX] [--redis-url URL] <command> [options]',
    '',
    'Operates oidc-provider-appkeys: runs the server, registers out-of-band clients in bulk and',
    'third-party issuers, lists clients and bindings, and checks (and repairs) the Redis store. With',
    "--config FILE every command runs on the operator module's configuration (its issuer, provider",
    'configuration and static clients, appkeys options and redis); without it, on the development',
    "server's. Every command but serve talks to Redis directly: --redis-url, else REDIS_URL, else the",
    "module's redis names it.",
    '',
    'Commands:',
    ...COMMANDS.map((spec) => `  ${[...spec.path, ...spec.positionals].join(' ').padEnd(width)}  ${spec.summary}`),
    '',
    'Options (also accepted after the command):',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    EXIT_CODES_HELP,
    '',
    "Run `appkeys <command> --help` for a command's options.",
    '',
  ].join('\n');
}
