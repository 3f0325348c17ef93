/**
 * The rules of `appkeys check --repair`, once: repair.ts records each fix under its name, the CLI's help
 * lists them, and the README is checked against them (test/cli.test.ts). The application's
 * `key:<TYPE>` field is the binding of record; the client's binding field is its reverse index.
 */
export const REPAIR_RULES = [
  {
    fix: 'packed_legacy_binding',
    rule:
      'a client keeping its binding in separate fields (app, key_type, …), as earlier versions wrote it, gets ' +
      'them packed into its one binding field (only removed where that field holds a binding already, or ' +
      'they name no application)',
  },
  { fix: 'dropped_missing_client', rule: 'an application naming a missing client loses that binding' },
  {
    fix: 'restored_client_binding',
    rule: 'an application naming an existing, unbound client binds it (origin provided, status mirrored)',
  },
  {
    fix: 'dropped_contradicted_claim',
    rule: 'an application naming a client bound, both ways, elsewhere loses that one-way claim',
  },
  {
    fix: 'cleared_client_binding',
    rule:
      'a client pointing to an application and key type that does not name it, or whose binding does not ' +
      'decode, is unbound (and kept)',
  },
  { fix: 'mirrored_status', rule: "a client mirroring another status than its application's gets the application's" },
  {
    fix: 'indexed_application',
    rule: "an application missing from its indexes (all, its owner's, its owner's names) is added to them",
  },
  { fix: 'indexed_client', rule: 'a client missing from the clients index is added to it' },
  { fix: 'unindexed_missing_client', rule: 'a clients index entry naming no client is removed' },
  { fix: 'unindexed_missing_application', rule: 'an applications index entry naming no application is removed' },
  {
    fix: 'unindexed_foreign_owner_entry',
    rule: "an owner index entry naming another owner's application, or none, is removed",
  },
  {
    fix: 'unindexed_stale_name',
    rule: 'a name index entry naming an application that does not hold that name is removed',
  },
] as const;

export type RepairFix = (typeof REPAIR_RULES)[number]['fix'];

/** What the data cannot settle, reported and left for a person to decide. */
export const UNREPAIRABLE =
  'two applications of one owner with one name, and records without an id, owner, name or metadata';
