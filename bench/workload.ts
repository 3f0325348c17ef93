import type { ClientMetadata } from 'oidc-provider';

import { basicAuth } from '../support/http.js';

/**
 * The requests the benchmarks send, the clients that send them, and how to tell that they worked.
 * Server variants configure these clients; the load generator sends these requests.
 */
export const BENCH_CLIENT = {
  clientId: 'bench-service',
  clientSecret: 'bench-secret-7f3c9a2e5d1b4f8a6c0e2d4b6a8f1c3e',
  scope: 'api:read',
} as const;

/** The admin that drives the appkeys routes (a static client: it costs the bench client nothing). */
export const BENCH_ADMIN = {
  clientId: 'bench-admin',
  clientSecret: 'bench-admin-secret-2b9e4d7a1c6f3e8b5a0d2c4f6e8a1b3d',
  scope: 'appkeys:admin',
} as const;

/** A confidential client: client_credentials only, authenticated with client_secret_basic. */
export function benchClientMetadata(
  clientId: string = BENCH_CLIENT.clientId,
  clientSecret: string = BENCH_CLIENT.clientSecret,
): ClientMetadata {
  return {
    client_id: clientId,
    client_secret: clientSecret,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: BENCH_CLIENT.scope,
  };
}

export function adminClientMetadata(): ClientMetadata {
  return { ...benchClientMetadata(BENCH_ADMIN.clientId, BENCH_ADMIN.clientSecret), scope: BENCH_ADMIN.scope };
}

export const TOKEN_REQUEST = {
  method: 'POST',
  path: '/token',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: basicAuth(BENCH_CLIENT.clientId, BENCH_CLIENT.clientSecret),
  },
  body: new URLSearchParams({ grant_type: 'client_credentials', scope: BENCH_CLIENT.scope }).toString(),
} as const;

function parseObject(body: string | Buffer | undefined): Record<string, unknown> | undefined {
  if (body === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(body.toString());
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a response body is a successful token response with an opaque access token. A benchmark that
 * counted error bodies, or JWTs when it means to measure stored tokens, would measure the wrong thing.
 */
export function isOpaqueTokenResponse(body: string | Buffer | undefined, scope: string = BENCH_CLIENT.scope): boolean {
  const parsed = parseObject(body);
  if (!parsed) return false;
  const { access_token: token, token_type: type, expires_in: expiresIn, scope: granted } = parsed;
  return (
    typeof token === 'string' &&
    token.length >= 32 &&
    !token.includes('.') &&
    type === 'Bearer' &&
    typeof expiresIn === 'number' &&
    granted === scope
  );
}

/** Sends one token request with fetch; resolves the access token, or throws unless it succeeded. */
export async function requestToken(baseUrl: string): Promise<string> {
  const response = await fetch(new URL(TOKEN_REQUEST.path, baseUrl), {
    method: TOKEN_REQUEST.method,
    headers: TOKEN_REQUEST.headers,
    body: TOKEN_REQUEST.body,
    signal: AbortSignal.timeout(10_000),
  });
  const body = await response.text();
  if (response.status !== 200 || !isOpaqueTokenResponse(body)) {
    throw new Error(`token request to ${baseUrl} failed: ${response.status} ${body.slice(0, 300)}`);
  }
  return (JSON.parse(body) as { access_token: string }).access_token;
}

/** An `appkeys:admin` access token for the management routes. */
export async function requestAdminToken(baseUrl: string): Promise<string> {
  const response = await fetch(new URL('/token', baseUrl), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basicAuth(BENCH_ADMIN.clientId, BENCH_ADMIN.clientSecret),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: BENCH_ADMIN.scope }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await response.text();
  if (response.status !== 200 || !isOpaqueTokenResponse(body, BENCH_ADMIN.scope)) {
    throw new Error(`admin token request to ${baseUrl} failed: ${response.status} ${body.slice(0, 300)}`);
  }
  return (JSON.parse(body) as { access_token: string }).access_token;
}

/**
 * Checks, through introspection, that a token of the bench client carries its binding exactly when
 * the server binds it: a variant meant to measure bound clients that issued unbound tokens (or the
 * reverse) would compare the wrong things.
 */
export async function checkTokenBinding(baseUrl: string, token: string, bound: boolean): Promise<void> {
  const response = await fetch(new URL('/token/introspection', baseUrl), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: TOKEN_REQUEST.headers.authorization,
    },
    body: new URLSearchParams({ token }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await response.text();
  const parsed = parseObject(body);
  if (response.status !== 200 || parsed?.active !== true) {
    throw new Error(
      `introspection at ${baseUrl} did not show the token active: ${response.status} ${body.slice(0, 300)}`,
    );
  }
  const carries = typeof parsed.application_id === 'string' && parsed.key_type === 'PRODUCTION';
  if (carries !== bound) {
    throw new Error(`tokens at ${baseUrl} ${bound ? 'lack' : 'carry'} application_id/key_type: ${body.slice(0, 300)}`);
  }
}

/** Whether a provide-keys response body is the binding that was asked for (any application). */
export function isBindingResponse(body: string | Buffer | undefined): boolean {
  const parsed = parseObject(body);
  return (
    typeof parsed?.application_id === 'string' &&
    typeof parsed.client_id === 'string' &&
    parsed.key_type === 'PRODUCTION' &&
    parsed.origin === 'provided'
  );
}
