import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * Every process the benchmark starts, so that none outlives it: Ctrl-C, an uncaught error or a normal
 * exit all kill what is still running. A server child also exits by itself when its stdin closes, which
 * covers the parent being killed with SIGKILL.
 */
const running = new Map<ChildProcess, NodeJS.Signals>();
let hooked = false;

function killAll(): void {
  for (const [child, signal] of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  // 'exit' handlers must be synchronous: SIGKILL needs no waiting
  process.on('exit', () => killAll());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping child processes\n`);
      killAll();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/**
 * Spawns a child process that is sent `exitSignal` if still running when this process exits. SIGKILL
 * by default; a wrapper that must pass the end on to its own child needs one it can trap.
 */
export function spawnTracked(
  command: string,
  args: readonly string[],
  options: SpawnOptions,
  exitSignal: NodeJS.Signals = 'SIGKILL',
): ChildProcess {
  hookExit();
  const child = spawn(command, args, options);
  running.set(child, exitSignal);
  child.once('exit', () => running.delete(child));
  // a spawn failure (ENOENT) arrives as 'error'; callers see it through exitCode / their own waits
  child.once('error', () => running.delete(child));
  return child;
}
