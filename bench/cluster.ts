import { ProviderKeys, StoreKeys } from '../adapters/redis/keys.js';
import { startBenchCluster, type BenchCluster } from './support/cluster.js';
import { formatCount, formatPercent, formatRate, median, medianDefined } from './support/format.js';
import {
  describeFailures,
  isValid,
  loadTokenEndpoint,
  runLoad,
  type LoadOptions,
  type LoadResult,
} from './support/load.js';
import { CpuMeter, microsEach } from './support/noise.js';
import { indent, startServer, type RunningServer } from './support/servers.js';
import { adapterPrefix, storePrefix, variant, type VariantName } from './variants.js';
import { BENCH_CLIENT, checkTokenBinding, isOpaqueTokenResponse, requestToken, TOKEN_REQUEST } from './workload.js';

/**
 * The token endpoint on private Redis Clusters of 1, 3 (…) masters, side by side: one server process per
 * cluster, timed rounds alternating between them. Per master: the token keys it holds after a counted
 * batch (the spread), and its Redis CPU per token (INFO cpu), which should fall as masters are added.
 */
export interface ClusterBenchOptions {
  /** Masters of each cluster, e.g. [1, 3]. */
  readonly sizes: readonly number[];
  readonly variant: VariantName;
  readonly rounds: number;
  readonly warmupSeconds: number;
  readonly load: LoadOptions;
  /** Tokens per master in the counted batch: the same precision of the spread at every size. */
  readonly countedPerMaster: number;
  readonly keyPrefix: string;
  readonly cpuProfileDir: string | undefined;
  readonly print: (line: string) => void;
}

export interface ClusterRound extends LoadResult {
  /** 1-based; 0 is the warm-up. */
  readonly round: number;
  readonly valid: boolean;
  readonly othersCpu: number | undefined;
  readonly serverCpuUs: number | undefined;
  /** Each master's CPU µs per token issued in the round (INFO cpu delta / tokens). */
  readonly masterCpuUs: readonly number[];
}

export interface ClusterSize {
  readonly masters: number;
  readonly rounds: readonly ClusterRound[];
  readonly medianRps: number;
  readonly medianServerCpuUs: number | undefined;
  /** Per master, the median over rounds of its CPU µs per token. */
  readonly masterCpuUs: readonly number[];
  /** The master serving the registry's slot, where the client record is read unless cached. */
  readonly registryMaster: number;
  /** Token keys each master gained during the counted batch. */
  readonly keysPerMaster: readonly number[];
  readonly counted: number;
  /** Largest departure of one master's keys from an even split, as a share of it. */
  readonly spread: number;
  readonly cpuProfile: string | undefined;
}

export interface ClusterResult {
  readonly variant: VariantName;
  readonly description: string;
  readonly sizes: readonly ClusterSize[];
  readonly problems: readonly string[];
}

/** Largest |held − even| / even over masters. */
export function evenSplitDeparture(held: readonly number[]): number {
  const total = held.reduce((a, b) => a + b, 0);
  const even = total / held.length;
  // |n − even| / even, not |n / even − 1|: exactly 10% off must not come out as 10.000000000000009%
  return even > 0 ? Math.max(...held.map((n) => Math.abs(n - even) / even)) : Number.NaN;
}

class Subject {
  readonly rounds: ClusterRound[] = [];
  keysPerMaster: readonly number[] = [];
  counted = 0;
  readonly label: string;

  constructor(
    readonly cluster: BenchCluster,
    readonly server: RunningServer,
    readonly prefix: string,
    readonly problems: string[],
  ) {
    this.label = `${cluster.masters} master${cluster.masters === 1 ? '' : 's'}`;
  }

  get registryMaster(): number {
    return this.cluster.masterOf(new StoreKeys(storePrefix({ prefix: this.prefix })).client(BENCH_CLIENT.clientId));
  }

  async run(round: number, options: ClusterBenchOptions, seconds: number, pids: number[]): Promise<ClusterRound> {
    const before = await this.cluster.cpuSeconds();
    const meter = CpuMeter.start(pids);
    const result = await loadTokenEndpoint(this.server.baseUrl, { ...options.load, durationSeconds: seconds });
    const shares = meter.stop();
    const after = await this.cluster.cpuSeconds();
    const entry: ClusterRound = {
      ...result,
      round,
      valid: isValid(result),
      othersCpu: shares?.others,
      serverCpuUs: microsEach(shares, this.server.pid, result.ok),
      masterCpuUs: after.map((cpu, i) => ((cpu - before[i]!) * 1e6) / result.ok),
    };
    const name = round === 0 ? 'warm-up' : `round ${round}`;
    options.print(
      `  ${name.padEnd(8)} ${this.label.padEnd(10)} ${formatRate(entry.requestsPerSecond).padStart(7)} tokens/s` +
        `   p50 ${entry.latencyP50Ms} ms  p99 ${entry.latencyP99Ms} ms` +
        `${entry.serverCpuUs === undefined ? '' : `   CPU/token: server ${Math.round(entry.serverCpuUs)} µs`},` +
        ` redis per master ${entry.masterCpuUs.map((us) => `${Math.round(us)}`).join(' · ')} µs` +
        `${entry.othersCpu === undefined ? '' : `   others used ${formatPercent(entry.othersCpu)} CPU`}`,
    );
    if (!entry.valid) this.fail(options, `${name} ${this.label}: INVALID, ${describeFailures(entry)}`);
    if (!this.server.running()) this.fail(options, `${this.label}: the server process died during ${name}`);
    return entry;
  }

  /** Issues the counted batch and counts, on each master, the token keys it gained. */
  async count(options: ClusterBenchOptions): Promise<void> {
    const pattern = new ProviderKeys(adapterPrefix({ prefix: this.prefix })).modelPattern('ClientCredentials');
    const amount = options.countedPerMaster * this.cluster.masters;
    const before = await this.cluster.countKeys(pattern);
    const result = await runLoad(this.server.baseUrl, {
      request: {
        method: TOKEN_REQUEST.method,
        path: TOKEN_REQUEST.path,
        headers: TOKEN_REQUEST.headers,
        body: TOKEN_REQUEST.body,
      },
      connections: options.load.connections,
      amount,
      expectedStatus: 200,
      verifyBody: (body) => isOpaqueTokenResponse(body),
    });
    const after = await this.cluster.countKeys(pattern);
    this.keysPerMaster = after.map((n, i) => n - before[i]!);
    this.counted = result.ok;
    const held = this.keysPerMaster.reduce((a, b) => a + b, 0);
    options.print(
      `  counted  ${this.label.padEnd(10)} ${formatCount(result.ok)} tokens → keys per master` +
        ` ${this.keysPerMaster.map(formatCount).join(' · ')}` +
        ` (largest departure from an even split ${formatPercent(evenSplitDeparture(this.keysPerMaster))})`,
    );
    if (!isValid(result) || result.ok !== amount)
      this.fail(options, `counted batch ${this.label}: ${describeFailures(result)}, ${result.ok} of ${amount} ok`);
    // one token, one key: anything else means the count measures something other than the spread
    if (held !== result.ok)
      this.fail(options, `counted batch ${this.label}: ${held} token keys for ${result.ok} tokens`);
  }

  fail(options: ClusterBenchOptions, problem: string): void {
    this.problems.push(problem);
    options.print(`!!!!!!!! ${problem} !!!!!!!!`);
    const log = this.server.log().trim();
    if (log) options.print(`    server log (tail):\n${indent(log)}`);
  }

  result(): ClusterSize {
    return {
      masters: this.cluster.masters,
      rounds: this.rounds,
      medianRps: median(this.rounds.map((r) => r.requestsPerSecond)),
      medianServerCpuUs: medianDefined(this.rounds.map((r) => r.serverCpuUs)),
      masterCpuUs: Array.from({ length: this.cluster.masters }, (_, i) =>
        median(this.rounds.map((r) => r.masterCpuUs[i]!)),
      ),
      registryMaster: this.registryMaster,
      keysPerMaster: this.keysPerMaster,
      counted: this.counted,
      spread: evenSplitDeparture(this.keysPerMaster),
      cpuProfile: this.server.cpuProfile,
    };
  }
}

export async function runCluster(options: ClusterBenchOptions): Promise<ClusterResult> {
  const { print } = options;
  const chosen = variant(options.variant);
  const problems: string[] = [];
  const clusters: BenchCluster[] = [];
  const subjects: Subject[] = [];
  try {
    for (const masters of options.sizes) {
      const started = Date.now();
      const cluster = await startBenchCluster(masters);
      clusters.push(cluster);
      const prefix = `${options.keyPrefix}c${masters}:`;
      const server = await startServer(options.variant, undefined, prefix, {
        clusterNodes: cluster.nodes,
        cpuProfile: options.cpuProfileDir
          ? { dir: options.cpuProfileDir, name: `cluster-${masters}-${options.variant}` }
          : undefined,
      });
      const subject = new Subject(cluster, server, prefix, problems);
      subjects.push(subject);
      print(
        `  ${subject.label}: cluster and server up in ${((Date.now() - started) / 1000).toFixed(1)} s` +
          ` (${cluster.nodes.join(', ')}; the registry's slot on master ${subject.registryMaster + 1})`,
      );
    }
    for (const subject of subjects) {
      // a misconfigured server fails here, not after a minute of errors
      const token = await requestToken(subject.server.baseUrl);
      await checkTokenBinding(subject.server.baseUrl, token, chosen.bound);
    }
    // counted first, on a nearly empty key space: no key of an earlier round can expire meanwhile
    for (const subject of subjects) await subject.count(options);
    const pids = [...clusters.flatMap((cluster) => cluster.pids), ...subjects.flatMap((s) => s.server.pid ?? [])];
    if (options.warmupSeconds > 0) {
      for (const subject of subjects) await subject.run(0, options, options.warmupSeconds, pids);
    }
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const subject of subjects)
        subject.rounds.push(await subject.run(round, options, options.load.durationSeconds, pids));
    }
  } finally {
    await Promise.all(subjects.map((subject) => subject.server.stop()));
    await Promise.all(clusters.map((cluster) => cluster.stop()));
  }
  return {
    variant: options.variant,
    description: chosen.description,
    sizes: subjects.map((subject) => subject.result()),
    problems,
  };
}
