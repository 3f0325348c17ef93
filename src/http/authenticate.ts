import type { Context } from 'koa';
import type Provider from 'oidc-provider';

import { insufficientScope, invalidToken } from '../errors.js';
import { isStaticClient } from '../provider-internals.js';
import { ADMIN_SCOPE, OWNER_SCOPE, RESOLVE_SCOPE } from '../scopes.js';
import type { Actor } from '../types.js';

const BEARER = /^Bearer ([\x21-\x7e]{1,2048})$/i;

interface StoredToken {
  readonly isExpired: boolean;
  readonly scopes: Set<string>;
  readonly accountId?: string;
  readonly clientId?: string;
}

/**
 * The default caller check: a Bearer access token issued by this provider, found in its own
 * AccessToken or ClientCredentials records (revoking a grant removes its tokens, so no grant lookup),
 * and issued to a statically configured client (the operator's admin tool or portal).
 *
 * Tokens of clients in the appkeys store — generated, provided or dynamically registered — are never
 * accepted, whatever their scope: such a client may carry no `scope` restriction, so an owner could
 * otherwise generate keys and mint an `appkeys:admin` token with them.
 */
export async function bearerActor(ctx: Context, provider: Provider): Promise<Actor> {
  const match = BEARER.exec(ctx.get('authorization'));
  if (!match) throw invalidToken('a Bearer access token is required');
  const value = match[1]!;
  const token = ((await provider.AccessToken.find(value)) ?? (await provider.ClientCredentials.find(value))) as
    StoredToken | undefined;
  if (!token || token.isExpired) throw invalidToken();
  const actor = actorOf(token);
  if (!(await isStaticClientId(provider, token.clientId))) {
    throw invalidToken('the management API accepts tokens of statically configured clients only');
  }
  return actor;
}

function actorOf(token: StoredToken): Actor {
  if (token.scopes.has(ADMIN_SCOPE)) {
    return { kind: 'admin', id: token.accountId ?? `client:${token.clientId ?? ''}` };
  }
  if (token.scopes.has(OWNER_SCOPE) && token.accountId) return { kind: 'owner', id: token.accountId };
  if (token.scopes.has(RESOLVE_SCOPE)) {
    return { kind: 'resolver', id: token.accountId ?? `client:${token.clientId ?? ''}` };
  }
  throw insufficientScope(token.scopes.has(OWNER_SCOPE) ? ADMIN_SCOPE : OWNER_SCOPE);
}

async function isStaticClientId(provider: Provider, clientId: string | undefined): Promise<boolean> {
  if (!clientId) return false;
  const client = await provider.Client.find(clientId);
  return client !== undefined && isStaticClient(client);
}
