import { createHash } from 'node:crypto';

import type Provider from 'oidc-provider';

import { AppKeysError } from '../errors.js';
import { ADMIN_SCOPE, OWNER_SCOPE } from '../scopes.js';
import { accountId as checkedAccountId } from '../validate.js';
import type { ResolvedPortalOptions } from './options.js';
import type { PendingSignIn, SignedIn } from './sessions.js';

const TOKEN_TIMEOUT_MS = 10_000;

const signInFailed = (description: string, status = 400, error = 'sign_in_failed') =>
  new AppKeysError(status, error, description);

/**
 * The provider's own authorization endpoint, asked for a code (PKCE S256). `prompt=login` always shows
 * the provider's login, so that signing out of the portal and in again can change the account.
 */
export function authorizationUrl(
  provider: Provider,
  portal: ResolvedPortalOptions,
  redirectUri: string,
  pending: PendingSignIn,
): string {
  const url = new URL(provider.urlFor('authorization'));
  const params = {
    client_id: portal.clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: portal.scope,
    state: pending.state,
    code_challenge: createHash('sha256').update(pending.verifier).digest('base64url'),
    code_challenge_method: 'S256',
    prompt: 'login',
    ...(portal.scope.split(' ').includes('openid') && { nonce: pending.nonce }),
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.href;
}

interface TokenAnswer {
  readonly access_token?: unknown;
  readonly error?: unknown;
  readonly error_description?: unknown;
}

/** What the provider finds for an access token it issued. */
interface FoundToken {
  readonly accountId?: string;
  readonly clientId?: string;
  readonly scopes: Set<string>;
  destroy(): Promise<void>;
}

async function exchange(
  provider: Provider,
  portal: ResolvedPortalOptions,
  redirectUri: string,
  code: string,
  verifier: string,
): Promise<string> {
  const endpoint = portal.tokenEndpoint ?? provider.urlFor('token');
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
  });
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (portal.clientSecret === undefined) {
    body.set('client_id', portal.clientId);
  } else {
    const encode = (value: string) => encodeURIComponent(value);
    const credentials = `${encode(portal.clientId)}:${encode(portal.clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers,
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
    });
  } catch (cause) {
    throw new AppKeysError(
      503,
      'temporarily_unavailable',
      "the sign-in could not be completed: the provider's token endpoint did not answer",
      { retryAfter: 5, cause },
    );
  }
  const answer = (await response.json().catch(() => ({}))) as TokenAnswer;
  if (!response.ok || typeof answer.access_token !== 'string') {
    const description =
      typeof answer.error_description === 'string'
        ? answer.error_description
        : `the token endpoint answered ${response.status}`;
    throw signInFailed(`the sign-in could not be completed: ${description}`);
  }
  return answer.access_token;
}

/**
 * Redeems the code at the provider's token endpoint, as any client would, then reads who signed in
 * from the provider's own record of the access token. The token is then destroyed: the portal acts
 * through the registry, and a token nobody holds is one fewer to leak.
 */
export async function redeem(
  provider: Provider,
  portal: ResolvedPortalOptions,
  redirectUri: string,
  code: string,
  verifier: string,
): Promise<SignedIn> {
  const accessToken = await exchange(provider, portal, redirectUri, code, verifier);
  const token = (await provider.AccessToken.find(accessToken)) as FoundToken | undefined;
  if (!token || token.clientId !== portal.clientId || !token.accountId) {
    throw signInFailed(
      'the sign-in could not be completed: the provider issued no token for an account to this portal',
    );
  }
  const scopes = new Set(token.scopes);
  await token.destroy();
  if (!scopes.has(OWNER_SCOPE)) {
    throw signInFailed(
      `this account was not granted the ${OWNER_SCOPE} scope, which the portal needs`,
      403,
      'insufficient_scope',
    );
  }
  let accountId: string;
  try {
    accountId = checkedAccountId(token.accountId);
  } catch {
    throw signInFailed(
      'the sign-in could not be completed: the account id is not acceptable (control characters or too long)',
    );
  }
  const admin = scopes.has(ADMIN_SCOPE) || (await portal.isAdmin(accountId));
  return { accountId, admin };
}
