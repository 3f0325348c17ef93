import { describe, expect, it } from 'vitest';

import type { Script } from '../adapters/redis/connection.js';
import {
  APPLICATION_FIELDS,
  BINDING_FIELD,
  BINDING_PARTS,
  BOUND_PARTS,
  CLIENT_FIELDS,
  LEGACY_BINDING_FIELDS,
} from '../adapters/redis/layout.js';
import * as issuerScripts from '../adapters/redis/scripts/issuers.js';
import * as repairScripts from '../adapters/redis/scripts/repair.js';
import * as storeScripts from '../adapters/redis/scripts/store.js';
import * as verifyScripts from '../adapters/redis/scripts/verify.js';

/** The arguments of every `redis.call(…)` in a script, as Lua source, split at top-level commas. */
function redisCalls(lua: string): string[][] {
  const calls: string[][] = [];
  for (let at = lua.indexOf('redis.call('); at !== -1; at = lua.indexOf('redis.call(', at + 1)) {
    const args: string[] = [];
    let depth = 0;
    let quote = '';
    let current = '';
    for (let i = at + 'redis.call('.length; i < lua.length; i += 1) {
      const char = lua[i]!;
      if (quote) {
        if (char === quote) quote = '';
      } else if (char === "'" || char === '"') {
        quote = char;
      } else if (char === '(') {
        depth += 1;
      } else if (char === ')' && depth === 0) {
        args.push(current.trim());
        break;
      } else if (char === ')') {
        depth -= 1;
      } else if (char === ',' && depth === 0) {
        args.push(current.trim());
        current = '';
        continue;
      }
      current += char;
    }
    calls.push(args);
  }
  return calls;
}

const literal = (arg: string | undefined) => /^'([^']*)'$/.exec(arg ?? '')?.[1];

/** The field names a hash command names as literals (`HSET key 'f1', v1, 'f2', v2`: f1, f2). */
function literalFields(call: readonly string[]): string[] {
  const command = literal(call[0]);
  const fields =
    command === 'HSET'
      ? call.slice(2).filter((_, i) => i % 2 === 0)
      : command === 'HINCRBY'
        ? call.slice(2, 3)
        : ['HGET', 'HMGET', 'HDEL', 'HEXISTS'].includes(command ?? '')
          ? call.slice(2)
          : [];
  return fields.flatMap((field) => literal(field) ?? []);
}

const scripts = [storeScripts, issuerScripts, verifyScripts, repairScripts].flatMap(
  (module) => Object.values(module) as Script[],
);
const script = (name: string) => scripts.find((candidate) => candidate.name === name)!;

/** The fields the one HSET of `name` naming `marker` writes, in order. */
function written(name: string, marker: string): string[] {
  const hsets = redisCalls(script(name).lua)
    .filter((call) => literal(call[0]) === 'HSET')
    .map(literalFields)
    .filter((fields) => fields.includes(marker));
  expect(hsets, `${name}: HSETs naming ${marker}`).toHaveLength(1);
  return hsets[0]!;
}

/** The parts each `encodeBinding({ part = value, … })` of `name` packs, in order. */
function packed(name: string): string[][] {
  return [...script(name).lua.matchAll(/encodeBinding\(\{([^}]*)\}\)/g)].map(([, table]) =>
    [...table!.matchAll(/([A-Za-z_]+)\s*=/g)].map(([, part]) => part!),
  );
}

describe('the Redis record layout (adapters/redis/layout.ts) and the scripts', () => {
  const known = new Set<string>([...CLIENT_FIELDS, BINDING_FIELD, ...LEGACY_BINDING_FIELDS, ...APPLICATION_FIELDS]);

  it('names in every script only fields the layout lists, and the layout lists only fields some script names', () => {
    const named = new Set<string>();
    for (const { name, lua } of scripts) {
      for (const call of redisCalls(lua)) {
        for (const field of literalFields(call)) {
          expect(known, `${name} names field ${field}`).toContain(field);
          named.add(field);
        }
      }
      // an application record read whole with HGETALL into a table `app`
      for (const [, field] of lua.matchAll(/\bapp\.([A-Za-z_]+)/g)) {
        expect(APPLICATION_FIELDS, `${name} reads app.${field}`).toContain(field);
        named.add(field!);
      }
    }
    // the earlier layout's fields are named through the prelude's list of them
    const legacy = new Set<string>(LEGACY_BINDING_FIELDS);
    expect([...known].filter((field) => !named.has(field) && !legacy.has(field))).toEqual([]);
  });

  it("names the earlier layout's binding fields only where it reports or packs them", () => {
    const applicationFields: readonly string[] = APPLICATION_FIELDS;
    const legacyOnly: readonly string[] = LEGACY_BINDING_FIELDS.filter((field) => !applicationFields.includes(field));
    const naming = scripts
      .filter(({ lua }) => redisCalls(lua).some((call) => literalFields(call).some((f) => legacyOnly.includes(f))))
      .map(({ name }) => name);
    // the scripts that refuse a bound client refuse one bound in the earlier layout (fail closed until
    // repair; replaceClientMetadata's `status` is an application field too, so not counted here),
    // restoreBinding leaves such a record to packLegacyBinding, and verify names them through the
    // prelude's list
    expect(naming.sort()).toEqual(
      [
        'appkeysDeleteClient-2',
        'appkeysBind-6',
        'appkeysPutIssuer-3',
        'appkeysDeleteIssuer-2',
        'appkeysRepairRestoreBinding-2',
      ].sort(),
    );
  });

  it('reads and packs, in every script, only parts of a binding that the layout lists', () => {
    for (const { name, lua } of scripts) {
      // a decoded binding is `b`, the earlier layout's fields read by name `legacy`
      for (const [, part] of lua.matchAll(/\b(?:b|legacy)\.([A-Za-z_]+)/g)) {
        expect(BINDING_PARTS, `${name} reads part ${part}`).toContain(part);
      }
      for (const parts of packed(name)) expect(BINDING_PARTS, `${name} packs`).toEqual(expect.arrayContaining(parts));
    }
  });

  it('writes a new client record with exactly the client fields, and a binding with exactly the bound parts', () => {
    expect(written('appkeysPutClient-2', 'registered_at')).toEqual([...CLIENT_FIELDS]);
    expect(written('appkeysBind-6', BINDING_FIELD)).toEqual([BINDING_FIELD]);
    // an external client's record, created by its first binding
    expect(written('appkeysBind-6', 'registered_at')).toEqual([...CLIENT_FIELDS]);
    expect(written('appkeysRepairRestoreBinding-2', BINDING_FIELD)).toEqual([BINDING_FIELD]);
    expect(written('appkeysCreateAndBind-3', BINDING_FIELD)).toEqual([...CLIENT_FIELDS, BINDING_FIELD]);
    for (const name of ['appkeysBind-6', 'appkeysRepairRestoreBinding-2', 'appkeysCreateAndBind-3']) {
      expect(packed(name), name).toEqual([[...BOUND_PARTS]]);
    }
  });

  it('writes a new application record with exactly the application fields', () => {
    expect(written('appkeysCreateApplication-4', 'name_key')).toEqual([...APPLICATION_FIELDS]);
  });
});
