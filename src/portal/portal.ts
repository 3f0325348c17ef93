import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import type Provider from 'oidc-provider';

import type { ResolvedOptions } from '../options.js';
import type { Registry } from '../registry.js';
import { ASSETS } from './assets.js';
import type { ResolvedPortalOptions } from './options.js';
import { errorPage } from './pages/errors.js';
import { PortalRequest, type PortalDeps } from './request.js';
import { adminRoutes } from './routes/admin.js';
import { developerRoutes } from './routes/developer.js';
import { issuerRoutes } from './routes/issuers.js';
import type { PortalState } from './routes/router.js';
import { signInRoutes } from './routes/signin.js';
import { Sessions, type PortalSessionStore } from './sessions.js';

/** Scripts and styles from the portal alone, never inline; no framing; forms post only here. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

function secure(ctx: Context): void {
  ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Referrer-Policy', 'same-origin');
  ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
}

/** Assets are named by their content's hash, so they may be cached for good. */
function serveAsset(ctx: Context, name: string): boolean {
  const asset = ASSETS.get(name);
  if (!asset) return false;
  ctx.status = 200;
  ctx.type = asset.type;
  ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
  ctx.body = asset.body;
  return true;
}

/**
 * The portal as Koa middleware: every path under `<prefix>/portal` is answered here (pages, assets,
 * sign-in), everything else passes on. Pages are server-rendered; the registry is called directly, as
 * the signed-in owner or admin.
 */
export function buildPortal(
  provider: Provider,
  registry: Registry,
  options: ResolvedOptions,
  portal: ResolvedPortalOptions,
  store: PortalSessionStore,
): Middleware {
  const root = `${options.prefix}/portal`;
  const deps: PortalDeps = {
    provider,
    registry,
    options,
    portal,
    root,
    sessions: new Sessions(store, portal.sessionTtlSeconds),
    origin: new URL(provider.issuer).origin,
  };
  const router = new Router<PortalState>({ prefix: root });
  signInRoutes(router);
  developerRoutes(router);
  adminRoutes(router);
  issuerRoutes(router);
  const routes = router.routes();
  const assets = `${root}/assets/`;

  return async function appkeysPortal(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== root && !ctx.path.startsWith(`${root}/`)) {
      await next();
      return;
    }
    secure(ctx);
    if (
      ctx.path.startsWith(assets) &&
      (ctx.method === 'GET' || ctx.method === 'HEAD') &&
      serveAsset(ctx, ctx.path.slice(assets.length))
    )
      return;
    // pages carry account data and, once, a secret: none of them is kept by any cache
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Pragma', 'no-cache');
    const request = new PortalRequest(ctx, deps, undefined);
    try {
      request.session = await deps.sessions.load(ctx);
    } catch (error) {
      request.fail(error);
      return;
    }
    if (ctx.path === root) {
      request.redirect(`${request.base}/`);
      return;
    }
    (ctx.state as PortalState).request = request;
    await routes(ctx as Parameters<typeof routes>[0], async () => {});
    if (ctx.body === undefined || ctx.body === null) {
      request.show(404, errorPage(request.view, 404, 'no such page'));
    }
  };
}
