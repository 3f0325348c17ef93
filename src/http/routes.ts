import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import type Provider from 'oidc-provider';

import { BINDING_PROPERTY } from '../client-record.js';
import { AppKeysError, insufficientScope, invalidToken } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import type { Registry } from '../registry.js';
import type { Actor } from '../types.js';
import { accountId, OWNER_MAX } from '../validate.js';
import { ADMIN_SCOPE, OWNER_SCOPE, RESOLVE_SCOPE } from '../scopes.js';
import { bearerActor } from './authenticate.js';
import { readJsonObject } from './body.js';
import { errorOut } from './error-out.js';
import { openApiDocument } from './openapi.js';
import type { Access, Authenticated, RouteHelpers } from './route.js';
import { ROUTES } from './route-table.js';

/**
 * An actor as the routes trust it, whoever resolved it: an owner's account id is one that can be shown
 * as it is (no control characters), so nothing stored for it can reach a terminal or a page raw.
 */
function checkedActor(actor: Actor): Actor {
  if ((actor.kind === 'admin' || actor.kind === 'resolver') && typeof actor.id === 'string') return actor;
  if (actor.kind !== 'owner') throw invalidToken('the caller is neither an owner, an admin nor a resolver');
  try {
    return { kind: 'owner', id: accountId(actor.id) };
  } catch {
    throw invalidToken(`the account id is not acceptable: 1–${OWNER_MAX} characters without control characters`);
  }
}

/** The provider's RFC 7592 answers (read, update) and RFC 7591's, whose bodies are client metadata. */
const REGISTRATION_ROUTES = new Set(['registration', 'client', 'client_update']);

/**
 * A client's binding is carried in its record as client metadata, which RFC 7591/7592 answers show in
 * full: whoever holds a registration access token would see the application and its owner. Removed
 * from those bodies after the provider made them.
 */
function hideBindingFromRegistration(ctx: Context): void {
  const route = (ctx as Context & { oidc?: { route?: string } }).oidc?.route;
  if (route === undefined || !REGISTRATION_ROUTES.has(route)) return;
  const body: unknown = ctx.body;
  if (body && typeof body === 'object' && BINDING_PROPERTY in body)
    delete (body as Record<string, unknown>)[BINDING_PROPERTY];
}

/**
 * The management API, composed in one place: error shape, no caching, then the route table's routes,
 * each behind the checks its access names. Everything outside the prefix passes straight through to
 * the provider.
 */
export function buildRoutes(provider: Provider, registry: Registry, options: ResolvedOptions): Middleware {
  // typed for the routes that authenticate; a public route's handler is typed to read no caller
  const router = new Router<Authenticated>({ prefix: options.prefix });
  const onUnexpected = (error: unknown, ctx: Context) => {
    provider.emit('appkeys.server_error', error, { method: ctx.method, path: ctx.path });
  };

  const authenticate: Middleware<{ actor?: Actor }> = async (ctx, next) => {
    const actor = options.authenticate ? await options.authenticate(ctx) : await bearerActor(ctx, provider);
    if (!actor) throw new AppKeysError(401, 'invalid_token', 'authentication required');
    ctx.state.actor = checkedActor(actor);
    await next();
  };
  const ownerOrAdmin: Middleware<Authenticated> = async (ctx, next) => {
    if (ctx.state.actor.kind === 'resolver') throw insufficientScope(OWNER_SCOPE);
    await next();
  };
  const adminOnly: Middleware<Authenticated> = async (ctx, next) => {
    if (ctx.state.actor.kind !== 'admin') throw insufficientScope(ADMIN_SCOPE);
    await next();
  };
  const resolverOrAdmin: Middleware<Authenticated> = async (ctx, next) => {
    if (ctx.state.actor.kind === 'owner') throw insufficientScope(RESOLVE_SCOPE);
    await next();
  };
  const checks: Record<Access, Middleware<Authenticated>[]> = {
    public: [],
    owner: [authenticate, ownerOrAdmin],
    admin: [authenticate, adminOnly],
    resolve: [authenticate, resolverOrAdmin],
  };
  const helpers: RouteHelpers = {
    prefix: options.prefix,
    body: (ctx) => readJsonObject(ctx, options.bodyLimitBytes),
    document: () => openApiDocument(options.prefix),
  };

  for (const { method, path, access, handler } of ROUTES) {
    router[method](path, ...checks[access], (ctx) => handler(ctx, registry, helpers));
  }

  const handled = router.routes();
  // not thrown: the router then sets `Allow`, which a 405 must carry
  const methods = router.allowedMethods();
  const guard = errorOut(onUnexpected);
  const inPrefix = (path: string) => path === options.prefix || path.startsWith(`${options.prefix}/`);

  return async function appkeysRoutes(ctx: Context, next: Next): Promise<void> {
    if (!inPrefix(ctx.path)) {
      await next();
      hideBindingFromRegistration(ctx);
      return;
    }
    // responses may carry a freshly generated secret; nothing here may be cached
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Pragma', 'no-cache');
    await guard(ctx, async () => {
      // allowedMethods inspects what the routes matched after they ran, so it wraps them
      // the router's context type is a refinement of Koa's that it fills in itself
      await methods(ctx as Parameters<typeof methods>[0], () =>
        handled(ctx as Parameters<typeof handled>[0], async () => {}),
      );
      // an unknown method (TRACE, PROPFIND, …) is the router's 501, which as an unexposed status would
      // read as a server failure: it is the client's mistake, so it gets the same 405 as a known one
      if ((ctx.status === 405 || ctx.status === 501) && ctx.body === undefined) {
        throw new AppKeysError(405, 'invalid_request', 'method not allowed on this path');
      }
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new AppKeysError(404, 'not_found', 'no such route');
      }
    });
  };
}
