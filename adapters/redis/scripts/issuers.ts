import { defineScript } from '../connection.js';
import { PRELUDE } from './prelude.js';

/**
 * Scripts of the store's third-party issuers (src/issuers/): the `issuers` hash and the records of
 * external clients, which are client records like any other (layout.ts). Bind creates an external
 * client's record (store.ts's `bind`); these register and remove issuers and record assertion ids.
 *
 * An issuer's external client ids share a prefix (src/issuers/ref.ts), so its records are found by one
 * lexical range of the clients index, passed in ARGV as ZRANGE BYLEX bounds.
 *
 * Like every change, each takes a deadline as its last ARGV (connection.ts).
 *
 * Return codes as in store.ts: -3 a client of the issuer is bound, -11 another issuer_id holds the URL.
 */

const change = (name: string, body: string) => defineScript(name, PRELUDE + body, { deadline: true });

const ISSUER_CLIENTS = `
local function issuerClients(clientsKey, from, to)
  return redis.call('ZRANGE', clientsKey, from, to, 'BYLEX')
end
-- a binding that does not decode counts: it holds its client until repair clears it; so does one an
-- earlier version wrote (its 'app' field, layout.ts), until repair packs it
local function anyBound(clientIds, clientPrefix)
  for _, id in ipairs(clientIds) do
    local c = redis.call('HMGET', clientPrefix .. enc(id), 'binding', 'app')
    if c[1] or c[2] then return true end
  end
  return false
end
`;

/**
 * putIssuer. An issuer's value is its times, then its body (layout.ts), so that "unchanged" is a
 * comparison of text and created_at is kept without decoding and re-encoding anything.
 * KEYS[1] issuers hash, KEYS[2] clients index
 * ARGV[1] issuer_id, ARGV[2] issuer URL, ARGV[3] body (canonical JSON of every field but the times),
 * ARGV[4] created_at and ARGV[5] updated_at as JSON strings, ARGV[6] client key prefix,
 * ARGV[7] and ARGV[8] the lexical range of the issuer's client ids, ARGV[9] verification
 * Returns 1 created, 2 replaced (created_at kept), 3 unchanged (nothing written), -11 URL taken,
 * -3 the URL or verification would change under a bound client (a binding shows both).
 */
export const putIssuer = change(
  'appkeysPutIssuer-3',
  ISSUER_CLIENTS +
    `
local stored = redis.call('HGET', KEYS[1], ARGV[1])
local createdAt = ARGV[4]
if stored then
  local _, stop, kept = string.find(stored, '^{"created_at":("[^"\\\\]*"),"updated_at":"[^"\\\\]*",')
  if not stop then return redis.error_reply('APPKEYS_LAYOUT the record of issuer ' .. ARGV[1] .. ' is malformed') end
  if '{' .. string.sub(stored, stop + 1) == ARGV[3] then return 3 end
  createdAt = kept
end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i] ~= ARGV[1] and cjson.decode(all[i + 1]).issuer == ARGV[2] then return -11 end
end
if stored then
  local before = cjson.decode(stored)
  if (before.issuer ~= ARGV[2] or before.verification ~= ARGV[9])
    and anyBound(issuerClients(KEYS[2], ARGV[7], ARGV[8]), ARGV[6]) then
    return -3
  end
end
redis.call('HSET', KEYS[1], ARGV[1],
  '{"created_at":' .. createdAt .. ',"updated_at":' .. ARGV[5] .. ',' .. string.sub(ARGV[3], 2))
if stored then return 2 end
return 1
`,
);

/**
 * deleteIssuer: removes an issuer with its external client records (and their per-client failure
 * windows), unless one of them is bound.
 * KEYS[1] issuers hash, KEYS[2] clients index
 * ARGV[1] issuer_id, ARGV[2] and ARGV[3] the lexical range of its client ids, ARGV[4] client key prefix,
 * ARGV[5] client attempts key prefix
 * Returns 1 deleted, 0 not found, -3 a client of it is bound.
 */
export const deleteIssuer = change(
  'appkeysDeleteIssuer-2',
  ISSUER_CLIENTS +
    `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local clientIds = issuerClients(KEYS[2], ARGV[2], ARGV[3])
if anyBound(clientIds, ARGV[4]) then return -3 end
for _, id in ipairs(clientIds) do redis.call('DEL', ARGV[4] .. enc(id), ARGV[5] .. enc(id)) end
redis.call('ZREMRANGEBYLEX', KEYS[2], ARGV[2], ARGV[3])
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`,
);

/**
 * useAssertionId: holds a used assertion id until its assertion expires. A script rather than a bare
 * SET so that, like every change, it cannot land after its caller was answered 503.
 * KEYS[1] the id's key; ARGV[1] milliseconds to hold it (at least 1)
 * Returns 1 recorded, 0 held already (a replay).
 */
export const useAssertionId = change(
  'appkeysUseAssertionId-1',
  `
if redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then return 1 end
return 0
`,
);
