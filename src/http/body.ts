import type { Context } from 'koa';

import { AppKeysError, invalidRequest } from '../errors.js';

const payloadTooLarge = (limit: number) =>
  new AppKeysError(413, 'invalid_request', `request body exceeds ${limit} bytes`);
const unsupportedMediaType = () =>
  new AppKeysError(415, 'invalid_request', 'request body must be application/json');

/**
 * Reads a JSON object body: only `application/json`, at most `limit` bytes (counted while streaming,
 * whatever Content-Length claims), valid UTF-8, one JSON object. An absent body reads as `{}`.
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
