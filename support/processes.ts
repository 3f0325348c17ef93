import type { ChildProcess } from 'node:child_process';

/** Keeps the last `limit` characters a stream wrote, to show when a child fails. */
export class Tail {
  #text = '';
  readonly #limit: number;

  constructor(limit = 8000) {
    this.#limit = limit;
  }

  push(chunk: Buffer | string): void {
    this.#text = (this.#text + chunk.toString()).slice(-this.#limit);
  }

  toString(): string {
    return this.#text;
  }
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Resolves once `child` has exited (at once if it has). */
export async function exited(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return;
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
}

/** Sends `signal`, then SIGKILL if the child has not exited within `graceMs`; resolves once it has. */
export async function stopChild(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 2000,
): Promise<void> {
  if (!child || !isRunning(child)) return;
  const done = exited(child);
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await done;
  } finally {
    clearTimeout(timer);
  }
}
