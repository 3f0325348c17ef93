import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { exportJWK, generateKeyPair, importJWK, SignJWT, type JSONWebKeySet, type JWK, type JWTPayload } from 'jose';
import Provider, { errors, type ClientAuthMethod, type Configuration } from 'oidc-provider';

/** The one resource the IdP issues JWT access tokens for (RFC 8707). */
export const IDP_RESOURCE = 'https://api.example.test';
export const IDP_SCOPE = 'api:read';

export interface IdpSecretClient {
  readonly client_id: string;
  readonly client_secret: string;
}

export interface IdpJwtClient {
  readonly client_id: string;
  /** The client's public keys, as registered at the IdP. */
  readonly jwks: JSONWebKeySet;
  /**
   * A fresh private_key_jwt assertion for `aud`: iss and sub the client_id, a random jti, 60 s of life;
   * `claims` replaces any of them.
   */
  sign(aud: string, claims?: JWTPayload): Promise<string>;
}

/** A second, real oidc-provider on 127.0.0.1: a third-party issuer for the tests. */
export interface Idp {
  /** `http://127.0.0.1:<port>`, also its issuer identifier. */
  readonly issuer: string;
  readonly port: number;
  readonly provider: Provider;
  readonly tokenEndpoint: string;
  /** client_secret_basic; its secret needs RFC 6749 2.3.1 form-urlencoding in a Basic header. */
  readonly secretClient: IdpSecretClient;
  /** client_secret_post only. */
  readonly postClient: IdpSecretClient;
  /** private_key_jwt, ES256. */
  readonly jwtClient: IdpJwtClient;
  /** A JWT access token for `resource` from the IdP's own token endpoint, for a client with a secret. */
  accessToken(clientId: string, resource?: string): Promise<string>;
  /** A JWT signed with the IdP's own key, with any claims (`iss` defaults to the IdP): made by the test, not issued. */
  signed(claims: JWTPayload): Promise<string>;
  /** Whether the IdP still holds `token` active, asked by the client it was issued to. */
  introspect(token: string, client?: IdpSecretClient): Promise<boolean>;
  /** Takes the IdP down (connections included); `start()` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface IdpOptions {
  /** The client authentication methods the IdP accepts and announces; default oidc-provider's. */
  readonly clientAuthMethods?: readonly ClientAuthMethod[];
  /** Lifetime of client_credentials tokens, seconds. */
  readonly tokenTtlSeconds?: number;
}

async function signingKeys(): Promise<JWK[]> {
  const keys: JWK[] = [];
  for (const alg of ['RS256', 'ES256'] as const) {
    const { privateKey } = await generateKeyPair(alg, { extractable: true });
    keys.push({ ...(await exportJWK(privateKey)), kid: `idp-${alg.toLowerCase()}`, alg, use: 'sig' });
  }
  return keys;
}

async function jwtClient(clientId: string): Promise<IdpJwtClient> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = `${clientId}-key`;
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] };
  return {
    client_id: clientId,
    jwks,
    sign: (aud, claims = {}) => {
      const now = Math.floor(Date.now() / 1000);
      const payload = { iss: clientId, sub: clientId, aud, jti: randomUUID(), iat: now, exp: now + 60, ...claims };
      return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid }).sign(privateKey);
    },
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** A form POST to the IdP authenticated as `client`, by the one method the IdP allows it. */
async function post(url: string, client: IdpSecretClient, post: boolean, form: URLSearchParams): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (post) {
    form.set('client_id', client.client_id);
    form.set('client_secret', client.client_secret);
  } else {
    const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
    const credentials = `${encode(client.client_id)}:${encode(client.client_secret)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  return fetch(url, { method: 'POST', headers, body: form.toString() });
}

/** Starts the IdP on 127.0.0.1 and a port of the system's choosing. */
export async function startIdp(options: IdpOptions = {}): Promise<Idp> {
  const idpKeys = await signingKeys();
  // the provider needs its issuer, which needs the port: the server listens first, serves it after
  const server = createServer();
  await listen(server, 0);
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  // a secret with the characters form-urlencoding changes (space, +, %, :), all VSCHAR as RFC 6749 wants
  const secretClient = { client_id: 'idp-basic', client_secret: 'basic secret: +/%&=' };
  const postClient = { client_id: 'idp-post', client_secret: 'post-secret' };
  const signer = await jwtClient('idp-jwt');
  const service = { grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: IDP_SCOPE };

  const configuration: Configuration = {
    clients: [
      { ...service, ...secretClient, token_endpoint_auth_method: 'client_secret_basic' },
      { ...service, ...postClient, token_endpoint_auth_method: 'client_secret_post' },
      {
        ...service,
        client_id: signer.client_id,
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks: signer.jwks as { keys: JWK[] },
      },
    ],
    ...(options.clientAuthMethods && { clientAuthMethods: options.clientAuthMethods }),
    jwks: { keys: idpKeys },
    cookies: { keys: [randomUUID()] },
    scopes: [IDP_SCOPE],
    ttl: { ClientCredentials: options.tokenTtlSeconds ?? 600 },
    features: {
      clientCredentials: { enabled: true },
      // each client may see and revoke its own tokens only
      introspection: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== IDP_RESOURCE) throw new errors.InvalidTarget();
          return {
            scope: IDP_SCOPE,
            audience: IDP_RESOURCE,
            accessTokenFormat: 'jwt',
            accessTokenTTL: options.tokenTtlSeconds ?? 600,
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
  };
  const provider = new Provider(issuer, configuration);
  server.on('request', provider.callback());
  const tokenEndpoint = `${issuer}/token`;

  const secretClients = [secretClient, postClient];
  let running = true;
  const stop = async () => {
    if (!running) return;
    running = false;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };

  return {
    issuer,
    port,
    provider,
    tokenEndpoint,
    secretClient,
    postClient,
    jwtClient: signer,
    async accessToken(clientId, resource = IDP_RESOURCE) {
      const client = secretClients.find((candidate) => candidate.client_id === clientId);
      if (client === undefined) throw new Error(`the IdP has no client ${clientId} with a secret`);
      const form = new URLSearchParams({ grant_type: 'client_credentials', scope: IDP_SCOPE, resource });
      const response = await post(tokenEndpoint, client, client === postClient, form);
      const body = (await response.json()) as { access_token?: unknown };
      if (response.status !== 200 || typeof body.access_token !== 'string') {
        throw new Error(`the IdP refused a token: ${response.status} ${JSON.stringify(body)}`);
      }
      return body.access_token;
    },
    async signed(claims) {
      const jwk = idpKeys.find((key) => key.alg === 'ES256')!;
      const key = await importJWK(jwk, 'ES256');
      return new SignJWT({ iss: issuer, ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: jwk.kid!, typ: 'at+jwt' })
        .sign(key);
    },
    async introspect(token, client = secretClient) {
      const form = new URLSearchParams({ token });
      const response = await post(`${issuer}/token/introspection`, client, client === postClient, form);
      const body = (await response.json()) as { active?: unknown };
      return body.active === true;
    },
    stop,
    async start() {
      if (running) return;
      await listen(server, port);
      running = true;
    },
    close: stop,
  };
}
