import type { ClientMetadata } from 'oidc-provider';

/**
 * The token request every token-endpoint benchmark sends, the client that sends it, and how to tell
 * that it worked. Server variants configure this client; the load generator sends this request.
 */
export const BENCH_CLIENT = {
  clientId: 'bench-service',
  clientSecret: 'bench-secret-7f3c9a2e5d1b4f8a6c0e2d4b6a8f1c3e',
  scope: 'api:read',
} as const;

/** A confidential static client: client_credentials only, authenticated with client_secret_basic. */
export function benchClientMetadata(): ClientMetadata {
  return {
    client_id: BENCH_CLIENT.clientId,
    client_secret: BENCH_CLIENT.clientSecret,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: BENCH_CLIENT.scope,
  };
}

function basicAuthorization(clientId: string, clientSecret: string): string {
  // RFC 6749 §2.3.1: both parts are form-urlencoded before base64
  const encode = (value: string) => encodeURIComponent(value);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

export const TOKEN_REQUEST = {
  method: 'POST',
  path: '/token',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: basicAuthorization(BENCH_CLIENT.clientId, BENCH_CLIENT.clientSecret),
  },
  body: new URLSearchParams({ grant_type: 'client_credentials', scope: BENCH_CLIENT.scope }).toString(),
} as const;

/**
 * Whether a response body is a successful token response with an opaque access token. A benchmark that
 * counted error bodies, or JWTs when it means to measure stored tokens, would measure the wrong thing.
 */
export function isOpaqueTokenResponse(body: string | Buffer | undefined): boolean {
  if (body === undefined) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString());
  } catch {
    return false;
  }
  if (!parsed || typeof parsed !== 'object') return false;
  const { access_token: token, token_type: type, expires_in: expiresIn, scope } = parsed as Record<string, unknown>;
  return typeof token === 'string' && token.length >= 32 && !token.includes('.')
    && type === 'Bearer' && typeof expiresIn === 'number' && scope === BENCH_CLIENT.scope;
}

/** Sends one token request with fetch; throws unless it succeeded with an opaque token. */
export async function requestToken(baseUrl: string): Promise<void> {
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
}
