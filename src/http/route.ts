import type { Context, ParameterizedContext } from 'koa';

import type { Registry } from '../registry.js';
import type { Actor } from '../types.js';
import type { OperationSpec } from './openapi-parts.js';

/** Who may call a route: anyone, an owner (or an admin), an admin only, or a gateway (or an admin). */
export type Access = 'public' | 'owner' | 'admin' | 'resolve';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** The names of a Koa path's `:name` segments. */
export type PathParams<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParams<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

/** What authentication leaves for the routes it guards. */
export interface Authenticated {
  readonly actor: Actor;
}

/** The state a route's handler finds: nothing on a public route, the caller on every other. */
interface StateByAccess {
  public: object;
  owner: Authenticated;
  admin: Authenticated;
  resolve: Authenticated;
}

export type RouteContext<Params extends string, A extends Access> = ParameterizedContext<StateByAccess[A]> & {
  readonly params: Readonly<Record<Params, string>>;
};

/** What the router gives every handler besides its context and the registry. */
export interface RouteHelpers {
  /** Where the routes are mounted. */
  readonly prefix: string;
  /** The request's JSON object body, within the configured size limit. */
  body(ctx: Context): Promise<Record<string, unknown>>;
  /** The OpenAPI description of these routes. */
  document(): Record<string, unknown>;
}

export type Handler<Params extends string, A extends Access> = (
  ctx: RouteContext<Params, A>,
  registry: Registry,
  helpers: RouteHelpers,
) => void | Promise<void>;

/** One route of the management API: the router and the OpenAPI document are both made from these. */
export interface Route {
  readonly method: Method;
  /** Relative to the prefix, in Koa's `:param` form. */
  readonly path: string;
  readonly access: Access;
  /** Called with the caller set (unless public) and the path's parameters. */
  readonly handler: Handler<string, 'owner' | 'admin' | 'resolve'>;
  readonly operation: OperationSpec;
}

/**
 * A route whose handler is checked against its path and access: it may read only the parameters the
 * path names, and the caller only where the route is not public.
 */
export function route<const P extends string, A extends Access>(entry: {
  readonly method: Method;
  readonly path: P;
  readonly access: A;
  readonly handler: Handler<PathParams<P>, A>;
  readonly operation: OperationSpec;
}): Route {
  return entry;
}

/** The path's parameter names, in order. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z_]+)/g)].map((match) => match[1]!);
}

/** Koa's `:param` form in OpenAPI's `{param}` form. */
export function templateOf(path: string): string {
  return path.replace(/:([A-Za-z_]+)/g, '{$1}');
}
