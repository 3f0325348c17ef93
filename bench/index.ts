/**
 * `npm run bench [-- part… | a:b…]`: benchmarks that print ratios measured side by side in one run, in
 * alternating rounds, and a summary block to paste into the README.
 *
 * Parts (all five by default):
 *   tokens  token endpoint throughput, server variants side by side (bench/tokens.ts); `a:b` arguments
 *           pick the pairs (variants in bench/variants.ts), default redis:redis-appkeys and memory:redis
 *   secrets the token endpoint with secrets hashed at rest (scrypt) against kept as given, with the cache
 *           of recent verifications and without it: redis-appkeys:redis-appkeys-hashed(-nocache)
 *   binds   provide keys over HTTP: binds per second and Redis round trips per bind (bench/binds.ts)
 *   scale   the registry at N bound applications against 1,000: memory per binding, lookup and bind
 *           latency, verify() time and memory (bench/scale.ts). `BENCH_SCALE=1` runs this part alone.
 *   cluster the token endpoint on private Redis Clusters of 1 and 3 masters side by side (bench/cluster.ts):
 *           token keys per master, Redis CPU per token per master, tokens/s
 *
 * Environment:
 *   BENCH_DURATION      seconds per timed token round (6)
 *   BENCH_ROUNDS        timed rounds per server, per part (5): more, shorter rounds alternate more often,
 *                       so that a burst of other work lands on both sides of a ratio
 *   BENCH_WARMUP        warm-up seconds per token server (2)
 *   BENCH_CONNECTIONS   concurrent HTTP connections (16)
 *   BENCH_COUNT         sequential token requests whose Redis commands are counted (500; at most 100 in secrets,
 *                       where scrypt on every request makes them slow and the commands are those of tokens)
 *   BENCH_BINDS         binds per timed round (4000); BENCH_BIND_WARMUP (3000); BENCH_BIND_COUNT counted (200)
 *   BENCH_SCALE_N       bound applications in the large store (50000, which keeps the default run near 5 min;
 *                       1000000 for the full-size run, ~15 min on 2 cores, most of it verify())
 *   BENCH_SCALE_SMALL   bound applications in the small store (1000)
 *   BENCH_SCALE_SAMPLES timed calls per operation, store and round (2000)
 *   BENCH_SCALE_LOAD    scripts | raw: load through the store's scripts, or pipelined writes of the same
 *                       layout (checked against the scripts' records and by verify()); default scripts up to
 *                       200,000, raw above (a million through scripts takes minutes)
 *   BENCH_SCALE_OWNER_APPS  applications per owner (4)
 *   BENCH_CLUSTER_MASTERS   masters of each cluster in the cluster part (1,3; 1,3,6 adds a third)
 *   BENCH_CLUSTER_COUNT     tokens per master in its counted batch, whose keys are counted per master (1000)
 *   BENCH_CLUSTER_VARIANT   the server it runs (redis-appkeys; redis-appkeys-cached reads clients from memory)
 *   BENCH_CPU_PROF      a directory: profile every server process (node --cpu-prof), and this process during
 *                       verify() at scale, and print where their time went
 *   BENCH_WAIT_QUIET    seconds to wait at most, before starting, for the machine to be quiet (0)
 *   REDIS_URL           use this Redis for tokens and binds instead of starting one (its other traffic skews
 *                       command counts); the scale and cluster parts always start their own
 */
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

import { runBinds } from './binds.js';
import { runCluster } from './cluster.js';
import type { CompareOptions } from './compare.js';
import { formatCount, formatPercent, formatRate } from './support/format.js';
import { formatShare } from './support/summary-cluster.js';
import { describeProfile } from './support/profile.js';
import { installedRedisVersion } from '../support/redis-server.js';
import { startBenchRedis, type BenchRedis } from './support/redis.js';
import { commandTable, cpuBusyShare, describeMachine, machineLine } from './support/report.js';
import { runScale, scaleDetail } from './scale.js';
import {
  atLeast,
  atMost,
  below,
  renderSummary,
  type BindsSection,
  type ClusterSection,
  type Goal,
  type ScaleSection,
  type TokenSection,
} from './support/summary.js';
import { DEFAULT_PAIRS, pairError, parsePair, runTokens, SECRETS_PAIRS, tokenSetup, type Pair } from './tokens.js';
import { isVariantName, VARIANTS, type VariantName } from './variants.js';

const PARTS = ['tokens', 'secrets', 'binds', 'scale', 'cluster'] as const;
type Part = (typeof PARTS)[number];

/** The goals the printout checks, by pair (`a:b`, ratio b/a) and by part. */
const PAIR_GOALS: Readonly<Record<string, Goal>> = {
  'redis:redis-appkeys': atLeast(0.97),
  'memory:redis': atLeast(0.9),
  'redis-appkeys:redis-appkeys-hashed': atLeast(0.9),
};
const BINDS_GOAL = atLeast(1500, formatRate);
const SCALE_GOALS = {
  perBinding: atMost(300, (n) => `${n} B`),
  latencyRatio: atMost(1.2),
  verifySeconds: atMost(60, (n) => `${n} s`),
};
const CLUSTER_GOALS = {
  spread: atMost(0.1, formatShare),
  cpuFalling: below(1),
};

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** A comma-separated list of cluster sizes, ascending: `1,3,6`. */
function sizesFromEnv(name: string, fallback: readonly number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return [...fallback];
  const sizes = raw.split(',').map((part) => Number(part.trim()));
  if (sizes.some((n, i) => !Number.isInteger(n) || n < 1 || n > 16 || (i > 0 && n <= sizes[i - 1]!)))
    throw new Error(`${name} must list ascending master counts from 1 to 16, e.g. 1,3,6; got "${raw}"`);
  return sizes;
}

/** `[1, 3, 6]` → `1, 3 and 6` */
function listed(values: readonly number[]): string {
  return values.length > 1 ? `${values.slice(0, -1).join(', ')} and ${values.at(-1)}` : String(values[0]);
}

function variantFromEnv(name: string, fallback: VariantName): VariantName {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!isVariantName(raw) || !VARIANTS[raw].redis)
    throw new Error(`${name} must name a Redis variant (${Object.keys(VARIANTS).join(', ')}), got "${raw}"`);
  return raw;
}

function parseArgs(args: readonly string[]): { parts: Set<Part>; pairs: Pair[] } {
  const parts = new Set<Part>();
  const pairs: Pair[] = [];
  for (const arg of args) {
    if ((PARTS as readonly string[]).includes(arg)) {
      parts.add(arg as Part);
      continue;
    }
    const pair = parsePair(arg);
    if (!pair) throw new Error(pairError(arg));
    pairs.push(pair);
    parts.add('tokens');
  }
  if (parts.size === 0) {
    if (process.env.BENCH_SCALE === '1') parts.add('scale');
    else for (const part of PARTS) parts.add(part);
  }
  return { parts, pairs: pairs.length > 0 ? pairs : [...DEFAULT_PAIRS] };
}

const durationSeconds = intFromEnv('BENCH_DURATION', 6, 1, 600);
const rounds = intFromEnv('BENCH_ROUNDS', 5, 1, 50);
const warmupSeconds = intFromEnv('BENCH_WARMUP', 2, 0, 60);
// The server under test is one Node process, i.e. one core; the other core is shared by autocannon and
// redis-server. 16 connections keep the server's event loop saturated (at a few thousand req/s and a
// few ms per request only a handful need to be in flight) with headroom, while more would only lengthen
// queues (latency) and make autocannon itself eat the core Redis needs.
const connections = intFromEnv('BENCH_CONNECTIONS', 16, 1, 1000);
const countedRequests = intFromEnv('BENCH_COUNT', 500, 0, 100_000);
const bindsPerRound = intFromEnv('BENCH_BINDS', 4000, 100, 1_000_000);
const bindWarmup = intFromEnv('BENCH_BIND_WARMUP', 3000, 0, 1_000_000);
const countedBinds = intFromEnv('BENCH_BIND_COUNT', 200, 0, 100_000);
const scaleN = intFromEnv('BENCH_SCALE_N', 50_000, 1000, 20_000_000);
const scaleSmall = intFromEnv('BENCH_SCALE_SMALL', 1000, 100, 1_000_000);
const scaleSamples = intFromEnv('BENCH_SCALE_SAMPLES', 2000, 10, 1_000_000);
const appsPerOwner = intFromEnv('BENCH_SCALE_OWNER_APPS', 4, 1, 1000);
const scaleLoadRaw = process.env.BENCH_SCALE_LOAD || (scaleN > 200_000 ? 'raw' : 'scripts');
if (scaleLoadRaw !== 'scripts' && scaleLoadRaw !== 'raw')
  throw new Error(`BENCH_SCALE_LOAD must be scripts or raw, got "${scaleLoadRaw}"`);
const scaleLoad: 'scripts' | 'raw' = scaleLoadRaw;
const clusterSizes = sizesFromEnv('BENCH_CLUSTER_MASTERS', [1, 3]);
const clusterPerMaster = intFromEnv('BENCH_CLUSTER_COUNT', 1000, 10, 1_000_000);
const clusterVariant = variantFromEnv('BENCH_CLUSTER_VARIANT', 'redis-appkeys');
const waitQuietSeconds = intFromEnv('BENCH_WAIT_QUIET', 0, 0, 86_400);
/** Above this share of CPU time used by others before start, the machine counts as busy. */
const QUIET = 0.25;
const cpuProfileDir = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
const { parts, pairs } = parseArgs(process.argv.slice(2));

const print = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  // every round, warm-up and start-up is bounded by itself; this catches anything that still hangs
  const expectedSeconds =
    (parts.has('tokens') ? pairs.length * (2 * (warmupSeconds + rounds * durationSeconds) + 40) : 0) +
    (parts.has('secrets') ? SECRETS_PAIRS.length * (2 * (warmupSeconds + rounds * durationSeconds) + 100) : 0) +
    (parts.has('binds') ? 120 + (bindWarmup + rounds * bindsPerRound + countedBinds) / 200 : 0) +
    (parts.has('scale') ? 300 + scaleN / 1000 : 0) +
    (parts.has('cluster') ? clusterSizes.length * (warmupSeconds + rounds * durationSeconds + 60) + 60 : 0);
  setTimeout(
    () => {
      process.stderr.write(`\nbench: still running after ${Math.round(2 * expectedSeconds)} s, giving up\n`);
      process.exit(1);
    },
    (2 * expectedSeconds + waitQuietSeconds) * 1000,
  ).unref();
  if (cpuProfileDir) mkdirSync(cpuProfileDir, { recursive: true });

  const started = Date.now();
  const needsRedis = parts.has('binds') || parts.has('tokens') || parts.has('secrets');
  let redis: BenchRedis | undefined;
  const keyPrefix = `bench:${randomBytes(4).toString('hex')}:`;
  const problems: string[] = [];
  let tokens: TokenSection | undefined;
  let secrets: TokenSection | undefined;
  let binds: BindsSection | undefined;
  let scale: ScaleSection | undefined;
  let cluster: ClusterSection | undefined;
  try {
    if (needsRedis) redis = await startBenchRedis();
    const machine = describeMachine(redis?.version ?? installedRedisVersion());
    // the load average would still count a previous run; what others use right now is what matters
    let busyBefore = await cpuBusyShare(1000);
    const waitUntil = Date.now() + waitQuietSeconds * 1000;
    if (busyBefore > QUIET && waitQuietSeconds > 0) {
      print(
        `the machine is busy (${formatPercent(busyBefore)} CPU):` +
          ` waiting up to ${waitQuietSeconds} s for it to quiet down`,
      );
      while (busyBefore > QUIET && Date.now() < waitUntil) busyBefore = await cpuBusyShare(2000);
    }
    print(`benchmarks (${[...parts].join(', ')}) · ${machineLine(machine)}`);
    if (busyBefore > QUIET) {
      print(
        `!!! the machine is busy (${formatPercent(busyBefore)} of CPU time used by other processes just before` +
          ` start): expect noisy rounds`,
      );
    }
    if (redis)
      print(`redis: ${redis.external ? `${redis.url} (REDIS_URL, shared)` : `private redis-server at ${redis.url}`}`);
    if (cpuProfileDir) print(`CPU profiles of the server processes go to ${cpuProfileDir}`);

    if (parts.has('tokens') && redis) {
      const options: CompareOptions = {
        rounds,
        warmupSeconds,
        load: { connections, durationSeconds },
        countedRequests,
        redis,
        keyPrefix,
        cpuProfileDir,
        print,
      };
      const setup = tokenSetup(options);
      print(`\n==== token endpoint\n${setup}`);
      const comparisons = await runTokens(pairs, options);
      tokens = {
        setup,
        comparisons: comparisons.map((comparison) => ({
          comparison,
          goal: PAIR_GOALS[`${comparison.a.name}:${comparison.b.name}`],
        })),
      };
      for (const comparison of comparisons) {
        if (!comparison.valid) problems.push(...comparison.a.problems, ...comparison.b.problems);
      }
    }

    if (parts.has('secrets') && redis) {
      const options: CompareOptions = {
        rounds,
        warmupSeconds,
        load: { connections, durationSeconds },
        countedRequests: Math.min(countedRequests, 100),
        redis,
        keyPrefix: `${keyPrefix}s:`,
        cpuProfileDir,
        print,
      };
      const setup =
        `${tokenSetup(options)} Both sides run appkeys; the bench client's secret is kept as` +
        ` given on one side and as a` +
        " PHC scrypt hash on the other (production parameters), verified through the provider's compareClientSecret.";
      print(`\n==== secrets at rest: token endpoint\n${setup}`);
      const comparisons = await runTokens(SECRETS_PAIRS, options);
      secrets = {
        setup,
        comparisons: comparisons.map((comparison) => ({
          comparison,
          goal: PAIR_GOALS[`${comparison.a.name}:${comparison.b.name}`],
        })),
      };
      for (const comparison of comparisons) {
        if (!comparison.valid) problems.push(...comparison.a.problems, ...comparison.b.problems);
      }
    }

    if (parts.has('binds') && redis) {
      const setup =
        'PUT /appkeys/applications/:id/keys/PRODUCTION with an admin Bearer token' +
        ' (client_credentials, scope appkeys:admin)' +
        ' against the redis-appkeys server (its own process);' +
        ' every request binds a distinct registered out-of-band client' +
        ' (metadata as the provider normalizes it) to a distinct application,' +
        " both created beforehand through the store's scripts;" +
        ` autocannon, ${connections} connections, no pipelining; ${formatCount(bindWarmup)} warm-up binds,` +
        ` then ${rounds} × ${formatCount(bindsPerRound)} binds;` +
        ` every response checked (201 and the binding); Redis commands counted over ${countedBinds} sequential` +
        ` binds; verify() afterwards.`;
      print(`\n==== provide keys\n${setup}`);
      const result = await runBinds({
        rounds,
        warmupBinds: bindWarmup,
        bindsPerRound,
        connections,
        countedBinds,
        redis,
        keyPrefix,
        cpuProfileDir,
        print,
      });
      binds = { setup, result, goal: BINDS_GOAL };
      const rates = result.rounds.map((r) => r.requestsPerSecond);
      print(
        `\n  median ${formatRate(result.medianRate)} binds/s   rounds: ${rates.map(formatRate).join(', ')}` +
          `   (max−min: ${formatPercent((Math.max(...rates) - Math.min(...rates)) / result.medianRate)} of median)`,
      );
      if (result.medianServerCpuUs !== undefined) {
        print(
          `  server CPU per bind: ${Math.round(result.medianServerCpuUs)} µs (median of rounds)` +
            ` → ${formatRate(1e6 / result.medianServerCpuUs)} binds/s` +
            ' per core of the server process, whatever else runs',
        );
      }
      if (result.medianRedisCpuUs !== undefined) {
        print(
          `  Redis CPU per bind: ${Math.round(result.medianRedisCpuUs)} µs (median of rounds)` +
            ` → ≈ ${formatRate(1e6 / result.medianRedisCpuUs)} binds/s one Redis master can take` +
            ' (an estimate from CPU per bind, not a measured rate)',
        );
      }
      print(`  verify() after the binds: ${result.verified.ok ? 'ok' : `${result.verified.problems.length} problems`}`);
      if (result.commands) for (const line of commandTable('redis-appkeys', result.commands, 'bind')) print(line);
      if (result.cpuProfile)
        for (const line of await describeProfile('the binds server', result.cpuProfile)) print(line);
      problems.push(...result.problems);
    }

    if (parts.has('scale')) {
      const setup =
        `two private redis-servers side by side, one with ${formatCount(scaleSmall)} and one with` +
        ` ${formatCount(scaleN)} applications,` +
        ` each with a bound out-of-band client (PRODUCTION), ${appsPerOwner} applications per owner;` +
        (scaleLoad === 'scripts'
          ? " loaded through the store's own scripts (512 calls in flight, auto-pipelined);"
          : " loaded as pipelined HSET/ZADD of the scripts' exact layout" +
            ' (checked field by field against script-written records, and by verify());') +
        ' memory from INFO memory (used_memory less client buffers and script cache) after each phase;' +
        ` store calls from this process, one at a time, over a default-options ioredis connection,` +
        ` ${rounds} rounds × ${formatCount(scaleSamples)} calls` +
        ' per operation and store, alternating which store goes first; bind latency on pairs kept aside' +
        ' (bound timed, unbound untimed).';
      print(`\n==== registry at scale\n${setup}`);
      const result = await runScale({
        n: scaleN,
        small: scaleSmall,
        rounds,
        samples: scaleSamples,
        appsPerOwner,
        load: scaleLoad,
        cpuProfileDir,
        print,
      });
      scale = { setup, result, goals: SCALE_GOALS };
      print('');
      for (const line of scaleDetail(result)) print(line);
      const verifyProfile = result.verify.large.profile;
      if (verifyProfile) {
        for (const line of await describeProfile(
          `this process during verify() at ${formatCount(scaleN)}`,
          verifyProfile,
        ))
          print(line);
      }
      problems.push(...result.problems);
    }

    if (parts.has('cluster')) {
      const setup =
        `private Redis Clusters of ${listed(clusterSizes)} masters (no replicas, loopback,` +
        ' slots split evenly), up side by side; the server variant in its own process per cluster, on an' +
        ` ioredis Cluster client; client_credentials tokens from autocannon, ${connections} connections;` +
        ` first a counted batch of ${formatCount(clusterPerMaster)} tokens per master, whose ClientCredentials` +
        ` keys are counted on each master (SCAN); then ${warmupSeconds} s warm-up and ${rounds} ×` +
        ` ${durationSeconds} s rounds per cluster, alternating; Redis CPU per token per master from INFO cpu` +
        ' (used_cpu_user + used_cpu_sys) before and after each round, over the tokens issued in it.';
      print(`\n==== Redis Cluster: token endpoint\n${setup}`);
      const result = await runCluster({
        sizes: clusterSizes,
        variant: clusterVariant,
        rounds,
        warmupSeconds,
        load: { connections, durationSeconds },
        countedPerMaster: clusterPerMaster,
        keyPrefix,
        cpuProfileDir,
        print,
      });
      cluster = { setup, result, goals: CLUSTER_GOALS };
      for (const size of result.sizes) {
        if (size.cpuProfile)
          for (const line of await describeProfile(`the server on ${size.masters} masters`, size.cpuProfile))
            print(line);
      }
      problems.push(...result.problems);
    }

    print(`\ndone in ${Math.round((Date.now() - started) / 1000)} s\n`);
    print('----8<---- summary ----');
    print(
      renderSummary({
        machine,
        date: new Date(),
        load: `${formatPercent(busyBefore)} CPU busy before start`,
        externalRedis: redis?.external ?? false,
        tokens,
        secrets,
        binds,
        scale,
        cluster,
      }),
    );
    print('----8<----');
    if (problems.length > 0) {
      print(
        '\n!!!!!!!! INVALID RUN: some requests or checks failed; these numbers do not measure what they claim !!!!!!!!',
      );
      for (const problem of problems) print(`  - ${problem}`);
      return 1;
    }
    return 0;
  } finally {
    await redis?.stop(keyPrefix);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`\nbench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
