import { Readable } from 'node:stream';

import { runCli } from '../../cli/run.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the CLI's own entry (`runCli`, what cli/main.ts calls with the process's streams) in this
 * process, with nothing on standard input and `env` over this process's environment.
 */
export async function runCliHere(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: {
      write: (text: string) => {
        stdout += text;
      },
    },
    stderr: {
      write: (text: string) => {
        stderr += text;
      },
    },
    stdin: Readable.from([]),
    env: { ...process.env, ...env },
  });
  return { code, stdout, stderr };
}
