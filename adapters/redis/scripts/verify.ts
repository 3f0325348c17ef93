import { defineScript } from '../connection.js';
import { PRELUDE } from './prelude.js';

/**
 * Read-only scripts of verify() (adapters/redis/verify.ts says how they combine, and why the counts
 * prove what they prove). Each checks a batch of records on the server, in one atomic call, and returns
 * the problems it found as readable strings. Records as layout.ts describes them; keys built as in
 * store.ts's scripts (`enc` is keys.ts's `encodeKeyPart`).
 *
 * At a million bindings the cost is Redis looking keys up (each lookup misses the CPU's caches), so
 * these scripts read each record once, with the fields they need, and check a batch's index
 * memberships with one ZMSCORE or EXISTS.
 */

const VERIFY_PRELUDE =
  PRELUDE +
  `
local find, sub, byte, gsub, insert = string.find, string.sub, string.byte, string.gsub, table.insert
-- The prelude's enc passes every byte through a pattern and a callback; an id made only of the bytes it
-- keeps (nearly every id) is returned after one anchored match instead. Same result, about half the cost.
local encodeEach = enc
local function enc(s)
  if find(s, '^[%w%-_%.]*$') then return s end
  return encodeEach(s)
end
-- the Lua twin of keys.ts's decodeKeyPart, for the ids this store writes
local function dec(s)
  if not find(s, '%', 1, true) then return s end
  return (gsub(s, '%%(%x%x)', function(h) return string.char(tonumber(h, 16)) end))
end
-- the id a key of one kind holds, and whether the key is that id's own (as encodeKeyPart builds it)
local function idOf(key, prefix)
  local encoded = sub(key, #prefix + 1)
  local id = dec(encoded)
  return id, enc(id) == encoded
end
local problems = {}
local function problem(text) insert(problems, text) end
local function checkOwnerMember(appPrefix, ownerPrefix, ownerKey, id)
  local owner = redis.call('HGET', appPrefix .. enc(id), 'owner')
  if not owner or ownerPrefix .. enc(owner) ~= ownerKey then
    problem('owner index ' .. ownerKey .. ' names application ' .. id .. ", which is not that owner's")
  end
end
local function checkNameEntry(appPrefix, namesPrefix, namesKey, nameKey, id)
  local app = redis.call('HMGET', appPrefix .. enc(id), 'name_key', 'owner')
  if app[1] ~= nameKey or not app[2] or namesPrefix .. enc(app[2]) ~= namesKey then
    problem('name index ' .. namesKey .. ' maps a name to application ' .. id .. ', which does not hold it')
  end
end

-- An application record read whole: its fields, and the {key type, client id} of each binding.
local function readApplication(appKey)
  local fields = redis.call('HGETALL', appKey)
  local app, bindings = {}, {}
  for i = 1, #fields, 2 do
    local field = fields[i]
    app[field] = fields[i + 1]
    -- 58 is ':', the fourth byte of 'key:'
    if byte(field, 4) == 58 and #field > 4 and sub(field, 1, 4) == 'key:' then
      insert(bindings, {sub(field, 5), fields[i + 1]})
    end
  end
  return app, bindings, #fields > 0
end

-- A client record as CLIENT_READ reads it: metadata, revision, binding, then the earlier layout's fields.
local CLIENT_READ = {'metadata', 'rev', 'binding', unpack(LEGACY_BINDING_FIELDS)}
local function inEarlierLayout(c, from)
  for i = from or 4, #c do
    if c[i] then return true end
  end
  return false
end

-- An application's references, from its record (id, owner and name present): its owner's index, its
-- name in its owner's name index, and each binding's client pointing back with the same key type and
-- mirroring its status. Returns whether it is in its owner's index, whether it holds its name, and how
-- many bindings point back.
local function checkReferences(app, bindings, ownerPrefix, namesPrefix, clientPrefix)
  local id = app.id
  local owner = enc(app.owner)
  local owned = redis.call('ZSCORE', ownerPrefix .. owner, id) and true or false
  if not owned then problem('application ' .. id .. " missing from its owner's index") end
  local named = redis.call('HGET', namesPrefix .. owner, app.name_key) == id
  if not named then problem('application ' .. id .. " missing from its owner's name index") end
  local bound = 0
  for _, binding in ipairs(bindings) do
    local keyType, clientId = binding[1], binding[2]
    local clientKey = clientPrefix .. enc(clientId)
    -- the client's metadata, revision and index are checked on its own record
    local c = redis.call('HMGET', clientKey, 'binding', unpack(LEGACY_BINDING_FIELDS))
    local b = decodeBinding(c[1])
    if b and b.app == id and b.key_type == keyType then
      bound = bound + 1
      if b.status ~= app.status then
        problem('client ' .. clientId .. ' mirrors status ' .. (b.status ~= '' and b.status or 'none')
          .. ' but application ' .. id .. ' is ' .. (app.status or 'none'))
      end
    elseif (c[1] and not b) or (not c[1] and inEarlierLayout(c, 2)) then
      -- a binding that does not decode, or in the earlier layout: reported with the client record
    elseif not c[1] and redis.call('EXISTS', clientKey) == 0 then
      problem('application ' .. id .. ' ' .. keyType .. ' is bound to client ' .. clientId .. ', which does not exist')
    else
      problem('application ' .. id .. ' ' .. keyType .. ' names client ' .. clientId .. ', whose record says '
        .. (b and b.app or 'unbound') .. ' ' .. (b and b.key_type or ''))
    end
  end
  return owned, named, bound
end

-- A bound client's application names it under its key type.
local function checkBackReference(appPrefix, clientId, appId, keyType)
  if redis.call('HGET', appPrefix .. enc(appId), 'key:' .. (keyType or '')) ~= clientId then
    problem('client ' .. clientId .. ' says it is bound to ' .. appId .. ' ' .. (keyType or '')
      .. ', which does not name it')
  end
end


-- A client record has metadata and a revision, and a binding this version reads; false when it lacks
-- metadata or revision. Returns the decoded binding as a second value.
local function checkClientFields(clientId, c)
  if inEarlierLayout(c) then
    problem('client ' .. clientId .. ' keeps binding fields of an earlier version (app, key_type, …), which this'
      .. ' version does not read: appkeys check --repair packs them into its binding field')
  end
  local b = decodeBinding(c[3])
  if c[3] and not b then problem('client ' .. clientId .. ' has a binding field that does not decode') end
  if not c[1] or not c[2] then
    problem('client record ' .. clientId .. ' lacks metadata or revision')
    return false, b
  end
  return true, b
end

-- The next members of a sorted-set index in lexical order (as the store lists them), or nil on the first
-- call when some score is not 0 (the store writes none), which leaves lexical order undefined.
local function lexicalRange(index, start, limit)
  if start == '-' and redis.call('ZCOUNT', index, 0, 0) ~= redis.call('ZCARD', index) then return nil end
  return redis.call('ZRANGE', index, start, '+', 'BYLEX', 'LIMIT', 0, limit)
end
`;

/**
 * verifyFingerprint: what changes whenever Redis applies a write, a key expires or is evicted, or it
 * restarts or saves: equal at the start and the end of a run means that nothing changed meanwhile.
 * KEYS[1] any key of the store (it routes the call to the store's master). Returns the fingerprint, or
 * '' when INFO lacks one of its fields.
 */
export const verifyFingerprint = defineScript(
  'appkeysVerifyFingerprint-1',
  `
local info = redis.call('INFO')
local parts = {}
for _, field in ipairs({'run_id', 'rdb_changes_since_last_save', 'rdb_saves', 'rdb_last_save_time',
    'expired_keys', 'evicted_keys'}) do
  local value = string.match(info, '\\n' .. field .. ':([^\\r\\n]*)')
  if not value then return '' end
  table.insert(parts, value)
end
return table.concat(parts, ' ')
`,
);

/**
 * verifyApplicationRange: the next members of the applications index, each with its record: the record
 * exists and carries that id, an owner and a name; it is in its owner's index and holds its name in its
 * owner's name index; each `key:<type>` names a client whose record points back with the same
 * application and key type, and mirrors its status.
 * KEYS[1] applications index; ARGV[1] lexical start ('-' or '(<last member read>'), ARGV[2] most members
 * read, ARGV[3] app key prefix, ARGV[4] client key prefix, ARGV[5] owner index prefix, ARGV[6] names prefix
 * Returns {members read, the last of them, problems, {records, in their owner's index, holding their
 * name, bindings pointing back}}, or {-1} (see lexicalRange).
 */
export const verifyApplicationRange = defineScript(
  'appkeysVerifyApplicationRange-2',
  VERIFY_PRELUDE +
    `
local ids = lexicalRange(KEYS[1], ARGV[1], tonumber(ARGV[2]))
if not ids then return {-1} end
local records, owned, named, bound = 0, 0, 0, 0
for _, id in ipairs(ids) do
  local appKey = ARGV[3] .. enc(id)
  local app, bindings, exists = readApplication(appKey)
  if not exists then
    problem('applications index names missing application ' .. id)
  else
    records = records + 1
    if app.id ~= id then
      problem('application record ' .. appKey .. ' has no id or an id that does not match its key')
    elseif not app.owner or not app.name_key then
      problem('application ' .. id .. ' lacks owner or name')
    else
      local inOwners, holdsName, pointBack = checkReferences(app, bindings, ARGV[5], ARGV[6], ARGV[4])
      if inOwners then owned = owned + 1 end
      if holdsName then named = named + 1 end
      bound = bound + pointBack
    end
  end
end
return {#ids, ids[#ids] or '', problems, {records, owned, named, bound}}
`,
);

/**
 * verifyClientRange: the next members of the clients index, each with its record: the record exists and
 * has metadata and a revision.
 * KEYS[1] clients index; ARGV[1] lexical start, ARGV[2] most members read, ARGV[3] client key prefix
 * Returns {members read, the last of them, problems, {records, bound records}}, or {-1}.
 */
export const verifyClientRange = defineScript(
  'appkeysVerifyClientRange-2',
  VERIFY_PRELUDE +
    `
local ids = lexicalRange(KEYS[1], ARGV[1], tonumber(ARGV[2]))
if not ids then return {-1} end
local records, bound = 0, 0
for _, id in ipairs(ids) do
  local clientKey = ARGV[3] .. enc(id)
  local c = redis.call('HMGET', clientKey, unpack(CLIENT_READ))
  if not c[1] and not c[2] and not c[3] and not inEarlierLayout(c) and redis.call('EXISTS', clientKey) == 0 then
    problem('clients index names missing client ' .. id)
  else
    records = records + 1
    local _, b = checkClientFields(id, c)
    if b then bound = bound + 1 end
  end
end
return {#ids, ids[#ids] or '', problems, {records, bound}}
`,
);

/**
 * verifyKeyspaceCounts: one SCAN step over the store's keys, counting application and client records
 * and the entries of owners' indexes and name indexes (ZCARD, HLEN: nothing else is read).
 * KEYS[1] any key of the store (routing; the SCAN covers the master holding the store's one slot, so
 * every key of the store); ARGV[1] SCAN cursor, ARGV[2] MATCH pattern, ARGV[3] SCAN COUNT, ARGV[4] app
 * key prefix, ARGV[5] client key prefix, ARGV[6] owner index prefix, ARGV[7] names prefix
 * Returns {next cursor, {application keys, client keys, owner index entries, name index entries}}.
 */
export const verifyKeyspaceCounts = defineScript(
  'appkeysVerifyKeyspaceCounts-1',
  `
local sub = string.sub
local prefixes = {ARGV[4], ARGV[5], ARGV[6], ARGV[7]}
local counts = {0, 0, 0, 0}
local scan = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', tonumber(ARGV[3]))
for _, key in ipairs(scan[2]) do
  for kind, prefix in ipairs(prefixes) do
    if sub(key, 1, #prefix) == prefix then
      if kind == 3 then
        counts[3] = counts[3] + redis.call('ZCARD', key)
      elseif kind == 4 then
        counts[4] = counts[4] + redis.call('HLEN', key)
      else
        counts[kind] = counts[kind] + 1
      end
      break
    end
  end
end
return {scan[1], counts}
`,
);

/**
 * verifyKeyspace: the member-by-member checks the counts did not settle, over one SCAN step, each named
 * by a letter of ARGV[8]:
 *  - a: each application record is its id's own key and in the applications index; one that is not is
 *    checked here whole (the range walk never reads it); with A, every one is checked whole;
 *  - c: the same for client records and the clients index, and C;
 *  - b: each bound client's application names it under its key type;
 *  - o: each member of an owner's index is an application of that owner;
 *  - n: each name of an owner's name index maps to an application holding it, of that owner.
 * Owners' indexes and name indexes larger than ARGV[9] are handed back, to be paged through by
 * verifyOwnerMembers and verifyNames.
 * KEYS[1] applications index, KEYS[2] clients index; ARGV[1] SCAN cursor, ARGV[2] MATCH pattern,
 * ARGV[3] SCAN COUNT, ARGV[4] app key prefix, ARGV[5] client key prefix, ARGV[6] owner index prefix,
 * ARGV[7] names prefix, ARGV[8] the checks, ARGV[9] largest index read here
 * Returns {next cursor, problems, keys of larger owner indexes, keys of larger name indexes}.
 */
export const verifyKeyspace = defineScript(
  'appkeysVerifyKeyspace-3',
  VERIFY_PRELUDE +
    `
local appPrefix, clientPrefix, ownerPrefix, namesPrefix = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local checks = {}
for letter in string.gmatch(ARGV[8], '.') do checks[letter] = true end
local largest = tonumber(ARGV[9])
local largeOwners, largeNames = {}, {}
-- records whose index membership is checked for the whole batch, with one ZMSCORE each
local apps, clients = {}, {}

local function checkApplication(appKey, indexed)
  local app, bindings, exists = readApplication(appKey)
  local id = app.id
  if not exists or not id or appKey ~= appPrefix .. enc(id) then
    problem('application record ' .. appKey .. ' has no id or an id that does not match its key')
  elseif not app.owner or not app.name_key then
    problem('application ' .. id .. ' lacks owner or name')
  else
    if not indexed then problem('application ' .. id .. ' missing from the applications index') end
    checkReferences(app, bindings, ownerPrefix, namesPrefix, clientPrefix)
  end
end

local function checkClient(clientKey, clientId, indexed)
  local c = redis.call('HMGET', clientKey, unpack(CLIENT_READ))
  local complete, b = checkClientFields(clientId, c)
  if complete then
    if not indexed then problem('client ' .. clientId .. ' missing from the clients index') end
    if b then checkBackReference(appPrefix, clientId, b.app, b.key_type) end
  end
end

local function checkBinding(clientKey, clientId)
  local b = decodeBinding(redis.call('HGET', clientKey, 'binding'))
  if b then checkBackReference(appPrefix, clientId, b.app, b.key_type) end
end

local function checkOwner(ownerKey)
  if redis.call('ZCARD', ownerKey) > largest then
    insert(largeOwners, ownerKey)
    return
  end
  for _, id in ipairs(redis.call('ZRANGE', ownerKey, 0, -1)) do
    checkOwnerMember(appPrefix, ownerPrefix, ownerKey, id)
  end
end

local function checkNames(namesKey)
  if redis.call('HLEN', namesKey) > largest then
    insert(largeNames, namesKey)
    return
  end
  local entries = redis.call('HGETALL', namesKey)
  for i = 1, #entries, 2 do checkNameEntry(appPrefix, namesPrefix, namesKey, entries[i], entries[i + 1]) end
end

local function startsWith(key, prefix) return sub(key, 1, #prefix) == prefix end
local scan = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', tonumber(ARGV[3]))
for _, key in ipairs(scan[2]) do
  if startsWith(key, appPrefix) then
    if checks.a or checks.A then
      local id, own = idOf(key, appPrefix)
      if own then insert(apps, {key, id}) else checkApplication(key, true) end
    end
  elseif startsWith(key, clientPrefix) then
    if checks.c or checks.C or checks.b then
      local id, own = idOf(key, clientPrefix)
      if checks.c or checks.C then insert(clients, {key, id, own}) else checkBinding(key, id) end
    end
  elseif startsWith(key, ownerPrefix) then
    if checks.o then checkOwner(key) end
  elseif startsWith(key, namesPrefix) then
    if checks.n then checkNames(key) end
  end
end

local function members(index, records)
  local ids = {}
  for i, record in ipairs(records) do ids[i] = record[2] end
  if #ids == 0 then return {} end
  return redis.call('ZMSCORE', index, unpack(ids))
end
local scores = members(KEYS[1], apps)
for i, record in ipairs(apps) do
  -- one that is indexed was checked by the range walk, unless it could not read the index (A)
  if not scores[i] or checks.A then checkApplication(record[1], scores[i]) end
end
scores = members(KEYS[2], clients)
for i, record in ipairs(clients) do
  -- one that is its id's own key and indexed was checked by the range walk, all but its binding
  if not scores[i] or not record[3] or checks.C then
    checkClient(record[1], record[2], scores[i])
  elseif checks.b then
    checkBinding(record[1], record[2])
  end
end
return {scan[1], problems, largeOwners, largeNames}
`,
);

/**
 * verifyIndexMembers: every member of the applications or clients index names a record that exists;
 * for an index whose lexical order is undefined (see lexicalRange), paged with ZSCAN.
 * KEYS[1] the index; ARGV[1] record key prefix, ARGV[2] what a missing record is called in a problem
 * ("clients index names missing client"), ARGV[3..] members
 */
export const verifyIndexMembers = defineScript(
  'appkeysVerifyIndexMembers-1',
  VERIFY_PRELUDE +
    `
for i = 3, #ARGV do
  if redis.call('EXISTS', ARGV[1] .. enc(ARGV[i])) == 0 then problem(ARGV[2] .. ' ' .. ARGV[i]) end
end
return problems
`,
);

/**
 * verifyOwnerMembers: every member of an owner's index is an application of that owner; for owners'
 * indexes too large for verifyKeyspace.
 * KEYS[1] the owner's index; ARGV[1] app key prefix, ARGV[2] owner index prefix, ARGV[3..] members
 */
export const verifyOwnerMembers = defineScript(
  'appkeysVerifyOwnerMembers-1',
  VERIFY_PRELUDE +
    `
for i = 3, #ARGV do checkOwnerMember(ARGV[1], ARGV[2], KEYS[1], ARGV[i]) end
return problems
`,
);

/**
 * verifyNames: every (name, application id) of an owner's name index is held by that application; for
 * name indexes too large for verifyKeyspace.
 * KEYS[1] the names hash; ARGV[1] app key prefix, ARGV[2] names prefix, ARGV[3..] name, id pairs
 */
export const verifyNames = defineScript(
  'appkeysVerifyNames-1',
  VERIFY_PRELUDE +
    `
for i = 3, #ARGV, 2 do checkNameEntry(ARGV[1], ARGV[2], KEYS[1], ARGV[i], ARGV[i + 1]) end
return problems
`,
);
