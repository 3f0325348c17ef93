import type { VerifyResult } from '../../src/types.js';
import { Connection, type RedisClient, type Script } from './connection.js';
import { checkPrefix, decodeKeyPart, StoreKeys } from './keys.js';
import {
  decodeBinding,
  keyField,
  keyTypeOf,
  LEGACY_BINDING_FIELDS,
  type ApplicationField,
  type ApplicationHash,
  type ClientHash,
} from './layout.js';
import type { RepairFix } from './repair-rules.js';

export type { RepairFix };
import * as scripts from './scripts/repair.js';
import { hashFields } from './replies.js';
import { hscan, zscan } from './scan.js';
import { verifyRedisStore } from './verify.js';

/** What one fix did, for the operator's report. */
export interface RepairChange {
  readonly fix: RepairFix;
  /** One line saying what was changed and why. */
  readonly description: string;
}

export interface RepairResult {
  /** How many fixes were made. */
  readonly changed: number;
  /** The fixes, in order (the first 1000; every one also went to `onChange`). */
  readonly changes: readonly RepairChange[];
  /** Problems seen that cannot be derived from the data, left for a person to decide. */
  readonly unrepairable: readonly string[];
}

export interface RepairOptions {
  /** Called with each fix as it lands. */
  readonly onChange?: (change: RepairChange) => void;
  /** Recorded as `bound_by` of a client binding restored from its application. Default `appkeys-repair`. */
  readonly actor?: string;
}

/** A full pass can expose work for the next (a stale holder removed makes room): bounded all the same. */
const MAX_ROUNDS = 3;
/** As in verify.ts: a badly broken store must not exhaust memory. */
const MAX_LISTED = 1000;

/**
 * Mends, on a live Redis store, what verify() reports and the data itself can settle, by the rules of
 * repair-rules.ts (one per fix). Each fix is one script that re-checks its condition atomically
 * (scripts/repair.ts), so a concurrent change is never overwritten. What cannot be derived
 * (repair-rules.ts's UNREPAIRABLE) is reported in `unrepairable` and left alone.
 */
export async function repairRedisStore(
  connection: Connection,
  keys: StoreKeys,
  options: RepairOptions = {},
): Promise<RepairResult> {
  const changes: RepairChange[] = [];
  const unrepairable = new Set<string>();
  let changed = 0;
  const record = (fix: RepairFix, description: string) => {
    changed += 1;
    const change = { fix, description };
    if (changes.length < MAX_LISTED) changes.push(change);
    options.onChange?.(change);
  };
  const cannot = (text: string) => {
    if (unrepairable.size < MAX_LISTED) unrepairable.add(text);
  };
  const repair: Repairer = {
    connection,
    keys,
    record,
    cannot,
    actor: options.actor ?? 'appkeys-repair',
  };

  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const before = changed;
    // stale entries go first, so that the record passes can put the right ones in their place
    await unindexMissingRecords(repair);
    await unindexForeignOwnerEntries(repair);
    await unindexStaleNames(repair);
    await repairClients(repair);
    await repairApplications(repair);
    if (changed === before) break;
  }
  return { changed, changes, unrepairable: [...unrepairable] };
}

/** verify() and repair on one Redis store, for maintenance tools such as the `appkeys` CLI. */
export interface RedisMaintenance {
  verify(): Promise<VerifyResult>;
  repair(options?: RepairOptions): Promise<RepairResult>;
}

export interface RedisMaintenanceOptions {
  /** An ioredis client; it stays the caller's. */
  readonly client: RedisClient;
  /** The store's key prefix. Default `appkeys:`. */
  readonly prefix?: string;
  /** Upper bound of every Redis call in milliseconds. Default 5000. */
  readonly timeoutMs?: number;
}

export function redisMaintenance(options: RedisMaintenanceOptions): RedisMaintenance {
  const keys = new StoreKeys(checkPrefix(options.prefix ?? 'appkeys:', 'redisMaintenance options.prefix'));
  const connection = new Connection(options.client, { timeoutMs: options.timeoutMs ?? 5000 });
  return {
    verify: () => verifyRedisStore(connection, keys),
    repair: (repairOptions) => repairRedisStore(connection, keys, repairOptions),
  };
}

// ---- passes ----------------------------------------------------------------------------------------

interface Repairer {
  readonly connection: Connection;
  readonly keys: StoreKeys;
  readonly actor: string;
  record(fix: RepairFix, description: string): void;
  cannot(text: string): void;
}

async function run(
  repair: Repairer,
  script: Script,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  return repair.connection.run(script, keys, args);
}

async function clientHash(repair: Repairer, clientKey: string): Promise<ClientHash> {
  return hashFields(await repair.connection.send('HGETALL', clientKey));
}

async function applicationHash(repair: Repairer, appKey: string): Promise<ApplicationHash> {
  return hashFields(await repair.connection.send('HGETALL', appKey));
}

/** Some fields of an application record, null where missing. */
async function applicationFields(
  repair: Repairer,
  id: string,
  ...fields: readonly ApplicationField[]
): Promise<Array<string | null>> {
  return (await repair.connection.send('HMGET', repair.keys.application(id), ...fields)) as Array<string | null>;
}

async function unindexMissingRecords(repair: Repairer): Promise<void> {
  const { connection, keys } = repair;
  for await (const ids of zscan(connection, keys.clients)) {
    for (const clientId of ids) {
      if ((await connection.send('EXISTS', keys.client(clientId))) === 1) continue;
      if (Number(await run(repair, scripts.unindexMissing, [keys.clients, keys.client(clientId)], [clientId])) === 1) {
        repair.record('unindexed_missing_client', `removed client ${clientId} from the clients index: no such client`);
      }
    }
  }
  for await (const ids of zscan(connection, keys.applications)) {
    for (const id of ids) {
      if ((await connection.send('EXISTS', keys.application(id))) === 1) continue;
      if (Number(await run(repair, scripts.unindexMissing, [keys.applications, keys.application(id)], [id])) === 1) {
        repair.record(
          'unindexed_missing_application',
          `removed application ${id} from the applications index: no such application`,
        );
      }
    }
  }
}

async function unindexForeignOwnerEntries(repair: Repairer): Promise<void> {
  const { connection, keys } = repair;
  for await (const ownerKeys of connection.scan(keys.pattern('owner'))) {
    for (const ownerKey of ownerKeys) {
      for await (const ids of zscan(connection, ownerKey)) {
        for (const id of ids) {
          const [owner] = await applicationFields(repair, id, 'owner');
          if (typeof owner === 'string' && keys.ownerApplications(owner) === ownerKey) continue;
          const read = typeof owner === 'string' ? ['1', owner] : ['0', ''];
          if (Number(await run(repair, scripts.unindexOwner, [ownerKey, keys.application(id)], [id, ...read])) === 1) {
            repair.record(
              'unindexed_foreign_owner_entry',
              typeof owner === 'string'
                ? `removed application ${id} from owner index ${ownerKey}: its owner is ${owner}`
                : `removed application ${id} from owner index ${ownerKey}: no such application`,
            );
          }
        }
      }
    }
  }
}

async function unindexStaleNames(repair: Repairer): Promise<void> {
  const { connection, keys } = repair;
  for await (const namesKeys of connection.scan(keys.pattern('names'))) {
    for (const namesKey of namesKeys) {
      for await (const entries of hscan(connection, namesKey)) {
        for (const [nameKey, id] of entries) {
          const [appId, owner, appNameKey] = await applicationFields(repair, id, 'id', 'owner', 'name_key');
          if (appNameKey === nameKey && typeof owner === 'string' && keys.ownerNames(owner) === namesKey) continue;
          const read = [appId === null ? '0' : '1', owner ?? '', appNameKey ?? ''];
          if (
            Number(await run(repair, scripts.unindexName, [namesKey, keys.application(id)], [nameKey, id, ...read])) ===
            1
          ) {
            repair.record(
              'unindexed_stale_name',
              appId === null
                ? `removed a name from name index ${namesKey}: it named application ${id}, which does not exist`
                : `removed a name from name index ${namesKey}: application ${id} does not hold it`,
            );
          }
        }
      }
    }
  }
}

async function repairClients(repair: Repairer): Promise<void> {
  const { connection, keys } = repair;
  for await (const clientKeys of connection.scan(keys.pattern('client'))) {
    for (const clientKey of clientKeys) {
      let client = await clientHash(repair, clientKey);
      const clientId = decodeClientId(keys, clientKey);
      if (clientId === undefined) {
        repair.cannot(`key ${clientKey} is not a client key this store writes`);
        continue;
      }
      if (client.metadata === undefined || client.rev === undefined) {
        repair.cannot(`client record ${clientId} lacks metadata or revision: re-register it (appkeys clients import)`);
        continue;
      }
      if (
        (await connection.send('ZSCORE', keys.clients, clientId)) === null &&
        Number(await run(repair, scripts.indexClient, [clientKey, keys.clients], [clientId])) === 1
      ) {
        repair.record('indexed_client', `added client ${clientId} to the clients index`);
      }
      // first, so that the passes below, and the application's, see the binding where scripts read it
      if (LEGACY_BINDING_FIELDS.some((field) => client[field] !== undefined)) {
        await packLegacyBinding(repair, clientKey, clientId);
        client = await clientHash(repair, clientKey);
      }
      if (client.binding === undefined) continue;
      const binding = decodeBinding(client.binding);
      const named = binding ? [clientKey, keys.application(binding.app)] : [clientKey];
      if (binding && (await connection.send('HGET', named[1]!, keyField(binding.key_type))) === clientId) continue;
      const reply = await run(repair, scripts.clearBinding, named, [clientId, client.binding]);
      if (Number(reply) === 1) {
        repair.record(
          'cleared_client_binding',
          `unbound client ${clientId} (kept it): ` +
            (binding
              ? `application ${binding.app} ${binding.key_type || '(no key type)'} does not name it`
              : 'its binding field holds no binding'),
        );
      }
    }
  }
}

async function packLegacyBinding(repair: Repairer, clientKey: string, clientId: string): Promise<void> {
  const reply = await run(repair, scripts.packLegacyBinding, [clientKey], []);
  if (!Array.isArray(reply)) return;
  repair.record(
    'packed_legacy_binding',
    String(reply[1]) === 'packed'
      ? `packed client ${clientId}'s binding from the earlier layout's separate fields into its binding field`
      : `removed client ${clientId}'s binding fields of the earlier layout: ` +
          'its binding field, written since, is the one read (or they bound nothing)',
  );
}

async function repairApplications(repair: Repairer): Promise<void> {
  const { connection, keys } = repair;
  for await (const appKeys of connection.scan(keys.pattern('app'))) {
    for (const appKey of appKeys) {
      const app = await applicationHash(repair, appKey);
      const id = app.id;
      if (!id || appKey !== keys.application(id)) {
        repair.cannot(`application record ${appKey} has no id or an id that does not match its key`);
        continue;
      }
      if (app.owner === undefined || app.name_key === undefined) {
        repair.cannot(`application ${id} lacks owner or name`);
        continue;
      }
      await indexApplication(repair, id, app.owner, app.name_key);
      for (const [field, clientId] of Object.entries(app)) {
        const keyType = keyTypeOf(field);
        if (keyType) await repairKeyField(repair, id, app.status, keyType, clientId);
      }
    }
  }
}

async function indexApplication(repair: Repairer, id: string, owner: string, nameKey: string): Promise<void> {
  const { connection, keys } = repair;
  const indexed =
    (await connection.send('ZSCORE', keys.applications, id)) !== null &&
    (await connection.send('ZSCORE', keys.ownerApplications(owner), id)) !== null &&
    (await connection.send('HGET', keys.ownerNames(owner), nameKey)) === id;
  if (indexed) return;
  const reply = await run(
    repair,
    scripts.indexApplication,
    [keys.application(id), keys.applications, keys.ownerApplications(owner), keys.ownerNames(owner)],
    [id, owner, nameKey],
  );
  if (!Array.isArray(reply)) return;
  const [apps, ownerIndex, names, conflict] = reply.map(Number);
  if (apps === 1) repair.record('indexed_application', `added application ${id} to the applications index`);
  if (ownerIndex === 1) repair.record('indexed_application', `added application ${id} to owner ${owner}'s index`);
  if (names === 1)
    repair.record('indexed_application', `added application ${id}'s name to owner ${owner}'s name index`);
  if (conflict === 1) {
    const holder = await connection.send('HGET', keys.ownerNames(owner), nameKey);
    repair.cannot(
      `application ${id} has the same name as application ${String(holder)} of owner ${owner}: rename one of them`,
    );
  }
}

/** One `key:<TYPE>` field of an application, against the client it names. */
async function repairKeyField(
  repair: Repairer,
  id: string,
  status: string | undefined,
  keyType: string,
  clientId: string,
): Promise<void> {
  const { keys } = repair;
  const appKey = keys.application(id);
  const clientKey = keys.client(clientId);
  const client = await clientHash(repair, clientKey);

  if (client.metadata === undefined) {
    if (Number(await run(repair, scripts.dropMissingClient, [appKey, clientKey], [keyType, clientId])) === 1) {
      repair.record(
        'dropped_missing_client',
        `removed application ${id}'s ${keyType} binding: client ${clientId} does not exist`,
      );
    }
    return;
  }
  const binding = client.binding === undefined ? undefined : decodeBinding(client.binding);
  if (binding?.app === id && binding.key_type === keyType) {
    if (status === undefined || binding.status === status) return;
    const reply = await run(repair, scripts.mirrorStatus, [appKey, clientKey], [id, keyType, clientId]);
    if (Array.isArray(reply)) {
      repair.record(
        'mirrored_status',
        `client ${clientId} now mirrors status ${String(reply[1])} of application ${id} ` +
          `(was ${binding.status || 'none'})`,
      );
    }
    return;
  }
  if (client.binding === undefined) {
    const reply = await run(
      repair,
      scripts.restoreBinding,
      [appKey, clientKey],
      [id, keyType, clientId, new Date().toISOString(), repair.actor],
    );
    if (Number(reply) === 1) {
      repair.record(
        'restored_client_binding',
        `bound client ${clientId} to application ${id} ${keyType}, as the application records (origin provided)`,
      );
    }
    return;
  }
  // a binding that does not decode is cleared by repairClients, then restored here
  if (!binding) return;
  // bound elsewhere: if that binding holds both ways, this application's claim is the stale one
  const holderKey = keys.application(binding.app);
  const holderKeyType = binding.key_type;
  if ((await repair.connection.send('HGET', holderKey, keyField(holderKeyType))) !== clientId) return;
  const reply = await run(
    repair,
    scripts.dropClaim,
    [appKey, clientKey, holderKey],
    [keyType, clientId, id, binding.app, holderKeyType],
  );
  if (Number(reply) === 1) {
    repair.record(
      'dropped_contradicted_claim',
      `removed application ${id}'s ${keyType} binding: client ${clientId} is bound to application ${binding.app} ` +
        `${holderKeyType}, which names it`,
    );
  }
}

function decodeClientId(keys: StoreKeys, clientKey: string): string | undefined {
  try {
    const clientId = decodeKeyPart(clientKey.slice(keys.clientPrefix.length));
    return keys.client(clientId) === clientKey ? clientId : undefined;
  } catch {
    return undefined;
  }
}
