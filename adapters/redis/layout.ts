/**
 * The records of the Redis BindingStore, field by field, written once. The scripts (scripts/*.ts) read
 * and write these fields in Lua, the store, repair and the bench's raw loader name them in TypeScript
 * through the types below, and test/redis-layout.test.ts checks every field a script names against
 * these lists. Keys are built in keys.ts.
 *
 *   client:<id>   hash  CLIENT_FIELDS, and while bound BINDING_FIELDS
 *   clients       zset  every client id (score 0, lexical order)
 *   app:<id>      hash  APPLICATION_FIELDS, and `key:<KEY_TYPE>` → client id of each binding
 *   apps          zset  every application id
 *   owner:<owner> zset  one owner's application ids
 *   names:<owner> hash  name_key → application id
 *   issuers       hash  issuer_id → the issuer's JSON: `{"created_at":…,"updated_at":…,` and then its body,
 *                       the canonical JSON of every other field (src/issuers/store-records.ts), so that
 *                       putIssuer's script tells "unchanged" by text and keeps created_at without
 *                       decoding and re-encoding anything
 *   jti:<client>:<jti>  string  an assertion id used by a client, expiring with the assertion
 *
 * A client of a third-party issuer has an ordinary client:<id> record, created by its first binding with
 * metadata `{"client_id": <id>}`; its id starts with U+0001 (src/issuers/ref.ts), so one issuer's
 * records form one lexical range of `clients`.
 */

/**
 * Every client record's own fields: the provider's metadata as opaque JSON (never decoded by a script:
 * Lua's JSON would turn an empty array into an object), the digest of its canonical JSON (to tell
 * "unchanged"), times and the revision for compare-and-set.
 */
export const CLIENT_FIELDS = ['metadata', 'digest', 'registered_at', 'updated_at', 'rev'] as const;

/**
 * What a binding adds to its client record, all removed together on unbinding. `status` mirrors the
 * application's; `tokens_since` is set when the application is blocked, not when the client is bound.
 */
export const BINDING_FIELDS = ['app', 'key_type', 'origin', 'bound_at', 'bound_by', 'status', 'tokens_since'] as const;

/** The binding fields written when a client is bound. */
export const BOUND_FIELDS: readonly BoundField[] = BINDING_FIELDS.filter(
  (field): field is BoundField => field !== 'tokens_since',
);

/** An application record's fields, besides one `key:<KEY_TYPE>` per binding. */
export const APPLICATION_FIELDS = [
  'id',
  'name',
  'name_key',
  'description',
  'owner',
  'status',
  'created_at',
  'updated_at',
] as const;

export type ClientField = (typeof CLIENT_FIELDS)[number];
export type BindingField = (typeof BINDING_FIELDS)[number];
export type BoundField = Exclude<BindingField, 'tokens_since'>;
export type ApplicationField = (typeof APPLICATION_FIELDS)[number];
export type KeyField = `key:${string}`;

/** A client record as HGETALL gives it: any field may be missing from a damaged record. */
export type ClientHash = Partial<Record<ClientField | BindingField, string>>;

/** An application record as HGETALL gives it. */
export type ApplicationHash = Partial<Record<ApplicationField, string>> & { readonly [field: KeyField]: string };

/** The application field holding the client bound as `keyType`. */
export function keyField(keyType: string): KeyField {
  return `key:${keyType}`;
}

/** The key type an application field binds, or undefined for any other field. */
export function keyTypeOf(field: string): string | undefined {
  return /^key:(.+)$/.exec(field)?.[1];
}
