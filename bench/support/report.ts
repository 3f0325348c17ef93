import { readFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, platform } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import type { CommandReport, Comparison, ServerResult } from '../compare.js';
import { formatPerRequest, formatRate } from './format.js';

export interface Machine {
  readonly cores: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly redis: string;
  readonly oidcProvider: string;
  readonly platform: string;
}

export function describeMachine(redisVersion: string): Machine {
  let oidcProvider = 'unknown';
  try {
    const url = new URL('../../node_modules/oidc-provider/package.json', import.meta.url);
    oidcProvider = (JSON.parse(readFileSync(url, 'utf8')) as { version?: string }).version ?? oidcProvider;
  } catch {
    // a hoisted or linked install: the version is a nicety, not worth failing over
  }
  return {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
    node: process.version,
    redis: redisVersion,
    oidcProvider,
    platform: `${platform()} ${arch()}`,
  };
}

/** Share of all CPUs' time spent not idle during the next `ms` milliseconds (0 to 1). */
export async function cpuBusyShare(ms: number): Promise<number> {
  const totals = () => cpus().reduce((acc, cpu) => {
    const { user, nice, sys, irq, idle } = cpu.times;
    return { busy: acc.busy + user + nice + sys + irq, all: acc.all + user + nice + sys + irq + idle };
  }, { busy: 0, all: 0 });
  const before = totals();
  await sleep(ms);
  const after = totals();
  const all = after.all - before.all;
  return all > 0 ? (after.busy - before.busy) / all : 0;
}

export function formatPercent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

export function machineLine(machine: Machine): string {
  return `${machine.cores} cores (${machine.cpuModel}) · Node ${machine.node} · Redis ${machine.redis}`
    + ` · oidc-provider ${machine.oidcProvider} · ${machine.platform}`;
}

interface CommandRow {
  readonly name: string;
  /** Sent by the server (one round trip each, as nothing here pipelines across requests). */
  readonly sent: number;
  /** Run by a Lua script inside one of those round trips. */
  readonly inScripts: number;
}

/** Per-request counts by command, biggest first. */
export function commandRows(report: CommandReport): CommandRow[] {
  const rows: CommandRow[] = [];
  for (const [name, calls] of report.commands.total) {
    const inScripts = Math.min(calls, report.commands.fromScripts.get(name) ?? 0);
    rows.push({ name, sent: (calls - inScripts) / report.requests, inScripts: inScripts / report.requests });
  }
  return rows.sort((x, y) => (y.sent + y.inScripts) - (x.sent + x.inScripts) || x.name.localeCompare(y.name));
}

export function roundTripsPerRequest(report: CommandReport): number {
  return commandRows(report).reduce((sum, row) => sum + row.sent, 0);
}

export function commandsPerRequest(report: CommandReport): number {
  return commandRows(report).reduce((sum, row) => sum + row.sent + row.inScripts, 0);
}

/** `evalsha 1.00; in scripts: del 1.00, hset 1.00` */
export function commandBreakdown(report: CommandReport): string {
  const rows = commandRows(report);
  if (rows.length === 0) return 'none';
  const sent = rows.filter((row) => row.sent > 0).map((row) => `${row.name} ${formatPerRequest(row.sent)}`);
  const inScripts = rows.filter((row) => row.inScripts > 0).map((row) => `${row.name} ${formatPerRequest(row.inScripts)}`);
  return [sent.join(', '), inScripts.length > 0 ? `in scripts: ${inScripts.join(', ')}` : '']
    .filter(Boolean).join('; ');
}

/** The detailed per-server command table printed after each comparison. */
export function commandTable(server: ServerResult): string[] {
  const report = server.commands;
  if (!report) return [`  ${server.name}: not counted`];
  const lines = [
    `  ${server.name}: ${report.requests} sequential token requests → ${formatPerRequest(roundTripsPerRequest(report))} round trips`
      + ` and ${formatPerRequest(commandsPerRequest(report))} commands per request`,
  ];
  for (const row of commandRows(report)) {
    const where = row.sent > 0 && row.inScripts > 0
      ? `${formatPerRequest(row.sent)} sent + ${formatPerRequest(row.inScripts)} in scripts`
      : row.sent > 0 ? 'sent by the server' : 'run inside a script';
    lines.push(`    ${row.name.padEnd(14)} ${formatPerRequest(row.sent + row.inScripts).padStart(6)}   ${where}`);
  }
  return lines;
}

export interface SummaryInput {
  readonly machine: Machine;
  readonly date: Date;
  readonly setup: string;
  /** How busy the machine was before the run, so that a reader can judge the noise. */
  readonly load: string;
  readonly comparisons: readonly Comparison[];
  readonly externalRedis: boolean;
}

/** A block to paste into the README as is: markdown, one table per comparison. */
export function renderSummary(input: SummaryInput): string {
  const lines = [
    '#### Token endpoint throughput (`npm run bench`)',
    '',
    `${input.date.toISOString().slice(0, 10)} · ${machineLine(input.machine)} · ${input.load}`,
    '',
    input.setup,
  ];
  if (input.externalRedis) lines.push('', 'Redis: shared server from REDIS_URL; command counts include any other traffic on it.');
  for (const comparison of input.comparisons) {
    lines.push(
      '',
      '| server | req/s per round | median req/s | Redis round trips / request | Redis commands / request |',
      '|---|---|---:|---:|---|',
    );
    for (const server of [comparison.a, comparison.b]) {
      const report = server.commands;
      lines.push(`| ${server.name}: ${server.description} | ${server.rounds.map((r) => formatRate(r.requestsPerSecond)).join(' · ')}`
        + ` | ${formatRate(server.medianRps)}`
        + ` | ${report ? formatPerRequest(roundTripsPerRequest(report)) : 'n/a'}`
        + ` | ${report ? `${formatPerRequest(commandsPerRequest(report))}: ${commandBreakdown(report)}` : 'n/a'} |`);
    }
    lines.push('', `**${comparison.b.name}/${comparison.a.name}: ${comparison.ratio.toFixed(2)}**`
      + (comparison.valid ? '' : ' — INVALID: some requests failed, see the log above'));
  }
  return lines.join('\n');
}
