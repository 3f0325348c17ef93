import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { formatPercent } from './format.js';

/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) that a summary needs. */
interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
    readonly children?: readonly number[];
  }>;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Where a function lives, coarsely: a package, this repository's code, Node's internals, or V8's pseudo-frames. */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const own = /\/(src|adapters|bench)\//.exec(url);
  if (own) return `appkeys ${own[1]!}/`;
  return url;
}

function frameName(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const file = frame.url
    .replace(/^.*\/node_modules\//, '')
    .replace(/^file:\/\/.*?\/(src|adapters|bench)\//, '$1/')
    .replace(/^node:/, '');
  // this repository's TypeScript runs transpiled by tsx: its line numbers would not match the sources
  const line = frame.url.includes('/node_modules/') || frame.url.startsWith('node:') ? `:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'} ${file ? `${file}${line}` : ''}`.trim();
}

export interface ProfileSummary {
  /** Sampled milliseconds, and how many of them the process was busy (not idle). */
  readonly totalMs: number;
  readonly busyMs: number;
  /** Self time by area, share of busy time, biggest first. */
  readonly areas: ReadonlyArray<readonly [string, number]>;
  /** Self time by function, share of busy time. */
  readonly selfTop: ReadonlyArray<readonly [string, number]>;
  /** Time with the function on the stack (inclusive), share of busy time, for functions outside Node's internals. */
  readonly inclusiveTop: ReadonlyArray<readonly [string, number]>;
}

/**
 * The busiest `.cpuprofile` at `path`: the file itself, or of a directory the one with the most
 * non-idle samples (`--cpu-prof` writes one per thread; the main thread is the one doing the work).
 */
export async function busiestProfile(path: string): Promise<string> {
  if (!(await stat(path)).isDirectory()) return path;
  const files = (await readdir(path)).filter((name) => name.endsWith('.cpuprofile')).map((name) => join(path, name));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${path}`);
  let best = files[0]!;
  let bestBusy = -1;
  for (const file of files) {
    const busy = (await summarizeProfile(file, 1)).busyMs;
    if (busy > bestBusy) [best, bestBusy] = [file, busy];
  }
  return best;
}

/** Reads a `.cpuprofile` and sums its samples by area and by function (self and inclusive). */
export async function summarizeProfile(path: string, top = 12): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<number, number>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + delta);
    totalUs += delta;
  });

  const areas = new Map<string, number>();
  const selfByName = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const { functionName, url } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const name = frameName(node.callFrame);
    selfByName.set(name, (selfByName.get(name) ?? 0) + us);
    // inclusive: every distinct function on this sample's stack
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (!frame.url || frame.url.startsWith('node:')) continue;
      const key = frameName(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const busyUs = totalUs - idleUs;
  const ranked = (map: Map<string, number>, n: number) =>
    [...map]
      .sort((x, y) => y[1] - x[1])
      .slice(0, n)
      .map(([name, us]) => [name, busyUs > 0 ? us / busyUs : 0] as const);
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    areas: ranked(areas, top),
    selfTop: ranked(selfByName, top),
    inclusiveTop: ranked(inclusive, top * 2),
  };
}

/** Summarizes the busiest profile at `path` (a file or a directory of per-thread profiles) as printable lines. */
export async function describeProfile(label: string, path: string): Promise<string[]> {
  try {
    const file = await busiestProfile(path);
    return profileLines(label, file, await summarizeProfile(file));
  } catch (err) {
    return [`  CPU profile of ${label} unreadable: ${(err as Error).message}`];
  }
}

/** The summary as printable lines. */
export function profileLines(label: string, path: string, summary: ProfileSummary): string[] {
  const lines = [
    `  CPU profile of ${label} (${path}): ${Math.round(summary.busyMs)} ms busy of` +
      ` ${Math.round(summary.totalMs)} ms sampled`,
    '    self time by area (share of busy time):',
    ...summary.areas.map(([name, share]) => `      ${formatPercent(share).padStart(4)}  ${name}`),
    '    self time by function:',
    ...summary.selfTop.map(([name, share]) => `      ${formatPercent(share).padStart(4)}  ${name}`),
    '    on the stack (inclusive), outside Node internals:',
    ...summary.inclusiveTop.map(([name, share]) => `      ${formatPercent(share).padStart(4)}  ${name}`),
  ];
  return lines;
}
