import { createHash, randomBytes } from 'node:crypto';

import request from 'supertest';

import { basicAuth } from '../../support/http.js';

/** Whatever supertest can drive: an http.Server, or a request listener such as `koaApp.callback()`. */
export type TestApp = Parameters<typeof request>[0];

export interface AuthorizationCodeFlowOptions {
  readonly clientId: string;
  /** Sent with HTTP Basic; omit for a public client (`token_endpoint_auth_method: 'none'`). */
  readonly clientSecret?: string;
  readonly redirectUri: string;
  readonly scope: string;
  /** The account to sign in as; the provider's devInteractions accept any login. */
  readonly accountId: string;
  /** Default `consent`: oidc-provider grants `offline_access` only on an explicit consent prompt. */
  readonly prompt?: string;
  /** More authorization request parameters (`resource`, `claims`, `login_hint`, …). */
  readonly extraParams?: Readonly<Record<string, string>>;
}

export interface AuthorizationCode {
  readonly code: string;
  /** The PKCE verifier the code was requested with (S256). */
  readonly codeVerifier: string;
}

export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly scope?: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
}

interface Endpoints {
  readonly authorization: string;
  readonly token: string;
}

/** Absolute URLs the provider hands out become paths, since supertest targets the app itself. */
function pathOf(url: string): string {
  const parsed = new URL(url, 'http://app.invalid');
  return `${parsed.pathname}${parsed.search}`;
}

/** Endpoint paths from discovery, so that a provider mounted under a path is driven correctly too. */
async function endpoints(app: TestApp): Promise<Endpoints> {
  const discovery = await request(app).get('/.well-known/openid-configuration');
  if (discovery.status !== 200) {
    throw new Error(`discovery answered ${discovery.status}`);
  }
  const body = discovery.body as { authorization_endpoint: string; token_endpoint: string };
  return { authorization: pathOf(body.authorization_endpoint), token: pathOf(body.token_endpoint) };
}

function sameEndpoint(location: string, redirectUri: string): boolean {
  const at = new URL(location, 'http://app.invalid');
  const expected = new URL(redirectUri);
  return at.origin === expected.origin && at.pathname === expected.pathname;
}

function decodeHtmlAttribute(value: string): string {
  return value
    .replace(/&amp;/g, '&')
    .replace(/&#x2F;|&#47;/g, '/')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");
}

/** The devInteractions page's form: where it posts and which prompt it answers. */
function interactionForm(html: string): { action: string; prompt: string } | undefined {
  const action = /<form[^>]*\saction="([^"]+)"/.exec(html)?.[1];
  const prompt = /name="prompt"\s+value="([^"]+)"/.exec(html)?.[1];
  return action && prompt ? { action: decodeHtmlAttribute(action), prompt } : undefined;
}

/**
 * Drives the authorization endpoint over HTTP with the provider's devInteractions: signs in as
 * `accountId`, consents, and returns the code from the redirect. Redirects and cookies are followed by
 * hand (a supertest agent keeps the cookies), since the final redirect leaves the app for the client.
 */
export async function requestAuthorizationCode(
  app: TestApp,
  options: AuthorizationCodeFlowOptions,
): Promise<AuthorizationCode> {
  const { authorization } = await endpoints(app);
  const codeVerifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('hex');
  const query = new URLSearchParams({
    client_id: options.clientId,
    response_type: 'code',
    redirect_uri: options.redirectUri,
    scope: options.scope,
    state,
    prompt: options.prompt ?? 'consent',
    code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...options.extraParams,
  });
  if (options.scope.split(' ').includes('openid')) query.set('nonce', randomBytes(8).toString('hex'));

  const agent = request.agent(app);
  let location = `${authorization}?${query.toString()}`;
  // login and consent each take an interaction page and two redirects; more means a loop
  for (let hops = 0; hops < 12; hops += 1) {
    const response = await agent.get(location);
    if (response.status === 200) {
      const form = interactionForm(response.text);
      if (!form) throw new Error(`GET ${location} answered 200 without an interaction form`);
      const fields =
        form.prompt === 'login'
          ? { prompt: 'login', login: options.accountId, password: 'any' }
          : { prompt: form.prompt };
      const submitted = await agent.post(pathOf(form.action)).type('form').send(fields);
      if (submitted.status !== 303 && submitted.status !== 302) {
        throw new Error(`submitting the ${form.prompt} prompt answered ${submitted.status}: ${submitted.text}`);
      }
      location = pathOf(String(submitted.headers.location));
      continue;
    }
    if (response.status !== 302 && response.status !== 303) {
      throw new Error(`GET ${location} answered ${response.status}: ${response.text}`);
    }
    const next = String(response.headers.location);
    if (sameEndpoint(next, options.redirectUri)) {
      const params = new URL(next).searchParams;
      if (params.get('error')) {
        throw new Error(`authorization failed: ${params.get('error')} ${params.get('error_description') ?? ''}`);
      }
      if (params.get('state') !== state) throw new Error('authorization response state does not match');
      const code = params.get('code');
      if (!code) throw new Error(`authorization response without a code: ${next}`);
      return { code, codeVerifier };
    }
    location = pathOf(next);
  }
  throw new Error('authorization did not reach the redirect_uri');
}

/** A token endpoint request authenticated as the flow's client (Basic, or client_id alone if public). */
export async function tokenRequest(
  app: TestApp,
  client: Pick<AuthorizationCodeFlowOptions, 'clientId' | 'clientSecret'>,
  params: Readonly<Record<string, string>>,
): Promise<request.Response> {
  const { token } = await endpoints(app);
  const call = request(app).post(token).type('form');
  if (client.clientSecret !== undefined) {
    return call.set('Authorization', basicAuth(client.clientId, client.clientSecret)).send({ ...params });
  }
  return call.send({ ...params, client_id: client.clientId });
}

/** The whole authorization-code flow with PKCE: authorize over HTTP, then exchange the code. */
export async function authorizationCodeFlow(
  app: TestApp,
  options: AuthorizationCodeFlowOptions,
): Promise<TokenResponse> {
  const { code, codeVerifier } = await requestAuthorizationCode(app, options);
  const response = await tokenRequest(app, options, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: options.redirectUri,
    code_verifier: codeVerifier,
  });
  if (response.status !== 200) {
    throw new Error(`code exchange answered ${response.status}: ${response.text}`);
  }
  return response.body as TokenResponse;
}
