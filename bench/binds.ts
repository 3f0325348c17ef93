import { Redis } from 'ioredis';

import { redisStore } from '../adapters/redis/index.js';
import type { CommandReport } from './compare.js';
import { forEachIndex, Fixtures, normalizedClientTemplate } from './support/fixtures.js';
import { formatPercent, formatRate, formatSeconds, median, medianDefined } from './support/format.js';
import { describeFailures, isValid, runLoad, sequential, type LoadResult } from './support/load.js';
import { CpuMeter, microsEach } from './support/noise.js';
import { countCommands, type BenchRedis } from './support/redis.js';
import { indent, startServer } from './support/servers.js';
import { storePrefix } from './variants.js';
import { isBindingResponse, requestAdminToken } from './workload.js';

/**
 * "Provide keys" throughput: PUT /appkeys/applications/:id/keys/PRODUCTION over HTTP against the
 * redis-appkeys server, every request binding a distinct registered client to a distinct application
 * (created beforehand through the store's own scripts, from this process), as an admin.
 */
export interface BindsOptions {
  readonly rounds: number;
  /** Binds in the untimed warm-up. 0 to skip. */
  readonly warmupBinds: number;
  readonly bindsPerRound: number;
  readonly connections: number;
  /** Sequential binds whose Redis commands are counted. 0 to skip. */
  readonly countedBinds: number;
  readonly redis: BenchRedis;
  readonly keyPrefix: string;
  readonly cpuProfileDir: string | undefined;
  readonly print: (line: string) => void;
}

export interface BindRound extends LoadResult {
  readonly round: number;
  readonly valid: boolean;
  readonly othersCpu: number | undefined;
  /** CPU microseconds per successful bind: the server process, and redis-server. */
  readonly serverCpuUs: number | undefined;
  readonly redisCpuUs: number | undefined;
}

export interface BindsResult {
  readonly warmup: BindRound | undefined;
  readonly rounds: readonly BindRound[];
  readonly medianRate: number;
  /**
   * Median over rounds of the server's CPU µs per bind; 1e6 / it is what one core of the server can bind per
   * second.
   */
  readonly medianServerCpuUs: number | undefined;
  /**
   * Median over rounds of redis-server's CPU µs per bind (its process, all of the request's Redis work);
   * 1e6 / it estimates the binds per second one master can take. Undefined with REDIS_URL or off Linux.
   */
  readonly medianRedisCpuUs: number | undefined;
  readonly commands: CommandReport | undefined;
  readonly setup: { readonly pairs: number; readonly seconds: number };
  readonly verified: { readonly ok: boolean; readonly problems: readonly string[] };
  readonly problems: readonly string[];
  readonly cpuProfile: string | undefined;
}

const SERVER = 'redis-appkeys';

export async function runBinds(options: BindsOptions): Promise<BindsResult> {
  const { print, redis } = options;
  const prefix = `${options.keyPrefix}binds:`;
  const server = await startServer(SERVER, redis.url, prefix, {
    cpuProfile: options.cpuProfileDir ? { dir: options.cpuProfileDir, name: 'binds-redis-appkeys' } : undefined,
  });
  // the loader pipelines: setup is not what is measured
  const loader = new Redis(redis.url, { enableAutoPipelining: true });
  const store = redisStore({ client: loader, prefix: storePrefix({ prefix }), timeoutMs: 10_000 });
  const problems: string[] = [];
  const rounds: BindRound[] = [];
  let warmup: BindRound | undefined;
  let commands: CommandReport | undefined;
  try {
    const adminToken = await requestAdminToken(server.baseUrl);
    const fixtures = new Fixtures(await normalizedClientTemplate(), 4);

    // each batch (warm-up, rounds, counted) binds its own range of fresh pairs; autocannon builds one
    // request per connection ahead, so each range has that many spare
    const batches = [
      options.warmupBinds,
      ...Array.from({ length: options.rounds }, () => options.bindsPerRound),
      options.countedBinds,
    ];
    const ranges: Array<{ from: number; to: number; amount: number }> = [];
    let total = 0;
    for (const amount of batches) {
      const size = amount > 0 ? amount + 2 * options.connections : 0;
      ranges.push({ from: total, to: total + size, amount });
      total += size;
    }
    const setupStarted = process.hrtime.bigint();
    await forEachIndex(0, total, 256, (i) => fixtures.createPair(store, i));
    const setupSeconds = Number(process.hrtime.bigint() - setupStarted) / 1e9;
    print(
      `  set up ${formatRate(total)} applications and ${formatRate(total)} unbound clients in` +
        ` ${formatSeconds(setupSeconds)}` +
        ' (store scripts, pipelined, from this process)',
    );

    const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    const path = (i: number) => `/appkeys/applications/${fixtures.application(i)}/keys/PRODUCTION`;
    const body = (i: number) => JSON.stringify({ client_id: fixtures.client(i), client_secret: fixtures.secret });

    const run = async (round: number, range: { from: number; to: number; amount: number }): Promise<BindRound> => {
      let cursor = range.from;
      const meter = CpuMeter.start([server.pid, redis.pid]);
      const result = await runLoad(server.baseUrl, {
        request: {
          method: 'PUT',
          path: path(range.from),
          headers,
          setupRequest: (request) => {
            // past the range (never, by construction) the last pair repeats: a 200, counted as a failure
            const i = Math.min(cursor, range.to - 1);
            cursor += 1;
            return { ...request, path: path(i), body: body(i) };
          },
        },
        connections: options.connections,
        amount: range.amount,
        expectedStatus: 201,
        verifyBody: isBindingResponse,
      });
      const shares = meter.stop();
      const othersCpu = shares?.others;
      const entry: BindRound = {
        ...result,
        round,
        valid: isValid(result) && result.completed === range.amount,
        othersCpu,
        serverCpuUs: microsEach(shares, server.pid, result.ok),
        redisCpuUs: microsEach(shares, redis.external ? undefined : redis.pid, result.ok),
      };
      const label = round === 0 ? 'warm-up' : `round ${round}`;
      print(
        `  ${label.padEnd(8)} ${SERVER.padEnd(14)} ${formatRate(entry.requestsPerSecond).padStart(7)} binds/s` +
          `   p50 ${entry.latencyP50Ms} ms  p99 ${entry.latencyP99Ms} ms   ${formatRate(entry.ok)} created in` +
          ` ${formatSeconds(entry.elapsedSeconds)}` +
          `${entry.serverCpuUs === undefined ? '' : `   CPU/bind: server ${Math.round(entry.serverCpuUs)} µs`}` +
          `${entry.redisCpuUs === undefined ? '' : `, redis ${Math.round(entry.redisCpuUs)} µs`}` +
          `${othersCpu === undefined ? '' : `   others used ${formatPercent(othersCpu)} CPU`}`,
      );
      if (!entry.valid) {
        const problem =
          `${label} binds: INVALID,` +
          ` ${describeFailures(entry, 201)}` +
          `${entry.completed === range.amount ? '' : `, ${entry.completed} of ${range.amount} completed`}`;
        problems.push(problem);
        print(`!!!!!!!! ${problem} !!!!!!!!`);
        print(`    server log (tail):\n${indent(server.log())}`);
      }
      return entry;
    };

    if (options.warmupBinds > 0) warmup = await run(0, ranges[0]!);
    for (let round = 1; round <= options.rounds; round += 1) rounds.push(await run(round, ranges[round]!));

    const counted = ranges.at(-1)!;
    if (counted.amount > 0) {
      let batch: Awaited<ReturnType<typeof sequential>> | undefined;
      const count = await countCommands(redis, async () => {
        batch = await sequential(counted.amount, async (k) => {
          const i = counted.from + k;
          const response = await fetch(new URL(path(i), server.baseUrl), {
            method: 'PUT',
            headers,
            body: body(i),
            signal: AbortSignal.timeout(10_000),
          });
          const text = await response.text();
          if (response.status !== 201 || !isBindingResponse(text))
            throw new Error(`bind ${i}: ${response.status} ${text.slice(0, 200)}`);
        });
      });
      if (!batch) throw new Error('counted batch did not run');
      commands = { ...batch, commands: count };
      if (batch.failed > 0)
        problems.push(`counted binds: ${batch.failed} of ${batch.requests} failed (${batch.firstFailure ?? ''})`);
    }
    if (!server.running()) problems.push('the redis-appkeys server died during the binds');

    // every bind above must have left a consistent registry behind
    const verified = await store.verify();
    if (!verified.ok)
      problems.push(
        `verify() after the binds found ${verified.problems.length} problems:` +
          ` ${verified.problems.slice(0, 3).join('; ')}`,
      );
    return {
      warmup,
      rounds,
      medianRate: median(rounds.map((r) => r.requestsPerSecond)),
      medianServerCpuUs: medianDefined(rounds.map((r) => r.serverCpuUs)),
      medianRedisCpuUs: medianDefined(rounds.map((r) => r.redisCpuUs)),
      commands,
      setup: { pairs: total, seconds: setupSeconds },
      verified,
      problems,
      cpuProfile: server.cpuProfile,
    };
  } finally {
    loader.disconnect();
    await server.stop();
  }
}
