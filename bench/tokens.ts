/**
 * Token endpoint throughput, server variants side by side: `npm run bench [-- a:b …]`.
 *
 * Each server variant (bench/variants.ts) runs in a child process; this process generates the load
 * with autocannon and owns a private redis-server (or uses REDIS_URL). Every response is checked: a
 * round with any failed request is flagged and the run exits non-zero.
 *
 * Environment (the defaults keep a run of the default pair near 75 s):
 *   BENCH_DURATION     seconds per timed round (10)
 *   BENCH_ROUNDS       timed rounds per server (3)
 *   BENCH_WARMUP       warm-up seconds per server (2)
 *   BENCH_CONNECTIONS  concurrent connections (16)
 *   BENCH_COUNT        sequential requests whose Redis commands are counted (500)
 *   REDIS_URL          use this Redis instead of starting one (its other traffic skews command counts)
 * Arguments: pairs to compare as `a:b` (variant names); default `memory:redis`.
 */
import { randomBytes } from 'node:crypto';

import { compare, type Comparison, type CompareOptions } from './compare.js';
import { commandTable, cpuBusyShare, describeMachine, formatPercent, machineLine, renderSummary } from './support/report.js';
import { formatRate } from './support/format.js';
import { startBenchRedis, type BenchRedis } from './support/redis.js';
import { isVariantName, VARIANTS, type VariantName } from './variants.js';

/** Pairs run by default; add one here to compare another setup (e.g. with and without appkeys). */
const DEFAULT_PAIRS: ReadonlyArray<readonly [VariantName, VariantName]> = [['memory', 'redis']];

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function pairsFromArgs(args: readonly string[]): Array<readonly [VariantName, VariantName]> {
  if (args.length === 0) return [...DEFAULT_PAIRS];
  return args.map((arg) => {
    const [a = '', b = ''] = arg.split(':');
    if (!isVariantName(a) || !isVariantName(b) || a === b) {
      throw new Error(`"${arg}" is not a pair a:b of two variants (${Object.keys(VARIANTS).join(', ')})`);
    }
    return [a, b] as const;
  });
}

const durationSeconds = intFromEnv('BENCH_DURATION', 10, 1, 600);
const rounds = intFromEnv('BENCH_ROUNDS', 3, 1, 50);
const warmupSeconds = intFromEnv('BENCH_WARMUP', 2, 0, 60);
// The server under test is one Node process, i.e. one core; the other core is shared by autocannon and
// redis-server. 16 connections keep the server's event loop saturated (at a few thousand req/s and a
// few ms per request only a handful need to be in flight) with headroom, while more would only lengthen
// queues (latency) and make autocannon itself eat the core Redis needs.
const connections = intFromEnv('BENCH_CONNECTIONS', 16, 1, 1000);
const countedRequests = intFromEnv('BENCH_COUNT', 500, 0, 100_000);
const pairs = pairsFromArgs(process.argv.slice(2));

const print = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  // every round, warm-up and start-up is bounded by itself; this catches anything that still hangs
  const expectedSeconds = pairs.length * (2 * (warmupSeconds + rounds * durationSeconds) + 30);
  setTimeout(() => {
    process.stderr.write(`\nbench: still running after ${2 * expectedSeconds} s, giving up\n`);
    process.exit(1);
  }, 2 * expectedSeconds * 1000).unref();

  const started = Date.now();
  const needsRedis = pairs.some((pair) => pair.some((name) => VARIANTS[name].redis));
  let redis: BenchRedis | undefined;
  const keyPrefix = `bench:${randomBytes(4).toString('hex')}:`;
  const comparisons: Comparison[] = [];
  try {
    // started even for Redis-free pairs when counting, so the counts show they send nothing
    if (needsRedis || countedRequests > 0) redis = await startBenchRedis();
    const machine = describeMachine(redis?.version ?? 'not used');
    const setup = 'client_credentials grant, opaque access tokens, one static confidential client (client_secret_basic);'
      + ` autocannon in the parent process, ${connections} connections, no pipelining;`
      + ` each server in its own process, ${warmupSeconds} s warm-up, then ${rounds} × ${durationSeconds} s rounds per server, alternating;`
      + (redis && countedRequests > 0
        ? ` Redis commands counted over ${countedRequests} sequential requests after the load (INFO commandstats, MONITOR for in-script calls).`
        : ' Redis commands not counted.');
    // the load average would still count a previous run; what others use right now is what matters
    const busyBefore = await cpuBusyShare(1000);
    print(`token endpoint benchmark · ${machineLine(machine)}`);
    if (busyBefore > 0.25) {
      print(`!!! the machine is busy (${formatPercent(busyBefore)} of CPU time used by other processes just before start): expect noisy rounds`);
    }
    print(setup);
    print(`redis: ${redis ? (redis.external ? `${redis.url} (REDIS_URL, shared)` : `private redis-server at ${redis.url}`) : 'none'}`);

    const options: CompareOptions = {
      rounds, warmupSeconds, load: { connections, durationSeconds }, countedRequests, redis, keyPrefix, print,
    };
    for (const [a, b] of pairs) {
      const comparison = await compare(a, b, options);
      comparisons.push(comparison);
      print('');
      for (const server of [comparison.a, comparison.b]) {
        const rates = server.rounds.map((r) => r.requestsPerSecond);
        const spread = (Math.max(...rates) - Math.min(...rates)) / server.medianRps;
        print(`  ${server.name.padEnd(12)} median ${formatRate(server.medianRps).padStart(7)} req/s`
          + `   rounds: ${rates.map(formatRate).join(', ')}   (max−min: ${formatPercent(spread)} of median)`);
        if (spread > 0.2) {
          print(`  !!! ${server.name}: rounds differ by ${formatPercent(spread)} of their median: the machine was noisy;`
            + ' rerun on a quiet machine or raise BENCH_ROUNDS');
        }
      }
      print(`  ratio ${b}/${a}: ${comparison.ratio.toFixed(3)}${comparison.valid ? '' : '   !!! INVALID: requests failed, see above'}`);
      if (comparison.a.commands || comparison.b.commands) {
        print('\n  Redis commands per token request');
        for (const server of [comparison.a, comparison.b]) for (const line of commandTable(server)) print(line);
      }
    }

    const invalid = comparisons.filter((c) => !c.valid);
    print(`\ndone in ${Math.round((Date.now() - started) / 1000)} s\n`);
    print('----8<---- summary ----');
    const load = `${formatPercent(busyBefore)} CPU busy before start`;
    print(renderSummary({ machine, date: new Date(), setup, load, comparisons, externalRedis: redis?.external ?? false }));
    print('----8<----');
    if (invalid.length > 0) {
      print('\n!!!!!!!! INVALID RUN: some requests failed; these numbers do not measure token issuance !!!!!!!!');
      for (const comparison of invalid) {
        for (const problem of [...comparison.a.problems, ...comparison.b.problems]) print(`  - ${problem}`);
      }
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
    process.stderr.write(`\nbench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
