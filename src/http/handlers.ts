import type { Registry } from '../registry.js';
import { cursorOf, forceOf, limitOf, singleQuery } from './query.js';
import type { Access, RouteContext, RouteHelpers } from './route.js';

/** The handlers of the route table: each reads its request, calls the registry once, and answers. */

type Caller = Exclude<Access, 'public'>;
type Ctx<Params extends string = never> = RouteContext<Params, Caller>;

export function getOpenApiDocument(
  ctx: RouteContext<never, 'public'>,
  _registry: Registry,
  helpers: RouteHelpers,
): void {
  ctx.body = helpers.document();
}

// ---- applications --------------------------------------------------------------------------------

export async function createApplication(ctx: Ctx, registry: Registry, helpers: RouteHelpers): Promise<void> {
  const application = await registry.createApplication(ctx.state.actor, await helpers.body(ctx));
  ctx.status = 201;
  ctx.set('Location', `${helpers.prefix}/applications/${application.id}`);
  ctx.body = application;
}

export async function listApplications(ctx: Ctx, registry: Registry): Promise<void> {
  ctx.body = await registry.listApplications(ctx.state.actor, cursorOf(ctx), limitOf(ctx));
}

export async function getApplication(ctx: Ctx<'app_id'>, registry: Registry): Promise<void> {
  ctx.body = await registry.getApplication(ctx.state.actor, ctx.params.app_id);
}

export async function updateApplication(ctx: Ctx<'app_id'>, registry: Registry, helpers: RouteHelpers): Promise<void> {
  ctx.body = await registry.updateApplication(ctx.state.actor, ctx.params.app_id, await helpers.body(ctx));
}

export async function deleteApplication(ctx: Ctx<'app_id'>, registry: Registry): Promise<void> {
  await registry.deleteApplication(ctx.state.actor, ctx.params.app_id);
  ctx.status = 204;
}

// ---- keys ----------------------------------------------------------------------------------------

export async function provideKeys(
  ctx: Ctx<'app_id' | 'key_type'>,
  registry: Registry,
  helpers: RouteHelpers,
): Promise<void> {
  const { app_id: appId, key_type: keyType } = ctx.params;
  // the URL this request was sent to, as the client saw it (Koa honours app.proxy): a signed assertion's aud
  const audience = `${ctx.protocol}://${ctx.host}${ctx.originalUrl.split('?')[0]}`;
  const result = await registry.provideKeys(ctx.state.actor, appId, keyType, await helpers.body(ctx), { audience });
  ctx.status = result.created ? 201 : 200;
  ctx.body = result.binding;
}

export async function generateKeys(
  ctx: Ctx<'app_id' | 'key_type'>,
  registry: Registry,
  helpers: RouteHelpers,
): Promise<void> {
  const { app_id: appId, key_type: keyType } = ctx.params;
  const generated = await registry.generateKeys(ctx.state.actor, appId, keyType, await helpers.body(ctx));
  ctx.status = 201;
  ctx.body = { ...generated.binding, client_secret: generated.client_secret, client: generated.client };
}

export async function getBinding(ctx: Ctx<'app_id' | 'key_type'>, registry: Registry): Promise<void> {
  ctx.body = await registry.getBinding(ctx.state.actor, ctx.params.app_id, ctx.params.key_type);
}

export async function unbindKeys(ctx: Ctx<'app_id' | 'key_type'>, registry: Registry): Promise<void> {
  await registry.unbind(ctx.state.actor, ctx.params.app_id, ctx.params.key_type);
  ctx.status = 204;
}

export async function rotateSecret(ctx: Ctx<'app_id' | 'key_type'>, registry: Registry): Promise<void> {
  ctx.body = await registry.regenerateSecret(ctx.state.actor, ctx.params.app_id, ctx.params.key_type);
}

// ---- out-of-band clients -------------------------------------------------------------------------

export async function listClients(ctx: Ctx, registry: Registry): Promise<void> {
  ctx.body = await registry.listClients(cursorOf(ctx), limitOf(ctx));
}

export async function registerClient(ctx: Ctx<'client_id'>, registry: Registry, helpers: RouteHelpers): Promise<void> {
  const result = await registry.registerClient(ctx.state.actor, ctx.params.client_id, await helpers.body(ctx));
  ctx.status = result.outcome === 'created' ? 201 : 200;
  ctx.body = result.client;
}

export async function getClient(ctx: Ctx<'client_id'>, registry: Registry): Promise<void> {
  ctx.body = await registry.getClient(ctx.params.client_id);
}

export async function deleteClient(ctx: Ctx<'client_id'>, registry: Registry): Promise<void> {
  await registry.deleteClient(ctx.state.actor, ctx.params.client_id, forceOf(ctx));
  ctx.status = 204;
}

export async function clearFailedAttempts(ctx: Ctx<'client_id'>, registry: Registry): Promise<void> {
  await registry.clearFailedAttempts(ctx.state.actor, ctx.params.client_id);
  ctx.status = 204;
}

// ---- third-party issuers (admin) -----------------------------------------------------------------

export async function listIssuers(ctx: Ctx, registry: Registry): Promise<void> {
  ctx.body = { items: await registry.issuers.list() };
}

export async function registerIssuer(ctx: Ctx<'issuer_id'>, registry: Registry, helpers: RouteHelpers): Promise<void> {
  const result = await registry.issuers.register(ctx.state.actor, ctx.params.issuer_id, await helpers.body(ctx));
  ctx.status = result.outcome === 'created' ? 201 : 200;
  ctx.body = result.issuer;
}

export async function getIssuer(ctx: Ctx<'issuer_id'>, registry: Registry): Promise<void> {
  ctx.body = await registry.issuers.get(ctx.params.issuer_id);
}

export async function deleteIssuer(ctx: Ctx<'issuer_id'>, registry: Registry): Promise<void> {
  await registry.issuers.delete(ctx.state.actor, ctx.params.issuer_id);
  ctx.status = 204;
}

// ---- resolution for gateways ---------------------------------------------------------------------

export async function lookupBinding(ctx: Ctx, registry: Registry): Promise<void> {
  ctx.body = await registry.issuers.lookup(singleQuery(ctx, 'iss'), singleQuery(ctx, 'client_id'));
}

export async function resolveToken(ctx: Ctx, registry: Registry, helpers: RouteHelpers): Promise<void> {
  ctx.body = await registry.issuers.resolve(await helpers.body(ctx));
}
