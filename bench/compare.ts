import { variant, type VariantName } from './variants.js';
import { checkTokenBinding, requestToken } from './workload.js';
import {
  describeFailures,
  isValid,
  loadTokenEndpoint,
  sequentialTokenRequests,
  type LoadOptions,
  type LoadResult,
  type SequentialResult,
} from './support/load.js';
import { countCommands, type BenchRedis, type CommandCount } from './support/redis.js';
import { indent, startServer, type RunningServer } from './support/servers.js';
import { formatPercent, formatRate, median, medianDefined } from './support/format.js';
import { CpuMeter, microsEach } from './support/noise.js';

export interface CompareOptions {
  /** Timed rounds per server; rounds alternate A, B, A, B, … */
  readonly rounds: number;
  /** Untimed load each server gets first (JIT, connection pools, Lua script cache). 0 to skip. */
  readonly warmupSeconds: number;
  readonly load: LoadOptions;
  /** Sequential requests whose Redis commands are counted, after the load. 0 to skip. */
  readonly countedRequests: number;
  /** The Redis shared by every server that needs one; undefined: none (no counting either). */
  readonly redis: BenchRedis | undefined;
  /** Start of every server's Redis key prefix in this run (each adds its own name). */
  readonly keyPrefix: string;
  /** A directory to write each server's CPU profile to (`node --cpu-prof`); undefined: no profiling. */
  readonly cpuProfileDir: string | undefined;
  readonly print: (line: string) => void;
}

export interface RoundResult extends LoadResult {
  /** 1-based; 0 is the warm-up. */
  readonly round: number;
  readonly valid: boolean;
  /** Share of the machine's CPU that other processes used meanwhile (noise); undefined off Linux. */
  readonly othersCpu: number | undefined;
  /**
   * CPU microseconds the server process (and redis-server) spent per successful request: a cost that
   * hardly depends on how much CPU other processes left over, unlike requests per second.
   */
  readonly serverCpuUs: number | undefined;
  readonly redisCpuUs: number | undefined;
}

export interface CommandReport extends SequentialResult {
  readonly commands: CommandCount;
}

export interface ServerResult {
  readonly name: VariantName;
  readonly description: string;
  readonly warmup: RoundResult | undefined;
  readonly rounds: readonly RoundResult[];
  readonly medianRps: number;
  /** Median over rounds of the server's CPU µs per request; undefined off Linux. */
  readonly medianServerCpuUs: number | undefined;
  readonly commands: CommandReport | undefined;
  /** Every reason this server's numbers cannot be trusted; empty when all requests succeeded. */
  readonly problems: readonly string[];
  /** The server's CPU profile (BENCH_CPU_PROF), written when it stopped. */
  readonly cpuProfile: string | undefined;
}

export interface Comparison {
  readonly a: ServerResult;
  readonly b: ServerResult;
  /** median req/s of b over median req/s of a. */
  readonly ratio: number;
  /**
   * The same ratio from CPU cost: server CPU per request of a over that of b, i.e. the throughput ratio
   * the two would have with a core each to themselves. Undefined off Linux.
   */
  readonly cpuRatio: number | undefined;
  /** b over a in each round (the two sides of a round ran back to back): the spread of the ratio. */
  readonly roundRatios: readonly number[];
  readonly valid: boolean;
}

function loud(print: (line: string) => void, message: string, log: string): void {
  print(`!!!!!!!! ${message} !!!!!!!!`);
  // the provider's start-up warnings (dev keys, memory adapter, runtime) say nothing about a failure
  const relevant = log
    .split('\n')
    .filter((line) => !line.startsWith('oidc-provider WARNING'))
    .join('\n');
  if (relevant.trim()) print(`    server log (tail):\n${indent(relevant)}`);
}

class Subject {
  readonly rounds: RoundResult[] = [];
  readonly problems: string[] = [];
  warmup: RoundResult | undefined;
  commands: CommandReport | undefined;

  constructor(readonly server: RunningServer) {}

  async run(round: number, seconds: number, options: CompareOptions): Promise<RoundResult> {
    const meter = CpuMeter.start([this.server.pid, options.redis?.pid]);
    const result = await loadTokenEndpoint(this.server.baseUrl, { ...options.load, durationSeconds: seconds });
    const shares = meter.stop();
    const othersCpu = shares?.others;
    const entry: RoundResult = {
      ...result,
      round,
      valid: isValid(result),
      othersCpu,
      serverCpuUs: microsEach(shares, this.server.pid, result.ok),
      redisCpuUs: microsEach(shares, options.redis?.external ? undefined : options.redis?.pid, result.ok),
    };
    const label = round === 0 ? 'warm-up' : `round ${round}`;
    const line =
      `  ${label.padEnd(8)} ${this.server.name.padEnd(14)} ${formatRate(entry.requestsPerSecond).padStart(7)} req/s` +
      `   p50 ${entry.latencyP50Ms} ms  p99 ${entry.latencyP99Ms} ms   ${formatRate(entry.ok)} ok` +
      `${entry.serverCpuUs === undefined ? '' : `   CPU/req: server ${Math.round(entry.serverCpuUs)} µs`}` +
      `${
        entry.redisCpuUs === undefined || !this.server.variant.redis ? '' : `, redis ${Math.round(entry.redisCpuUs)} µs`
      }` +
      `${othersCpu === undefined ? '' : `   others used ${formatPercent(othersCpu)} CPU`}`;
    options.print(line);
    if (!entry.valid) {
      const problem = `${label} ${this.server.name}: INVALID, ${describeFailures(entry)}`;
      this.problems.push(problem);
      loud(options.print, problem, this.server.log());
    }
    if (!this.server.running()) {
      const problem = `${this.server.name}: the server process died during ${label}`;
      this.problems.push(problem);
      loud(options.print, problem, this.server.log());
    }
    return entry;
  }

  result(): ServerResult {
    return {
      name: this.server.name,
      description: this.server.variant.description,
      warmup: this.warmup,
      rounds: this.rounds,
      medianRps: median(this.rounds.map((r) => r.requestsPerSecond)),
      medianServerCpuUs: medianDefined(this.rounds.map((r) => r.serverCpuUs)),
      commands: this.commands,
      problems: this.problems,
      cpuProfile: this.server.cpuProfile,
    };
  }
}

/**
 * Runs two server variants side by side: both start in child processes, each is warmed up, then timed
 * rounds alternate between them so that drift (thermal, noisy neighbours) hits both alike, and the
 * ratio of medians is what is reported. Afterwards, with Redis, a sequential batch per server counts the
 * Redis commands one token request costs.
 */
export async function compare(a: VariantName, b: VariantName, options: CompareOptions): Promise<Comparison> {
  if (a === b) throw new Error(`compare(${a}, ${b}): pick two different variants`);
  options.print(`\n== ${a} vs ${b}`);
  for (const name of [a, b]) options.print(`  ${name.padEnd(14)} ${variant(name).description}`);
  const redisUrl = options.redis?.url;
  const servers = await Promise.all(
    [a, b].map((name) =>
      startServer(name, redisUrl, `${options.keyPrefix}${name}:`, {
        cpuProfile: options.cpuProfileDir
          ? { dir: options.cpuProfileDir, name: `tokens-${a}-vs-${b}-${name}` }
          : undefined,
      }),
    ),
  );
  const subjects = servers.map((server) => new Subject(server));
  try {
    for (const subject of subjects) {
      // one checked request first: a misconfigured server fails here, not after a minute of 401s; and
      // its token must carry the binding exactly when the variant binds the client
      try {
        const token = await requestToken(subject.server.baseUrl);
        await checkTokenBinding(subject.server.baseUrl, token, subject.server.variant.bound);
      } catch (err) {
        throw new Error(`${subject.server.name}: ${(err as Error).message}\n${indent(subject.server.log())}`, {
          cause: err,
        });
      }
    }
    if (options.warmupSeconds > 0) {
      // checked like a round: every request of the run must succeed, warm-up included
      for (const subject of subjects) subject.warmup = await subject.run(0, options.warmupSeconds, options);
    }
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const subject of subjects)
        subject.rounds.push(await subject.run(round, options.load.durationSeconds, options));
    }
    if (options.redis && options.countedRequests > 0) {
      for (const subject of subjects) {
        const redis = options.redis;
        let batch: SequentialResult | undefined;
        const commands = await countCommands(redis, async () => {
          batch = await sequentialTokenRequests(subject.server.baseUrl, options.countedRequests);
        });
        if (!batch) throw new Error('counted batch did not run');
        subject.commands = { ...batch, commands };
        if (batch.failed > 0) {
          const problem =
            `counted batch ${subject.server.name}: ${batch.failed} of ${batch.requests} requests` +
            ` failed (${batch.firstFailure ?? ''})`;
          subject.problems.push(problem);
          loud(options.print, problem, subject.server.log());
        }
      }
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
  const [resultA, resultB] = subjects.map((subject) => subject.result()) as [ServerResult, ServerResult];
  return {
    a: resultA,
    b: resultB,
    ratio: resultB.medianRps / resultA.medianRps,
    cpuRatio:
      resultA.medianServerCpuUs !== undefined && resultB.medianServerCpuUs !== undefined
        ? resultA.medianServerCpuUs / resultB.medianServerCpuUs
        : undefined,
    roundRatios: resultA.rounds.map(
      (round, i) => (resultB.rounds[i]?.requestsPerSecond ?? Number.NaN) / round.requestsPerSecond,
    ),
    valid: resultA.problems.length === 0 && resultB.problems.length === 0,
  };
}
