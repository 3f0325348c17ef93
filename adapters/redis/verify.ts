import type { VerifyResult } from '../../src/types.js';
import type { Connection } from './connection.js';
import { decodeKeyPart, type StoreKeys } from './keys.js';
import { hashFields } from './replies.js';

/** More than this many problems are counted, not listed, so a broken store cannot exhaust memory. */
const MAX_LISTED = 1000;

/**
 * Checks every invariant of the registry on the live data, streaming with SCAN so that memory stays
 * flat however many applications there are:
 *  - each application is in the all-applications index, its owner's index and its owner's name index;
 *  - each `key:<type>` of an application names a client whose record points back with the same
 *    application, key type and mirrored status;
 *  - each bound client record is named by its application under its key type;
 *  - each index entry (clients, applications, owners, names) names a record that exists and agrees.
 * Read-only; it runs beside live traffic, so a change landing mid-scan can show as a transient problem
 * that a second run does not repeat.
 */
export async function verifyRedisStore(connection: Connection, keys: StoreKeys): Promise<VerifyResult> {
  const problems: string[] = [];
  let count = 0;
  const problem = (text: string) => {
    count += 1;
    if (problems.length < MAX_LISTED) problems.push(text);
  };
  const hgetall = async (key: string) => hashFields(await connection.send('HGETALL', key));
  const inSet = async (key: string, member: string) => (await connection.send('ZSCORE', key, member)) !== null;

  for await (const batch of connection.scan(keys.pattern('app'))) {
    await Promise.all(batch.map(async (appKey) => {
      const app = await hgetall(appKey);
      const id = app.id;
      if (!id || appKey !== keys.application(id)) {
        problem(`application record ${appKey} has no id or an id that does not match its key`);
        return;
      }
      if (app.owner === undefined || app.name_key === undefined) {
        problem(`application ${id} lacks owner or name`);
        return;
      }
      if (!(await inSet(keys.applications, id))) problem(`application ${id} missing from the applications index`);
      if (!(await inSet(keys.ownerApplications(app.owner), id))) problem(`application ${id} missing from its owner's index`);
      if ((await connection.send('HGET', keys.ownerNames(app.owner), app.name_key)) !== id) {
        problem(`application ${id} missing from its owner's name index`);
      }
      for (const [field, clientId] of Object.entries(app)) {
        const keyType = /^key:(.+)$/.exec(field)?.[1];
        if (!keyType) continue;
        const client = await hgetall(keys.client(clientId));
        if (client.metadata === undefined) {
          problem(`application ${id} ${keyType} is bound to client ${clientId}, which does not exist`);
        } else if (client.app !== id || client.key_type !== keyType) {
          problem(`application ${id} ${keyType} names client ${clientId}, whose record says ${client.app ?? 'unbound'} ${client.key_type ?? ''}`);
        } else if (client.status !== app.status) {
          problem(`client ${clientId} mirrors status ${client.status ?? 'none'} but application ${id} is ${app.status ?? 'none'}`);
        }
      }
    }));
  }

  for await (const batch of connection.scan(keys.pattern('client'))) {
    await Promise.all(batch.map(async (clientKey) => {
      const client = await hgetall(clientKey);
      const clientId = decodeKeyPart(clientKey.slice(keys.clientPrefix.length));
      if (client.metadata === undefined || client.rev === undefined) {
        problem(`client record ${clientId} lacks metadata or revision`);
        return;
      }
      if (!(await inSet(keys.clients, clientId))) problem(`client ${clientId} missing from the clients index`);
      if (client.app !== undefined) {
        const holder = await connection.send('HGET', keys.application(client.app), `key:${client.key_type ?? ''}`);
        if (holder !== clientId) {
          problem(`client ${clientId} says it is bound to ${client.app} ${client.key_type ?? ''}, which does not name it`);
        }
      }
    }));
  }

  await checkIndex(connection, keys.clients, async (clientId) => {
    if ((await connection.send('EXISTS', keys.client(clientId))) !== 1) problem(`clients index names missing client ${clientId}`);
  });
  await checkIndex(connection, keys.applications, async (id) => {
    if ((await connection.send('EXISTS', keys.application(id))) !== 1) problem(`applications index names missing application ${id}`);
  });
  for await (const batch of connection.scan(keys.pattern('owner'))) {
    for (const ownerKey of batch) {
      await checkIndex(connection, ownerKey, async (id) => {
        const owner = await connection.send('HGET', keys.application(id), 'owner');
        if (typeof owner !== 'string' || keys.ownerApplications(owner) !== ownerKey) {
          problem(`owner index ${ownerKey} names application ${id}, which is not that owner's`);
        }
      });
    }
  }
  for await (const batch of connection.scan(keys.pattern('names'))) {
    for (const namesKey of batch) {
      const names = await hgetall(namesKey);
      for (const [nameKey, id] of Object.entries(names)) {
        const app = await hgetall(keys.application(id));
        if (app.name_key !== nameKey || app.owner === undefined || keys.ownerNames(app.owner) !== namesKey) {
          problem(`name index ${namesKey} maps a name to application ${id}, which does not hold it`);
        }
      }
    }
  }

  if (count > problems.length) problems.push(`… and ${count - problems.length} more problems`);
  return { ok: count === 0, problems };
}

/** Walks a sorted-set index with ZSCAN, checking each member. */
async function checkIndex(connection: Connection, key: string, check: (member: string) => Promise<void>): Promise<void> {
  let cursor = '0';
  do {
    const [next, flat] = (await connection.send('ZSCAN', key, cursor, 'COUNT', 1000)) as [string, string[]];
    cursor = next;
    const members: string[] = [];
    for (let i = 0; i < flat.length; i += 2) members.push(flat[i]!);
    await Promise.all(members.map(check));
  } while (cursor !== '0');
}
