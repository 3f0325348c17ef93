/**
 * Exit codes of `appkeys`, the same for every command (and listed in each `--help`):
 *   0  ok
 *   1  problems found (check), entries rejected (clients import), client not found (bindings show),
 *      or the command failed for another reason
 *   2  usage error: unknown command or flag, bad value, unreadable input or operator module, no Redis named
 *   3  Redis unreachable, or lost while the command ran
 */
export const EXIT = {
  OK: 0,
  PROBLEMS: 1,
  USAGE: 2,
  UNREACHABLE: 3,
} as const;

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

export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  problems found, entries rejected, or client not found
  2  usage error
  3  Redis unreachable`;
