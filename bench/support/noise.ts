import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * CPU accounting from /proc while something is measured: how much of the machine other processes used
 * (the noise a reader needs to judge a number), and how much CPU time each of the benchmark's own
 * processes spent (its server, its redis-server), which — divided by the requests served — gives a cost
 * per request that hardly depends on how much CPU the machine had left for it. Linux only; elsewhere
 * it measures nothing and says so.
 */
export interface CpuShares {
  /** Share of all cores' time used by other processes (0 to 1). */
  readonly others: number;
  /** Share of all cores' time used by the benchmark's own processes. */
  readonly ours: number;
  /** CPU seconds (user + system) each watched process spent. */
  readonly seconds: ReadonlyMap<number, number>;
}

/** CPU microseconds process `pid` spent per one of `count` things done; undefined when not measured. */
export function microsEach(shares: CpuShares | undefined, pid: number | undefined, count: number): number | undefined {
  const seconds = pid === undefined ? undefined : shares?.seconds.get(pid);
  return seconds === undefined || count === 0 ? undefined : (seconds * 1e6) / count;
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout;
    const value = Number(out?.trim());
    ticksPerSecond = Number.isInteger(value) && value > 0 ? value : 100;
  }
  return ticksPerSecond;
}

function machineTicks(): { busy: number; all: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const [, user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    const busy = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
    return { busy, all: busy + idle! + iowait! };
  } catch {
    return undefined;
  }
}

function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count fields after its closing one
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the line)
  } catch {
    return 0; // a process that is gone used nothing more
  }
}

export class CpuMeter {
  readonly #pids: readonly number[];
  readonly #machine: { busy: number; all: number } | undefined;
  readonly #start: ReadonlyMap<number, number>;

  private constructor(pids: readonly number[]) {
    this.#pids = pids;
    this.#machine = machineTicks();
    this.#start = new Map(pids.map((pid) => [pid, processTicks(pid)]));
  }

  /** Starts measuring; `pids` are the benchmark's own processes besides this one. */
  static start(pids: ReadonlyArray<number | undefined>): CpuMeter {
    const own = [process.pid, ...pids.filter((pid): pid is number => typeof pid === 'number' && pid > 0)];
    return new CpuMeter([...new Set(own)]);
  }

  /** Shares since start; undefined where /proc is not available. */
  stop(): CpuShares | undefined {
    const before = this.#machine;
    const after = machineTicks();
    if (!before || !after || after.all <= before.all) return undefined;
    const all = after.all - before.all;
    const seconds = new Map<number, number>();
    let ours = 0;
    for (const pid of this.#pids) {
      const used = Math.max(0, processTicks(pid) - (this.#start.get(pid) ?? 0));
      ours += used;
      seconds.set(pid, used / clockTicks());
    }
    const busy = after.busy - before.busy;
    return { others: Math.max(0, busy - ours) / all, ours: Math.min(1, ours / all), seconds };
  }
}
