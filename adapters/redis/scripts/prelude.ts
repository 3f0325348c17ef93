import { BINDING_PARTS, LEGACY_BINDING_FIELDS } from '../layout.js';

const lua = (parts: readonly string[]) => `{${parts.map((part) => `'${part}'`).join(', ')}}`;

/**
 * Lua shared by the store's scripts (store.ts, issuers.ts, verify.ts, repair.ts), written once so that it
 * cannot drift between them. Each script's source starts with it.
 */
export const PRELUDE = `
-- the Lua twin of keys.ts's encodeKeyPart: builds a key from an id read inside a script
local function enc(s)
  return (string.gsub(s, '[^%w%-_%.]', function(c) return string.format('%%%02X', string.byte(c)) end))
end
-- the twins of layout.ts's encodeBinding and decodeBinding, over the parts in their packed order. The
-- array is never empty, so cjson gives back an array. A value that is no binding (damaged, or written
-- by another tool) decodes to nil: no script acts on a binding it cannot read
local BINDING_PARTS = ${lua(BINDING_PARTS)}
local function decodeBinding(packed)
  if not packed then return nil end
  local ok, values = pcall(cjson.decode, packed)
  if not ok or type(values) ~= 'table' or #values ~= #BINDING_PARTS then return nil end
  local b = {}
  for i, part in ipairs(BINDING_PARTS) do
    if type(values[i]) ~= 'string' then return nil end
    b[part] = values[i]
  end
  return b
end
local function encodeBinding(b)
  local values = {}
  for i, part in ipairs(BINDING_PARTS) do values[i] = b[part] or '' end
  return cjson.encode(values)
end
-- what verify() reports and repair packs: a binding as the earlier layout kept it, a field per part
local LEGACY_BINDING_FIELDS = ${lua(LEGACY_BINDING_FIELDS)}
`;
