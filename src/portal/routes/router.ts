import type Router from '@koa/router';
import type { Context } from 'koa';

import { AppKeysError } from '../../errors.js';
import { signInPage } from '../pages/applications.js';
import type { PortalRequest } from '../request.js';

export interface PortalState {
  request: PortalRequest;
}

export type PortalRouter = Router<PortalState>;
export type Handler = (r: PortalRequest, params: Readonly<Record<string, string>>) => Promise<void>;

/** A handler whose failures become pages; a GET that needs a sign-in offers one that comes back here. */
export function handle(handler: Handler) {
  return async (ctx: Context & { params?: Record<string, string> }): Promise<void> => {
    const r = (ctx.state as PortalState).request;
    try {
      await handler(r, ctx.params ?? {});
    } catch (error) {
      if (error instanceof AppKeysError && error.error === 'login_required' && ctx.method === 'GET') {
        r.show(401, signInPage(r.view, ctx.originalUrl));
        return;
      }
      r.fail(error);
    }
  };
}

/** A path parameter that names a key type; anything else is a page that does not exist. */
export function keyTypeParam(value: string | undefined): 'PRODUCTION' | 'SANDBOX' {
  if (value === 'PRODUCTION' || value === 'SANDBOX') return value;
  throw new AppKeysError(404, 'not_found', 'no such page');
}
