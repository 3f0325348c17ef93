import { readFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, platform } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import type { CommandReport, ServerResult } from '../compare.js';
import { formatPerRequest } from './format.js';

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
  const totals = () =>
    cpus().reduce(
      (acc, cpu) => {
        const { user, nice, sys, irq, idle } = cpu.times;
        return { busy: acc.busy + user + nice + sys + irq, all: acc.all + user + nice + sys + irq + idle };
      },
      { busy: 0, all: 0 },
    );
  const before = totals();
  await sleep(ms);
  const after = totals();
  const all = after.all - before.all;
  return all > 0 ? (after.busy - before.busy) / all : 0;
}

export function machineLine(machine: Machine): string {
  return (
    `${machine.cores} cores (${machine.cpuModel}) · Node ${machine.node} · Redis ${machine.redis}` +
    ` · oidc-provider ${machine.oidcProvider} · ${machine.platform}`
  );
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
  return rows.sort((x, y) => y.sent + y.inScripts - (x.sent + x.inScripts) || x.name.localeCompare(y.name));
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
  const inScripts = rows
    .filter((row) => row.inScripts > 0)
    .map((row) => `${row.name} ${formatPerRequest(row.inScripts)}`);
  return [sent.join(', '), inScripts.length > 0 ? `in scripts: ${inScripts.join(', ')}` : '']
    .filter(Boolean)
    .join('; ');
}

/** What a sent command is for, where the benchmark knows it. */
const PURPOSES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^hgetall oidc:AccessToken$/, 'Bearer check: AccessToken lookup (an admin client-credentials token misses it)'],
  [/^hgetall oidc:ClientCredentials$/, 'Bearer check: ClientCredentials lookup'],
  [/^hgetall oidc:Client$/, 'client lookup (redisAdapter Client model)'],
  [/^hgetall appkeys:client$/, 'client lookup (appkeys store: metadata + binding)'],
  [/^evalsha oidcWriteInstance-\d+$/, 'token saved (redisAdapter upsert)'],
  [/^evalsha appkeysBind-\d+$/, 'bind script (throttle check + binding, atomic)'],
];

export function purposeOf(label: string): string {
  return PURPOSES.find(([pattern]) => pattern.test(label))?.[1] ?? '';
}

/** Sent commands per request by what they touched (MONITOR), biggest first. */
export function sentRows(report: CommandReport): Array<{ readonly label: string; readonly perRequest: number }> {
  return [...report.commands.sent]
    .map(([label, calls]) => ({ label, perRequest: calls / report.requests }))
    .sort((x, y) => y.perRequest - x.perRequest || x.label.localeCompare(y.label));
}

/** Whether MONITOR's view of sent commands agrees with INFO commandstats (it should, on a private server). */
export function sentAgrees(report: CommandReport): boolean {
  const monitored = [...report.commands.sent.values()].reduce((a, b) => a + b, 0) / report.requests;
  return Math.abs(monitored - roundTripsPerRequest(report)) < 0.01;
}

/** The detailed command table of one server: round trips by purpose, then commands run inside scripts. */
export function commandTable(name: string, report: CommandReport | undefined, unit = 'request'): string[] {
  if (!report) return [`  ${name}: not counted`];
  const lines = [
    `  ${name}: ${report.requests} sequential ${unit}s →` +
      ` ${formatPerRequest(roundTripsPerRequest(report))} round trips` +
      ` and ${formatPerRequest(commandsPerRequest(report))} commands per ${unit}`,
  ];
  for (const row of sentRows(report)) {
    lines.push(`    ${formatPerRequest(row.perRequest).padStart(6)}  ${row.label.padEnd(32)} ${purposeOf(row.label)}`);
  }
  const inScripts = commandRows(report)
    .filter((row) => row.inScripts > 0)
    .map((row) => `${row.name} ${formatPerRequest(row.inScripts)}`);
  if (inScripts.length > 0) lines.push(`    inside scripts: ${inScripts.join(', ')}`);
  if (!sentAgrees(report))
    lines.push(
      '    !!! MONITOR and INFO commandstats disagree on the round trips: another client used Redis meanwhile',
    );
  return lines;
}

/** Per-server token-endpoint detail for the printout. */
export function serverCommandTable(server: ServerResult): string[] {
  return commandTable(server.name, server.commands, 'token request');
}
