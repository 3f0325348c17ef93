/** Median of a non-empty list (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Median of the defined values; undefined when none is. */
export function medianDefined(values: ReadonlyArray<number | undefined>): number | undefined {
  const defined = values.filter((value): value is number => value !== undefined && Number.isFinite(value));
  return defined.length > 0 ? median(defined) : undefined;
}

/** The `p`-th percentile (0–100, nearest rank) of an ascending list; NaN when empty. */
export function percentile(sortedAscending: ArrayLike<number>, p: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sortedAscending.length);
  return sortedAscending[Math.min(sortedAscending.length, Math.max(1, rank)) - 1]!;
}

/** `3012.4` → `3,012` */
export function formatRate(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

/** `1` → `1.00`, `0.002` → `0.00` (per-request counts). */
export function formatPerRequest(value: number): string {
  return value.toFixed(2);
}

/** `0.123` → `12%` */
export function formatPercent(share: number): string {
  return Number.isFinite(share) ? `${Math.round(share * 100)}%` : 'n/a';
}

/** Microseconds for latencies: `87 µs`, `1.24 ms`. */
export function formatMicros(us: number): string {
  if (!Number.isFinite(us)) return 'n/a';
  return us < 1000 ? `${Math.round(us)} µs` : `${(us / 1000).toFixed(2)} ms`;
}

/** `1234567` → `1.18 MiB`; small values in bytes. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(value >= 100 ? 0 : 2)} ${units[unit]}`;
}

/** `12.3456` → `12.3 s` */
export function formatSeconds(seconds: number): string {
  return Number.isFinite(seconds) ? `${seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1)} s` : 'n/a';
}

/** `1000000` → `1,000,000` */
export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}
