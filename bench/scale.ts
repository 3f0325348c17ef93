import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setTimeout as sleep } from 'node:timers/promises';

import { Redis } from 'ioredis';

import { redisStore } from '../adapters/redis/index.js';
import { StoreKeys } from '../adapters/redis/keys.js';
import {
  BINDING_FIELD,
  decodeBinding,
  encodeBinding,
  keyField,
  type ApplicationField,
  type BoundPart,
  type ClientField,
} from '../adapters/redis/layout.js';
import { metadataDigest } from '../src/canonical-json.js';
import type { BindingStore } from '../src/store.js';
import type { VerifyResult } from '../src/types.js';
import { forEachIndex, Fixtures, normalizedClientTemplate } from './support/fixtures.js';
import {
  formatBytes,
  formatCount,
  formatMicros,
  formatPercent,
  formatRate,
  formatSeconds,
  percentile,
} from './support/format.js';
import { CpuMeter } from './support/noise.js';
import { infoNumber } from '../support/redis-server.js';
import { commandTimes, redisCpuSeconds, startBenchRedis, type BenchRedis } from './support/redis.js';

/**
 * The registry at scale: two private redis-servers side by side, one holding `small` bound
 * applications and one holding `n`, loaded with the store's own layout; then what a binding costs in
 * Redis memory, lookup and bind latency on both in alternating rounds, and `verify()` over both.
 */
export interface ScaleOptions {
  readonly n: number;
  readonly small: number;
  readonly rounds: number;
  /** Timed calls per operation, per store, per round. */
  readonly samples: number;
  readonly appsPerOwner: number;
  /** `scripts`: through the store's own scripts; `raw`: pipelined HSET/ZADD of the same layout. */
  readonly load: 'scripts' | 'raw';
  /** A directory for a CPU profile of this process during verify() at the large size. */
  readonly cpuProfileDir: string | undefined;
  readonly print: (line: string) => void;
}

export const SCALE_OPERATIONS = ['getClient', 'getApplication', 'bind'] as const;
export type ScaleOperation = (typeof SCALE_OPERATIONS)[number];

export interface LatencyStats {
  readonly p50: number;
  readonly p99: number;
  /** p50 of each round, to show the spread. */
  readonly roundP50s: readonly number[];
}

export interface VerifyRun {
  readonly size: number;
  readonly seconds: number;
  readonly result: VerifyResult;
  readonly baseline: { readonly rss: number; readonly heapUsed: number };
  /** Maxima while it ran: rss, heapUsed (garbage included), and heapUsed right after a collection (live). */
  readonly peak: { readonly rss: number; readonly heapUsed: number; readonly liveHeap: number };
  /** Full collections after which the live heap was sampled, and whether they were forced (every second). */
  readonly collections: number;
  readonly forcedCollections: boolean;
  /** This process's CPU profile during the run (BENCH_CPU_PROF). */
  readonly profile: string | undefined;
  readonly nodeCpuSeconds: number;
  readonly redisCpuSeconds: number;
  readonly commands: number;
  /** Commands by name: calls and Redis's own microseconds per call. */
  readonly byCommand: ReadonlyArray<{ readonly name: string; readonly calls: number; readonly usecPerCall: number }>;
  /** Phases seen in the command mix, one per stretch of seconds with the same dominant commands. */
  readonly timeline: readonly string[];
  readonly othersCpu: number | undefined;
}

export interface MemoryReport {
  /** used_memory less client buffers and the script cache, after each phase. */
  readonly perApplication: number;
  readonly perClient: number;
  readonly perBinding: number;
  /** Sampled records: MEMORY USAGE before and after binding, and their encodings. */
  readonly clientBefore: number;
  readonly clientAfter: number;
  readonly applicationBefore: number;
  readonly applicationAfter: number;
  readonly clientEncoding: string;
  readonly applicationEncoding: string;
  readonly metadataBytes: number;
  readonly listpackValueLimit: number;
  /** What the binding field adds to a client record (scratch copy): as encoded now, and in a listpack. */
  readonly bindingInHashtable: number;
  readonly bindingInListpack: number;
  /** Per member of the 1M-member indexes (skiplist sorted sets). */
  readonly indexMemberBytes: number;
  readonly totalPerBoundPair: number;
}

export interface ScaleResult {
  readonly n: number;
  readonly small: number;
  readonly load: 'scripts' | 'raw';
  readonly appsPerOwner: number;
  readonly loadSeconds: number;
  readonly memory: MemoryReport;
  readonly latency: Record<ScaleOperation, { readonly small: LatencyStats; readonly large: LatencyStats }>;
  readonly verify: { readonly small: VerifyRun; readonly large: VerifyRun };
  readonly layoutCheck: string | undefined;
  readonly problems: readonly string[];
}

const PREFIX = 'appkeys:';
const LIMITS = { perCaller: 5, perClient: 50, windowMs: 600_000 } as const;
const BOUND_BY = 'client:bench-admin';
/** Unbound pairs kept aside per store for bind latency (bound, timed, then unbound untimed). */
const BIND_POOL = 64;

interface Dataset {
  readonly label: string;
  readonly size: number;
  readonly redis: BenchRedis;
  /** Auto-pipelined: loading is not what is measured. */
  readonly loader: Redis;
  readonly loadStore: BindingStore;
  /** Default ioredis options, as an application would have them: what is measured. */
  readonly client: Redis;
  readonly store: BindingStore;
  readonly fixtures: Fixtures;
  readonly keys: StoreKeys;
}

/** Memory the data takes: used_memory without client buffers and the script cache. */
async function dataMemory(probe: Redis): Promise<number> {
  // client buffers of a finished pipeline shrink in the server's cron; let it run first
  await sleep(300);
  const info = await probe.info('memory');
  return (
    infoNumber(info, 'used_memory') -
    (infoNumber(info, 'mem_clients_normal') || 0) -
    (infoNumber(info, 'used_memory_scripts') || 0)
  );
}

async function memoryUsage(probe: Redis, key: string): Promise<number> {
  return Number(await probe.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
}

const ADMIN = { kind: 'admin' } as const;

function bindRequest(fixtures: Fixtures, i: number) {
  return {
    applicationId: fixtures.application(i),
    access: ADMIN,
    keyType: 'PRODUCTION' as const,
    clientId: fixtures.client(i),
    boundAt: fixtures.at,
    boundBy: BOUND_BY,
    caller: BOUND_BY,
    limits: LIMITS,
    nowMs: Date.now(),
  };
}

/** Loads pairs [from, to) phase by phase, through the store's scripts or as raw writes of the same layout. */
class Loader {
  constructor(
    readonly data: Dataset,
    readonly mode: 'scripts' | 'raw',
  ) {}

  async applications(from: number, to: number): Promise<void> {
    const { fixtures: f, keys } = this.data;
    if (this.mode === 'scripts') {
      await forEachIndex(from, to, 512, async (i) => {
        const outcome = await this.data.loadStore.createApplication({
          id: f.application(i),
          name: f.name(i),
          nameKey: f.nameKey(i),
          description: '',
          owner: f.owner(i),
          status: 'ACTIVE',
          created_at: f.at,
        });
        if (outcome !== 'created') throw new Error(`application ${i}: ${outcome}`);
      });
      return;
    }
    // createApplication's writes (scripts/store.ts), in its order; the record typed by layout.ts
    await this.#pipelined(from, to, (pipeline, i) => {
      const id = f.application(i);
      const owner = f.owner(i);
      const application: Record<ApplicationField, string> = {
        id,
        name: f.name(i),
        name_key: f.nameKey(i),
        description: '',
        owner,
        status: 'ACTIVE',
        created_at: f.at,
        updated_at: f.at,
      };
      pipeline.hset(keys.application(id), application);
      pipeline.zadd(keys.applications, 0, id);
      pipeline.zadd(keys.ownerApplications(owner), 0, id);
      pipeline.hset(keys.ownerNames(owner), f.nameKey(i), id);
    });
  }

  async clients(from: number, to: number): Promise<void> {
    const { fixtures: f, keys } = this.data;
    if (this.mode === 'scripts') {
      await forEachIndex(from, to, 512, async (i) => {
        const outcome = await this.data.loadStore.putClient(f.metadata(i), f.at);
        if (outcome !== 'created') throw new Error(`client ${i}: ${outcome}`);
      });
      return;
    }
    // putClient's writes, for a new client
    await this.#pipelined(from, to, (pipeline, i) => {
      const id = f.client(i);
      const metadata = f.metadata(i);
      const client: Record<ClientField, string | number> = {
        metadata: JSON.stringify(metadata),
        digest: metadataDigest(metadata),
        registered_at: f.at,
        updated_at: f.at,
        rev: 1,
      };
      pipeline.hset(keys.client(id), client);
      pipeline.zadd(keys.clients, 0, id);
    });
  }

  async bindings(from: number, to: number): Promise<void> {
    const { fixtures: f, keys } = this.data;
    if (this.mode === 'scripts') {
      await forEachIndex(from, to, 512, async (i) => {
        const result = await this.data.loadStore.bind(bindRequest(f, i));
        if (result.outcome !== 'created') throw new Error(`bind ${i}: ${result.outcome}`);
      });
      return;
    }
    // bind's writes, with the application ACTIVE
    await this.#pipelined(from, to, (pipeline, i) => {
      const appId = f.application(i);
      const clientId = f.client(i);
      const binding: Record<BoundPart, string> = {
        app: appId,
        key_type: 'PRODUCTION',
        origin: 'provided',
        bound_at: f.at,
        bound_by: BOUND_BY,
        status: 'ACTIVE',
      };
      pipeline.hset(keys.application(appId), keyField('PRODUCTION'), clientId);
      pipeline.hset(keys.client(clientId), BINDING_FIELD, encodeBinding(binding));
    });
  }

  /** Batches of 500 indexes per pipeline, four pipelines in flight. */
  async #pipelined(
    from: number,
    to: number,
    add: (pipeline: ReturnType<Redis['pipeline']>, i: number) => void,
  ): Promise<void> {
    const batch = 500;
    const starts: number[] = [];
    for (let start = from; start < to; start += batch) starts.push(start);
    await forEachIndex(0, starts.length, 4, async (b) => {
      const start = starts[b]!;
      const pipeline = this.data.loader.pipeline();
      for (let i = start; i < Math.min(to, start + batch); i += 1) add(pipeline, i);
      for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
    });
  }
}

async function openDataset(
  label: string,
  size: number,
  template: Awaited<ReturnType<typeof normalizedClientTemplate>>,
  appsPerOwner: number,
): Promise<Dataset> {
  const redis = await startBenchRedis({ forcePrivate: true });
  const loader = new Redis(redis.url, { enableAutoPipelining: true });
  const client = new Redis(redis.url);
  return {
    label,
    size,
    redis,
    loader,
    client,
    loadStore: redisStore({ client: loader, prefix: PREFIX, timeoutMs: 30_000 }),
    store: redisStore({ client, prefix: PREFIX }),
    fixtures: new Fixtures(template, appsPerOwner),
    keys: new StoreKeys(PREFIX),
  };
}

async function closeDataset(data: Dataset): Promise<void> {
  data.loader.disconnect();
  data.client.disconnect();
  await data.redis.stop('');
}

/** One timed call of `operation` on a random record (or a pair kept aside, for bind); microseconds. */
async function timeOnce(data: Dataset, operation: ScaleOperation, sequence: number): Promise<number> {
  const { store, fixtures: f, size } = data;
  const i = Math.floor(Math.random() * size);
  let started: bigint;
  let elapsed: number;
  if (operation === 'getClient') {
    started = process.hrtime.bigint();
    const found = await store.getClient(f.client(i));
    elapsed = Number(process.hrtime.bigint() - started) / 1000;
    if (!found?.binding) throw new Error(`${data.label}: client ${i} not found or unbound`);
  } else if (operation === 'getApplication') {
    started = process.hrtime.bigint();
    const found = await store.getApplication(f.application(i));
    elapsed = Number(process.hrtime.bigint() - started) / 1000;
    if (found?.bindings.length !== 1) throw new Error(`${data.label}: application ${i} not found or unbound`);
  } else {
    // a pair kept aside, bound (timed) then unbound (not timed), so the store's size never changes
    const p = size + (sequence % BIND_POOL);
    started = process.hrtime.bigint();
    const result = await store.bind(bindRequest(f, p));
    elapsed = Number(process.hrtime.bigint() - started) / 1000;
    if (result.outcome !== 'created') throw new Error(`${data.label}: bind of pair ${p}: ${result.outcome}`);
    if ((await store.unbind(f.application(p), 'PRODUCTION', ADMIN)).outcome !== 'unbound') {
      throw new Error(`${data.label}: unbind of pair ${p} found nothing`);
    }
  }
  return elapsed;
}

/**
 * `samples` timed calls on each store, interleaved call by call (small, large, large, small, …) so
 * that a burst of noise from other processes hits both sizes alike. Microseconds, ascending, per store.
 */
async function timeInterleaved(
  small: Dataset,
  large: Dataset,
  operation: ScaleOperation,
  samples: number,
  round: number,
): Promise<[Float64Array, Float64Array]> {
  const times = [new Float64Array(samples), new Float64Array(samples)] as const;
  for (let s = 0; s < samples; s += 1) {
    const sequence = round * samples + s;
    const smallFirst = s % 2 === round % 2;
    for (const which of smallFirst ? ([0, 1] as const) : ([1, 0] as const)) {
      times[which][s] = await timeOnce(which === 0 ? small : large, operation, sequence);
    }
  }
  return [times[0].sort(), times[1].sort()];
}

/**
 * A full garbage collection on demand, for measuring the live heap: V8's `gc()` is only exposed with
 * --expose-gc, which can be switched on at run time and fetched from a fresh context. Undefined if not.
 */
function fullCollection(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function'
      ? () => {
          (gc as () => void)();
        }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Profiles this process's CPU (V8 inspector) while `action` runs, writing a `.cpuprofile` to `path`. */
async function profiled<T>(path: string | undefined, action: () => Promise<T>): Promise<T> {
  if (!path) return action();
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await action();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(path, JSON.stringify(profile));
    session.disconnect();
  }
}

/**
 * Runs verify() while sampling this process's memory (every 50 ms, and right after every garbage
 * collection: the live heap) and Redis's command mix every second.
 */
async function measureVerify(data: Dataset, profilePath: string | undefined): Promise<VerifyRun> {
  const probe = data.redis.probe;
  const before = await commandTimes(probe);
  const redisCpuBefore = await redisCpuSeconds(probe);
  const collect = fullCollection();
  collect?.();
  const baselineMemory = process.memoryUsage();
  const peak = {
    rss: baselineMemory.rss,
    heapUsed: baselineMemory.heapUsed,
    liveHeap: baselineMemory.heapUsed,
    collections: 0,
  };
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.heapUsed = Math.max(peak.heapUsed, now.heapUsed);
  }, 50);
  // heapUsed right after a full collection is what verify() keeps alive; between collections it is
  // mostly garbage. Forced every second where possible, else taken after the runtime's own major ones.
  const liveSample = () => {
    peak.collections += 1;
    peak.liveHeap = Math.max(peak.liveHeap, process.memoryUsage().heapUsed);
  };
  const forced = collect
    ? setInterval(() => {
        collect();
        liveSample();
      }, 1000)
    : undefined;
  const observed = new PerformanceObserver((list) => {
    // Node puts the collection's kind in `detail`, which the published PerformanceEntry type lacks
    const major = list
      .getEntries()
      .some((entry) => (entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
    if (major) liveSample();
  });
  if (!collect) observed.observe({ entryTypes: ['gc'] });
  const seconds: Array<Map<string, number>> = [];
  let last = new Map([...before].map(([name, stat]) => [name, stat.calls]));
  let sampling = Promise.resolve();
  const mixer = setInterval(() => {
    sampling = sampling
      .then(async () => {
        const now = await commandTimes(probe);
        const delta = new Map<string, number>();
        for (const [name, stat] of now) {
          const calls = stat.calls - (last.get(name) ?? 0);
          if (calls > 0 && name !== 'info') delta.set(name, calls);
        }
        last = new Map([...now].map(([name, stat]) => [name, stat.calls]));
        seconds.push(delta);
      })
      .catch(() => {});
  }, 1000);
  const meter = CpuMeter.start([data.redis.pid]);
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  let result: VerifyResult;
  try {
    result = await profiled(profilePath, () => data.store.verify());
  } finally {
    clearInterval(sampler);
    clearInterval(mixer);
    clearInterval(forced);
    observed.disconnect();
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  const othersCpu = meter.stop()?.others;
  await sampling;
  const after = await commandTimes(probe);
  const redisCpuAfter = await redisCpuSeconds(probe);
  const byCommand = [...after]
    .map(([name, stat]) => {
      const old = before.get(name) ?? { calls: 0, usec: 0 };
      const calls = stat.calls - old.calls;
      return { name, calls, usecPerCall: calls > 0 ? (stat.usec - old.usec) / calls : 0 };
    })
    .filter((row) => row.calls > 0 && row.name !== 'info')
    .sort((x, y) => y.calls - x.calls);
  return {
    size: data.size,
    seconds: elapsed,
    result,
    baseline: { rss: baselineMemory.rss, heapUsed: baselineMemory.heapUsed },
    peak: { rss: peak.rss, heapUsed: peak.heapUsed, liveHeap: peak.liveHeap },
    collections: peak.collections,
    forcedCollections: collect !== undefined,
    nodeCpuSeconds: (cpu.user + cpu.system) / 1e6,
    redisCpuSeconds: redisCpuAfter - redisCpuBefore,
    commands: byCommand.reduce((sum, row) => sum + row.calls, 0),
    byCommand,
    timeline: timelineOf(seconds),
    othersCpu,
    profile: profilePath,
  };
}

/**
 * Seconds with the same command mix, merged into phases: `0–41 s: 61,000 commands/s (hgetall 45%,
 * zscore 30%)`. A second starts a new phase when its mix differs from the phase's by more than a fifth
 * of all calls (the sum of the shares' differences).
 */
function timelineOf(seconds: ReadonlyArray<ReadonlyMap<string, number>>): string[] {
  const shares = (calls: ReadonlyMap<string, number>) => {
    const total = [...calls.values()].reduce((a, b) => a + b, 0);
    return new Map([...calls].map(([name, n]) => [name, total > 0 ? n / total : 0]));
  };
  const distance = (x: ReadonlyMap<string, number>, y: ReadonlyMap<string, number>) => {
    let sum = 0;
    for (const name of new Set([...x.keys(), ...y.keys()])) sum += Math.abs((x.get(name) ?? 0) - (y.get(name) ?? 0));
    return sum;
  };
  const phases: Array<{ from: number; to: number; totals: Map<string, number> }> = [];
  seconds.forEach((delta, index) => {
    const current = phases.at(-1);
    if (current && distance(shares(current.totals), shares(delta)) <= 0.2) {
      current.to = index + 1;
      for (const [name, calls] of delta) current.totals.set(name, (current.totals.get(name) ?? 0) + calls);
    } else {
      phases.push({ from: index, to: index + 1, totals: new Map(delta) });
    }
  });
  return phases.map((phase) => {
    const total = [...phase.totals.values()].reduce((a, b) => a + b, 0);
    const mix = [...phase.totals]
      .sort((x, y) => y[1] - x[1])
      .filter(([, calls]) => calls >= total / 100)
      .slice(0, 4)
      .map(([name, calls]) => `${name} ${formatPercent(calls / total)}`)
      .join(', ');
    return `${phase.from}–${phase.to} s: ${formatRate(total / (phase.to - phase.from))} commands/s (${mix || 'none'})`;
  });
}

/** Field names and encodings of one pair's records, to compare raw-written against script-written. */
async function recordShape(data: Dataset, i: number): Promise<string> {
  const { keys, fixtures: f, client } = data;
  const app = keys.application(f.application(i));
  const clientKey = keys.client(f.client(i));
  const [appFields, clientFields, appEncoding, clientEncoding] = await Promise.all([
    client.hkeys(app),
    client.hkeys(clientKey),
    client.object('ENCODING', app),
    client.object('ENCODING', clientKey),
  ]);
  return (
    `app ${String(appEncoding)} [${appFields.sort().join(',')}] · client ${String(clientEncoding)}` +
    ` [${clientFields.sort().join(',')}]`
  );
}

async function load(data: Dataset, mode: 'scripts' | 'raw', print: (line: string) => void, measure: boolean) {
  const loader = new Loader(data, mode);
  const probe = data.redis.probe;
  const started = process.hrtime.bigint();
  const phaseSeconds: number[] = [];
  const memory: number[] = [await dataMemory(probe)];
  // sampled records, spread over the data, measured before and after they are bound
  const sampleIds = Array.from({ length: 8 }, (_, k) => Math.floor((k * data.size) / 8));
  const chunk = Math.max(1000, Math.ceil(data.size / 10));
  let before = { client: 0, app: 0 };
  for (const phase of ['applications', 'clients', 'bindings'] as const) {
    const phaseStarted = process.hrtime.bigint();
    if (phase === 'bindings' && measure) {
      const sizes = await Promise.all(
        sampleIds.map(
          async (i) =>
            [
              await memoryUsage(probe, data.keys.client(data.fixtures.client(i))),
              await memoryUsage(probe, data.keys.application(data.fixtures.application(i))),
            ] as const,
        ),
      );
      before = { client: avg(sizes.map(([c]) => c)), app: avg(sizes.map(([, a]) => a)) };
    }
    for (let from = 0; from < data.size; from += chunk) {
      await loader[phase](from, Math.min(data.size, from + chunk));
      if (data.size >= 200_000) {
        const done = Math.min(data.size, from + chunk);
        print(
          `    ${data.label}: ${phase} ${formatCount(done)} / ${formatCount(data.size)}` +
            ` (${formatSeconds(Number(process.hrtime.bigint() - phaseStarted) / 1e9)})`,
        );
      }
    }
    phaseSeconds.push(Number(process.hrtime.bigint() - phaseStarted) / 1e9);
    if (measure) memory.push(await dataMemory(probe));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  print(
    `  ${data.label}: loaded ${formatCount(data.size)} applications, clients and bindings (${mode})` +
      ` in ${formatSeconds(seconds)}` +
      ` (applications ${formatSeconds(phaseSeconds[0]!)}, clients ${formatSeconds(phaseSeconds[1]!)},` +
      ` bindings ${formatSeconds(phaseSeconds[2]!)})`,
  );
  return { seconds, memory, sampleIds, before };
}

function avg(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

export async function runScale(options: ScaleOptions): Promise<ScaleResult> {
  const { print } = options;
  const problems: string[] = [];
  const template = await normalizedClientTemplate();
  const small = await openDataset(`${formatCount(options.small)}`, options.small, template, options.appsPerOwner);
  let large: Dataset | undefined;
  try {
    large = await openDataset(formatCount(options.n), options.n, template, options.appsPerOwner);
    print(
      `  two private redis-servers: ${small.redis.url} holds ${formatCount(options.small)},` +
        ` ${large.redis.url} holds ${formatCount(options.n)}`,
    );
    print(
      `  sample ids: application ${large.fixtures.application(0)}, client ${large.fixtures.client(0)},` +
        ` owner ${large.fixtures.owner(0)}` +
        ` (${options.appsPerOwner} applications per owner);` +
        ` client metadata ${JSON.stringify(large.fixtures.metadata(0)).length} bytes of JSON`,
    );

    await load(small, options.load, print, false);
    const loaded = await load(large, options.load, print, true);

    // ---- memory --------------------------------------------------------------------------------
    const probe = large.redis.probe;
    const { keys, fixtures: f } = large;
    const [m0, m1, m2, m3] = loaded.memory as [number, number, number, number];
    const after = await Promise.all(
      loaded.sampleIds.map(
        async (i) =>
          [
            await memoryUsage(probe, keys.client(f.client(i))),
            await memoryUsage(probe, keys.application(f.application(i))),
          ] as const,
      ),
    );
    const listpackValue = Number(((await probe.call('CONFIG', 'GET', 'hash-max-listpack-value')) as string[])[1]);
    const sample = loaded.sampleIds[0]!;
    // what the binding field adds to a client record as Redis encodes it now, and as a listpack
    // would hold it (a hash-max-listpack-value above the metadata's size): on scratch copies of the
    // sampled records, written unbound, then bound (averaged: allocations come in size classes)
    const records = await Promise.all(loaded.sampleIds.map((i) => probe.hgetall(keys.client(f.client(i)))));
    for (const record of records) {
      const packed = record[BINDING_FIELD];
      if (packed === undefined || !decodeBinding(packed)) problems.push('a bound client record holds no binding');
    }
    const bindingCost = async (limit: number | undefined): Promise<number> => {
      const scratch = `bench-scratch:${f.tag}:${limit ?? 'default'}`;
      if (limit !== undefined) await probe.call('CONFIG', 'SET', 'hash-max-listpack-value', String(limit));
      try {
        const costs: number[] = [];
        for (const record of records) {
          const entries = Object.entries(record);
          await probe.hset(scratch, ...entries.filter(([field]) => field !== BINDING_FIELD).flat());
          const unbound = await memoryUsage(probe, scratch);
          await probe.hset(scratch, ...entries.filter(([field]) => field === BINDING_FIELD).flat());
          costs.push((await memoryUsage(probe, scratch)) - unbound);
          await probe.del(scratch);
        }
        return avg(costs);
      } finally {
        await probe.del(scratch);
        if (limit !== undefined) await probe.call('CONFIG', 'SET', 'hash-max-listpack-value', String(listpackValue));
      }
    };
    const bindingInHashtable = await bindingCost(undefined);
    const bindingInListpack = await bindingCost(1024);
    const indexBytes = (await memoryUsage(probe, keys.applications)) / options.n;
    const memory: MemoryReport = {
      perApplication: (m1 - m0) / options.n,
      perClient: (m2 - m1) / options.n,
      perBinding: (m3 - m2) / options.n,
      clientBefore: loaded.before.client,
      clientAfter: avg(after.map(([c]) => c)),
      applicationBefore: loaded.before.app,
      applicationAfter: avg(after.map(([, a]) => a)),
      clientEncoding: String(await probe.object('ENCODING', keys.client(f.client(sample)))),
      applicationEncoding: String(await probe.object('ENCODING', keys.application(f.application(sample)))),
      metadataBytes: Buffer.byteLength(JSON.stringify(f.metadata(sample))),
      listpackValueLimit: listpackValue,
      bindingInHashtable,
      bindingInListpack,
      indexMemberBytes: indexBytes,
      totalPerBoundPair: (m3 - m0) / options.n,
    };

    // ---- raw layout against the scripts' -------------------------------------------------------
    let layoutCheck: string | undefined;
    if (options.load === 'raw') {
      // a few pairs through the store's own scripts, compared field by field with raw-written ones
      const extra = options.n + BIND_POOL;
      const viaScripts = new Loader(large, 'scripts');
      await viaScripts.applications(extra, extra + 2);
      await viaScripts.clients(extra, extra + 2);
      await viaScripts.bindings(extra, extra + 2);
      const [raw, scripted] = await Promise.all([recordShape(large, sample), recordShape(large, extra)]);
      layoutCheck =
        raw === scripted
          ? `raw-written records match script-written ones: ${raw}`
          : `MISMATCH raw ${raw} vs scripts ${scripted}`;
      if (raw !== scripted) problems.push(`raw layout differs from the scripts': ${raw} vs ${scripted}`);
    }

    // ---- latency, alternating --------------------------------------------------------------------
    for (const data of [small, large]) {
      await forEachIndex(data.size, data.size + BIND_POOL, 64, (i) => data.fixtures.createPair(data.loadStore, i));
    }
    const samples = new Map<string, Float64Array[]>();
    for (let round = 0; round < options.rounds; round += 1) {
      const parts: string[] = [];
      for (const operation of SCALE_OPERATIONS) {
        const [atSmall, atLarge] = await timeInterleaved(small, large, operation, options.samples, round);
        for (const [key, times] of [
          [`${operation}:small`, atSmall],
          [`${operation}:large`, atLarge],
        ] as const) {
          samples.set(key, [...(samples.get(key) ?? []), times]);
        }
        parts.push(
          `${operation} p50 ${formatMicros(percentile(atSmall, 50))} → ${formatMicros(percentile(atLarge, 50))}` +
            ` p99 ${formatMicros(percentile(atSmall, 99))} → ${formatMicros(percentile(atLarge, 99))}`,
        );
      }
      print(`  round ${round + 1} (${small.label} → ${large.label}): ${parts.join('; ')}`);
    }
    const statsOf = (key: string): LatencyStats => {
      const rounds = samples.get(key) ?? [];
      const all = Float64Array.from(rounds.flatMap((r) => [...r])).sort();
      return { p50: percentile(all, 50), p99: percentile(all, 99), roundP50s: rounds.map((r) => percentile(r, 50)) };
    };
    const latency = Object.fromEntries(
      SCALE_OPERATIONS.map((operation) => [
        operation,
        {
          small: statsOf(`${operation}:small`),
          large: statsOf(`${operation}:large`),
        },
      ]),
    ) as ScaleResult['latency'];

    // ---- verify ----------------------------------------------------------------------------------
    const verifySmall = await measureVerify(small, undefined);
    print(
      `  verify() at ${small.label}: ${formatSeconds(verifySmall.seconds)},` +
        ` ${verifySmall.result.ok ? 'ok' : 'PROBLEMS'}`,
    );
    print(`  verify() at ${large.label}: running (SCAN, streaming)…`);
    const verifyLarge = await measureVerify(
      large,
      options.cpuProfileDir ? join(options.cpuProfileDir, `verify-${options.n}.cpuprofile`) : undefined,
    );
    print(
      `  verify() at ${large.label}: ${formatSeconds(verifyLarge.seconds)},` +
        ` ${verifyLarge.result.ok ? 'ok' : 'PROBLEMS'}`,
    );
    for (const run of [verifySmall, verifyLarge]) {
      if (!run.result.ok)
        problems.push(
          `verify() at ${formatCount(run.size)} found problems: ${run.result.problems.slice(0, 3).join('; ')}`,
        );
    }
    return {
      n: options.n,
      small: options.small,
      load: options.load,
      appsPerOwner: options.appsPerOwner,
      loadSeconds: loaded.seconds,
      memory,
      latency,
      verify: { small: verifySmall, large: verifyLarge },
      layoutCheck,
      problems,
    };
  } finally {
    await closeDataset(small);
    if (large) await closeDataset(large);
  }
}

/** Printable detail of the scale results (the summary has the table). */
export function scaleDetail(result: ScaleResult): string[] {
  const m = result.memory;
  const lines = [
    `  memory per application ${formatBytes(m.perApplication)} (record, all-applications index,` +
      ` owner index and name index),` +
      ` per client ${formatBytes(m.perClient)}, per binding ${formatBytes(m.perBinding)};` +
      ` a bound pair ${formatBytes(m.totalPerBoundPair)} in all`,
    `  sampled records (MEMORY USAGE): client ${formatBytes(m.clientBefore)} → ${formatBytes(m.clientAfter)} when` +
      ` bound (${m.clientEncoding}),` +
      ` application ${formatBytes(m.applicationBefore)} → ${formatBytes(m.applicationAfter)}` +
      ` (${m.applicationEncoding})`,
    `  the client record is a ${m.clientEncoding} because its metadata (${m.metadataBytes} B)` +
      ` exceeds hash-max-listpack-value` +
      ` (${m.listpackValueLimit} B): the binding field is then a dict entry and two strings;` +
      ` it adds ${formatBytes(m.bindingInHashtable)} to such a record,` +
      ` ${formatBytes(m.bindingInListpack)} to the same record held as a listpack (hash-max-listpack-value 1024,` +
      ` scratch copies of the sampled records)`,
    `  index members (skiplist sorted sets of ${formatCount(result.n)}): ${formatBytes(m.indexMemberBytes)} each`,
  ];
  if (result.layoutCheck) lines.push(`  ${result.layoutCheck}`);
  for (const run of [result.verify.small, result.verify.large]) {
    lines.push(
      `  verify() at ${formatCount(run.size)}: ${formatSeconds(run.seconds)}, ${formatCount(run.commands)} commands` +
        ` (${formatRate(run.commands / run.seconds)}/s); CPU: node ${formatSeconds(run.nodeCpuSeconds)},` +
        ` redis ${formatSeconds(run.redisCpuSeconds)}` +
        `${run.othersCpu === undefined ? '' : `, others ${formatPercent(run.othersCpu)} of the machine`};` +
        ` heap ${formatBytes(run.baseline.heapUsed)} → max ${formatBytes(run.peak.heapUsed)} (live,` +
        ` after ${run.collections}` +
        ` ${run.forcedCollections ? 'forced full collections, one a second' : 'major collections'}:` +
        ` max ${formatBytes(run.peak.liveHeap)}),` +
        ` rss ${formatBytes(run.baseline.rss)} → max ${formatBytes(run.peak.rss)}`,
    );
  }
  const big = result.verify.large;
  lines.push('  verify() commands at the large size (calls, Redis µs per call):');
  lines.push(
    `    ${big.byCommand
      .slice(0, 8)
      .map((row) => `${row.name} ${formatCount(row.calls)} (${row.usecPerCall.toFixed(1)})`)
      .join(', ')}`,
  );
  lines.push('  verify() phases (command mix per second):');
  for (const phase of big.timeline) lines.push(`    ${phase}`);
  return lines;
}
