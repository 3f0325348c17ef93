import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AppKeysError } from '../src/errors.js';
import { verifyLocalAssertion } from '../src/issuers/assertion.js';
import { discoverIssuer, normalizeIssuerUrl } from '../src/issuers/discovery.js';
import { checkRemoteUrl, remoteFetch } from '../src/issuers/fetch.js';
import { DEFAULT_ISSUERS_OPTIONS, type ResolvedIssuersOptions } from '../src/issuers/options.js';
import { proveAtIssuer, type Credentials } from '../src/issuers/prove.js';
import { IssuerKeySets, unverifiedIssuerOf } from '../src/issuers/tokens.js';
import type { Issuer, IssuerEndpoints, Probe } from '../src/issuers/types.js';
import { IDP_RESOURCE, IDP_SCOPE, startIdp, type Idp } from './support/idp.js';

/** Loopback over http, as in development; a bound no test should come near. */
const OPTIONS: ResolvedIssuersOptions = { ...DEFAULT_ISSUERS_OPTIONS, allowHttpLoopback: true, timeoutMs: 5000 };

interface RawServer {
  readonly origin: string;
  readonly port: number;
  /** Paths requested so far. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** A plain node server on 127.0.0.1 that records every request and answers as `handle` says. */
async function rawServer(
  handle: (req: IncomingMessage, res: ServerResponse, origin: string) => void = (_req, res) => res.end(),
): Promise<RawServer> {
  const requests: string[] = [];
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    requests.push(req.url ?? '');
    handle(req, res, origin);
  });
  return {
    origin,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** A metadata server: `documents` maps a path to its document; any other path answers 404. */
function serveDocuments(documents: (origin: string) => Record<string, unknown>) {
  return (req: IncomingMessage, res: ServerResponse, origin: string) => {
    const document = documents(origin)[req.url ?? ''];
    if (document === undefined) json(res, 404, { error: 'not_found' });
    else json(res, 200, document);
  };
}

async function rejection(promise: Promise<unknown>): Promise<AppKeysError> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome, 'the call should have been refused').toBeInstanceOf(AppKeysError);
  return outcome as AppKeysError;
}

function issuerRecord(issuer: string, metadata: IssuerEndpoints, probe?: Probe): Issuer {
  const now = new Date().toISOString();
  return {
    issuer_id: 'idp',
    issuer,
    verification: 'client_credentials',
    ...(probe && { probe }),
    metadata,
    created_at: now,
    updated_at: now,
  };
}

describe('remote calls', () => {
  it('keeps to https, with http only for loopback literals when allowed, and no user name or fragment', () => {
    const refused = (url: string, options = OPTIONS) => {
      try {
        checkRemoteUrl(url, options, 'token_endpoint');
      } catch (err) {
        expect(err).toBeInstanceOf(AppKeysError);
        expect((err as AppKeysError).error).toBe('invalid_issuer');
        return (err as AppKeysError).error_description;
      }
      return undefined;
    };
    for (const url of [
      'https://idp.example.test/token',
      'http://127.0.0.1:8080/t',
      'http://127.9.8.7/',
      'http://[::1]:9/',
    ]) {
      expect(refused(url), url).toBeUndefined();
    }
    expect(refused('http://localhost:4000/token')).toBeUndefined();
    expect(refused('http://127.1/token'), 'IPv4 shorthand is rewritten to 127.0.0.1').toBeUndefined();
    expect(refused('http://127.0.0.1/token', DEFAULT_ISSUERS_OPTIONS)).toMatch(/token_endpoint .* must use https$/);
    expect(refused('http://idp.example.test/token')).toMatch(/loopback hosts only/);
    expect(refused('http://[::ffff:127.0.0.1]/token')).toMatch(/loopback hosts only/);
    expect(refused('http://127.0.0.1.example.test/token')).toMatch(/loopback hosts only/);
    expect(refused('ftp://idp.example.test/token')).toMatch(/must use https/);
    expect(refused('https://idp.example.test/token#x')).toMatch(/fragment/);
    expect(refused('https://idp.example.test/token#')).toMatch(/fragment/);
    expect(refused('/token')).toMatch(/not an absolute URL/);
    const withPassword = refused('https://user:hunter2@idp.example.test/token');
    expect(withPassword).toMatch(/user name or password/);
    expect(withPassword).not.toContain('hunter2');
  });

  it('refuses http without connecting when loopback http is not allowed', async () => {
    const server = await rawServer();
    try {
      const err = await rejection(remoteFetch(`${server.origin}/x`, { method: 'GET' }, DEFAULT_ISSUERS_OPTIONS));
      expect(err.error).toBe('invalid_issuer');
      expect(server.requests).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('cuts off a body larger than maxResponseBytes, declared or streamed', async () => {
    const big = JSON.stringify({ filler: 'x'.repeat(64 * 1024) });
    const server = await rawServer((req, res) => {
      if (req.url === '/declared') res.writeHead(200, { 'content-length': String(Buffer.byteLength(big)) }).end(big);
      // chunked, no length: the limit is found while reading
      else {
        res.writeHead(200, { 'content-type': 'application/json' });
        for (let i = 0; i < 64; i += 1) res.write('x'.repeat(1024));
        res.end();
      }
    });
    const options = { ...OPTIONS, maxResponseBytes: 1024 };
    try {
      for (const path of ['/declared', '/streamed']) {
        const err = await rejection(remoteFetch(`${server.origin}${path}`, { method: 'GET' }, options));
        expect(err.error, path).toBe('invalid_issuer');
        expect(err.error_description, path).toMatch(/more than 1024 bytes/);
      }
      const small = await remoteFetch(`${server.origin}/declared`, { method: 'GET' }, OPTIONS);
      expect(small).toEqual({ status: 200, json: JSON.parse(big) });
    } finally {
      await server.close();
    }
  });

  it('gives up on a server that never answers, or stops halfway through its body', async () => {
    const server = await rawServer((req, res) => {
      if (req.url === '/half') res.writeHead(200, { 'content-type': 'application/json' }).write('{"issuer":');
    });
    const options = { ...OPTIONS, timeoutMs: 300 };
    try {
      for (const path of ['/silent', '/half']) {
        const err = await rejection(remoteFetch(`${server.origin}${path}`, { method: 'GET' }, options));
        expect(err.status, path).toBe(503);
        expect(err.error, path).toBe('temporarily_unavailable');
      }
    } finally {
      await server.close();
    }
  });

  it('answers json undefined for a body that is not JSON', async () => {
    const server = await rawServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>hi'));
    try {
      expect(await remoteFetch(server.origin, { method: 'GET' }, OPTIONS)).toEqual({ status: 200, json: undefined });
    } finally {
      await server.close();
    }
  });
});

describe('issuer identifiers', () => {
  it('are kept exactly as given, trailing slash included', () => {
    for (const issuer of ['https://idp.example.test', 'https://idp.example.test/', 'https://idp.example.test/t/1']) {
      expect(normalizeIssuerUrl(issuer)).toBe(issuer);
    }
  });

  it('refuses what is not an http(s) URL, a query, a fragment, credentials and spaces', () => {
    const cases: Array<[unknown, RegExp]> = [
      [42, /absolute https URL/],
      ['', /absolute https URL/],
      ['idp.example.test', /absolute https URL/],
      ['mailto:a@idp.example.test', /absolute https URL/],
      ['https://idp.example.test?tenant=1', /query/],
      ['https://idp.example.test/?', /query/],
      ['https://idp.example.test#x', /fragment/],
      ['https://a:b@idp.example.test', /user name or password/],
      [' https://idp.example.test', /spaces or control characters/],
      ['https://idp.example.test/a\tb', /spaces or control characters/],
      [`https://idp.example.test/${'a'.repeat(2100)}`, /at most 2048 characters/],
    ];
    for (const [input, message] of cases) {
      let caught: unknown;
      try {
        normalizeIssuerUrl(input);
      } catch (err) {
        caught = err;
      }
      expect(caught, String(input)).toBeInstanceOf(AppKeysError);
      expect((caught as AppKeysError).error).toBe('invalid_issuer');
      expect((caught as AppKeysError).error_description, String(input)).toMatch(message);
    }
  });
});

describe('discovery', () => {
  let idp: Idp;
  beforeAll(async () => {
    idp = await startIdp();
  });
  afterAll(async () => {
    await idp?.close();
  });

  it('discovers a real oidc-provider through OpenID discovery when RFC 8414 answers 404', async () => {
    const metadata = await discoverIssuer(idp.issuer, OPTIONS);
    expect(metadata).toEqual({
      token_endpoint: `${idp.issuer}/token`,
      jwks_uri: `${idp.issuer}/jwks`,
      revocation_endpoint: `${idp.issuer}/token/revocation`,
      introspection_endpoint: `${idp.issuer}/token/introspection`,
      token_endpoint_auth_methods_supported: expect.arrayContaining(['client_secret_basic', 'private_key_jwt']),
    });
  });

  it('reads the RFC 8414 document first, its well-known part inserted before the issuer path', async () => {
    const server = await rawServer(
      serveDocuments((origin) => ({
        '/.well-known/oauth-authorization-server/tenant/a': {
          issuer: `${origin}/tenant/a/`,
          token_endpoint: `${origin}/tenant/a/token`,
          token_endpoint_auth_methods_supported: ['client_secret_post'],
        },
        '/tenant/a/.well-known/openid-configuration': { issuer: `${origin}/tenant/a/`, token_endpoint: 'wrong' },
      })),
    );
    try {
      const metadata = await discoverIssuer(`${server.origin}/tenant/a/`, OPTIONS);
      expect(metadata).toEqual({
        token_endpoint: `${server.origin}/tenant/a/token`,
        token_endpoint_auth_methods_supported: ['client_secret_post'],
      });
      expect(server.requests).toEqual(['/.well-known/oauth-authorization-server/tenant/a']);
    } finally {
      await server.close();
    }
  });

  it('falls back to OpenID discovery when the RFC 8414 URL answers 200 with something else than JSON', async () => {
    const server = await rawServer((req, res, origin) => {
      if (req.url?.startsWith('/.well-known/oauth-authorization-server')) res.end('<html>app shell</html>');
      else json(res, 200, { issuer: origin, token_endpoint: `${origin}/token` });
    });
    try {
      expect(await discoverIssuer(server.origin, OPTIONS)).toEqual({ token_endpoint: `${server.origin}/token` });
    } finally {
      await server.close();
    }
  });

  it('refuses metadata that names another issuer', async () => {
    const server = await rawServer(
      serveDocuments((origin) => ({
        '/.well-known/oauth-authorization-server': { issuer: `${origin}/other`, token_endpoint: `${origin}/token` },
      })),
    );
    try {
      const err = await rejection(discoverIssuer(server.origin, OPTIONS));
      expect(err.error).toBe('invalid_issuer');
      expect(err.error_description).toBe(`the metadata names issuer "${server.origin}/other", not "${server.origin}"`);
    } finally {
      await server.close();
    }
  });

  it('refuses a document without a token_endpoint, and one with an endpoint that is not a string', async () => {
    for (const extra of [{}, { token_endpoint: 'TOKEN', jwks_uri: 42 }]) {
      const server = await rawServer(
        serveDocuments((origin) => ({
          '/.well-known/oauth-authorization-server': {
            issuer: origin,
            ...extra,
            ...('token_endpoint' in extra && { token_endpoint: `${origin}/token` }),
          },
        })),
      );
      try {
        const err = await rejection(discoverIssuer(server.origin, OPTIONS));
        expect(err.error).toBe('invalid_issuer');
        expect(err.error_description).toMatch(/no token_endpoint|jwks_uri in the metadata is not a string/);
      } finally {
        await server.close();
      }
    }
  });

  it('refuses an endpoint on another host or port, without contacting it', async () => {
    const elsewhere = await rawServer((_req, res) => json(res, 200, {}));
    const endpoints = [
      { token_endpoint: `http://localhost:${elsewhere.port}/token` },
      { token_endpoint: `${elsewhere.origin}/token` },
      { token_endpoint: 'SELF/token', jwks_uri: `${elsewhere.origin}/jwks` },
      { token_endpoint: 'SELF/token', revocation_endpoint: `${elsewhere.origin}/revoke` },
      { token_endpoint: 'SELF/token', introspection_endpoint: `${elsewhere.origin}/introspect` },
    ];
    try {
      for (const named of endpoints) {
        const server = await rawServer((_req, res, origin) => {
          const document: Record<string, string> = { issuer: origin };
          for (const [name, url] of Object.entries(named)) document[name] = url.replace('SELF', origin);
          json(res, 200, document);
        });
        try {
          const err = await rejection(discoverIssuer(server.origin, OPTIONS));
          expect(err.error).toBe('invalid_issuer');
          expect(err.error_description).toMatch(/is not on the issuer's host 127\.0\.0\.1:\d+$/);
        } finally {
          await server.close();
        }
      }
      expect(elsewhere.requests).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });

  it('refuses an http issuer without connecting when loopback http is not allowed', async () => {
    const server = await rawServer();
    try {
      const err = await rejection(discoverIssuer(server.origin, DEFAULT_ISSUERS_OPTIONS));
      expect(err.error).toBe('invalid_issuer');
      expect(err.error_description).toMatch(/^issuer .* must use https$/);
      expect(server.requests).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('refuses an endpoint that breaks the URL policy', async () => {
    const server = await rawServer(
      serveDocuments((origin) => ({
        '/.well-known/oauth-authorization-server': { issuer: origin, token_endpoint: `${origin}/token#frag` },
      })),
    );
    try {
      const err = await rejection(discoverIssuer(server.origin, OPTIONS));
      expect(err.error_description).toMatch(/^token_endpoint .* must not have a fragment$/);
    } finally {
      await server.close();
    }
  });

  it('does not follow a redirect from the metadata URLs', async () => {
    const target = await rawServer((_req, res, origin) => json(res, 200, { issuer: origin, token_endpoint: 'x' }));
    const server = await rawServer((req, res) =>
      res.writeHead(302, { location: `${target.origin}${req.url ?? '/'}` }).end(),
    );
    try {
      const err = await rejection(discoverIssuer(server.origin, OPTIONS));
      expect(err.error).toBe('invalid_issuer');
      expect(err.error_description).toMatch(/answered HTTP 302 \(not followed\)/);
      expect(server.requests).toHaveLength(2);
      expect(target.requests).toEqual([]);
    } finally {
      await server.close();
      await target.close();
    }
  });

  it('says which URLs answered what when neither has metadata', async () => {
    const server = await rawServer((_req, res) => json(res, 404, {}));
    try {
      const err = await rejection(discoverIssuer(server.origin, OPTIONS));
      expect(err.error).toBe('invalid_issuer');
      expect(err.error_description).toBe(
        `no usable metadata: ${server.origin}/.well-known/oauth-authorization-server answered HTTP 404; ` +
          `${server.origin}/.well-known/openid-configuration answered HTTP 404`,
      );
    } finally {
      await server.close();
    }
  });

  it('answers 503 when the issuer answers server errors, never answers, or is down', async () => {
    const failing = await rawServer((_req, res) => json(res, 502, {}));
    const silent = await rawServer(() => undefined);
    const down = await rawServer();
    await down.close();
    try {
      for (const origin of [failing.origin, silent.origin, down.origin]) {
        const err = await rejection(discoverIssuer(origin, { ...OPTIONS, timeoutMs: 300 }));
        expect(err.status, origin).toBe(503);
        expect(err.error).toBe('temporarily_unavailable');
      }
      expect(failing.requests).toHaveLength(2);
      // both URLs are on the one host that did not answer: the second is not tried
      expect(silent.requests).toHaveLength(1);
    } finally {
      await failing.close();
      await silent.close();
    }
  });

  it('keeps token_endpoint_auth_methods_supported only when it is a list of strings', async () => {
    const server = await rawServer(
      serveDocuments((origin) => ({
        '/.well-known/oauth-authorization-server': {
          issuer: origin,
          token_endpoint: `${origin}/token`,
          token_endpoint_auth_methods_supported: ['client_secret_basic', 7],
          grant_types_supported: ['client_credentials'],
        },
      })),
    );
    try {
      expect(await discoverIssuer(server.origin, OPTIONS)).toEqual({ token_endpoint: `${server.origin}/token` });
    } finally {
      await server.close();
    }
  });
});

describe('proving possession at an issuer', () => {
  let idp: Idp;
  let issuer: Issuer;
  /** Access tokens the IdP issued, as they were saved. */
  const issued: string[] = [];
  beforeAll(async () => {
    idp = await startIdp();
    idp.provider.on('client_credentials.saved', (token: { jti: string }) => issued.push(token.jti));
    issuer = issuerRecord(idp.issuer, await discoverIssuer(idp.issuer, OPTIONS));
  });
  afterAll(async () => {
    await idp?.close();
  });

  const secretOf = (client: { client_id: string; client_secret: string }): Credentials => ({
    clientId: client.client_id,
    clientSecret: client.client_secret,
  });

  it('proves a right secret (form-urlencoded into Basic) and refuses a wrong one or an unknown client', async () => {
    expect(await proveAtIssuer(issuer, secretOf(idp.secretClient), OPTIONS)).toBe(true);
    expect(await proveAtIssuer(issuer, { clientId: idp.secretClient.client_id, clientSecret: 'wrong' }, OPTIONS)).toBe(
      false,
    );
    expect(await proveAtIssuer(issuer, { clientId: 'nobody', clientSecret: 'wrong' }, OPTIONS)).toBe(false);
  });

  it('revokes the token it obtained, and leaves it where the issuer has no revocation endpoint', async () => {
    issued.length = 0;
    expect(await proveAtIssuer(issuer, secretOf(idp.secretClient), OPTIONS)).toBe(true);
    expect(issued).toHaveLength(1);
    expect(await idp.introspect(issued[0] as string)).toBe(false);

    const { revocation_endpoint: _dropped, ...withoutRevocation } = issuer.metadata;
    const unrevoking = issuerRecord(idp.issuer, withoutRevocation);
    expect(await proveAtIssuer(unrevoking, secretOf(idp.secretClient), OPTIONS)).toBe(true);
    expect(issued).toHaveLength(2);
    expect(await idp.introspect(issued[1] as string)).toBe(true);
  });

  it('sends the probe: a resource the issuer knows is proven, one it does not is a refusal', async () => {
    const known = issuerRecord(idp.issuer, issuer.metadata, { scope: IDP_SCOPE, resource: IDP_RESOURCE });
    expect(await proveAtIssuer(known, secretOf(idp.secretClient), OPTIONS)).toBe(true);
    const unknown = issuerRecord(idp.issuer, issuer.metadata, { resource: 'https://unknown.example.test' });
    expect(await proveAtIssuer(unknown, secretOf(idp.secretClient), OPTIONS)).toBe(false);
  });

  it('uses client_secret_post with an issuer that announces post and not basic', async () => {
    const postOnly = await startIdp({ clientAuthMethods: ['client_secret_post', 'private_key_jwt'] });
    try {
      const record = issuerRecord(postOnly.issuer, await discoverIssuer(postOnly.issuer, OPTIONS));
      expect(record.metadata.token_endpoint_auth_methods_supported).toEqual(['client_secret_post', 'private_key_jwt']);
      expect(await proveAtIssuer(record, secretOf(postOnly.postClient), OPTIONS)).toBe(true);
      expect(await proveAtIssuer(record, { ...secretOf(postOnly.postClient), clientSecret: 'wrong' }, OPTIONS)).toBe(
        false,
      );
    } finally {
      await postOnly.close();
    }
  });

  it("relays a client's assertion, once, and only when it names that client", async () => {
    const { jwtClient } = idp;
    const assertion = await jwtClient.sign(idp.tokenEndpoint);
    const credentials = { clientId: jwtClient.client_id, clientAssertion: assertion };
    expect(await proveAtIssuer(issuer, credentials, OPTIONS)).toBe(true);
    expect(await proveAtIssuer(issuer, credentials, OPTIONS), 'the IdP refuses a replayed assertion').toBe(false);

    const forAnother = await jwtClient.sign(idp.tokenEndpoint, { sub: idp.secretClient.client_id });
    expect(await proveAtIssuer(issuer, { clientId: jwtClient.client_id, clientAssertion: forAnother }, OPTIONS)).toBe(
      false,
    );
    const asAnother = await jwtClient.sign(idp.tokenEndpoint);
    expect(
      await proveAtIssuer(issuer, { clientId: idp.secretClient.client_id, clientAssertion: asAnother }, OPTIONS),
    ).toBe(false);
    expect(await proveAtIssuer(issuer, { clientId: jwtClient.client_id, clientAssertion: 'not.a.jwt' }, OPTIONS)).toBe(
      false,
    );
  });

  it('does not relay an assertion naming another client, even to an issuer that would vouch for it', async () => {
    const lenient = await rawServer((_req, res) => json(res, 200, { access_token: 'at', token_type: 'Bearer' }));
    try {
      const record = issuerRecord(lenient.origin, { token_endpoint: `${lenient.origin}/token` });
      const { jwtClient } = idp;
      const cases = [
        { clientId: jwtClient.client_id, clientAssertion: await jwtClient.sign('x', { sub: 'another' }) },
        { clientId: jwtClient.client_id, clientAssertion: await jwtClient.sign('x', { iss: 'another' }) },
        { clientId: 'another', clientAssertion: await jwtClient.sign('x') },
      ];
      for (const credentials of cases) expect(await proveAtIssuer(record, credentials, OPTIONS)).toBe(false);
      expect(lenient.requests).toEqual([]);
      const good = { clientId: jwtClient.client_id, clientAssertion: await jwtClient.sign('x') };
      expect(await proveAtIssuer(record, good, OPTIONS)).toBe(true);
      expect(lenient.requests).toEqual(['/token']);
    } finally {
      await lenient.close();
    }
  });

  it('answers 503 while the issuer is down, and proves again once it is back', async () => {
    await idp.stop();
    try {
      const err = await rejection(proveAtIssuer(issuer, secretOf(idp.secretClient), OPTIONS));
      expect(err.status).toBe(503);
      expect(err.error).toBe('temporarily_unavailable');
      expect(err.expose).toBe(true);
    } finally {
      await idp.start();
    }
    expect(await proveAtIssuer(issuer, secretOf(idp.secretClient), OPTIONS)).toBe(true);
  });

  it('answers 503, not a refusal, to a server error, a rate limit, a redirect or a 200 without a token', async () => {
    const secret = 'never-in-an-error-3f1c';
    for (const status of [500, 503, 429, 408, 302, 200]) {
      const server = await rawServer((_req, res) => json(res, status, status === 200 ? { token_type: 'Bearer' } : {}));
      try {
        const record = issuerRecord(server.origin, { token_endpoint: `${server.origin}/token` });
        const err = await rejection(proveAtIssuer(record, { clientId: 'c', clientSecret: secret }, OPTIONS));
        expect(err.status, String(status)).toBe(503);
        expect(JSON.stringify({ ...err, message: err.message, cause: String(err.cause) })).not.toContain(secret);
      } finally {
        await server.close();
      }
    }
  });

  it('answers 503 when the token endpoint does not answer in time', async () => {
    const server = await rawServer(() => undefined);
    try {
      const record = issuerRecord(server.origin, { token_endpoint: `${server.origin}/token` });
      const err = await rejection(
        proveAtIssuer(record, { clientId: 'c', clientSecret: 's' }, { ...OPTIONS, timeoutMs: 300 }),
      );
      expect(err.status).toBe(503);
    } finally {
      await server.close();
    }
  });

  it('still proves when revocation fails or hangs', async () => {
    const server = await rawServer((req, res) => {
      if (req.url === '/token') json(res, 200, { access_token: 'at', token_type: 'Bearer' });
      // the revocation endpoint never answers
    });
    try {
      const record = issuerRecord(server.origin, {
        token_endpoint: `${server.origin}/token`,
        revocation_endpoint: `${server.origin}/revoke`,
      });
      const options = { ...OPTIONS, timeoutMs: 300 };
      expect(await proveAtIssuer(record, { clientId: 'c', clientSecret: 's' }, options)).toBe(true);
      expect(server.requests).toEqual(['/token', '/revoke']);
    } finally {
      await server.close();
    }
  });
});

describe("verifying a registered issuer's access tokens", () => {
  let idp: Idp;
  let issuer: Issuer;
  beforeAll(async () => {
    idp = await startIdp();
    issuer = issuerRecord(idp.issuer, await discoverIssuer(idp.issuer, OPTIONS));
  });
  afterAll(async () => {
    await idp?.close();
  });

  async function forged(header: { kid?: string }): Promise<string> {
    const { privateKey } = await generateKeyPair('ES256');
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ client_id: idp.secretClient.client_id })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', ...header })
      .setIssuer(idp.issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey);
  }

  it('names the issuer a JWT claims, unverified, and nothing for what is not a JWT', async () => {
    expect(unverifiedIssuerOf(await idp.accessToken(idp.secretClient.client_id))).toBe(idp.issuer);
    expect(unverifiedIssuerOf('opaque-token')).toBeUndefined();
    expect(unverifiedIssuerOf('a.b.c')).toBeUndefined();
  });

  it("verifies a real JWT access token against the issuer's keys", async () => {
    const keySets = new IssuerKeySets(OPTIONS);
    const payload = await keySets.verify(issuer, await idp.accessToken(idp.secretClient.client_id));
    expect(payload).toMatchObject({ client_id: idp.secretClient.client_id, iss: idp.issuer, aud: IDP_RESOURCE });
    const other = await keySets.verify(issuer, await idp.accessToken(idp.postClient.client_id));
    expect(other.client_id).toBe(idp.postClient.client_id);
  });

  it('refuses a token signed by another key, with the same kid or none', async () => {
    const keySets = new IssuerKeySets(OPTIONS);
    const { kid } = decodeProtectedHeader(await idp.accessToken(idp.secretClient.client_id));
    expect(kid).toEqual(expect.any(String));
    for (const token of [await forged({ kid }), await forged({})]) {
      const err = await rejection(keySets.verify(issuer, token));
      expect(err.status).toBe(401);
      expect(err.error).toBe('invalid_signature');
    }
  });

  it('refuses an expired token, a malformed one, and one signed with a shared-secret algorithm', async () => {
    const later = new IssuerKeySets(OPTIONS, () => Date.now() + 3600_000);
    const expired = await rejection(later.verify(issuer, await idp.accessToken(idp.secretClient.client_id)));
    expect(expired.error).toBe('token_expired');

    const keySets = new IssuerKeySets(OPTIONS);
    for (const token of ['opaque', 'a.b.c', 'eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln']) {
      expect((await rejection(keySets.verify(issuer, token))).error, token).toBe('malformed_token');
    }
    const hs256 = await new SignJWT({ iss: idp.issuer, exp: Math.floor(Date.now() / 1000) + 60 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new Uint8Array(32));
    expect((await rejection(keySets.verify(issuer, hs256))).error).toBe('invalid_signature');
  });

  it('refuses every token of an issuer that publishes no keys', async () => {
    const { jwks_uri: _dropped, ...keyless } = issuer.metadata;
    const err = await rejection(
      new IssuerKeySets(OPTIONS).verify(
        issuerRecord(idp.issuer, keyless),
        await idp.accessToken(idp.secretClient.client_id),
      ),
    );
    expect(err.error).toBe('unknown_issuer');
    expect(err.error_description).toBe('the issuer publishes no keys');
  });

  it('answers 503 when the keys cannot be fetched', async () => {
    const token = await idp.accessToken(idp.secretClient.client_id);
    await idp.stop();
    try {
      const err = await rejection(new IssuerKeySets(OPTIONS).verify(issuer, token));
      expect(err.status).toBe(503);
    } finally {
      await idp.start();
    }
  });
});

describe('the key cache', () => {
  const ISSUER = 'https://issuer.example.test';
  let keyServer: RawServer;
  /** What the key server publishes. */
  let published: JWK[] = [];
  let clock = Date.now();
  const signers = new Map<string, CryptoKey>();

  async function addKey(kid: string, publish: boolean): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    signers.set(kid, privateKey);
    if (publish) published.push({ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' });
  }

  function sign(kid: string, claims: JWTPayload = {}): Promise<string> {
    const now = Math.floor(clock / 1000);
    return new SignJWT({ iss: ISSUER, iat: now, exp: now + 300, client_id: 'c1', ...claims })
      .setProtectedHeader({ alg: 'ES256', kid })
      .sign(signers.get(kid) as CryptoKey);
  }

  const record = () =>
    issuerRecord(ISSUER, { token_endpoint: `${keyServer.origin}/t`, jwks_uri: `${keyServer.origin}/jwks` });

  beforeAll(async () => {
    keyServer = await rawServer((_req, res) => json(res, 200, { keys: published }));
    published = [];
    await addKey('k1', true);
    await addKey('k2', false);
  });
  afterAll(async () => {
    await keyServer?.close();
  });

  it('fetches a set once, again on an unknown kid at most every 30 s, and after ten minutes', async () => {
    keyServer.requests.length = 0;
    const keySets = new IssuerKeySets(OPTIONS, () => clock);
    expect((await keySets.verify(record(), await sign('k1'))).client_id).toBe('c1');
    expect((await keySets.verify(record(), await sign('k1'))).client_id).toBe('c1');
    expect(keyServer.requests).toHaveLength(1);

    clock += 31_000;
    expect((await rejection(keySets.verify(record(), await sign('k2')))).error).toBe('invalid_signature');
    expect(keyServer.requests, 'an unknown kid fetches the set again').toHaveLength(2);

    await addKey('k3', true);
    expect((await rejection(keySets.verify(record(), await sign('k3')))).error).toBe('invalid_signature');
    expect(keyServer.requests, 'not within 30 s of the last fetch').toHaveLength(2);

    clock += 31_000;
    expect((await keySets.verify(record(), await sign('k3'))).client_id).toBe('c1');
    expect(keyServer.requests).toHaveLength(3);

    clock += 10 * 60_000;
    await keySets.verify(record(), await sign('k1'));
    expect(keyServer.requests, 'a set older than ten minutes is fetched again').toHaveLength(4);

    keySets.forget('idp');
    await keySets.verify(record(), await sign('k1'));
    expect(keyServer.requests, 'forget drops the set').toHaveLength(5);
  });

  it('fetches a set once for many tokens verified at once', async () => {
    keyServer.requests.length = 0;
    const keySets = new IssuerKeySets(OPTIONS, () => clock);
    const tokens = await Promise.all(Array.from({ length: 8 }, () => sign('k1')));
    const payloads = await Promise.all(tokens.map((token) => keySets.verify(record(), token)));
    expect(payloads.map((payload) => payload.client_id)).toEqual(Array(8).fill('c1'));
    expect(keyServer.requests).toHaveLength(1);
  });

  it('refuses a token of another issuer, one without expiry, one not valid yet; tolerates 30 s of skew', async () => {
    const keySets = new IssuerKeySets(OPTIONS, () => clock);
    const now = Math.floor(clock / 1000);
    expect((await rejection(keySets.verify(record(), await sign('k1', { iss: 'https://other.test' })))).error).toBe(
      'unknown_issuer',
    );
    expect((await rejection(keySets.verify(record(), await sign('k1', { exp: undefined })))).error).toBe(
      'malformed_token',
    );
    expect((await rejection(keySets.verify(record(), await sign('k1', { nbf: now + 120 })))).error).toBe(
      'token_expired',
    );
    expect((await keySets.verify(record(), await sign('k1', { exp: now - 20 }))).client_id).toBe('c1');
    expect((await rejection(keySets.verify(record(), await sign('k1', { exp: now - 40 })))).error).toBe(
      'token_expired',
    );
  });
});

describe('local client assertions', () => {
  const AUDIENCE = 'https://as.example.test/appkeys/applications/app-1/keys/PRODUCTION';
  const CLIENT_ID = 'local-client';
  const expected = () => ({ audience: AUDIENCE, nowMs: Date.now(), maxLifetimeSeconds: 300 });
  let privateKey: CryptoKey;
  let otherKey: CryptoKey;
  let client: { client_id: string; jwks: { keys: JWK[] }; token_endpoint_auth_signing_alg?: string };

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    otherKey = (await generateKeyPair('ES256')).privateKey;
    client = { client_id: CLIENT_ID, jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k', use: 'sig' }] } };
  });

  function assertion(claims: JWTPayload = {}, key: CryptoKey | Uint8Array = privateKey, alg = 'ES256') {
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: CLIENT_ID, sub: CLIENT_ID, aud: AUDIENCE, jti: 'jti-1', iat: now, exp: now + 60, ...claims };
    return new SignJWT(payload).setProtectedHeader({ alg }).sign(key);
  }

  it('accepts a good assertion and says until when its jti must be remembered', async () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    expect(await verifyLocalAssertion(client, await assertion({ exp }), expected())).toEqual({
      jti: 'jti-1',
      expiresAtMs: exp * 1000,
    });
    expect(await verifyLocalAssertion(client, await assertion({ aud: ['x', AUDIENCE] }), expected())).toBeDefined();
    const pinned = { ...client, token_endpoint_auth_signing_alg: 'ES256' };
    expect(await verifyLocalAssertion(pinned, await assertion(), expected())).toBeDefined();
  });

  it('refuses, with one answer, every assertion that is wrong in any way', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { privateKey: rsaKey } = await generateKeyPair('RS256');
    const cases: Array<[string, Promise<string>, object?]> = [
      ['another audience', assertion({ aud: 'https://as.example.test/other' })],
      ['expired', assertion({ iat: now - 120, exp: now - 1 })],
      ['a lifetime beyond the maximum', assertion({ exp: now + 3600 })],
      ['no exp', assertion({ exp: undefined })],
      ['no jti', assertion({ jti: undefined })],
      ['an empty jti', assertion({ jti: '' })],
      ['a jti of 257 characters', assertion({ jti: 'j'.repeat(257) })],
      ['issued in the future', assertion({ iat: now + 120 })],
      ['not valid yet', assertion({ nbf: now + 120 })],
      ['iss another client', assertion({ iss: 'someone-else' })],
      ['sub another client', assertion({ sub: 'someone-else' })],
      ['another key', assertion({}, otherKey)],
      ['HS256 with the client_id as secret', assertion({}, new TextEncoder().encode(CLIENT_ID.padEnd(32)), 'HS256')],
      [
        'another algorithm than the pinned one',
        assertion({}, rsaKey, 'RS256'),
        { token_endpoint_auth_signing_alg: 'ES256' },
      ],
      ['a pinned shared-secret algorithm', assertion(), { token_endpoint_auth_signing_alg: 'HS256' }],
      ['a client without keys', assertion(), { jwks: undefined }],
      ['a client with a malformed jwks', assertion(), { jwks: { keys: 'none' } }],
      ['not a JWT', Promise.resolve('not-a-jwt')],
    ];
    for (const [label, token, overrides] of cases) {
      expect(await verifyLocalAssertion({ ...client, ...overrides }, await token, expected()), label).toBeUndefined();
    }
  });

  it('refuses an HS256 assertion even from a client whose jwks holds a shared key', async () => {
    const secret = new Uint8Array(32).fill(7);
    const withSecret = {
      client_id: CLIENT_ID,
      jwks: { keys: [{ kty: 'oct', k: Buffer.from(secret).toString('base64url') }] },
    };
    expect(await verifyLocalAssertion(withSecret, await assertion({}, secret, 'HS256'), expected())).toBeUndefined();
  });
});
