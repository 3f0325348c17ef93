import { defineScript } from '../connection.js';
import { PRELUDE } from './prelude.js';

/**
 * Scripts of `appkeys check --repair` (adapters/redis/repair.ts), one per kind of fix, over the data
 * layout described in layout.ts. The application's `key:<KEY_TYPE>` field is the binding of
 * record; the client's binding field is its reverse index.
 *
 * Node finds a problem by reading, then runs one of these with every key it touches passed in KEYS
 * (built by keys.ts from the ids it read). Each script first re-checks, atomically, that the state the
 * problem was found in still holds, and otherwise changes nothing: repair runs beside live traffic and
 * must never clobber a change that landed between the read and the fix.
 *
 * Like every change, each takes a deadline as its last ARGV (connection.ts).
 *
 * Return codes: 0 nothing changed (the state moved on, or there was nothing to do), 1 (or a table)
 * changed.
 */

const change = (name: string, body: string) => defineScript(name, PRELUDE + body, { deadline: true });

/**
 * dropMissingClient: an application's key field names a client that does not exist.
 * KEYS[1] app key, KEYS[2] client key; ARGV[1] key type, ARGV[2] client id
 * Returns 1 field removed, 0 unchanged.
 */
export const dropMissingClient = change(
  'appkeysRepairDropMissingClient-2',
  `
if redis.call('HGET', KEYS[1], 'key:' .. ARGV[1]) ~= ARGV[2] then return 0 end
if redis.call('HEXISTS', KEYS[2], 'metadata') == 1 then return 0 end
redis.call('HDEL', KEYS[1], 'key:' .. ARGV[1])
return 1
`,
);

/**
 * restoreBinding: an application names an existing, unbound client; the client's binding is written
 * from the application (origin 'provided', so deleting the application keeps the client). A client
 * still holding a binding in the earlier layout's fields is left to packLegacyBinding.
 * KEYS[1] app key, KEYS[2] client key
 * ARGV[1] app id, ARGV[2] key type, ARGV[3] client id, ARGV[4] bound_at, ARGV[5] bound_by
 * Returns 1 restored, 0 unchanged.
 */
export const restoreBinding = change(
  'appkeysRepairRestoreBinding-2',
  `
local app = redis.call('HMGET', KEYS[1], 'id', 'status', 'key:' .. ARGV[2])
if app[1] ~= ARGV[1] or not app[2] or app[3] ~= ARGV[3] then return 0 end
local c = redis.call('HMGET', KEYS[2], 'metadata', 'binding', 'app')
if not c[1] or c[2] or c[3] then return 0 end
redis.call('HSET', KEYS[2], 'binding', encodeBinding({app = ARGV[1], key_type = ARGV[2], origin = 'provided',
  bound_at = ARGV[4], bound_by = ARGV[5], status = app[2]}))
return 1
`,
);

/**
 * dropClaim: an application names a client whose binding is held, both ways, by another application
 * or key type. A client is bound to at most one (application, key type): the one-way claim goes.
 * KEYS[1] claiming app key, KEYS[2] client key, KEYS[3] holding app key (may equal KEYS[1])
 * ARGV[1] claimed key type, ARGV[2] client id, ARGV[3] claiming app id, ARGV[4] holding app id,
 * ARGV[5] holding key type
 * Returns 1 claim removed, 0 unchanged.
 */
export const dropClaim = change(
  'appkeysRepairDropClaim-3',
  `
if redis.call('HGET', KEYS[1], 'key:' .. ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[3] == ARGV[4] and ARGV[1] == ARGV[5] then return 0 end
local b = decodeBinding(redis.call('HGET', KEYS[2], 'binding'))
if not b or b.app ~= ARGV[4] or b.key_type ~= ARGV[5] then return 0 end
if redis.call('HGET', KEYS[3], 'key:' .. ARGV[5]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], 'key:' .. ARGV[1])
return 1
`,
);

/**
 * clearBinding: a client's binding names an application and key type that does not name the client,
 * or does not decode; the binding is removed and the client kept. The script re-checks the value read.
 * KEYS[1] client key, KEYS[2] the app key the binding names (none when it does not decode)
 * ARGV[1] client id, ARGV[2] the binding field as read
 * Returns 1 cleared, 0 unchanged.
 */
export const clearBinding = change(
  'appkeysRepairClearBinding-3',
  `
if redis.call('HGET', KEYS[1], 'binding') ~= ARGV[2] then return 0 end
local b = decodeBinding(ARGV[2])
if b and (not KEYS[2] or redis.call('HGET', KEYS[2], 'key:' .. b.key_type) == ARGV[1]) then return 0 end
redis.call('HDEL', KEYS[1], 'binding')
return 1
`,
);

/**
 * mirrorStatus: a consistent binding whose client mirrors another status than its application's.
 * KEYS[1] app key, KEYS[2] client key; ARGV[1] app id, ARGV[2] key type, ARGV[3] client id
 * Returns {1, status written}, or 0 unchanged.
 */
export const mirrorStatus = change(
  'appkeysRepairMirrorStatus-2',
  `
local app = redis.call('HMGET', KEYS[1], 'id', 'status', 'key:' .. ARGV[2])
if app[1] ~= ARGV[1] or not app[2] or app[3] ~= ARGV[3] then return 0 end
local b = decodeBinding(redis.call('HGET', KEYS[2], 'binding'))
if not b or b.app ~= ARGV[1] or b.key_type ~= ARGV[2] or b.status == app[2] then return 0 end
b.status = app[2]
redis.call('HSET', KEYS[2], 'binding', encodeBinding(b))
return {1, app[2]}
`,
);

/**
 * packLegacyBinding: a client record holds binding fields of the earlier layout, one per part
 * (layout.ts's LEGACY_BINDING_FIELDS), which no other script reads. They are packed into the binding
 * field, a part they lack as '', and removed; where the record has a binding field already (written
 * since: the one every script reads) or they hold no `app` (nothing was bound), they are only removed.
 * KEYS[1] client key
 * Returns {1, 'packed'} or {1, 'removed'}, or 0 when the record holds none of them.
 */
export const packLegacyBinding = change(
  'appkeysRepairPackLegacyBinding-1',
  `
local values = redis.call('HMGET', KEYS[1], unpack(LEGACY_BINDING_FIELDS))
local legacy, any = {}, false
for i, field in ipairs(LEGACY_BINDING_FIELDS) do
  if values[i] then legacy[field], any = values[i], true end
end
if not any then return 0 end
local outcome = 'removed'
if legacy.app and redis.call('HEXISTS', KEYS[1], 'binding') == 0 then
  -- the old fields are named as the parts (layout.ts)
  redis.call('HSET', KEYS[1], 'binding', encodeBinding(legacy))
  outcome = 'packed'
end
redis.call('HDEL', KEYS[1], unpack(LEGACY_BINDING_FIELDS))
return {1, outcome}
`,
);

/**
 * indexApplication: adds an application to whichever of its indexes miss it. Its name goes into its
 * owner's name index only where no other entry holds that name (a stale holder is removed first, by
 * unindexName).
 * KEYS[1] app key, KEYS[2] apps index, KEYS[3] owner index, KEYS[4] owner's names
 * ARGV[1] app id, ARGV[2] owner, ARGV[3] name_key
 * Returns {added to apps, added to owner index, added to names, name held by another (0/1)}, or 0 when
 * the application changed meanwhile.
 */
export const indexApplication = change(
  'appkeysRepairIndexApplication-4',
  `
local app = redis.call('HMGET', KEYS[1], 'id', 'owner', 'name_key')
if app[1] ~= ARGV[1] or app[2] ~= ARGV[2] or app[3] ~= ARGV[3] then return 0 end
local inApps = redis.call('ZADD', KEYS[2], 'NX', 0, ARGV[1])
local inOwner = redis.call('ZADD', KEYS[3], 'NX', 0, ARGV[1])
local holder = redis.call('HGET', KEYS[4], ARGV[3])
local inNames, conflict = 0, 0
if not holder then
  redis.call('HSET', KEYS[4], ARGV[3], ARGV[1])
  inNames = 1
elseif holder ~= ARGV[1] then
  conflict = 1
end
return {inApps, inOwner, inNames, conflict}
`,
);

/**
 * indexClient: adds an existing client to the clients index.
 * KEYS[1] client key, KEYS[2] clients index; ARGV[1] client id
 * Returns 1 added, 0 unchanged.
 */
export const indexClient = change(
  'appkeysRepairIndexClient-2',
  `
if redis.call('HEXISTS', KEYS[1], 'metadata') == 0 then return 0 end
return redis.call('ZADD', KEYS[2], 'NX', 0, ARGV[1])
`,
);

/**
 * unindexMissing: removes an index entry (clients or apps) whose record does not exist.
 * KEYS[1] index, KEYS[2] the record's key; ARGV[1] member
 * Returns 1 removed, 0 unchanged.
 */
export const unindexMissing = change(
  'appkeysRepairUnindexMissing-2',
  `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
`,
);

/**
 * unindexOwner: removes an application from an owner index that is not its owner's. The owner was
 * judged in Node (keys are built there); the script re-checks that it is still what was read.
 * KEYS[1] owner index, KEYS[2] app key; ARGV[1] app id, ARGV[2] '1' if an owner was read, ARGV[3] that owner
 * Returns 1 removed, 0 unchanged.
 */
export const unindexOwner = change(
  'appkeysRepairUnindexOwner-2',
  `
local owner = redis.call('HGET', KEYS[2], 'owner')
if (owner and '1' or '0') ~= ARGV[2] or (owner and owner ~= ARGV[3]) then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
`,
);

/**
 * unindexName: removes a name index entry whose application does not hold that name under that owner.
 * The script re-checks that the entry and the application are still what was read.
 * KEYS[1] names hash, KEYS[2] app key
 * ARGV[1] name_key, ARGV[2] app id, ARGV[3] '1' if the app was read, ARGV[4] its owner, ARGV[5] its name_key
 * Returns 1 removed, 0 unchanged.
 */
export const unindexName = change(
  'appkeysRepairUnindexName-2',
  `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
local app = redis.call('HMGET', KEYS[2], 'id', 'owner', 'name_key')
local read = app[1] and '1' or '0'
if read ~= ARGV[3] or (app[1] and ((app[2] or '') ~= ARGV[4] or (app[3] or '') ~= ARGV[5])) then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`,
);
