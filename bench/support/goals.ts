import { formatPercent } from './format.js';

/** A goal and whether a measured value meets it. */
export interface Goal {
  readonly text: string;
  readonly met: (value: number) => boolean;
}

export const atLeast = (target: number, show: (n: number) => string = String): Goal => ({
  text: `≥ ${show(target)}`,
  met: (v) => v >= target,
});
export const atMost = (target: number, show: (n: number) => string = String): Goal => ({
  text: `≤ ${show(target)}`,
  met: (v) => v <= target,
});
export const below = (target: number, show: (n: number) => string = String): Goal => ({
  text: `< ${show(target)}`,
  met: (v) => v < target,
});

export function verdict(value: number, goal: Goal): string {
  if (!Number.isFinite(value)) return `goal ${goal.text}: not measured`;
  return `goal ${goal.text}: ${goal.met(value) ? 'met' : '**missed**'}`;
}

/** Rounds during which other processes used more than this share of the machine are flagged noisy. */
export const NOISY_SHARE = 0.1;

/** A column of what other processes used per round: `12% · 3% · ?`, or `n/a` where nothing was measured. */
export function othersColumn(shares: ReadonlyArray<number | undefined>): string {
  if (shares.every((share) => share === undefined)) return 'n/a';
  return shares.map((share) => (share === undefined ? '?' : formatPercent(share))).join(' · ');
}

export function noisy(shares: ReadonlyArray<number | undefined>): boolean {
  return shares.some((share) => share !== undefined && share > NOISY_SHARE);
}
