import { compare, type Comparison, type CompareOptions } from './compare.js';
import { formatPercent, formatRate } from './support/format.js';
import { describeProfile } from './support/profile.js';
import { serverCommandTable } from './support/report.js';
import { isVariantName, VARIANTS, type VariantName } from './variants.js';

/**
 * Token endpoint throughput, server variants side by side: each variant (bench/variants.ts) runs in a
 * child process; this process generates the load with autocannon. Every response is checked: a round
 * with any failed request is flagged and the run exits non-zero.
 */

export type Pair = readonly [VariantName, VariantName];

/**
 * Pairs run by default: with and without appkeys (like with like: both read a registered client), and Redis
 * against memory.
 */
export const DEFAULT_PAIRS: readonly Pair[] = [
  ['redis', 'redis-appkeys'],
  ['memory', 'redis'],
];

/**
 * The `secrets` part: the token endpoint with secrets hashed at rest against kept as given, with and without
 * the cache.
 */
export const SECRETS_PAIRS: readonly Pair[] = [
  ['redis-appkeys', 'redis-appkeys-hashed'],
  ['redis-appkeys', 'redis-appkeys-hashed-nocache'],
];

export function parsePair(arg: string): Pair | undefined {
  const [a = '', b = '', ...rest] = arg.split(':');
  if (rest.length > 0 || !isVariantName(a) || !isVariantName(b) || a === b) return undefined;
  return [a, b] as const;
}

export function pairError(arg: string): string {
  return (
    `"${arg}" is not a part (tokens, secrets, binds, scale, cluster) nor a pair a:b of two variants` +
    ` (${Object.keys(VARIANTS).join(', ')})`
  );
}

export function tokenSetup(
  options: Pick<CompareOptions, 'load' | 'warmupSeconds' | 'rounds' | 'countedRequests' | 'redis'>,
): string {
  return (
    'client_credentials grant, opaque access tokens, one confidential client' +
    ' (client_secret_basic) registered at run time' +
    ' (not static, so each token request looks it up: like with like);' +
    ` autocannon in the parent process, ${options.load.connections} connections, no pipelining;` +
    ` each server in its own process, ${options.warmupSeconds} s warm-up,` +
    ` then ${options.rounds} × ${options.load.durationSeconds} s rounds per server, alternating;` +
    (options.redis && options.countedRequests > 0
      ? ` Redis commands counted over ${options.countedRequests} sequential requests after the load` +
        ` (INFO commandstats, MONITOR for in-script calls and what each command touched).`
      : ' Redis commands not counted.')
  );
}

export async function runTokens(pairs: readonly Pair[], options: CompareOptions): Promise<Comparison[]> {
  const { print } = options;
  const comparisons: Comparison[] = [];
  for (const [index, [a, b]] of pairs.entries()) {
    // a key space per pair: a variant that appears in two pairs finds none of its first run's records
    const comparison = await compare(a, b, { ...options, keyPrefix: `${options.keyPrefix}${index}:` });
    comparisons.push(comparison);
    print('');
    for (const server of [comparison.a, comparison.b]) {
      const rates = server.rounds.map((r) => r.requestsPerSecond);
      const spread = (Math.max(...rates) - Math.min(...rates)) / server.medianRps;
      print(
        `  ${server.name.padEnd(14)} median ${formatRate(server.medianRps).padStart(7)} req/s` +
          `   rounds: ${rates.map(formatRate).join(', ')}   (max−min: ${formatPercent(spread)} of median)`,
      );
      if (spread > 0.2) {
        print(
          `  !!! ${server.name}: rounds differ by ${formatPercent(spread)} of their median: the machine was noisy;` +
            ' rerun on a quiet machine or raise BENCH_ROUNDS',
        );
      }
    }
    print(
      `  ratio ${b}/${a}: ${comparison.ratio.toFixed(3)} in req/s (per round:` +
        ` ${comparison.roundRatios.map((r) => r.toFixed(2)).join(', ')})` +
        `${comparison.valid ? '' : '   !!! INVALID: requests failed, see above'}`,
    );
    if (comparison.cpuRatio !== undefined) {
      print(
        `  ratio ${b}/${a} from server CPU per request (${Math.round(comparison.a.medianServerCpuUs ?? 0)} µs /` +
          ` ${Math.round(comparison.b.medianServerCpuUs ?? 0)} µs):` +
          ` ${comparison.cpuRatio.toFixed(3)} — what the throughput ratio would be with a core` +
          ` each, whatever else runs`,
      );
    }
    if (comparison.a.commands || comparison.b.commands) {
      print('\n  Redis commands per token request');
      for (const server of [comparison.a, comparison.b]) for (const line of serverCommandTable(server)) print(line);
    }
    for (const server of [comparison.a, comparison.b]) {
      if (server.cpuProfile) for (const line of await describeProfile(server.name, server.cpuProfile)) print(line);
    }
  }
  return comparisons;
}
