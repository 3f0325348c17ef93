import { externalPrefix } from '../../src/issuers/ref.js';
import { issuerBody } from '../../src/issuers/store-records.js';
import type { StoredIssuer } from '../../src/issuers/types.js';
import type { Connection } from './connection.js';
import type { StoreKeys } from './keys.js';
import { refusal } from './refusals.js';
import { hashFields } from './replies.js';
import * as scripts from './scripts/issuers.js';

/** The Redis store's third-party issuers (BindingStore's "third-party issuers" section). */

/**
 * The ZRANGE BYLEX bounds of an issuer's external client ids: from its prefix (inclusive) to the prefix
 * with its last character raised by one (exclusive), which holds every id starting with the prefix.
 */
function clientRange(issuerId: string): [string, string] {
  const prefix = externalPrefix(issuerId);
  const next = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  return [`[${prefix}`, `(${next}`];
}

/** A time as the JSON text the script splices into the issuer's value, which must need no escape. */
function timeJson(time: unknown, field: string): string {
  const json = JSON.stringify(time);
  if (typeof time !== 'string' || json.includes('\\')) throw new TypeError(`issuer ${field} must be a time string`);
  return json;
}

const parse = (value: string) => JSON.parse(value) as StoredIssuer;

export async function putIssuer(
  connection: Connection,
  keys: StoreKeys,
  issuer: StoredIssuer,
): Promise<'created' | 'replaced' | 'unchanged' | 'issuer_taken' | 'bound'> {
  const reply = Number(
    await connection.run(
      scripts.putIssuer,
      [keys.issuers, keys.clients],
      [
        issuer.issuer_id,
        issuer.issuer,
        issuerBody(issuer),
        timeJson(issuer.created_at, 'created_at'),
        timeJson(issuer.updated_at, 'updated_at'),
        keys.clientPrefix,
        ...clientRange(issuer.issuer_id),
        issuer.verification,
      ],
    ),
  );
  if (reply === 1) return 'created';
  if (reply === 2) return 'replaced';
  if (reply === 3) return 'unchanged';
  const outcome = refusal(reply);
  if (outcome === 'issuer_taken') return outcome;
  if (outcome === 'client_already_bound') return 'bound';
  throw new Error(`unexpected putIssuer reply ${reply}`);
}

export async function getIssuer(
  connection: Connection,
  keys: StoreKeys,
  issuerId: string,
): Promise<StoredIssuer | undefined> {
  const value = await connection.send('HGET', keys.issuers, issuerId);
  return typeof value === 'string' ? parse(value) : undefined;
}

export async function listIssuers(connection: Connection, keys: StoreKeys): Promise<StoredIssuer[]> {
  const fields = hashFields(await connection.send('HGETALL', keys.issuers));
  // the byte order of the ids' UTF-8, as every listing of the store has it
  return Object.entries(fields)
    .sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map(([, value]) => parse(value));
}

export async function deleteIssuer(
  connection: Connection,
  keys: StoreKeys,
  issuerId: string,
): Promise<'deleted' | 'not_found' | 'bound'> {
  const reply = Number(
    await connection.run(
      scripts.deleteIssuer,
      [keys.issuers, keys.clients],
      [issuerId, ...clientRange(issuerId), keys.clientPrefix, keys.clientAttemptsPrefix],
    ),
  );
  if (reply === 1) return 'deleted';
  if (reply === 0) return 'not_found';
  if (refusal(reply) === 'client_already_bound') return 'bound';
  throw new Error(`unexpected deleteIssuer reply ${reply}`);
}

export async function useAssertionId(
  connection: Connection,
  keys: StoreKeys,
  clientId: string,
  jti: string,
  expiresAtMs: number,
  nowMs: number,
): Promise<boolean> {
  // held for the assertion's remaining life on the caller's clock, as the memory store holds it
  const holdMs = Math.max(1, Math.ceil(expiresAtMs - nowMs));
  const reply = await connection.run(scripts.useAssertionId, [keys.assertionId(clientId, jti)], [holdMs]);
  return Number(reply) === 1;
}
