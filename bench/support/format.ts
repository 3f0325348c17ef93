/** Median of a non-empty list (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** `3012.4` → `3,012` */
export function formatRate(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

/** `1` → `1.00`, `0.002` → `0.00` (per-request counts). */
export function formatPerRequest(value: number): string {
  return value.toFixed(2);
}
