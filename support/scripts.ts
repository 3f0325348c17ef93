import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { isRunning, stopChild, Tail } from './processes.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What a process of `startScript` printed is kept up to this many characters per stream, the latest. */
const KEPT = 100_000;

export interface ScriptOptions {
  /** Set over this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Node's own arguments, before the script (`--cpu-prof`…). */
  readonly nodeArgs?: readonly string[];
  /** How to start it; the bench passes one that ends its children when it exits. */
  readonly spawn?: (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;
}

/** A script of this repository running in a Node process of its own. */
export interface ScriptProcess {
  readonly pid: number | undefined;
  /** Its standard input; ending it tells bench/server.ts to stop. */
  readonly stdin: Writable | null;
  stdout(): string;
  stderr(): string;
  /** Both streams in the order they came: what explains a failure. */
  output(): string;
  running(): boolean;
  /** The exit code (null after a signal), once the process has exited and its output is read. */
  readonly exited: Promise<number | null>;
  /**
   * Resolves with what `ready` finds, asked with the output so far every 50 ms; rejects with the
   * output when the process exits first or `withinMs` passes.
   */
  until<T>(ready: (output: string) => Promise<T | undefined> | T | undefined, withinMs: number): Promise<T>;
  /** Sends `signal`, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

/**
 * Runs a TypeScript entry point of this repository (`cli/main.ts`, `bench/server.ts`…, from
 * its root) with tsx's loader in Node itself rather than the tsx CLI, so that the process started is
 * the one that serves: one pid to signal, profile and kill.
 */
export function startScript(script: string, args: readonly string[] = [], options: ScriptOptions = {}): ScriptProcess {
  const start = options.spawn ?? spawn;
  const child = start(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stdout = new Tail(KEPT);
  const stderr = new Tail(KEPT);
  const output = new Tail(KEPT);
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout.push(chunk);
    output.push(chunk);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr.push(chunk);
    output.push(chunk);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => resolve(code));
    // a spawn failure (ENOENT) arrives as 'error' and no 'close' may follow
    child.once('error', () => resolve(null));
  });

  return {
    pid: child.pid,
    stdin: child.stdin,
    stdout: () => stdout.toString(),
    stderr: () => stderr.toString(),
    output: () => output.toString(),
    running: () => isRunning(child),
    exited,
    async until(ready, withinMs) {
      const until = Date.now() + withinMs;
      for (;;) {
        const found = await ready(output.toString());
        if (found !== undefined) return found;
        if (!isRunning(child))
          throw new Error(`${script} exited (${child.exitCode ?? child.signalCode}):\n${output.toString()}`);
        if (Date.now() >= until)
          throw new Error(`${script} was not ready within ${withinMs} ms:\n${output.toString()}`);
        await sleep(50);
      }
    },
    async stop(signal = 'SIGTERM', graceMs = 2000) {
      child.stdin?.end();
      await stopChild(child, signal, graceMs);
      return exited;
    },
  };
}
