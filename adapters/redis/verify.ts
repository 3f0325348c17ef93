import type { VerifyResult } from '../../src/types.js';
import type { Connection } from './connection.js';
import type { StoreKeys } from './keys.js';
import { hscan, zscan } from './scan.js';
import * as scripts from './scripts/verify.js';

/** More than this many problems are counted, not listed, so a broken store cannot exhaust memory. */
const MAX_LISTED = 1000;

/**
 * Per script call: applications and clients read from their indexes, and keys a SCAN step visits. Each
 * call takes Redis about 5–15 ms at a million bindings, so no call holds it long beside live traffic,
 * and a million bindings take a few thousand round trips. An owner's index or name index larger than
 * BATCH is paged through separately.
 */
const APPLICATION_BATCH = 500;
const CLIENT_BATCH = 2000;
const SCAN_BATCH = 2000;
const BATCH = 500;

/** What the member-by-member pass checks (verifyKeyspace's letters). */
type Check = 'a' | 'A' | 'c' | 'C' | 'b' | 'o' | 'n';

/**
 * Checks every invariant of the registry on the live data, streaming so that memory stays flat however
 * many applications there are, each batch on the server in one read-only script:
 *  - each application record is in the applications index, its owner's index and its owner's name
 *    index; each `key:<type>` of it names a client whose record points back with the same application
 *    and key type, and mirrors its status;
 *  - each client record has metadata and a revision and is in the clients index, and each bound one is
 *    named by its application under its key type;
 *  - each index entry (clients, applications, owners, names) names a record that exists and agrees.
 *
 * At a million bindings the cost is Redis looking keys up, so every record is read once and the checks
 * that would read a record a second time are settled by counting where counting proves them:
 *
 * 1. The applications and the clients index are read in lexical order (each member once, whatever
 *    changes meanwhile: ZRANGE BYLEX from the last member read), and each member's record with it. A
 *    member without a record is a problem named there; so is every reference a record makes (its owner's
 *    index, its name, its bindings' clients pointing back). Counted: records read (A, C), applications
 *    found in their owner's index (O) and holding their name (N), bindings whose client points back (K),
 *    and bound client records (B).
 * 2. One SCAN counts application keys (Sa) and client keys (Sc) and adds up the sizes of owners' indexes
 *    (So) and name indexes (Sn). A SCAN may return a key twice, never omits one that exists throughout.
 * 3. If Redis applied no write and no key expired or was evicted from before step 1 to after step 2 (the
 *    fingerprint: its change counter, saves, expiries, evictions and run id are unchanged), the store
 *    held still, and:
 *    - Sa = A: each member read maps to its own key (distinct members, distinct keys), so A ≤ the number
 *      of application keys ≤ Sa; equality leaves no application key that is not some member's: every
 *      record is indexed, and was checked in step 1. Likewise Sc = C for clients.
 *    - So = O: each application counted in O is one entry (its owner's index, its id) of some owner's
 *      index, a different one per application, so O ≤ the number of entries ≤ So; equality leaves no
 *      entry that names anything but an application of that owner. (Step 1 counts each application at
 *      most once; a duplicate owner key in the SCAN only makes So larger.)
 *    - Sn = N: likewise for name indexes, an application counted in N being the entry (its owner's
 *      name index, its name); two applications of one owner cannot both hold one name.
 *    - K = B (with Sc = C, so that every client record was read in step 1): each binding counted in K
 *      is a bound client record pointing back to it, a different one per binding (a client names one
 *      application and key type), so K ≤ B; equality leaves no bound client that its application does
 *      not name.
 * 4. What the counts do not prove — all of it when anything changed during the run — is checked member
 *    by member over one more SCAN (scripts.verifyKeyspace), which names each problem: records outside
 *    their index, index entries naming no record or another owner's, stale names, one-way bindings.
 *
 * So every problem is named: those of step 1 directly, the others by step 4 whenever one exists, since
 * then a count differs. Read-only; it runs beside live traffic: every check is made on records read in
 * one atomic script call, so a problem among records (and index entries) that do not change during a
 * run is found however the rest of the store changes; a record changed mid-run is checked as it stood at
 * some moment of the run, and the change can show as a transient problem that a second run does not
 * repeat.
 */
export async function verifyRedisStore(connection: Connection, keys: StoreKeys): Promise<VerifyResult> {
  const problems: string[] = [];
  let count = 0;
  const collect = (reply: unknown) => {
    for (const text of reply as unknown[]) {
      count += 1;
      if (problems.length < MAX_LISTED) problems.push(String(text));
    }
  };

  const before = await fingerprint(connection, keys);
  const applications = await readApplications(connection, keys, collect);
  const clients = await readClients(connection, keys, collect);
  const scanned = await countKeyspace(connection, keys);
  const after = await fingerprint(connection, keys);

  const held = before !== '' && before === after && applications !== undefined && clients !== undefined;
  const checks = new Set<Check>();
  // an index that could not be read in lexical order had only its members checked: every record is read here
  if (applications === undefined) checks.add('A');
  if (clients === undefined) checks.add('C');
  if (!held || scanned.applications !== applications.records) checks.add('a');
  if (!held || scanned.clients !== clients.records) checks.add('c');
  if (!held || scanned.clients !== clients.records || applications.bound !== clients.bound) checks.add('b');
  if (!held || scanned.ownerEntries !== applications.owned) checks.add('o');
  if (!held || scanned.nameEntries !== applications.named) checks.add('n');
  if (checks.size > 0) await checkMembers(connection, keys, checks, collect);

  if (count > problems.length) problems.push(`… and ${count - problems.length} more problems`);
  return { ok: count === 0, problems };
}

async function fingerprint(connection: Connection, keys: StoreKeys): Promise<string> {
  return String(await connection.run(scripts.verifyFingerprint, [keys.applications], []));
}

interface ApplicationCounts {
  readonly records: number;
  readonly owned: number;
  readonly named: number;
  readonly bound: number;
}

/** Step 1 for applications; undefined when the index had to be paged with ZSCAN (nothing counted). */
async function readApplications(
  connection: Connection,
  keys: StoreKeys,
  collect: (reply: unknown) => void,
): Promise<ApplicationCounts | undefined> {
  const counts = { records: 0, owned: 0, named: 0, bound: 0 };
  let start = '-';
  for (;;) {
    const reply = (await connection.run(
      scripts.verifyApplicationRange,
      [keys.applications],
      [
        start,
        APPLICATION_BATCH,
        keys.applicationPrefix,
        keys.clientPrefix,
        keys.ownerApplicationsPrefix,
        keys.ownerNamesPrefix,
      ],
    )) as [number, unknown, unknown[], number[]];
    if (Number(reply[0]) === -1) {
      await pageIndex(
        connection,
        keys.applications,
        keys.applicationPrefix,
        'applications index names missing application',
        collect,
      );
      return undefined;
    }
    const [read, last, found, [records, owned, named, bound]] = reply;
    collect(found);
    counts.records += Number(records);
    counts.owned += Number(owned);
    counts.named += Number(named);
    counts.bound += Number(bound);
    if (Number(read) < APPLICATION_BATCH) return counts;
    start = `(${String(last)}`;
  }
}

/** Step 1 for clients; undefined when the index had to be paged with ZSCAN. */
async function readClients(
  connection: Connection,
  keys: StoreKeys,
  collect: (reply: unknown) => void,
): Promise<{ records: number; bound: number } | undefined> {
  const counts = { records: 0, bound: 0 };
  let start = '-';
  for (;;) {
    const reply = (await connection.run(
      scripts.verifyClientRange,
      [keys.clients],
      [start, CLIENT_BATCH, keys.clientPrefix],
    )) as [number, unknown, unknown[], number[]];
    if (Number(reply[0]) === -1) {
      await pageIndex(connection, keys.clients, keys.clientPrefix, 'clients index names missing client', collect);
      return undefined;
    }
    const [read, last, found, [records, bound]] = reply;
    collect(found);
    counts.records += Number(records);
    counts.bound += Number(bound);
    if (Number(read) < CLIENT_BATCH) return counts;
    start = `(${String(last)}`;
  }
}

/**
 * An index with a score other than 0 (the store writes none) has no lexical order to read it in: each
 * member is checked to name a record, in ZSCAN's order, and the records are checked by step 4.
 */
async function pageIndex(
  connection: Connection,
  index: string,
  recordPrefix: string,
  missing: string,
  collect: (reply: unknown) => void,
): Promise<void> {
  for await (const members of zscan(connection, index, BATCH)) {
    collect(await connection.run(scripts.verifyIndexMembers, [index], [recordPrefix, missing, ...members]));
  }
}

/** Step 2. */
async function countKeyspace(
  connection: Connection,
  keys: StoreKeys,
): Promise<{ applications: number; clients: number; ownerEntries: number; nameEntries: number }> {
  const counts = { applications: 0, clients: 0, ownerEntries: 0, nameEntries: 0 };
  let cursor = '0';
  do {
    const [next, [applications, clients, ownerEntries, nameEntries]] = (await connection.run(
      scripts.verifyKeyspaceCounts,
      [keys.applications],
      [
        cursor,
        `${keys.tag}*`,
        SCAN_BATCH,
        keys.applicationPrefix,
        keys.clientPrefix,
        keys.ownerApplicationsPrefix,
        keys.ownerNamesPrefix,
      ],
    )) as [unknown, number[]];
    cursor = String(next);
    counts.applications += Number(applications);
    counts.clients += Number(clients);
    counts.ownerEntries += Number(ownerEntries);
    counts.nameEntries += Number(nameEntries);
  } while (cursor !== '0');
  return counts;
}

/** Step 4: the checks the counts left open, member by member. */
async function checkMembers(
  connection: Connection,
  keys: StoreKeys,
  checks: ReadonlySet<Check>,
  collect: (reply: unknown) => void,
): Promise<void> {
  const largeOwners: string[] = [];
  const largeNames: string[] = [];
  let cursor = '0';
  do {
    const [next, found, owners, names] = (await connection.run(
      scripts.verifyKeyspace,
      [keys.applications, keys.clients],
      [
        cursor,
        `${keys.tag}*`,
        BATCH,
        keys.applicationPrefix,
        keys.clientPrefix,
        keys.ownerApplicationsPrefix,
        keys.ownerNamesPrefix,
        [...checks].join(''),
        BATCH,
      ],
    )) as [unknown, unknown[], unknown[], unknown[]];
    cursor = String(next);
    collect(found);
    // rare (an owner with more than BATCH applications), but not bounded: paged through a batch at a time
    for (const key of owners) largeOwners.push(String(key));
    for (const key of names) largeNames.push(String(key));
    if (largeOwners.length + largeNames.length >= BATCH || cursor === '0') {
      for (const ownerKey of largeOwners.splice(0)) {
        for await (const members of zscan(connection, ownerKey, BATCH)) {
          collect(
            await connection.run(
              scripts.verifyOwnerMembers,
              [ownerKey],
              [keys.applicationPrefix, keys.ownerApplicationsPrefix, ...members],
            ),
          );
        }
      }
      for (const namesKey of largeNames.splice(0)) {
        for await (const entries of hscan(connection, namesKey, BATCH)) {
          collect(
            await connection.run(
              scripts.verifyNames,
              [namesKey],
              [keys.applicationPrefix, keys.ownerNamesPrefix, ...entries.flat()],
            ),
          );
        }
      }
    }
  } while (cursor !== '0');
}
