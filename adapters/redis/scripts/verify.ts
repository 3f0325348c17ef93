import { defineScript } from '../connection.js';
import { PRELUDE } from './prelude.js';

/**
 * Read-only scripts of verify(): each checks a whole batch of records on the server (one round trip
 * per batch of a SCAN), so a store of a million bindings is checked in seconds, not in millions of
 * round trips. Each returns the problems it found as readable strings (an empty list when none).
 * Records as layout.ts describes them; keys built as in store.ts's scripts (`enc` is keys.ts's
 * `encodeKeyPart`).
 */

const VERIFY_PRELUDE =
  PRELUDE +
  `
local function dec(s)
  return (string.gsub(s, '%%(%x%x)', function(h) return string.char(tonumber(h, 16)) end))
end
local problems = {}
local function problem(text) table.insert(problems, text) end
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
`;

/**
 * verifyApplications
 * KEYS application keys; ARGV[1] app key prefix, ARGV[2] applications index, ARGV[3] owner index prefix,
 * ARGV[4] names prefix, ARGV[5] client key prefix
 */
export const verifyApplications = defineScript(
  'appkeysVerifyApplications',
  VERIFY_PRELUDE +
    `
for _, appKey in ipairs(KEYS) do
  local fields = redis.call('HGETALL', appKey)
  local app = {}
  for i = 1, #fields, 2 do app[fields[i]] = fields[i + 1] end
  if #fields == 0 then
    -- deleted since the scan saw it
  elseif not app.id or appKey ~= ARGV[1] .. enc(app.id) then
    problem('application record ' .. appKey .. ' has no id or an id that does not match its key')
  elseif not app.owner or not app.name_key then
    problem('application ' .. app.id .. ' lacks owner or name')
  else
    local id = app.id
    if not redis.call('ZSCORE', ARGV[2], id) then
      problem('application ' .. id .. ' missing from the applications index')
    end
    if not redis.call('ZSCORE', ARGV[3] .. enc(app.owner), id) then
      problem('application ' .. id .. " missing from its owner's index")
    end
    if redis.call('HGET', ARGV[4] .. enc(app.owner), app.name_key) ~= id then
      problem('application ' .. id .. " missing from its owner's name index")
    end
    for field, clientId in pairs(app) do
      local keyType = string.match(field, '^key:(.+)$')
      if keyType then
        local c = redis.call('HMGET', ARGV[5] .. enc(clientId), 'metadata', 'binding', 'app')
        local b = decodeBinding(c[2])
        if not c[1] then
          problem('application ' .. id .. ' ' .. keyType .. ' is bound to client ' .. clientId
            .. ', which does not exist')
        elseif (c[2] and not b) or (not c[2] and c[3]) then
          -- a binding that does not decode, or in the earlier layout: reported with the client record
        elseif not b or b.app ~= id or b.key_type ~= keyType then
          problem('application ' .. id .. ' ' .. keyType .. ' names client ' .. clientId .. ', whose record says '
            .. (b and b.app or 'unbound') .. ' ' .. (b and b.key_type or ''))
        elseif b.status ~= app.status then
          problem('client ' .. clientId .. ' mirrors status ' .. (b.status ~= '' and b.status or 'none')
            .. ' but application ' .. id .. ' is ' .. (app.status or 'none'))
        end
      end
    end
  end
end
return problems
`,
);

/**
 * verifyClients
 * KEYS client keys; ARGV[1] client key prefix, ARGV[2] clients index, ARGV[3] app key prefix
 */
export const verifyClients = defineScript(
  'appkeysVerifyClients',
  VERIFY_PRELUDE +
    `
for _, clientKey in ipairs(KEYS) do
  local c = redis.call('HMGET', clientKey, 'metadata', 'rev', 'binding', unpack(LEGACY_BINDING_FIELDS))
  local clientId = dec(string.sub(clientKey, #ARGV[1] + 1))
  local legacy = false
  for i = 4, #c do legacy = legacy or c[i] ~= false end
  if not c[1] and not c[2] and not c[3] and not legacy then
    -- deleted since the scan saw it
  elseif not c[1] or not c[2] then
    problem('client record ' .. clientId .. ' lacks metadata or revision')
  else
    if not redis.call('ZSCORE', ARGV[2], clientId) then
      problem('client ' .. clientId .. ' missing from the clients index')
    end
    if legacy then
      problem('client ' .. clientId .. ' keeps binding fields of an earlier version (app, key_type, …), which this'
        .. ' version does not read: appkeys check --repair packs them into its binding field')
    end
    local b = decodeBinding(c[3])
    if c[3] and not b then
      problem('client ' .. clientId .. ' has a binding field that does not decode')
    elseif b and redis.call('HGET', ARGV[3] .. enc(b.app), 'key:' .. b.key_type) ~= clientId then
      problem('client ' .. clientId .. ' says it is bound to ' .. b.app .. ' ' .. b.key_type
        .. ', which does not name it')
    end
  end
end
return problems
`,
);

/**
 * verifyIndexMembers: every member of a sorted-set index names a record that exists (and, for an
 * owner's index, belongs to that owner).
 * KEYS[1] the index; ARGV[1] record key prefix, ARGV[2] owner index prefix or '' (not an owner's index),
 * ARGV[3] what a missing record is called in a problem ("clients index names missing client"),
 * ARGV[4..] members
 */
export const verifyIndexMembers = defineScript(
  'appkeysVerifyIndexMembers-1',
  VERIFY_PRELUDE +
    `
for i = 4, #ARGV do
  local member = ARGV[i]
  local key = ARGV[1] .. enc(member)
  if ARGV[2] == '' then
    if redis.call('EXISTS', key) == 0 then problem(ARGV[3] .. ' ' .. member) end
  else
    checkOwnerMember(ARGV[1], ARGV[2], KEYS[1], member)
  end
end
return problems
`,
);

/**
 * verifyNames: every (name, application id) of an owner's name index is held by that application.
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

/**
 * verifyOwnerIndexes: a batch of owners' indexes at once; an index too large to read in one call is
 * handed back for verifyIndexMembers to page through.
 * KEYS owner index keys; ARGV[1] app key prefix, ARGV[2] owner index prefix, ARGV[3] largest index read here
 * Returns {problems, keys of larger indexes}.
 */
export const verifyOwnerIndexes = defineScript(
  'appkeysVerifyOwnerIndexes',
  VERIFY_PRELUDE +
    `
local large = {}
for _, ownerKey in ipairs(KEYS) do
  if redis.call('ZCARD', ownerKey) > tonumber(ARGV[3]) then
    table.insert(large, ownerKey)
  else
    for _, id in ipairs(redis.call('ZRANGE', ownerKey, 0, -1)) do checkOwnerMember(ARGV[1], ARGV[2], ownerKey, id) end
  end
end
return {problems, large}
`,
);

/**
 * verifyNameIndexes: a batch of owners' name indexes at once; larger ones are handed back for verifyNames.
 * KEYS names keys; ARGV[1] app key prefix, ARGV[2] names prefix, ARGV[3] largest index read here
 * Returns {problems, keys of larger indexes}.
 */
export const verifyNameIndexes = defineScript(
  'appkeysVerifyNameIndexes',
  VERIFY_PRELUDE +
    `
local large = {}
for _, namesKey in ipairs(KEYS) do
  if redis.call('HLEN', namesKey) > tonumber(ARGV[3]) then
    table.insert(large, namesKey)
  else
    local entries = redis.call('HGETALL', namesKey)
    for i = 1, #entries, 2 do checkNameEntry(ARGV[1], ARGV[2], namesKey, entries[i], entries[i + 1]) end
  end
end
return {problems, large}
`,
);
