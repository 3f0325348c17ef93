import type Provider from 'oidc-provider';
import {
  errors,
  type Adapter,
  type AdapterConstructor,
  type AdapterFactory,
  type Configuration,
  type KoaContextWithOIDC,
} from 'oidc-provider';

import { BINDING_PROPERTY, bindingOfClient } from './client-record.js';
import { defaultIntrospectionAllowed, isStaticClient } from './provider-internals.js';
import { managementScopeRefusal, managementScopesIn, mayHoldManagementScope } from './scopes.js';
import type { StoredClient } from './store.js';
import { BindingCheckedTokens } from './token-adapter.js';

type ProviderClient = InstanceType<Provider['Client']>;
type IntrospectionFeature = NonNullable<NonNullable<Configuration['features']>['introspection']>;
type AllowedPolicy = NonNullable<IntrospectionFeature['allowedPolicy']>;
type ExtraTokenClaims = NonNullable<Configuration['extraTokenClaims']>;
/** The claims a token of a bound client carries; only the binding sets them. */
const BINDING_CLAIMS = ['application_id', 'key_type'] as const;

/** Access tokens: what a resource server, userinfo or introspection finds, and so what follows the binding. */
const ACCESS_TOKEN_MODELS = new Set(['AccessToken', 'ClientCredentials']);

export interface IntegrationParts {
  /** The adapter of the `Client` model (the appkeys store). */
  readonly clientAdapter: Adapter;
  /** The adapter of every other model when the caller configured none. */
  readonly defaultAdapter: AdapterFactory;
  readonly requireBinding: boolean;
  /** A client's record in the appkeys store, or `undefined` when it has none. */
  readonly clientRecord: (clientId: string) => Promise<StoredClient | undefined>;
}

/** oidc-provider's own test for "construct it" versus "call it" (helpers/type_validators.js). */
function isConstructable(adapter: AdapterConstructor | AdapterFactory): adapter is AdapterConstructor {
  return typeof adapter === 'function' && adapter.prototype !== null && typeof adapter.prototype === 'object';
}

/**
 * Routes the `Client` model to the appkeys store and every other model to the caller's adapter; access
 * tokens are found only while they hold under their client's binding (token-adapter.ts).
 */
function routedAdapter(
  callerAdapter: Configuration['adapter'],
  parts: IntegrationParts,
  staticIds: ReadonlySet<string>,
): AdapterFactory {
  const others = callerAdapter ?? parts.defaultAdapter;
  return (model: string) => {
    if (model === 'Client') return parts.clientAdapter;
    const adapter = isConstructable(others) ? new others(model) : others(model);
    if (!ACCESS_TOKEN_MODELS.has(model)) return adapter;
    // static clients are never bound: their tokens cost no lookup
    return new BindingCheckedTokens(adapter, (clientId) =>
      staticIds.has(clientId) ? Promise.resolve(undefined) : parts.clientRecord(clientId),
    );
  };
}

/** The client that a token was issued to: usually the one the request authenticated, else a lookup. */
async function clientOfToken(
  ctx: KoaContextWithOIDC | undefined,
  clientId: string | undefined,
): Promise<ProviderClient | undefined> {
  if (!clientId) return undefined;
  const current = ctx?.oidc?.client;
  if (current?.clientId === clientId) return current;
  return ctx?.oidc?.provider.Client.find(clientId);
}

/**
 * The binding's claims are server-owned: a caller's claims of the same names are dropped, for bound and
 * unbound clients alike, since introspection reads `application_id` as "issued under that binding"
 * (an unbound client's token claiming one would be inactive from the start).
 */
function withoutBindingClaims(claims: Awaited<ReturnType<ExtraTokenClaims>>): Awaited<ReturnType<ExtraTokenClaims>> {
  if (!claims || typeof claims !== 'object' || !BINDING_CLAIMS.some((name) => name in claims)) return claims;
  const copy: Record<string, unknown> = { ...claims };
  for (const name of BINDING_CLAIMS) delete copy[name];
  return copy;
}

/**
 * `keys.configuration(config)`: the caller's provider configuration with the extension merged in,
 * keeping the caller's own hooks (each still called, and first).
 */
export function mergeConfiguration(config: Configuration, parts: IntegrationParts): Configuration {
  const callerExtraMetadata = config.extraClientMetadata ?? {};
  const callerProperties = callerExtraMetadata.properties ?? [];
  if (callerProperties.includes(BINDING_PROPERTY)) {
    throw new TypeError(
      `appKeys: extraClientMetadata.properties must not contain ${BINDING_PROPERTY}; it is the extension's`,
    );
  }
  const callerValidator = callerExtraMetadata.validator;
  const callerClaims = config.extraTokenClaims;
  const introspection = config.features?.introspection;
  const callerPolicy = introspection?.allowedPolicy;

  const extraTokenClaims: ExtraTokenClaims = async (ctx, token) => {
    const own = withoutBindingClaims(callerClaims ? await callerClaims(ctx, token) : undefined);
    const client = await clientOfToken(ctx, token.clientId);
    refuseManagementScopes(client, (token as { scope?: unknown }).scope);
    const binding = bindingOfClient(client);
    if (!binding) {
      if (parts.requireBinding && client && !isStaticClient(client)) {
        throw new errors.UnauthorizedClient('this client is not bound to an application');
      }
      return own;
    }
    return { ...own, application_id: binding.application_id, key_type: binding.key_type };
  };

  const allowedPolicy: AllowedPolicy = async (ctx, client, token) => {
    const allowed = callerPolicy
      ? await callerPolicy(ctx, client, token)
      : defaultIntrospectionAllowed(ctx, client, token);
    if (!allowed) return false;
    // any token dies with its client: the provider would otherwise call a deleted client's token
    // active, or fail on it with a 500 when it has a subject
    return (await clientOfToken(ctx, token.clientId)) !== undefined;
  };

  const staticIds = new Set((config.clients ?? []).map((client) => String(client.client_id)));
  return {
    ...config,
    adapter: routedAdapter(config.adapter, parts, staticIds),
    extraClientMetadata: {
      ...callerExtraMetadata,
      properties: [...callerProperties, BINDING_PROPERTY],
      validator(ctx, key, value, metadata) {
        if (key === BINDING_PROPERTY) {
          // with a request context this is a registration or update: the binding is server-owned, and
          // the management scopes are the operator's static clients' alone
          if (ctx) {
            delete (metadata as Record<string, unknown>)[BINDING_PROPERTY];
            const refusal = managementScopeRefusal((metadata as { scope?: unknown }).scope);
            if (refusal) throw new errors.InvalidClientMetadata(refusal);
          }
          return undefined;
        }
        return callerValidator?.(ctx, key, value, metadata);
      },
    },
    extraTokenClaims,
    // the features type is a union keyed on each feature's `enabled`; the spread keeps it
    features: {
      ...config.features,
      ...(introspection && { introspection: { ...introspection, allowedPolicy } }),
    } as Configuration['features'],
  };
}

/**
 * A management scope in a token is refused unless its client may hold it (scopes.ts): whatever the
 * grant, this is where every access token is made, so no client gets one by any other route.
 */
function refuseManagementScopes(client: ProviderClient | undefined, scope: unknown): void {
  for (const name of managementScopesIn(scope)) {
    if (!client || !mayHoldManagementScope(client, isStaticClient(client), name)) {
      throw new errors.InvalidScope('requested scope is not allowed', name);
    }
  }
}
