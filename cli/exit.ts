/**
 * Exit codes of `appkeys`, the same for every command, once: `EXIT` names them, every `--help` lists
 * them, and the README is checked against them (test/cli.test.ts). A command says what 0 and 1 mean
 * for it in its own help.
 */
export const EXIT_CODES = [
  { code: 0, name: 'OK', meaning: 'ok' },
  {
    code: 1,
    name: 'PROBLEMS',
    meaning:
      'problems found, entries rejected, client not found, or an issuer refused (unusable metadata, ' +
      'unreachable, its URL taken, in use, unknown) (for `serve`: it could not start)',
  },
  {
    code: 2,
    name: 'USAGE',
    meaning:
      'usage error: an unknown command or flag, a bad value, unreadable input, ' +
      'an operator module that does not load or is not right (the message names the path), or no Redis named',
  },
  { code: 3, name: 'UNREACHABLE', meaning: 'Redis unreachable, or lost while the command ran' },
] as const;

type ExitName = (typeof EXIT_CODES)[number]['name'];

export const EXIT = Object.fromEntries(EXIT_CODES.map(({ name, code }) => [name, code])) as {
  readonly [N in ExitName]: Extract<(typeof EXIT_CODES)[number], { name: N }>['code'];
};

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the command line reports as one message and one exit code, without a stack. */
export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(exitCode: ExitCode, message: string) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export const usageError = (message: string) => new CliError(EXIT.USAGE, message);
export const unreachable = (message: string) => new CliError(EXIT.UNREACHABLE, message);

/** The exit codes as `--help` lists them: each one's meaning, without the README's markup. */
export function exitCodeLines(meanings: Partial<Record<number, string>> = {}): string[] {
  return EXIT_CODES.map(({ code, meaning }) => `  ${code}  ${(meanings[code] ?? meaning).replaceAll('`', '')}`);
}

export const EXIT_CODES_HELP = ['Exit codes:', ...exitCodeLines()].join('\n');
