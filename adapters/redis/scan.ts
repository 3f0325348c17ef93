import type { Connection } from './connection.js';

/** Members of a sorted set, in batches, with ZSCAN (reads beside live traffic, never blocking it). */
export async function* zscan(connection: Connection, key: string, count = 1000): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, flat] = (await connection.send('ZSCAN', key, cursor, 'COUNT', count)) as [string, string[]];
    cursor = next;
    const members: string[] = [];
    for (let i = 0; i < flat.length; i += 2) members.push(flat[i]!);
    if (members.length) yield members;
  } while (cursor !== '0');
}

/** Fields and values of a hash, in batches, with HSCAN. */
export async function* hscan(
  connection: Connection,
  key: string,
  count = 1000,
): AsyncGenerator<Array<[string, string]>> {
  let cursor = '0';
  do {
    const [next, flat] = (await connection.send('HSCAN', key, cursor, 'COUNT', count)) as [string, string[]];
    cursor = next;
    const entries: Array<[string, string]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) entries.push([flat[i]!, flat[i + 1]!]);
    if (entries.length) yield entries;
  } while (cursor !== '0');
}
