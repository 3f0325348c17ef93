#!/usr/bin/env node
/**
 * `appkeys`: the operator's command line (package.json `bin`). Commands and flags: `appkeys --help`.
 *
 * Exit codes (cli/exit.ts), the same for every command:
 *   0  ok
 *   1  problems found (check), entries rejected (clients import), client not found (bindings show),
 *      an issuer refused (issuers add|rm),
 *      or the command failed
 *   2  usage error
 *   3  Redis unreachable
 */
import { runCli } from './run.js';

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
// exit once both streams are flushed, even if a failed start left a handle open (a reconnecting client)
process.exitCode = code;
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
