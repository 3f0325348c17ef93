/**
 * The negative return codes of the store's scripts (scripts/store.ts, scripts/issuers.ts), mapped once
 * to the outcome each means.
 */
export const REFUSALS = {
  [-1]: 'application_not_found',
  [-2]: 'client_not_found',
  [-3]: 'client_already_bound',
  [-4]: 'key_type_already_bound',
  [-5]: 'client_exists',
  [-6]: 'name_taken',
  [-7]: 'conflict',
  [-8]: 'blocked',
  [-10]: 'issuer_not_found',
  [-11]: 'issuer_taken',
} as const;
type RefusalCode = keyof typeof REFUSALS;
export type Refusal = (typeof REFUSALS)[RefusalCode];

/** The outcome a refusal code means; throws on any other reply, which no script gives. */
export function refusal(code: unknown): Refusal {
  const outcome = REFUSALS[Number(code) as RefusalCode];
  if (!outcome) throw new Error(`unexpected script reply ${String(code)}`);
  return outcome;
}
