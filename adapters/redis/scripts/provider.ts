import { defineScript } from '../connection.js';

/**
 * Scripts of the oidc-provider Adapter. Each touches the keys of one slot only: an instance, an index
 * entry or a grant each hash to a slot of their own (keys.ts), so that on a Redis Cluster the provider's
 * models spread over every master. What spans slots is done by the adapter as steps of one slot each,
 * ordered so that a step left undone is harmless (provider-adapter.ts).
 *
 * An instance is a hash: `payload` (the JSON the provider gave, never decoded here: cjson would turn
 * `[]` into `{}`), `consumed` (epoch seconds), `grant_id`, and the full names of the index keys that
 * point at it (`uid_key`, `code_key`, `grant_key`), so that destroy can remove exactly its own indexes.
 *
 * Every change carries a deadline (connection.ts): one answered 503 never lands later, so that a code
 * exchange retried after a 503 does not find its code consumed meanwhile.
 */

/**
 * writeInstance: replaces an instance.
 * KEYS[1] instance key
 * ARGV[1] payload JSON, ARGV[2] ttl seconds (0: no expiry), ARGV[3] grant key, ARGV[4] grant id,
 * ARGV[5] uid key, ARGV[6] user-code key ('' for each the instance has none of)
 * Returns {old uid key, old user-code key, old grant key} ('' where none), for the adapter to drop
 * index entries the instance no longer has.
 */
export const writeInstance = defineScript(
  'oidcWriteInstance-1',
  `
local old = redis.call('HMGET', KEYS[1], 'uid_key', 'code_key', 'grant_key')
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'payload', ARGV[1])
local fields = {grant_key = ARGV[3], grant_id = ARGV[4], uid_key = ARGV[5], code_key = ARGV[6]}
for name, value in pairs(fields) do
  if value ~= '' then redis.call('HSET', KEYS[1], name, value) end
end
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) end
return {old[1] or '', old[2] or '', old[3] or ''}
`,
  { deadline: true },
);

/**
 * pointIndex: an index entry (session uid, user code) names an instance key.
 * KEYS[1] index key; ARGV[1] instance key, ARGV[2] ttl seconds (0: no expiry)
 * Returns 1.
 */
export const pointIndex = defineScript(
  'oidcPointIndex-1',
  `
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl) else redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`,
  { deadline: true },
);

/**
 * dropIndex: removes an index entry, only while it still names the given instance (a newer instance
 * may have taken it over meanwhile).
 * KEYS[1] index key; ARGV[1] instance key
 * Returns 1 removed, 0 left.
 */
export const dropIndex = defineScript(
  'oidcDropIndex-1',
  `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`,
  { deadline: true },
);

/**
 * joinGrant: adds an instance to its grant's set of members.
 * KEYS[1] grant key; ARGV[1] instance key, ARGV[2] ttl seconds (0: no expiry)
 * Returns 1.
 */
export const joinGrant = defineScript(
  'oidcJoinGrant-1',
  `
-- read before SADD: -2 (no set yet) must get this member's TTL, -1 means a member never expires
local current = redis.call('TTL', KEYS[1])
local ttl = tonumber(ARGV[2])
redis.call('SADD', KEYS[1], ARGV[1])
-- the set lives as long as its longest-lived member
if ttl == 0 then
  redis.call('PERSIST', KEYS[1])
elseif current == -2 or (current ~= -1 and current < ttl) then
  redis.call('EXPIRE', KEYS[1], ttl)
end
return 1
`,
  { deadline: true },
);

/**
 * leaveGrant: removes an instance from a grant's set of members.
 * KEYS[1] grant key; ARGV[1] instance key
 * Returns 1.
 */
export const leaveGrant = defineScript(
  'oidcLeaveGrant-1',
  `
redis.call('SREM', KEYS[1], ARGV[1])
return 1
`,
  { deadline: true },
);

/**
 * revokeGrant: marks a grant revoked and hands back its members, for the adapter to remove them.
 * KEYS[1] grant key, KEYS[2] the grant's revocation marker (same slot)
 * ARGV[1] the marker's least lifetime in seconds
 * Returns the members' instance keys.
 */
export const revokeGrant = defineScript(
  'oidcRevokeGrant-2',
  `
local ttl = tonumber(ARGV[1])
-- the marker outlives every member the set knows of: a member written late is refused on find
local setTtl = redis.call('TTL', KEYS[1])
if setTtl == -1 then
  redis.call('SET', KEYS[2], '1')
else
  if setTtl > ttl then ttl = setTtl end
  -- never shorten a marker already there
  local markerTtl = redis.call('TTL', KEYS[2])
  if markerTtl == -1 then ttl = 0 elseif markerTtl > ttl then ttl = markerTtl end
  if ttl > 0 then redis.call('SET', KEYS[2], '1', 'EX', ttl) end
end
local members = redis.call('SMEMBERS', KEYS[1])
redis.call('DEL', KEYS[1])
return members
`,
  { deadline: true },
);

/**
 * removeInstance: deletes an instance, when it is the one expected (`grant key` given: only while it
 * still belongs to that grant — a member re-created under another grant is no longer this grant's).
 * KEYS[1] instance key; ARGV[1] grant key or ''
 * Returns {1, uid key, user-code key, grant key} when removed ('' where none), or 0.
 */
export const removeInstance = defineScript(
  'oidcRemoveInstance-1',
  `
local fields = redis.call('HMGET', KEYS[1], 'uid_key', 'code_key', 'grant_key')
if ARGV[1] ~= '' and fields[3] ~= ARGV[1] then return 0 end
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
return {1, fields[1] or '', fields[2] or '', fields[3] or ''}
`,
  { deadline: true },
);

/**
 * consume: marks an existing instance consumed; never creates one (an expired code stays gone).
 * KEYS[1] instance key; ARGV[1] epoch seconds
 * Returns {1, when it was consumed before or '', grant id or ''}, or 0 when absent.
 */
export const consume = defineScript(
  'oidcConsume-1',
  `
local before = redis.call('HMGET', KEYS[1], 'payload', 'consumed', 'grant_id')
if not before[1] then return 0 end
redis.call('HSET', KEYS[1], 'consumed', ARGV[1])
return {1, before[2] or '', before[3] or ''}
`,
  { deadline: true },
);
