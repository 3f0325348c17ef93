import { timingSafeEqual } from 'node:crypto';

import type { BindingStore } from '../store.js';
import { plaintextNeed } from './rules.js';
import { hashSecret, isSecretHash } from './scrypt.js';

/** Compare-and-set attempts before giving up on a client that keeps changing. */
const ATTEMPTS = 3;

export type UpgradeOutcome =
  | { readonly outcome: 'hashed' | 'already_hashed' | 'no_secret' | 'not_found' | 'secret_changed' | 'conflict' }
  | { readonly outcome: 'needs_plaintext'; readonly reason: string };

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Replaces a client's plaintext secret in the store by its hash, with the store's compare-and-set, so
 * that a change made meanwhile is never overwritten. With `expected` (the secret just verified), only
 * that secret is hashed: one rotated since is left alone. Clients whose metadata needs the plaintext
 * keep it.
 */
export async function hashStoredSecret(
  store: BindingStore,
  clientId: string,
  expected?: string,
): Promise<UpgradeOutcome> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const stored = await store.getClient(clientId);
    if (!stored) return { outcome: 'not_found' };
    const secret = stored.metadata.client_secret;
    if (typeof secret !== 'string') return { outcome: 'no_secret' };
    if (isSecretHash(secret)) return { outcome: 'already_hashed' };
    if (expected !== undefined && !sameSecret(secret, expected)) return { outcome: 'secret_changed' };
    const reason = plaintextNeed(stored.metadata);
    if (reason) return { outcome: 'needs_plaintext', reason };
    const hash = await hashSecret(secret);
    const written = await store.replaceClientMetadata(
      { ...stored.metadata, client_secret: hash },
      stored.revision,
      new Date().toISOString(),
    );
    if (written === 'ok') return { outcome: 'hashed' };
    if (written === 'not_found') return { outcome: 'not_found' };
  }
  return { outcome: 'conflict' };
}

/** What an upgrade after an authentication came to; `failed` carries an error code, never a message. */
export type BackgroundOutcome = UpgradeOutcome | { readonly outcome: 'failed'; readonly error: string };

/**
 * The upgrade after a successful authentication: started and forgotten, so that it never delays nor
 * fails the request that triggered it, and run once at a time per client (a burst of token requests
 * hashes once). Its outcome goes to `report`.
 */
export function upgradeInBackground(
  store: BindingStore,
  report: (clientId: string, result: BackgroundOutcome) => void,
): (clientId: string, plaintext: string) => void {
  const running = new Set<string>();
  return (clientId, plaintext) => {
    if (running.has(clientId)) return;
    running.add(clientId);
    hashStoredSecret(store, clientId, plaintext)
      .catch((error: unknown): BackgroundOutcome => {
        const code = (error as { error?: unknown } | undefined)?.error;
        return { outcome: 'failed', error: typeof code === 'string' ? code : 'server_error' };
      })
      .then((result) => report(clientId, result))
      .catch(() => {})
      .finally(() => running.delete(clientId));
  };
}

export interface HashAllReport {
  readonly hashed: number;
  readonly alreadyHashed: number;
  readonly withoutSecret: number;
  /** Clients that keep a plaintext secret, and why. */
  readonly keptPlaintext: ReadonlyArray<{ readonly clientId: string; readonly reason: string }>;
  /** Clients that changed (or went) while being hashed, each tried again `ATTEMPTS` times. */
  readonly changed: readonly string[];
}

const PAGE = 100;
/** Hashes at once: libuv's default thread pool runs four scrypt calls side by side. */
const CONCURRENCY = 4;

/**
 * Hashes every plaintext secret of the store (`appkeys clients hash-secrets`). Idempotent: hashed
 * secrets are left as they are, so a second run changes nothing.
 */
export async function hashAllStoredSecrets(
  store: BindingStore,
  onProgress: (clientId: string) => void = () => {},
): Promise<HashAllReport> {
  let hashed = 0;
  let alreadyHashed = 0;
  let withoutSecret = 0;
  const keptPlaintext: Array<{ clientId: string; reason: string }> = [];
  const changed: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.listClients(after, PAGE);
    const todo: string[] = [];
    for (const client of page) {
      const secret = client.metadata.client_secret;
      if (typeof secret !== 'string') withoutSecret += 1;
      else if (isSecretHash(secret)) alreadyHashed += 1;
      else todo.push(client.metadata.client_id);
    }
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const clientId = todo[next]!;
        next += 1;
        const result = await hashStoredSecret(store, clientId);
        switch (result.outcome) {
          case 'hashed':
            hashed += 1;
            break;
          case 'already_hashed':
            alreadyHashed += 1;
            break;
          case 'no_secret':
            withoutSecret += 1;
            break;
          case 'needs_plaintext':
            keptPlaintext.push({ clientId, reason: result.reason });
            break;
          // deleted meanwhile: nothing left to hash
          case 'not_found':
            break;
          default:
            changed.push(clientId);
        }
        onProgress(clientId);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, todo.length) }, worker));
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.metadata.client_id;
  }
  return { hashed, alreadyHashed, withoutSecret, keptPlaintext, changed };
}
