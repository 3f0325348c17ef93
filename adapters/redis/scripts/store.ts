import { defineScript } from '../connection.js';
import { PRELUDE } from './prelude.js';

/**
 * Scripts of the appkeys BindingStore. Every change that touches more than one key is one of these:
 * one round trip, atomic, no read-modify-write from Node.
 *
 * The records and their fields are described in layout.ts (key names from keys.ts, all under one hash
 * tag); test/redis-layout.test.ts checks every field named here against it.
 *
 * Scripts that reach a key from an id they read build it with `enc`, the Lua twin of keys.ts's
 * `encodeKeyPart`, and a key prefix passed in ARGV by keys.ts. A client record's binding (one field,
 * its parts packed by the prelude's encodeBinding) is written only here and by repair.
 *
 * Every change also takes a deadline as its last ARGV (connection.ts) and fails with APPKEYS_DEADLINE
 * past it, having changed nothing.
 *
 * Changes made for someone take their access as two ARGV: the kind ('admin' or 'owner') and the owner
 * ('' for an admin). An owner reaches only their own applications, and none while it is BLOCKED.
 *
 * Return codes: 1 (or a table) success, 0 nothing there / idempotent, negative = refused:
 *   -1 application not found  -2 client not found  -3 client already bound  -4 key type already bound
 *   -5 client exists  -6 name taken  -7 revision conflict  -8 application blocked
 *   -9 throttled (second element: retry ms)  -10 issuer not found  -11 issuer taken
 * (the table of refusals.ts; scripts/issuers.ts uses the same codes)
 */

const STORE_PRELUDE =
  PRELUDE +
  `
-- removes the binding b (decoded) from its client: a generated client goes with it
local function unbindClient(clientKey, clientsKey, clientId, b)
  if b.origin == 'generated' then
    redis.call('DEL', clientKey)
    redis.call('ZREM', clientsKey, clientId)
  else
    redis.call('HDEL', clientKey, 'binding')
  end
end
-- why an access (kind, owner) may not change an application, if it may not: another owner's application
-- is not found (never "forbidden", so ids cannot be probed); a BLOCKED one is the admin's until lifted
local function refusal(appOwner, appStatus, kind, owner)
  if kind == 'admin' then return nil end
  if kind ~= 'owner' then return redis.error_reply('APPKEYS_ACCESS unknown access kind') end
  if appOwner ~= owner then return -1 end
  if appStatus == 'BLOCKED' then return -8 end
  return nil
end
`;

/** A change: refused after its deadline (see connection.ts), so a 503 answer is never followed by it. */
const change = (name: string, body: string) => defineScript(name, STORE_PRELUDE + body, { deadline: true });
const read = (name: string, body: string) => defineScript(name, STORE_PRELUDE + body);

/**
 * putClient
 * KEYS[1] client key, KEYS[2] clients index; ARGV[1] client id, ARGV[2] metadata JSON, ARGV[3] time,
 * ARGV[4] digest of the metadata's canonical JSON (key order aside, equal metadata has equal digests)
 * Returns 1 created, 2 replaced (binding untouched), 3 unchanged (nothing written).
 */
export const putClient = change(
  'appkeysPutClient-2',
  `
local stored = redis.call('HMGET', KEYS[1], 'rev', 'digest')
if stored[1] and stored[2] == ARGV[4] then return 3 end
if stored[1] then
  redis.call('HSET', KEYS[1], 'metadata', ARGV[2], 'digest', ARGV[4], 'updated_at', ARGV[3])
  redis.call('HINCRBY', KEYS[1], 'rev', 1)
  return 2
end
redis.call('HSET', KEYS[1], 'metadata', ARGV[2], 'digest', ARGV[4],
  'registered_at', ARGV[3], 'updated_at', ARGV[3], 'rev', 1)
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
`,
);

/**
 * replaceClientMetadata (compare-and-set on the revision)
 * KEYS[1] client key; ARGV[1] metadata JSON, ARGV[2] expected revision, ARGV[3] time, ARGV[4] digest,
 * ARGV[5] '1' to refuse while the client's application is BLOCKED
 * Returns 1, 0 not found, -7 conflict, -8 blocked.
 */
export const replaceClientMetadata = change(
  'appkeysReplaceClientMetadata-1',
  `
local c = redis.call('HMGET', KEYS[1], 'rev', 'binding', 'status')
if not c[1] then return 0 end
if c[1] ~= ARGV[2] then return -7 end
local b = decodeBinding(c[2])
-- c[3]: the status of a binding an earlier version wrote, until repair packs it (layout.ts)
local blocked = (b and b.status == 'BLOCKED') or (not c[2] and c[3] == 'BLOCKED')
if ARGV[5] == '1' and blocked then return -8 end
redis.call('HSET', KEYS[1], 'metadata', ARGV[1], 'digest', ARGV[4], 'updated_at', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'rev', 1)
return 1
`,
);

/**
 * deleteClient
 * KEYS[1] client key, KEYS[2] clients index; ARGV[1] client id, ARGV[2] '1' to force, ARGV[3] app key prefix
 * Returns {1} deleted unbound (or with a binding that does not decode, or in the earlier layout: repair
 * then drops the application's claim), {1, app, key_type, origin, bound_at, bound_by} deleted with its
 * binding, 0 not found, -3 bound (without force).
 */
export const deleteClient = change(
  'appkeysDeleteClient-2',
  `
local c = redis.call('HMGET', KEYS[1], 'rev', 'binding', 'app')
if not c[1] then return 0 end
-- c[3]: a binding an earlier version wrote, until repair packs it (layout.ts), holds its client too
if (c[2] or c[3]) and ARGV[2] ~= '1' then return -3 end
local b = decodeBinding(c[2])
if b then
  local appKey = ARGV[3] .. enc(b.app)
  local field = 'key:' .. b.key_type
  if redis.call('HGET', appKey, field) == ARGV[1] then redis.call('HDEL', appKey, field) end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if b then return {1, b.app, b.key_type, b.origin, b.bound_at, b.bound_by} end
return {1}
`,
);

/**
 * createApplication
 * KEYS[1] app key, KEYS[2] apps index, KEYS[3] owner index, KEYS[4] owner's names
 * ARGV id, name, name_key, description, owner, status, created_at
 * Returns 1, -6 name taken.
 */
export const createApplication = change(
  'appkeysCreateApplication-4',
  `
if redis.call('HEXISTS', KEYS[4], ARGV[3]) == 1 then return -6 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'name', ARGV[2], 'name_key', ARGV[3], 'description', ARGV[4],
  'owner', ARGV[5], 'status', ARGV[6], 'created_at', ARGV[7], 'updated_at', ARGV[7])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
redis.call('HSET', KEYS[4], ARGV[3], ARGV[1])
return 1
`,
);

const READ_APPLICATION = `
local function readApplication(appKey, clientPrefix)
  local fields = redis.call('HGETALL', appKey)
  if #fields == 0 then return nil end
  local bindings = {}
  for i = 1, #fields, 2 do
    local kt = string.match(fields[i], '^key:(.+)$')
    if kt then
      local b = decodeBinding(redis.call('HGET', clientPrefix .. enc(fields[i + 1]), 'binding')) or {}
      table.insert(bindings, {kt, fields[i + 1], b.origin or '', b.bound_at or '', b.bound_by or ''})
    end
  end
  return {fields, bindings}
end
`;

/**
 * getApplication
 * KEYS[1] app key; ARGV[1] client key prefix
 * Returns {app hash as flat list, {{key_type, client_id, origin, bound_at, bound_by}, ...}}, or 0.
 */
export const getApplication = read(
  'appkeysGetApplication-1',
  READ_APPLICATION +
    `
return readApplication(KEYS[1], ARGV[1]) or 0
`,
);

/**
 * listApplications
 * KEYS[1] index (apps or one owner's); ARGV[1] lexical start ('-' or '(<id>'), ARGV[2] limit,
 * ARGV[3] app key prefix, ARGV[4] client key prefix
 * Returns a list of getApplication replies, in id order.
 */
export const listApplications = read(
  'appkeysListApplications-1',
  READ_APPLICATION +
    `
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], ARGV[1], '+', 'BYLEX', 'LIMIT', 0, tonumber(ARGV[2]))) do
  local app = readApplication(ARGV[3] .. enc(id), ARGV[4])
  if app then table.insert(out, app) end
end
return out
`,
);

/**
 * listClients
 * KEYS[1] clients index; ARGV[1] lexical start, ARGV[2] limit, ARGV[3] client key prefix
 * Returns a list of client hashes as flat lists.
 */
export const listClients = read(
  'appkeysListClients-1',
  `
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], ARGV[1], '+', 'BYLEX', 'LIMIT', 0, tonumber(ARGV[2]))) do
  local c = redis.call('HGETALL', ARGV[3] .. enc(id))
  if #c > 0 then table.insert(out, c) end
end
return out
`,
);

/**
 * updateApplication
 * KEYS[1] app key
 * ARGV[1] name ('' unchanged), ARGV[2] name_key, ARGV[3] '1' to set description, ARGV[4] description,
 * ARGV[5] status ('' unchanged), ARGV[6] updated_at, ARGV[7] names key prefix, ARGV[8] client key prefix,
 * ARGV[9] access kind, ARGV[10] owner
 * Returns 1, -1 not found, -6 name taken, -8 blocked. A status change is mirrored into every bound client.
 */
export const updateApplication = change(
  'appkeysUpdateApplication-1',
  `
local app = redis.call('HMGET', KEYS[1], 'id', 'owner', 'name_key', 'status')
if not app[1] then return -1 end
local denied = refusal(app[2], app[4], ARGV[9], ARGV[10])
if denied then return denied end
if ARGV[1] ~= '' and ARGV[2] ~= app[3] then
  local namesKey = ARGV[7] .. enc(app[2])
  local holder = redis.call('HGET', namesKey, ARGV[2])
  if holder and holder ~= app[1] then return -6 end
  if redis.call('HGET', namesKey, app[3]) == app[1] then redis.call('HDEL', namesKey, app[3]) end
  redis.call('HSET', namesKey, ARGV[2], app[1])
end
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'name', ARGV[1], 'name_key', ARGV[2]) end
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'description', ARGV[4]) end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'status', ARGV[5])
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields, 2 do
    if string.match(fields[i], '^key:') then
      local clientKey = ARGV[8] .. enc(fields[i + 1])
      local b = decodeBinding(redis.call('HGET', clientKey, 'binding'))
      if b and b.app == app[1] then
        b.status = ARGV[5]
        -- tokens issued before a block stay dead after it is lifted
        if ARGV[5] == 'BLOCKED' then b.tokens_since = ARGV[6] end
        redis.call('HSET', clientKey, 'binding', encodeBinding(b))
      end
    end
  end
end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[6])
return 1
`,
);

/**
 * deleteApplication: provided clients unbound and kept, generated clients deleted.
 * KEYS[1] app key, KEYS[2] apps index, KEYS[3] clients index
 * ARGV[1] client key prefix, ARGV[2] owner index prefix, ARGV[3] names key prefix, ARGV[4] access kind,
 * ARGV[5] owner
 * Returns 0 not found, -1 not this owner's, -8 blocked, or {1, {key_type, client_id, origin, bound_at, bound_by}, ...}.
 */
export const deleteApplication = change(
  'appkeysDeleteApplication-3',
  `
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return 0 end
local app = {}
for i = 1, #fields, 2 do app[fields[i]] = fields[i + 1] end
local denied = refusal(app.owner, app.status, ARGV[4], ARGV[5])
if denied then return denied end
local out = {1}
for name, clientId in pairs(app) do
  local kt = string.match(name, '^key:(.+)$')
  if kt then
    local clientKey = ARGV[1] .. enc(clientId)
    local b = decodeBinding(redis.call('HGET', clientKey, 'binding'))
    if b and b.app == app.id then
      unbindClient(clientKey, KEYS[3], clientId, b)
      table.insert(out, {kt, clientId, b.origin, b.bound_at, b.bound_by})
    end
  end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], app.id)
redis.call('ZREM', ARGV[2] .. enc(app.owner), app.id)
local namesKey = ARGV[3] .. enc(app.owner)
if redis.call('HGET', namesKey, app.name_key) == app.id then redis.call('HDEL', namesKey, app.name_key) end
return out
`,
);

const THROTTLE = `
-- the ms until the caller may try again (0: not throttled); reads only, so a read script may ask it.
-- A failure at t counts while now - t < window.
local function throttled(callerKey, clientKey, now, window, perCaller, perClient)
  local wait = 0
  local live = '(' .. (now - window)
  for _, w in ipairs({{callerKey, perCaller}, {clientKey, perClient}}) do
    local count = redis.call('ZCOUNT', w[1], live, '+inf')
    if count >= w[2] then
      -- the window opens again when enough of its oldest failures have aged out
      local oldest = redis.call('ZRANGE', w[1], live, '+inf', 'BYSCORE', 'LIMIT', count - w[2], 1, 'WITHSCORES')
      local until_ms = tonumber(oldest[2]) + window - now
      if until_ms < 1 then until_ms = 1 end
      if until_ms > wait then wait = until_ms end
    end
  end
  return wait
end
`;

/**
 * bind: binds a client as provided keys, unless its failed attempts are over the limit. A client of a
 * third-party issuer (ARGV[12] set) gets its record here, on its first binding, while its issuer is
 * registered: checked in this step, so that a concurrent deleteIssuer cannot leave a binding behind.
 * KEYS[1] app key, KEYS[2] client key, KEYS[3] caller attempts, KEYS[4] client attempts, KEYS[5] clients
 * index, KEYS[6] issuers hash
 * ARGV[1] app id, ARGV[2] key type, ARGV[3] client id, ARGV[4] bound_at, ARGV[5] bound_by,
 * ARGV[6] access kind, ARGV[7] now ms, ARGV[8] window ms, ARGV[9] per caller, ARGV[10] per client, ARGV[11] owner,
 * ARGV[12] issuer_id ('' for a local client), ARGV[13] an external client's new metadata JSON, ARGV[14] its digest
 * Returns 1 created, 0 exists, -1, -2, -3, -4, -8, -10, or {-9, retry ms}.
 */
export const bind = change(
  'appkeysBind-6',
  THROTTLE +
    `
local wait = throttled(KEYS[3], KEYS[4], tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]))
if wait > 0 then return {-9, wait} end
local app = redis.call('HMGET', KEYS[1], 'owner', 'status', 'key:' .. ARGV[2])
if not app[1] then return -1 end
local denied = refusal(app[1], app[2], ARGV[6], ARGV[11])
if denied then return denied end
local external = ARGV[12] ~= ''
if external and redis.call('HEXISTS', KEYS[6], ARGV[12]) == 0 then return -10 end
local c = redis.call('HMGET', KEYS[2], 'rev', 'binding', 'app')
if not c[1] and not external then return -2 end
local b = decodeBinding(c[2])
if b and b.app == ARGV[1] and b.key_type == ARGV[2] then return 0 end
-- a binding that does not decode holds its client all the same, until repair clears it, and so does
-- one an earlier version wrote (c[3], layout.ts), until repair packs it
if c[2] or c[3] then return -3 end
if app[3] then return -4 end
-- an external client's record: created by its first binding, never by a refused one
if not c[1] then
  redis.call('HSET', KEYS[2], 'metadata', ARGV[13], 'digest', ARGV[14],
    'registered_at', ARGV[4], 'updated_at', ARGV[4], 'rev', 1)
  redis.call('ZADD', KEYS[5], 0, ARGV[3])
end
redis.call('HSET', KEYS[1], 'key:' .. ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], 'binding', encodeBinding({app = ARGV[1], key_type = ARGV[2], origin = 'provided',
  bound_at = ARGV[4], bound_by = ARGV[5], status = app[2]}))
return 1
`,
);

/**
 * createAndBind: registers a new client already bound, so no orphan can exist.
 * KEYS[1] app key, KEYS[2] client key, KEYS[3] clients index
 * ARGV[1] app id, ARGV[2] key type, ARGV[3] client id, ARGV[4] metadata JSON, ARGV[5] time, ARGV[6] bound_by,
 * ARGV[7] access kind, ARGV[8] metadata digest, ARGV[9] owner
 * Returns 1, -1, -4, -5, -8.
 */
export const createAndBind = change(
  'appkeysCreateAndBind-3',
  `
local app = redis.call('HMGET', KEYS[1], 'owner', 'status', 'key:' .. ARGV[2])
if not app[1] then return -1 end
local denied = refusal(app[1], app[2], ARGV[7], ARGV[9])
if denied then return denied end
if app[3] then return -4 end
if redis.call('EXISTS', KEYS[2]) == 1 then return -5 end
redis.call('HSET', KEYS[2], 'metadata', ARGV[4], 'digest', ARGV[8],
  'registered_at', ARGV[5], 'updated_at', ARGV[5], 'rev', 1,
  'binding', encodeBinding({app = ARGV[1], key_type = ARGV[2], origin = 'generated',
    bound_at = ARGV[5], bound_by = ARGV[6], status = app[2]}))
redis.call('ZADD', KEYS[3], 0, ARGV[3])
redis.call('HSET', KEYS[1], 'key:' .. ARGV[2], ARGV[3])
return 1
`,
);

/**
 * unbind: removes one binding; a generated client goes with it.
 * KEYS[1] app key, KEYS[2] clients index; ARGV[1] key type, ARGV[2] client key prefix, ARGV[3] access kind,
 * ARGV[4] owner
 * Returns 0 none (or not this owner's), -8 blocked, or {1, client_id, origin, bound_at, bound_by}.
 */
export const unbind = change(
  'appkeysUnbind-2',
  `
local app = redis.call('HMGET', KEYS[1], 'id', 'owner', 'status', 'key:' .. ARGV[1])
local appId, clientId = app[1], app[4]
if not appId then return 0 end
local denied = refusal(app[2], app[3], ARGV[3], ARGV[4])
if denied == -1 then return 0 end
if denied then return denied end
if not clientId then return 0 end
redis.call('HDEL', KEYS[1], 'key:' .. ARGV[1])
local clientKey = ARGV[2] .. enc(clientId)
local b = decodeBinding(redis.call('HGET', clientKey, 'binding'))
if not b or b.app ~= appId then return {1, clientId, '', '', ''} end
unbindClient(clientKey, KEYS[2], clientId, b)
return {1, clientId, b.origin, b.bound_at, b.bound_by}
`,
);

/**
 * recordFailedAttempt: one failure in both sliding windows, unless already throttled.
 * KEYS[1] caller attempts, KEYS[2] client attempts
 * ARGV[1] now ms, ARGV[2] window ms, ARGV[3] per caller, ARGV[4] per client, ARGV[5] unique member
 * Returns the ms until the next attempt is allowed (0: not throttled, failure recorded).
 */
export const recordFailedAttempt = change(
  'appkeysRecordFailedAttempt-2',
  THROTTLE +
    `
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local wait = throttled(KEYS[1], KEYS[2], now, window, tonumber(ARGV[3]), tonumber(ARGV[4]))
if wait > 0 then return wait end
for i = 1, 2 do
  -- failures that aged out go as new ones come, so a window holds at most its limit's worth
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  redis.call('ZADD', KEYS[i], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[i], window)
end
return 0
`,
);

/**
 * attemptWait: how long the caller must wait before trying again, recording nothing.
 * KEYS[1] caller attempts, KEYS[2] client attempts
 * ARGV[1] now ms, ARGV[2] window ms, ARGV[3] per caller, ARGV[4] per client
 * Returns the ms until the next attempt is allowed (0: not throttled).
 */
export const attemptWait = read(
  'appkeysAttemptWait-2',
  THROTTLE +
    `
return throttled(KEYS[1], KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
`,
);

/**
 * clearFailedAttempts: forgets a client's failures from anyone (its per-client window).
 * KEYS[1] client attempts
 * Returns 1 when there was a window, else 0.
 */
export const clearFailedAttempts = change(
  'appkeysClearFailedAttempts-1',
  `
return redis.call('DEL', KEYS[1])
`,
);
