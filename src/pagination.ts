import { invalidRequest } from './errors.js';

export const MIN_LIMIT = 1;
export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;
/** A cursor is base64url text; these bound what is decoded at all. Strings, as the OpenAPI document states them. */
export const CURSOR_MAX = 2048;
export const CURSOR_PATTERN = '^[A-Za-z0-9_-]+$';
const CURSOR_CHARACTERS = new RegExp(CURSOR_PATTERN);

/** `limit` from a query string: MIN_LIMIT–MAX_LIMIT, default DEFAULT_LIMIT. */
export function pageLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_LIMIT;
  if (typeof value !== 'string' || !/^[0-9]{1,3}$/.test(value))
    throw invalidRequest(`limit must be an integer from ${MIN_LIMIT} to ${MAX_LIMIT}`);
  const limit = Number(value);
  if (limit < MIN_LIMIT || limit > MAX_LIMIT)
    throw invalidRequest(`limit must be an integer from ${MIN_LIMIT} to ${MAX_LIMIT}`);
  return limit;
}

/**
 * Cursors are opaque to callers: the last id of the page, versioned and base64url-encoded. A forged
 * cursor can only choose where a listing starts inside what the caller may see anyway.
 */
export function encodeCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ v: 1, after: lastId })).toString('base64url');
}

export function decodeCursor(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > CURSOR_MAX || !CURSOR_CHARACTERS.test(value)) {
    throw invalidRequest('cursor is not valid');
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (parsed && typeof parsed === 'object' && (parsed as { v?: unknown }).v === 1) {
      const after = (parsed as { after?: unknown }).after;
      if (typeof after === 'string' && after.length > 0) return after;
    }
  } catch {
    // fall through to the one answer for every bad cursor
  }
  throw invalidRequest('cursor is not valid');
}
