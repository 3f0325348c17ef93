import type { ClusterResult, ClusterSize } from '../cluster.js';
import { formatCount, formatPercent, formatRate } from './format.js';
import { noisy, NOISY_SHARE, othersColumn, verdict, type Goal } from './goals.js';

export interface ClusterSection {
  readonly setup: string;
  readonly result: ClusterResult;
  readonly goals: {
    /** On every cluster of several masters: the largest departure of one master's token keys from an even split. */
    readonly spread: Goal;
    /** Busiest master's Redis CPU per token on a cluster over that on the next smaller one. */
    readonly cpuFalling: Goal;
  };
}

const micros = (us: number) => (Number.isFinite(us) ? `${Math.round(us)} µs` : 'n/a');
const mastersLabel = (n: number) => `${n} master${n === 1 ? '' : 's'}`;
/** `0.0123` → `1.2%`: a spread of keys needs the decimal that formatPercent rounds away. */
export const formatShare = (share: number) => (Number.isFinite(share) ? `${(share * 100).toFixed(1)}%` : 'n/a');

/** The master whose CPU per token limits the cluster: the busiest. */
export function busiest(size: ClusterSize): number {
  return Math.max(...size.masterCpuUs);
}

function sizeRow(size: ClusterSize): string {
  const perMaster = size.masterCpuUs
    .map((us, i) => `${micros(us)}${i === size.registryMaster ? ' (R)' : ''}`)
    .join(' · ');
  return (
    `| ${size.masters} | ${size.rounds.map((r) => formatRate(r.requestsPerSecond)).join(' · ')}` +
    ` | ${formatRate(size.medianRps)}` +
    ` | ${size.medianServerCpuUs === undefined ? 'n/a' : micros(size.medianServerCpuUs)}` +
    ` | ${perMaster} | ${micros(busiest(size))} | ${micros(size.masterCpuUs.reduce((a, b) => a + b, 0))}` +
    ` | ${othersColumn(size.rounds.map((r) => r.othersCpu))} |`
  );
}

/** The cluster part's section of the summary: throughput, Redis CPU per master, and the spread of keys. */
export function clusterLines(section: ClusterSection): string[] {
  const { result, goals } = section;
  const sizes = result.sizes;
  const lines = [
    `##### Redis Cluster: the token endpoint on ${sizes.map((size) => size.masters).join(' · ')} masters`,
    '',
    section.setup,
    '',
    `- \`${result.variant}\`: ${result.description}; here its client is an ioredis Cluster on the cluster's masters`,
    '',
    '| masters | tokens/s per round | median tokens/s | server CPU / token' +
      ' | Redis CPU / token per master (median of rounds; R: the registry’s master)' +
      ' | busiest master | all masters | CPU used by other processes per round |',
    '|---:|---|---:|---:|---|---:|---:|---|',
    ...sizes.map(sizeRow),
  ];
  const shares = sizes.flatMap((size) => size.rounds.map((r) => r.othersCpu));
  if (noisy(shares))
    lines.push('', `Noisy: other processes used over ${formatPercent(NOISY_SHARE)} of the CPU in some rounds.`);
  for (const [i, size] of sizes.entries()) {
    const previous = sizes[i - 1];
    if (!previous) continue;
    const rounds = size.rounds.map((r, k) => r.requestsPerSecond / (previous.rounds[k]?.requestsPerSecond ?? NaN));
    const cpu = busiest(size) / busiest(previous);
    const versus = `${mastersLabel(size.masters)} / ${mastersLabel(previous.masters)}`;
    lines.push(
      '',
      `Tokens/s, ${versus}: **${(size.medianRps / previous.medianRps).toFixed(3)}**` +
        ` (per round: ${rounds.map((r) => r.toFixed(2)).join(' · ')})`,
      '',
      `Redis CPU per token on the busiest master, ${versus}: **${cpu.toFixed(3)}**` +
        ` (${micros(busiest(size))} / ${micros(busiest(previous))}) (${verdict(cpu, goals.cpuFalling)})`,
    );
  }
  const spread = sizes.filter((size) => size.masters > 1);
  if (spread.length > 0) {
    lines.push(
      '',
      '| masters | tokens counted | token keys per master | largest departure from an even split |',
      '|---:|---:|---|---|',
      ...spread.map(
        (size) =>
          `| ${size.masters} | ${formatCount(size.counted)} | ${size.keysPerMaster.map(formatCount).join(' · ')}` +
          ` | ${formatShare(size.spread)} (${verdict(size.spread, goals.spread)}) |`,
      ),
    );
  }
  if (result.problems.length > 0) lines.push('', 'INVALID: some requests or checks failed, see the log above.');
  return lines;
}
