import type { VerifyResult } from '../../src/types.js';
import type { Connection } from './connection.js';
import type { StoreKeys } from './keys.js';
import { hscan, zscan } from './scan.js';
import * as scripts from './scripts/verify.js';

/** More than this many problems are counted, not listed, so a broken store cannot exhaust memory. */
const MAX_LISTED = 1000;

/**
 * Records checked per script call: enough that a million bindings take about a thousand round trips,
 * few enough that no call holds Redis for more than a few milliseconds.
 */
const BATCH = 500;

/**
 * Checks every invariant of the registry on the live data, streaming with SCAN so that memory stays
 * flat however many applications there are, and checking each batch on the server in one script:
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
  const collect = (reply: unknown) => {
    for (const text of reply as unknown[]) {
      count += 1;
      if (problems.length < MAX_LISTED) problems.push(String(text));
    }
  };

  for await (const batch of connection.scan(keys.pattern('app'), BATCH)) {
    collect(
      await connection.run(scripts.verifyApplications, batch, [
        keys.applicationPrefix,
        keys.applications,
        keys.ownerApplicationsPrefix,
        keys.ownerNamesPrefix,
        keys.clientPrefix,
      ]),
    );
  }
  for await (const batch of connection.scan(keys.pattern('client'), BATCH)) {
    collect(
      await connection.run(scripts.verifyClients, batch, [keys.clientPrefix, keys.clients, keys.applicationPrefix]),
    );
  }
  for await (const members of zscan(connection, keys.clients, BATCH)) {
    collect(
      await connection.run(
        scripts.verifyIndexMembers,
        [keys.clients],
        [keys.clientPrefix, '', 'clients index names missing client', ...members],
      ),
    );
  }
  for await (const members of zscan(connection, keys.applications, BATCH)) {
    collect(
      await connection.run(
        scripts.verifyIndexMembers,
        [keys.applications],
        [keys.applicationPrefix, '', 'applications index names missing application', ...members],
      ),
    );
  }
  // owners' indexes are small: a batch of them per call, paging only through the rare large one
  for await (const ownerKeys of connection.scan(keys.pattern('owner'), BATCH)) {
    const [found, large] = (await connection.run(scripts.verifyOwnerIndexes, ownerKeys, [
      keys.applicationPrefix,
      keys.ownerApplicationsPrefix,
      BATCH,
    ])) as [unknown[], string[]];
    collect(found);
    for (const ownerKey of large) {
      for await (const members of zscan(connection, ownerKey, BATCH)) {
        collect(
          await connection.run(
            scripts.verifyIndexMembers,
            [ownerKey],
            [keys.applicationPrefix, keys.ownerApplicationsPrefix, '', ...members],
          ),
        );
      }
    }
  }
  for await (const namesKeys of connection.scan(keys.pattern('names'), BATCH)) {
    const [found, large] = (await connection.run(scripts.verifyNameIndexes, namesKeys, [
      keys.applicationPrefix,
      keys.ownerNamesPrefix,
      BATCH,
    ])) as [unknown[], string[]];
    collect(found);
    for (const namesKey of large) {
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

  if (count > problems.length) problems.push(`… and ${count - problems.length} more problems`);
  return { ok: count === 0, problems };
}
