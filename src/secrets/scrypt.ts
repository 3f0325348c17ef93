import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Client secrets as PHC-format scrypt hashes (`$scrypt$ln=15,r=8,p=1$<salt>$<hash>`, base64 without
 * padding), with node:crypto only. Each hash carries its own parameters, so verification reads them
 * back and a change of cost applies to new hashes only.
 */

export interface ScryptCost {
  /** log2 of N, the CPU and memory cost. */
  readonly ln: number;
  /** Block size. */
  readonly r: number;
  /** Parallelism. */
  readonly p: number;
}

/**
 * 2^15 × 8 × 128 B = 32 MiB and about 0.1 s of one core per hash (RFC 7914's interactive setting, doubled):
 * at most four run at once on libuv's default thread pool, so memory stays bounded under a burst of
 * failed authentications, while an offline guess costs the same 32 MiB and 0.1 s.
 */
export const PRODUCTION_COST: ScryptCost = { ln: 15, r: 8, p: 1 };

/**
 * Parameters a stored hash may name: anything outside is refused rather than run (a corrupt record must not
 * exhaust memory).
 */
const LIMITS = { ln: [10, 20], r: [1, 32], p: [1, 16] } as const;

const SALT_BYTES = 16;
const HASH_BYTES = 32;
const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{22,88})\$([A-Za-z0-9+/]{22,88})$/;

let costOfNewHashes: ScryptCost = PRODUCTION_COST;

/**
 * Tests only: cheaper parameters for the hashes made from now on in this process. Verification is
 * unaffected (each hash names its own parameters).
 */
export function setCostOfNewHashesForTests(cost: ScryptCost): void {
  costOfNewHashes = cost;
}

export function currentCost(): ScryptCost {
  return costOfNewHashes;
}

interface ParsedHash {
  readonly cost: ScryptCost;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

function within(value: number, [min, max]: readonly [number, number]): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

function parse(phc: string): ParsedHash | undefined {
  const match = PHC.exec(phc);
  if (!match) return undefined;
  const cost = { ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  if (!within(cost.ln, LIMITS.ln) || !within(cost.r, LIMITS.r) || !within(cost.p, LIMITS.p)) return undefined;
  return { cost, salt: Buffer.from(match[4]!, 'base64'), hash: Buffer.from(match[5]!, 'base64') };
}

/** Whether `value` is a scrypt hash in the PHC format this module writes and can verify. */
export function isSecretHash(value: unknown): value is string {
  return typeof value === 'string' && parse(value) !== undefined;
}

function derive(secret: string, salt: Buffer, length: number, { ln, r, p }: ScryptCost): Promise<Buffer> {
  const N = 2 ** ln;
  return new Promise((resolve, reject) => {
    // the asynchronous form runs on the thread pool: the event loop keeps serving meanwhile
    scrypt(secret, salt, length, { N, r, p, maxmem: 256 * N * r * p }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');

/** A new hash of `secret`, with a random salt and the current parameters. */
export async function hashSecret(secret: string, cost: ScryptCost = costOfNewHashes): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(secret, salt, HASH_BYTES, cost);
  return `$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${b64(salt)}$${b64(hash)}`;
}

/** Whether `secret` is the one `phc` was made from; false for anything that is not such a hash. */
export async function verifySecret(phc: string, secret: string): Promise<boolean> {
  const parsed = parse(phc);
  if (!parsed) return false;
  const derived = await derive(secret, parsed.salt, parsed.hash.length, parsed.cost);
  return timingSafeEqual(derived, parsed.hash);
}
