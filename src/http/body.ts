import type { Context } from 'koa';

import { AppKeysError, invalidRequest } from '../errors.js';

const payloadTooLarge = (limit: number) =>
  new AppKeysError(413, 'invalid_request', `request body exceeds ${limit} bytes`);
const unsupportedMediaType = () => new AppKeysError(415, 'invalid_request', 'request body must be application/json');

/** Deeper than any request of this API needs (client metadata nests jwks → keys → key → x5c: 4). */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether arrays and objects in JSON text nest deeper than `max`, counted on the text before parsing.
 * JSON.parse copes with any depth, but JSON.stringify and structuredClone recurse and overflow the
 * stack on 100 000 levels: a body no valid request can have is refused here, before it is built,
 * rather than trusted to be dropped by every later step (client metadata ignores unknown fields).
 */
function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i += 1; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth -= 1;
    }
  }
  return false;
}

/**
 * Reads a JSON object body: only `application/json`, at most `limit` bytes (counted while streaming,
 * whatever Content-Length claims), valid UTF-8, nested at most MAX_JSON_DEPTH levels, one JSON object.
 * An absent body reads as `{}`.
 */
export async function readJsonObject(ctx: Context, limit: number): Promise<Record<string, unknown>> {
  const declared = ctx.get('content-length');
  const chunked = ctx.get('transfer-encoding') !== '';
  if (!chunked && (declared === '' || declared === '0')) return {};
  if (!ctx.is('application/json', '+json')) throw unsupportedMediaType();
  if (declared !== '' && Number(declared) > limit) {
    ctx.req.resume();
    throw payloadTooLarge(limit);
  }

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      ctx.req.resume();
      throw payloadTooLarge(limit);
    }
    chunks.push(chunk as Buffer);
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw invalidRequest('request body is not valid UTF-8');
  }
  if (text.trim() === '') return {};
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw invalidRequest(`request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let parsed: unknown;
  try {
    // JSON.parse makes `__proto__` an own property, never a prototype
    parsed = JSON.parse(text);
  } catch {
    throw invalidRequest('request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidRequest('request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}
