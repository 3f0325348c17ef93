import type { Context, Next } from 'koa';

import { AppKeysError } from '../errors.js';

export interface ErrorBody {
  readonly error: string;
  readonly error_description: string;
}

/** The only place an error becomes a response body; nothing unexposed reaches the client. */
export function errorBody(error: unknown): { status: number; body: ErrorBody; retryAfter?: number } {
  if (error instanceof AppKeysError && error.expose) {
    return {
      status: error.status,
      body: { error: error.error, error_description: error.error_description },
      ...(error.retryAfter !== undefined && { retryAfter: error.retryAfter }),
    };
  }
  return { status: 500, body: { error: 'server_error', error_description: 'an unexpected error occurred' } };
}

/**
 * Answers every failure under the prefix in the OAuth error shape. Unexpected errors are handed to the
 * `onUnexpected` hook (the provider's `appkeys.server_error` event) and never shown.
 */
export function errorOut(onUnexpected: (error: unknown, ctx: Context) => void) {
  return async function appkeysErrorOut(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (error) {
      const { status, body, retryAfter } = errorBody(error);
      if (status === 500) onUnexpected(error, ctx);
      ctx.status = status;
      ctx.body = body;
      if (retryAfter !== undefined) ctx.set('Retry-After', String(retryAfter));
      // RFC 6750: the challenge belongs to failures of the Bearer token itself, not of a provided client
      if (body.error === 'invalid_token' || body.error === 'insufficient_scope') {
        ctx.set('WWW-Authenticate', `Bearer realm="appkeys", error="${body.error}"`);
      }
    }
  };
}
