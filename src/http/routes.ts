import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import type Provider from 'oidc-provider';

import { BINDING_PROPERTY } from '../client-record.js';
import { AppKeysError, insufficientScope, invalidRequest, invalidToken } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import { pageLimit } from '../pagination.js';
import type { Registry } from '../registry.js';
import type { Actor } from '../types.js';
import { accountId, OWNER_MAX } from '../validate.js';
import { ADMIN_SCOPE } from '../scopes.js';
import { bearerActor } from './authenticate.js';
import { readJsonObject } from './body.js';
import { errorOut } from './error-out.js';
import { openApiDocument } from './openapi.js';

interface AppKeysState {
  actor: Actor;
}

type RouteContext = Context & { state: AppKeysState; params: Record<string, string> };

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidRequest(`${name} must be given once`);
  return value;
}

function forceFlag(value: unknown): boolean {
  const flag = single(value, 'force');
  if (flag === undefined || flag === 'false') return false;
  if (flag === 'true') return true;
  throw invalidRequest('force must be true or false');
}

/**
 * An actor as the routes trust it, whoever resolved it: an owner's account id is one that can be shown
 * as it is (no control characters), so nothing stored for it can reach a terminal or a page raw.
 */
function checkedActor(actor: Actor): Actor {
  if (actor.kind === 'admin' && typeof actor.id === 'string') return actor;
  if (actor.kind !== 'owner') throw invalidToken('the caller is neither an owner nor an admin');
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
  if (body && typeof body === 'object' && BINDING_PROPERTY in body) delete (body as Record<string, unknown>)[BINDING_PROPERTY];
}

/**
 * The management API, composed in one place: error shape, no caching, authentication, then the
 * routes. Everything outside the prefix passes straight through to the provider.
 */
export function buildRoutes(provider: Provider, registry: Registry, options: ResolvedOptions): Middleware {
  const router = new Router<AppKeysState>({ prefix: options.prefix });
  const onUnexpected = (error: unknown, ctx: Context) => {
    provider.emit('appkeys.server_error', error, { method: ctx.method, path: ctx.path });
  };

  const authenticate: Middleware = async (ctx, next) => {
    const actor = options.authenticate ? await options.authenticate(ctx) : await bearerActor(ctx, provider);
    if (!actor) throw new AppKeysError(401, 'invalid_token', 'authentication required');
    ctx.state.actor = checkedActor(actor);
    await next();
  };
  const adminOnly: Middleware = async (ctx, next) => {
    if ((ctx.state as AppKeysState).actor.kind !== 'admin') throw insufficientScope(ADMIN_SCOPE);
    await next();
  };
  const body = (ctx: Context) => readJsonObject(ctx, options.bodyLimitBytes);
  const limitOf = (ctx: Context) => pageLimit(single(ctx.query.limit, 'limit'));
  const cursorOf = (ctx: Context) => single(ctx.query.cursor, 'cursor');
  const actorOf = (ctx: Context) => (ctx.state as AppKeysState).actor;
  const params = (ctx: Context) => (ctx as RouteContext).params;

  router.get('/openapi.json', (ctx) => {
    ctx.body = openApiDocument(options.prefix);
  });

  router.use(['/applications', '/clients'], authenticate);

  router.post('/applications', async (ctx) => {
    const application = await registry.createApplication(actorOf(ctx), await body(ctx));
    ctx.status = 201;
    ctx.set('Location', `${options.prefix}/applications/${application.id}`);
    ctx.body = application;
  });
  router.get('/applications', async (ctx) => {
    ctx.body = await registry.listApplications(actorOf(ctx), cursorOf(ctx), limitOf(ctx));
  });
  router.get('/applications/:app_id', async (ctx) => {
    ctx.body = await registry.getApplication(actorOf(ctx), params(ctx).app_id!);
  });
  router.patch('/applications/:app_id', async (ctx) => {
    ctx.body = await registry.updateApplication(actorOf(ctx), params(ctx).app_id!, await body(ctx));
  });
  router.delete('/applications/:app_id', async (ctx) => {
    await registry.deleteApplication(actorOf(ctx), params(ctx).app_id!);
    ctx.status = 204;
  });

  router.put('/applications/:app_id/keys/:key_type', async (ctx) => {
    const { app_id: appId, key_type: keyType } = params(ctx);
    const result = await registry.provideKeys(actorOf(ctx), appId!, keyType!, await body(ctx));
    ctx.status = result.created ? 201 : 200;
    ctx.body = result.binding;
  });
  router.post('/applications/:app_id/keys/:key_type', async (ctx) => {
    const { app_id: appId, key_type: keyType } = params(ctx);
    const generated = await registry.generateKeys(actorOf(ctx), appId!, keyType!, await body(ctx));
    ctx.status = 201;
    ctx.body = { ...generated.binding, client_secret: generated.client_secret, client: generated.client };
  });
  router.get('/applications/:app_id/keys/:key_type', async (ctx) => {
    const { app_id: appId, key_type: keyType } = params(ctx);
    ctx.body = await registry.getBinding(actorOf(ctx), appId!, keyType!);
  });
  router.delete('/applications/:app_id/keys/:key_type', async (ctx) => {
    const { app_id: appId, key_type: keyType } = params(ctx);
    await registry.unbind(actorOf(ctx), appId!, keyType!);
    ctx.status = 204;
  });
  router.post('/applications/:app_id/keys/:key_type/secret', async (ctx) => {
    const { app_id: appId, key_type: keyType } = params(ctx);
    ctx.body = await registry.regenerateSecret(actorOf(ctx), appId!, keyType!);
  });

  router.use('/clients', adminOnly);
  router.put('/clients/:client_id', async (ctx) => {
    const result = await registry.registerClient(actorOf(ctx), params(ctx).client_id!, await body(ctx));
    ctx.status = result.outcome === 'created' ? 201 : 200;
    ctx.body = result.client;
  });
  router.get('/clients/:client_id', async (ctx) => {
    ctx.body = await registry.getClient(params(ctx).client_id!);
  });
  router.get('/clients', async (ctx) => {
    ctx.body = await registry.listClients(cursorOf(ctx), limitOf(ctx));
  });
  router.delete('/clients/:client_id', async (ctx) => {
    await registry.deleteClient(actorOf(ctx), params(ctx).client_id!, forceFlag(ctx.query.force));
    ctx.status = 204;
  });
  router.delete('/clients/:client_id/attempts', async (ctx) => {
    await registry.clearFailedAttempts(actorOf(ctx), params(ctx).client_id!);
    ctx.status = 204;
  });

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
      await methods(ctx as Parameters<typeof methods>[0], () => handled(ctx as Parameters<typeof handled>[0], async () => {}));
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
