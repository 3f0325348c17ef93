/**
 * Lua shared by the store's scripts (store.ts, verify.ts, repair.ts), written once so that it cannot
 * drift between them. Each script's source starts with it.
 */

/** The client record's binding fields, as the store's scripts write them (see store.ts's layout). */
export const BINDING_FIELDS = ['app', 'key_type', 'origin', 'bound_at', 'bound_by', 'status', 'tokens_since'] as const;

export const PRELUDE = `
-- the Lua twin of keys.ts's encodeKeyPart: builds a key from an id read inside a script
local function enc(s)
  return (string.gsub(s, '[^%w%-_%.]', function(c) return string.format('%%%02X', string.byte(c)) end))
end
local BINDING_FIELDS = {${BINDING_FIELDS.map((field) => `'${field}'`).join(', ')}}
`;
