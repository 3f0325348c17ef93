import { BINDING_FIELDS } from '../layout.js';

/**
 * Lua shared by the store's scripts (store.ts, verify.ts, repair.ts), written once so that it cannot
 * drift between them. Each script's source starts with it.
 */
export const PRELUDE = `
-- the Lua twin of keys.ts's encodeKeyPart: builds a key from an id read inside a script
local function enc(s)
  return (string.gsub(s, '[^%w%-_%.]', function(c) return string.format('%%%02X', string.byte(c)) end))
end
local BINDING_FIELDS = {${BINDING_FIELDS.map((field) => `'${field}'`).join(', ')}}
`;
