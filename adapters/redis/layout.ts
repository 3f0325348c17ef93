import type { ApplicationStatus, BindingOrigin, ClientBinding, KeyType } from '../../src/types.js';

/**
 * The records of the Redis BindingStore, field by field, written once. The scripts (scripts/*.ts) read
 * and write these fields in Lua, the store, repair and the bench's raw loader name them in TypeScript
 * through the types below, and test/redis-layout.test.ts checks every field a script names against
 * these lists. Keys are built in keys.ts.
 *
 *   client:<id>   hash  CLIENT_FIELDS, and while bound BINDING_FIELD: the binding's BINDING_PARTS packed
 *                       into one JSON array (encodeBinding), so that a record that is a hash table (its
 *                       metadata is longer than hash-max-listpack-value) pays one table entry for it
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
 * What a binding adds to its client record: one field, removed on unbinding. Its value is the JSON array
 * of BINDING_PARTS' values in that order, every one a string: JSON because it holds any string (bound_by
 * is whatever id an admin has) and both sides read it natively (JSON.parse here, cjson in the scripts,
 * whose helpers scripts/prelude.ts generates from BINDING_PARTS); an array because its names would cost
 * more bytes than its values.
 */
export const BINDING_FIELD = 'binding';

/**
 * A binding's parts, in their packed order. `status` mirrors the application's; `tokens_since` is set
 * when the application is blocked, not when the client is bound, and is '' until then.
 */
export const BINDING_PARTS = ['app', 'key_type', 'origin', 'bound_at', 'bound_by', 'status', 'tokens_since'] as const;

/** The parts a bind writes. */
export const BOUND_PARTS: readonly BoundPart[] = BINDING_PARTS.filter(
  (part): part is BoundPart => part !== 'tokens_since',
);

/**
 * The earlier layout kept each part in a hash field of its own, named as the part. verify() reports a
 * record holding them and repair packs them (packLegacyBinding); until then the store fails closed on
 * such a record: its lookup throws, and the scripts that refuse a bound client refuse it too (`app`,
 * and `status` for the blocked check).
 */
export const LEGACY_BINDING_FIELDS = BINDING_PARTS;

/** Why a client record in the earlier layout is not read (store.ts's clientFromHash). */
export const LEGACY_BINDING_MESSAGE =
  "a client record keeps its binding in an earlier version's separate fields: run `appkeys check --repair`";

export type BindingPart = (typeof BINDING_PARTS)[number];
export type BoundPart = Exclude<BindingPart, 'tokens_since'>;
export type LegacyBindingField = (typeof LEGACY_BINDING_FIELDS)[number];
/** A binding by part, '' for a part it lacks (tokens_since before any block). */
export type BindingParts = Readonly<Record<BindingPart, string>>;

const AT = Object.fromEntries(BINDING_PARTS.map((part, index) => [part, index])) as Record<BindingPart, number>;

/** A binding as BINDING_FIELD holds it. */
export function encodeBinding(parts: Readonly<Record<BoundPart, string>> & { readonly tokens_since?: string }): string {
  return JSON.stringify(BINDING_PARTS.map((part) => parts[part] ?? ''));
}

/** The packed values, or undefined when `packed` is no binding (a damaged or foreign value). */
function packedValues(packed: string): string[] | undefined {
  let values: unknown;
  try {
    values = JSON.parse(packed);
  } catch {
    return undefined;
  }
  if (!Array.isArray(values) || values.length !== BINDING_PARTS.length) return undefined;
  for (const value of values) if (typeof value !== 'string') return undefined;
  return values as string[];
}

/** A packed binding by part, or undefined when the value is no binding. */
export function decodeBinding(packed: string): BindingParts | undefined {
  const values = packedValues(packed);
  return values && (Object.fromEntries(BINDING_PARTS.map((part) => [part, values[AT[part]]])) as BindingParts);
}

/**
 * A packed binding as the store hands it out, built straight from the array: it is read on the token
 * endpoint's path. A value that is no binding throws, like metadata that is no JSON: reading it as
 * "unbound" would let a blocked application's client have tokens.
 */
export function clientBinding(packed: string): ClientBinding {
  const values = packedValues(packed);
  if (!values) throw new TypeError(`a client record's ${BINDING_FIELD} field holds no binding`);
  const binding: { -readonly [K in keyof ClientBinding]: ClientBinding[K] } = {
    application_id: values[AT.app]!,
    key_type: values[AT.key_type] as KeyType,
    origin: values[AT.origin] as BindingOrigin,
    status: values[AT.status] as ApplicationStatus,
    bound_at: values[AT.bound_at]!,
    bound_by: values[AT.bound_by]!,
  };
  const tokensSince = values[AT.tokens_since]!;
  if (tokensSince !== '') binding.tokens_since = tokensSince;
  return binding;
}

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
export type ApplicationField = (typeof APPLICATION_FIELDS)[number];
export type KeyField = `key:${string}`;

/**
 * A client record as HGETALL gives it: any field may be missing from a damaged record, and a record
 * written before the binding was packed holds LEGACY_BINDING_FIELDS instead of BINDING_FIELD.
 */
export type ClientHash = Partial<Record<ClientField | typeof BINDING_FIELD | LegacyBindingField, string>>;

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
