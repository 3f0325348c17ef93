import Provider, {
  errors, type Adapter, type AdapterConstructor, type AdapterFactory, type Configuration, type KoaContextWithOIDC,
} from 'oidc-provider';

import { BINDING_PROPERTY, bindingOfClient } from './client-record.js';
import type { ClientBinding } from './types.js';

type ProviderClient = InstanceType<Provider['Client']>;
type IntrospectionFeature = NonNullable<NonNullable<Configuration['features']>['introspection']>;
type AllowedPolicy = NonNullable<IntrospectionFeature['allowedPolicy']>;
type ExtraTokenClaims = NonNullable<Configuration['extraTokenClaims']>;
type IntrospectedToken = Parameters<AllowedPolicy>[2];

/** The claims a token of a bound client carries; only the binding sets them. */
const BINDING_CLAIMS = ['application_id', 'key_type'] as const;

export interface IntegrationParts {
  /** The adapter of the `Client` model (the appkeys store). */
  readonly clientAdapter: Adapter;
  /** The adapter of every other model when the caller configured none. */
  readonly defaultAdapter: AdapterFactory;
  readonly requireBinding: boolean;
}

/** oidc-provider's own test for "construct it" versus "call it" (helpers/type_validators.js). */
function isConstructable(adapter: AdapterConstructor | AdapterFactory): adapter is AdapterConstructor {
  return typeof adapter === 'function' && adapter.prototype !== null && typeof adapter.prototype === 'object';
}

/** Routes the `Client` model to the appkeys store and every other model to the caller's adapter. */
function routedAdapter(callerAdapter: Configuration['adapter'], parts: IntegrationParts): AdapterFactory {
  const others = callerAdapter ?? parts.defaultAdapter;
  return (model: string) => {
    if (model === 'Client') return parts.clientAdapter;
    return isConstructable(others) ? new others(model) : others(model);
  };
}

/** The client that a token was issued to: usually the one the request authenticated, else a lookup. */
async function clientOfToken(ctx: KoaContextWithOIDC | undefined, clientId: string | undefined): Promise<ProviderClient | undefined> {
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
  if (!claims || typeof claims !== 'object' || !(BINDING_CLAIMS.some((name) => name in claims))) return claims;
  const copy: Record<string, unknown> = { ...claims };
  for (const name of BINDING_CLAIMS) delete copy[name];
  return copy;
}

function isStaticClient(client: ProviderClient): boolean {
  // oidc-provider marks statically configured clients with a non-enumerable `noManage`
  return (client as ProviderClient & { noManage?: boolean }).noManage === true;
}

/**
 * `keys.configuration(config)`: the caller's provider configuration with the extension merged in,
 * keeping the caller's own hooks (each still called, and first).
 */
export function mergeConfiguration(config: Configuration, parts: IntegrationParts): Configuration {
  const callerExtraMetadata = config.extraClientMetadata ?? {};
  const callerProperties = callerExtraMetadata.properties ?? [];
  if (callerProperties.includes(BINDING_PROPERTY)) {
    throw new TypeError(`appKeys: extraClientMetadata.properties must not contain ${BINDING_PROPERTY}; it is the extension's`);
  }
  const callerValidator = callerExtraMetadata.validator;
  const callerClaims = config.extraTokenClaims;
  const introspection = config.features?.introspection;
  const callerPolicy = introspection?.allowedPolicy;

  const extraTokenClaims: ExtraTokenClaims = async (ctx, token) => {
    const own = withoutBindingClaims(callerClaims ? await callerClaims(ctx, token) : undefined);
    const client = await clientOfToken(ctx, token.clientId);
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
      // the provider's default: public clients may only introspect their own tokens
      : !(client.clientAuthMethod === 'none' && token.clientId !== ctx.oidc.client?.clientId);
    if (!allowed) return false;
    return tokenStillBound(ctx, token);
  };

  return {
    ...config,
    adapter: routedAdapter(config.adapter, parts),
    extraClientMetadata: {
      ...callerExtraMetadata,
      properties: [...callerProperties, BINDING_PROPERTY],
      validator(ctx, key, value, metadata) {
        if (key === BINDING_PROPERTY) {
          // with a request context this is a registration or update: the binding is server-owned
          if (ctx) delete (metadata as Record<string, unknown>)[BINDING_PROPERTY];
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
 * A token issued under a binding stays active only while that exact binding holds: unbound, deleted
 * or blocked (a blocked client is invisible) all turn it inactive. Any token dies with its client:
 * the provider would otherwise call a deleted client's token active, or fail on it with a 500 when
 * it has a subject.
 */
async function tokenStillBound(ctx: KoaContextWithOIDC, token: IntrospectedToken): Promise<boolean> {
  const client = await clientOfToken(ctx, token.clientId);
  if (!client) return false;
  const { extra } = token as { extra?: Record<string, unknown> };
  if (typeof extra?.application_id !== 'string') return true;
  const binding = bindingOfClient(client);
  if (binding?.application_id !== extra.application_id || binding.key_type !== extra.key_type || binding.status !== 'ACTIVE') {
    return false;
  }
  return issuedUnder(binding, (token as { iat?: number }).iat);
}

/**
 * Whether a token was issued under the binding as it stands: not under an earlier binding of the same
 * application and key type (unbound, then bound again), and not before a block that has since been
 * lifted. `iat` has whole seconds, so the edges are conservative where it matters: a token of the
 * block's own second is never active again (a client that got one then simply asks anew), while a token
 * of the binding's own second counts (else a client's first token could come back inactive).
 */
function issuedUnder(binding: ClientBinding, iat: number | undefined): boolean {
  if (typeof iat !== 'number') return false;
  const boundSecond = Math.floor(Date.parse(binding.bound_at) / 1000);
  if (Number.isFinite(boundSecond) && iat < boundSecond) return false;
  if (binding.tokens_since !== undefined) {
    const blockedSecond = Math.floor(Date.parse(binding.tokens_since) / 1000);
    if (!Number.isFinite(blockedSecond) || iat <= blockedSecond) return false;
  }
  return true;
}
