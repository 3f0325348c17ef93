import type { Context } from 'koa';

import { invalidRequest } from '../errors.js';
import { pageLimit } from '../pagination.js';

/** A query parameter given at most once; a repeated one is refused rather than one copy picked. */
export function singleQuery(ctx: Context, name: string): string | undefined {
  const value: unknown = ctx.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidRequest(`${name} must be given once`);
  return value;
}

export function limitOf(ctx: Context): number {
  return pageLimit(singleQuery(ctx, 'limit'));
}

export function cursorOf(ctx: Context): string | undefined {
  return singleQuery(ctx, 'cursor');
}

export function forceOf(ctx: Context): boolean {
  const flag = singleQuery(ctx, 'force');
  if (flag === undefined || flag === 'false') return false;
  if (flag === 'true') return true;
  throw invalidRequest('force must be true or false');
}
