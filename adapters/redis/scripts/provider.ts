import { defineScript } from '../connection.js';

/**
 * Scripts of the oidc-provider Adapter. A model instance is a hash: `payload` (the JSON the provider
 * gave, never decoded here: cjson would turn `[]` into `{}`), `consumed` (epoch seconds), and the full
 * names of the index keys that point at it, so that destroy can remove exactly its own indexes.
 *
 * Every change carries a deadline (connection.ts): one answered 503 never lands later, so that a code
 * exchange retried after a 503 does not find its code consumed meanwhile.
 */

/**
 * upsert
 * KEYS[1] model key; KEYS[2] grant key, KEYS[3] session-uid key, KEYS[4] user-code key, each KEYS[1]
 * when there is none (an empty key name would hash to another slot: CROSSSLOT on Redis Cluster)
 * ARGV[1] payload JSON; ARGV[2] ttl seconds (0: no expiry)
 * Returns 1.
 */
export const upsert = defineScript('oidcUpsert-4', `
local key = KEYS[1]
local function optional(indexKey) if indexKey == key then return '' end return indexKey end
local grantKey, uidKey, codeKey = optional(KEYS[2]), optional(KEYS[3]), optional(KEYS[4])
local ttl = tonumber(ARGV[2])
local old = redis.call('HMGET', key, 'uid_key', 'code_key', 'grant_key')
for i = 1, 2 do
  local index = old[i]
  if index and index ~= uidKey and index ~= codeKey and redis.call('GET', index) == key then
    redis.call('DEL', index)
  end
end
-- an instance that moves to another grant (or to none) must no longer die with the old one
if old[3] and old[3] ~= grantKey then redis.call('SREM', old[3], key) end
redis.call('DEL', key)
redis.call('HSET', key, 'payload', ARGV[1])
if grantKey ~= '' then redis.call('HSET', key, 'grant_key', grantKey) end
if uidKey ~= '' then redis.call('HSET', key, 'uid_key', uidKey) end
if codeKey ~= '' then redis.call('HSET', key, 'code_key', codeKey) end
if ttl > 0 then redis.call('EXPIRE', key, ttl) end
local function index(indexKey)
  if ttl > 0 then redis.call('SET', indexKey, key, 'EX', ttl) else redis.call('SET', indexKey, key) end
end
if uidKey ~= '' then index(uidKey) end
if codeKey ~= '' then index(codeKey) end
if grantKey ~= '' then
  -- read before SADD: -2 (no set yet) must get this member's TTL, -1 means a member never expires
  local current = redis.call('TTL', grantKey)
  redis.call('SADD', grantKey, key)
  -- the grant index lives as long as its longest-lived member
  if ttl == 0 then
    redis.call('PERSIST', grantKey)
  elseif current == -2 or (current ~= -1 and current < ttl) then
    redis.call('EXPIRE', grantKey, ttl)
  end
end
return 1
`, { deadline: true });

/**
 * findByIndex: the model instance an index key (session uid, user code) points at.
 * KEYS[1] index key
 * Returns the instance's HGETALL reply, or an empty array when the index or the instance is gone.
 */
export const findByIndex = defineScript('oidcFindByIndex-1', `
local key = redis.call('GET', KEYS[1])
if not key then return {} end
return redis.call('HGETALL', key)
`);

/**
 * consume: marks an existing instance consumed; never creates one (an expired code stays gone).
 * KEYS[1] model key; ARGV[1] epoch seconds
 * Returns 1 when marked, 0 when absent.
 */
export const consume = defineScript('oidcConsume-1', `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'consumed', ARGV[1])
return 1
`, { deadline: true });

/**
 * destroy: removes an instance and the index entries that point at it.
 * KEYS[1] model key
 * Returns 1 when removed, 0 when absent.
 */
export const destroy = defineScript('oidcDestroy-1', `
local key = KEYS[1]
local fields = redis.call('HMGET', key, 'uid_key', 'code_key', 'grant_key')
if redis.call('DEL', key) == 0 then return 0 end
for i = 1, 2 do
  if fields[i] and redis.call('GET', fields[i]) == key then redis.call('DEL', fields[i]) end
end
if fields[3] then redis.call('SREM', fields[3], key) end
return 1
`, { deadline: true });

/**
 * revokeByGrantId: removes every instance of a grant and their indexes, then the grant index.
 * KEYS[1] grant key
 * Returns the number of instances removed.
 */
export const revokeByGrantId = defineScript('oidcRevokeByGrantId-1', `
local removed = 0
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local fields = redis.call('HMGET', key, 'uid_key', 'code_key', 'grant_key')
  -- a member that expired and was re-created, or moved to another grant, is no longer this grant's
  if fields[3] == KEYS[1] then
    removed = removed + redis.call('DEL', key)
    for i = 1, 2 do
      if fields[i] and redis.call('GET', fields[i]) == key then redis.call('DEL', fields[i]) end
    end
  end
end
redis.call('DEL', KEYS[1])
return removed
`, { deadline: true });
