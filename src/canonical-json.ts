import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted, so that equal metadata has one text whatever its key order: stores
 * keep client metadata in this form and can tell "unchanged" by comparing text, atomically.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (!inner || typeof inner !== 'object' || Array.isArray(inner)) return inner;
    return Object.fromEntries(
      Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  });
}

/** A short digest of the canonical JSON, for stores that compare metadata without decoding it. */
export function metadataDigest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('base64url');
}
