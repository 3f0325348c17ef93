import type { BindsResult } from '../binds.js';
import type { Comparison, ServerResult } from '../compare.js';
import { SCALE_OPERATIONS, type ScaleResult, type VerifyRun } from '../scale.js';
import {
  formatBytes,
  formatCount,
  formatMicros,
  formatPercent,
  formatPerRequest,
  formatRate,
  formatSeconds,
  medianDefined,
} from './format.js';
import {
  commandBreakdown,
  commandsPerRequest,
  machineLine,
  purposeOf,
  roundTripsPerRequest,
  sentRows,
  type Machine,
} from './report.js';
import { NOISY_SHARE, noisy, othersColumn, verdict, type Goal } from './goals.js';
import { clusterLines, type ClusterSection } from './summary-cluster.js';

export { atLeast, atMost, below, NOISY_SHARE, verdict, type Goal } from './goals.js';
export type { ClusterSection } from './summary-cluster.js';

export interface TokenSection {
  readonly setup: string;
  readonly comparisons: ReadonlyArray<{ readonly comparison: Comparison; readonly goal: Goal | undefined }>;
}

export interface BindsSection {
  readonly setup: string;
  readonly result: BindsResult;
  readonly goal: Goal;
}

export interface ScaleSection {
  readonly setup: string;
  readonly result: ScaleResult;
  readonly goals: { readonly perBinding: Goal; readonly latencyRatio: Goal; readonly verifySeconds: Goal };
}

export interface SummaryInput {
  readonly machine: Machine;
  readonly date: Date;
  /** How busy the machine was, so that a reader can judge the noise. */
  readonly load: string;
  readonly externalRedis: boolean;
  readonly tokens: TokenSection | undefined;
  /** The token endpoint with secrets hashed at rest against kept as given. */
  readonly secrets?: TokenSection | undefined;
  readonly binds: BindsSection | undefined;
  readonly scale: ScaleSection | undefined;
  readonly cluster?: ClusterSection | undefined;
}

function cpuPair(server: number | undefined, redis: number | undefined): string {
  const show = (us: number | undefined) => (us === undefined ? 'n/a' : `${Math.round(us)} µs`);
  return `${show(server)} · ${show(redis)}`;
}

function serverRow(server: ServerResult): string {
  const report = server.commands;
  return (
    `| ${server.name} | ${server.rounds.map((r) => formatRate(r.requestsPerSecond)).join(' · ')}` +
    ` | ${formatRate(server.medianRps)}` +
    ` | ${server.medianServerCpuUs === undefined ? 'n/a' : `${Math.round(server.medianServerCpuUs)} µs`}` +
    ` | ${othersColumn(server.rounds.map((r) => r.othersCpu))}` +
    ` | ${report ? formatPerRequest(roundTripsPerRequest(report)) : 'n/a'}` +
    ` | ${report ? `${formatPerRequest(commandsPerRequest(report))}: ${commandBreakdown(report)}` : 'n/a'} |`
  );
}

function tokenLines(section: TokenSection, title = 'Token endpoint'): string[] {
  const lines = [`##### ${title}`, '', section.setup];
  const described = new Map<string, string>();
  for (const { comparison } of section.comparisons) {
    for (const server of [comparison.a, comparison.b]) described.set(server.name, server.description);
  }
  lines.push('', ...[...described].map(([name, description]) => `- \`${name}\`: ${description}`));
  for (const { comparison, goal } of section.comparisons) {
    const shares = [...comparison.a.rounds, ...comparison.b.rounds].map((r) => r.othersCpu);
    lines.push(
      '',
      '| server | req/s per round | median req/s | server CPU / token (median)' +
        ' | CPU used by other processes per round | Redis round trips / token | Redis commands / token |',
      '|---|---|---:|---:|---|---:|---|',
      serverRow(comparison.a),
      serverRow(comparison.b),
      '',
      `**${comparison.b.name}/${comparison.a.name}: ${comparison.ratio.toFixed(3)}** in req/s` +
        ` (per round: ${comparison.roundRatios.map((r) => r.toFixed(2)).join(' · ')})` +
        (goal ? ` (${verdict(comparison.ratio, goal)})` : '') +
        (comparison.valid ? '' : ' — INVALID: some requests failed, see the log above') +
        (noisy(shares)
          ? ` — noisy: other processes used over ${formatPercent(NOISY_SHARE)} of the CPU in some rounds`
          : ''),
    );
    if (comparison.cpuRatio !== undefined) {
      lines.push(
        '',
        `**${comparison.b.name}/${comparison.a.name}: ${comparison.cpuRatio.toFixed(3)}** from server CPU per token` +
          ' (the ratio with a core each, which other processes hardly move)' +
          (goal ? ` (${verdict(comparison.cpuRatio, goal)})` : ''),
      );
    }
  }
  return lines;
}

function bindsLines(section: BindsSection): string[] {
  const { result } = section;
  const rounds = result.rounds;
  const lines = [
    '##### Provide keys: `PUT /appkeys/applications/:id/keys/PRODUCTION`',
    '',
    section.setup,
    '',
    '| binds/s per round | median binds/s | p50 · p99 latency per round | server · redis CPU / bind (median)' +
      ' | CPU used by other processes per round |',
    '|---|---:|---|---|---|',
    `| ${rounds.map((r) => formatRate(r.requestsPerSecond)).join(' · ')} | ${formatRate(result.medianRate)}` +
      ` | ${rounds.map((r) => `${r.latencyP50Ms} · ${r.latencyP99Ms} ms`).join(', ')}` +
      ` | ${cpuPair(result.medianServerCpuUs, medianDefined(rounds.map((r) => r.redisCpuUs)))}` +
      ` | ${othersColumn(rounds.map((r) => r.othersCpu))} |`,
    '',
    `**${formatRate(result.medianRate)} binds/s** measured (${verdict(result.medianRate, section.goal)})` +
      (result.problems.length > 0 ? ' — INVALID: see the log above' : '') +
      (noisy(rounds.map((r) => r.othersCpu))
        ? ` — noisy: other processes used over ${formatPercent(NOISY_SHARE)} of the CPU in some rounds`
        : ''),
  ];
  if (result.medianServerCpuUs !== undefined) {
    const capacity = 1e6 / result.medianServerCpuUs;
    lines.push(
      '',
      `**${formatRate(capacity)} binds/s** per core of the server process, from its CPU per bind` +
        ` (${verdict(capacity, section.goal)}; the server is one Node process, so one core is what it can use)`,
    );
  }
  if (result.medianRedisCpuUs !== undefined) {
    lines.push(
      '',
      `**≈ ${formatRate(1e6 / result.medianRedisCpuUs)} binds/s** one Redis master can take: an estimate, 1 /` +
        ` Redis CPU per bind (${Math.round(result.medianRedisCpuUs)} µs, median of rounds), not a measured rate`,
    );
  }
  const report = result.commands;
  if (report) {
    const rows = sentRows(report);
    const clientReads = rows
      .filter((row) => row.label === 'hgetall appkeys:client')
      .reduce((a, r) => a + r.perRequest, 0);
    const scripts = rows.filter((row) => row.label.startsWith('evalsha appkeys')).reduce((a, r) => a + r.perRequest, 0);
    const auth = rows
      .filter((row) => /oidc:(AccessToken|ClientCredentials)$/.test(row.label))
      .reduce((a, r) => a + r.perRequest, 0);
    const bindItself = Math.abs(clientReads - 1) < 0.01 && Math.abs(scripts - 1) < 0.01;
    lines.push(
      '',
      `Redis round trips per bind: **${formatPerRequest(roundTripsPerRequest(report))}** over` +
        ` ${report.requests} sequential binds` +
        ` = ${formatPerRequest(auth)} for authenticating the caller + ${formatPerRequest(clientReads)} client read` +
        ` + ${formatPerRequest(scripts)} script (goal for the bind: one client read, one script:` +
        ` ${bindItself ? 'met' : '**missed**'})`,
      '',
      '| per bind | command | for |',
      '|---:|---|---|',
      ...rows.map((row) => `| ${formatPerRequest(row.perRequest)} | \`${row.label}\` | ${purposeOf(row.label)} |`),
      '',
      `Inside the bind script: ${commandBreakdown(report).split('; in scripts: ')[1] ?? 'nothing counted'}.`,
    );
  }
  return lines;
}

/** verify() counts as streaming when its live heap grows no more at N than at the small size, give or take this. */
const FLAT_SLACK = 16 * 1024 * 1024;

function flat(result: ScaleResult): boolean {
  const live = (run: VerifyRun) => Math.max(0, run.peak.liveHeap - run.baseline.heapUsed);
  return live(result.verify.large) <= live(result.verify.small) + FLAT_SLACK;
}

function memoryGrowth(run: VerifyRun): string {
  const grew = (to: number, from: number) => formatBytes(Math.max(0, to - from));
  return (
    `${grew(run.peak.liveHeap, run.baseline.heapUsed)} · ${grew(run.peak.heapUsed, run.baseline.heapUsed)} ·` +
    ` ${grew(run.peak.rss, run.baseline.rss)}`
  );
}

function scaleLines(section: ScaleSection): string[] {
  const { result, goals } = section;
  const m = result.memory;
  const lines = [
    `##### Registry at scale: ${formatCount(result.n)} bound applications against ${formatCount(result.small)}`,
    '',
    section.setup,
    '',
    '| measure | at scale | goal |',
    '|---|---:|---|',
    `| Redis memory per binding (used_memory delta of binding ${formatCount(result.n)} loaded pairs / N)` +
      ` | ${formatBytes(m.perBinding)} | ${verdict(m.perBinding, goals.perBinding)} |`,
    `| Redis memory per application (record + 3 index entries)` +
      ` / per client record | ${formatBytes(m.perApplication)} / ${formatBytes(m.perClient)} | |`,
    `| Redis memory per bound application + client, in all | ${formatBytes(m.totalPerBoundPair)} | |`,
    // the verify() goal is for 1,000,000 bindings: measured at that size, else extrapolated and said so
    `| verify() over ${formatCount(result.n)} (SCAN, streaming) | ${formatSeconds(result.verify.large.seconds)}` +
      ` (${result.verify.large.result.ok ? 'ok' : 'PROBLEMS'}) | ${
        result.n >= 1_000_000
          ? verdict(result.verify.large.seconds, goals.verifySeconds)
          : `(goal ${goals.verifySeconds.text} is for 1,000,000)`
      } |`,
    ...(result.n < 1_000_000
      ? [
          `| verify() over 1,000,000, extrapolated linearly from ${formatCount(result.n)} (not measured;` +
            ` \`BENCH_SCALE_N=1000000\` measures it) |` +
            ` ${formatSeconds((result.verify.large.seconds * 1_000_000) / result.n)} |` +
            ` ${verdict((result.verify.large.seconds * 1_000_000) / result.n, goals.verifySeconds)} |`,
        ]
      : []),
    `| verify() memory, growth over its start: live heap (after full GC)` +
      ` · heapUsed · rss — at ${formatCount(result.small)}; at ${formatCount(result.n)}` +
      ` | ${memoryGrowth(result.verify.small)}; ${memoryGrowth(result.verify.large)} | flat:` +
      ` live-heap growth at ${formatCount(result.n)}` +
      ` within ${formatBytes(FLAT_SLACK)} of that at ${formatCount(result.small)}:` +
      ` ${flat(result) ? 'met' : '**missed**'} |`,
    '',
    `Memory: the client record is a \`${m.clientEncoding}\`` +
      ` (metadata ${m.metadataBytes} B > hash-max-listpack-value ${m.listpackValueLimit} B),` +
      ` sampled at ${formatBytes(m.clientBefore)} unbound and ${formatBytes(m.clientAfter)} bound;` +
      ` the application record (\`${m.applicationEncoding}\`)` +
      ` ${formatBytes(m.applicationBefore)} → ${formatBytes(m.applicationAfter)}. The binding's` +
      ` one client field adds` +
      ` ${formatBytes(m.bindingInHashtable)} to a \`${m.clientEncoding}\` client record,` +
      ` ${formatBytes(m.bindingInListpack)} to the same record` +
      ` as a listpack (scratch copies with hash-max-listpack-value 1024; averages of 8 sampled records). Each` +
      ` member of the ${formatCount(result.n)}-member indexes:` +
      ` ${formatBytes(m.indexMemberBytes)}.`,
    '',
    `| store call, sequential (${formatCount(result.small)} → ${formatCount(result.n)})` +
      ` | p50 | p99 | ratio p50 · p99 |`,
    '|---|---|---|---|',
  ];
  for (const operation of SCALE_OPERATIONS) {
    const { small, large } = result.latency[operation];
    const r50 = large.p50 / small.p50;
    const r99 = large.p99 / small.p99;
    const met = goals.latencyRatio.met(r50) && goals.latencyRatio.met(r99);
    lines.push(
      `| ${operation} | ${formatMicros(small.p50)} → ${formatMicros(large.p50)} | ${formatMicros(small.p99)} →` +
        ` ${formatMicros(large.p99)}` +
        ` | ${r50.toFixed(2)} · ${r99.toFixed(2)} (goal ${goals.latencyRatio.text}: ${met ? 'met' : '**missed**'}) |`,
    );
  }
  return lines;
}

const GIB = 1024 ** 3;

/** `1234567` → `1.23 M` */
function formatMillions(value: number): string {
  return value >= 1e6 ? `${(value / 1e6).toFixed(2)} M` : formatRate(value);
}

/**
 * What one master can hold and take: the registry keeps its one slot on a cluster, so these bound it,
 * however many masters there are. Memory from the scale part, CPU from the binds part.
 */
function capacityLines(binds: BindsSection | undefined, scale: ScaleSection | undefined): string[] {
  const rows: string[] = [];
  if (scale) {
    const m = scale.result.memory;
    rows.push(
      `| bound applications per GiB of Redis memory | ${formatMillions(GIB / m.totalPerBoundPair)}` +
        ` | ${formatBytes(m.totalPerBoundPair)} per application, its client and their binding, in all` +
        ` (used_memory at ${formatCount(scale.result.n)}; maxmemory counts the same) |`,
      `| bindings per GiB, the binding alone | ${formatMillions(GIB / m.perBinding)}` +
        ` | ${formatBytes(m.perBinding)} per binding, on top of applications and clients already stored |`,
    );
  }
  const redisUs = binds?.result.medianRedisCpuUs;
  if (redisUs !== undefined) {
    rows.push(
      `| binds/s one master can take (**estimate** from CPU per bind, not measured) | ≈ ${formatRate(1e6 / redisUs)}` +
        ` | 1 / Redis CPU per bind (${Math.round(redisUs)} µs, median of the binds part's rounds); all of the` +
        " request's Redis work, the caller's token check included, which on a cluster lands on other masters:" +
        ' a floor |',
    );
  }
  if (rows.length === 0) return [];
  return [
    '##### Registry capacity of one Redis master (the registry keeps one slot, on a cluster too)',
    '',
    '| capacity | figure | from |',
    '|---|---:|---|',
    ...rows,
  ];
}

/** A block to paste into the README as is: markdown, one section per part that ran. */
export function renderSummary(input: SummaryInput): string {
  const lines = [
    '#### Benchmarks (`npm run bench`)',
    '',
    `${input.date.toISOString().slice(0, 10)} · ${machineLine(input.machine)} · ${input.load}`,
  ];
  if (input.externalRedis)
    lines.push('', 'Redis: shared server from REDIS_URL; command counts include any other traffic on it.');
  if (input.tokens) lines.push('', ...tokenLines(input.tokens));
  if (input.secrets) lines.push('', ...tokenLines(input.secrets, 'Token endpoint, secrets hashed at rest'));
  if (input.binds) lines.push('', ...bindsLines(input.binds));
  if (input.scale) lines.push('', ...scaleLines(input.scale));
  const capacity = capacityLines(input.binds, input.scale);
  if (capacity.length > 0) lines.push('', ...capacity);
  if (input.cluster) lines.push('', ...clusterLines(input.cluster));
  return lines.join('\n');
}
