import type { Context } from 'koa';

import { invalidRequest } from '../errors.js';
import { pageLimit } from '../pagination.js';

/** A query parameter given at most once; a repeated one is refused rather than one copy picked. */
function single(ctx: Context, name: string): string | undefined {
  const value: unknown = ctx.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidRequest(`${name} must be given once`);
  return value;
}

export function limitOf(ctx: Context): number {
  return pageLimit(single(ctx, 'limit'));
}

export function cursorOf(ctx: Context): string | undefined {
  return single(ctx, 'cursor');
}

export function forceOf(ctx: Context): boolean {
  const flag = single(ctx, 'force');
  if (flag === undefined || flag === 'false') return false;
  if (flag === 'true') return true;
  throw invalidRequest('force must be true or false');
}
