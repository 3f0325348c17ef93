import { readdirSync, readFileSync } from 'node:fs';

import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { memoryStore } from '../src/memory/store.js';
import { openApiDocument } from '../src/http/openapi.js';
import { pathParams as paramsInPath, templateOf } from '../src/http/route.js';
import { ROUTES } from '../src/http/route-table.js';
import { basicAuth } from '../support/http.js';
import { startAppKeys, type AppKeysHarness } from './support/appkeys.js';
import { serviceClient } from './support/provider.js';

type Json = Record<string, unknown>;

const source = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

/** Every authenticated route's: no or a bad token, a missing scope, a failure, a store outage. */
const OWNER = ['401', '403', '500', '503'];
const BODY = ['400', '413', '415'];

/** Every status each route can answer, by operationId: what this test expects, not what the table says. */
const STATUSES: Readonly<Record<string, readonly string[]>> = {
  getOpenApiDocument: ['200', '500'],
  createApplication: ['201', '409', ...BODY, ...OWNER],
  listApplications: ['200', '400', ...OWNER],
  getApplication: ['200', '404', ...OWNER],
  updateApplication: ['200', '404', '409', ...BODY, ...OWNER],
  deleteApplication: ['204', '404', ...OWNER],
  provideKeys: ['200', '201', '404', '409', '429', ...BODY, ...OWNER],
  generateKeys: ['201', '404', '409', ...BODY, ...OWNER],
  getBinding: ['200', '400', '404', ...OWNER],
  unbindKeys: ['204', '400', '404', ...OWNER],
  rotateSecret: ['200', '400', '404', '409', ...OWNER],
  registerClient: ['200', '201', '409', ...BODY, ...OWNER],
  getClient: ['200', '400', '404', ...OWNER],
  listClients: ['200', '400', ...OWNER],
  deleteClient: ['204', '400', '404', '409', ...OWNER],
  clearFailedAttempts: ['204', '400', ...OWNER],
  listIssuers: ['200', ...OWNER],
  registerIssuer: ['200', '201', '409', ...BODY, ...OWNER],
  getIssuer: ['200', '400', '404', ...OWNER],
  deleteIssuer: ['204', '400', '404', '409', ...OWNER],
  lookupBinding: ['200', '400', '404', ...OWNER],
  resolveToken: ['200', '404', ...BODY, ...OWNER],
};

const GATEWAY = { id: 'gateway', secret: 'gateway-secret-gateway-secret-gateway' } as const;

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];
const doc = openApiDocument('/appkeys') as Json & { paths: Record<string, Record<string, Json>>; components: Json };

function resolve(pointer: string): unknown {
  expect(pointer.startsWith('#/'), pointer).toBe(true);
  let node: unknown = doc;
  for (const raw of pointer.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (node === null || typeof node !== 'object' || !(key in node)) return undefined;
    node = (node as Json)[key];
  }
  return node;
}

/** Follows a `$ref` (one level is all this document uses). */
function deref<T = Json>(node: unknown): T {
  const $ref = (node as Json).$ref;
  return (typeof $ref === 'string' ? resolve($ref) : node) as T;
}

function walk(node: unknown, visit: (value: Json) => void): void {
  if (Array.isArray(node)) for (const item of node) walk(item, visit);
  else if (node !== null && typeof node === 'object') {
    visit(node as Json);
    for (const value of Object.values(node)) walk(value, visit);
  }
}

function operations(): { method: string; path: string; op: Json }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ method, path, op })),
  );
}

/** The error codes a response documents: the enum on `error`, which its description repeats. */
function errorCodes(response: Json): string[] {
  const body = (response.content as Json | undefined)?.['application/json'] as Json | undefined;
  const all = ((body?.schema as Json | undefined)?.allOf ?? []) as Json[];
  return all.flatMap(
    (part) => (((part.properties as Json | undefined)?.error as Json | undefined)?.enum as string[] | undefined) ?? [],
  );
}

describe('openApiDocument', () => {
  it('is OpenAPI 3.1.0, serves from the prefix, and is plain JSON', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: '/appkeys' }]);
    expect((openApiDocument('/keys/v1').servers as Json[])[0]).toEqual({ url: '/keys/v1' });
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it('keeps info.version equal to package.json', () => {
    const pkg = JSON.parse(source('package.json')) as { version: string };
    expect((doc.info as Json).version).toBe(pkg.version);
  });

  it('documents every route of the table, and nothing else', () => {
    const documented = operations()
      .map(({ method, path }) => `${method} ${path}`)
      .sort();
    expect(documented).toEqual(ROUTES.map((r) => `${r.method} ${templateOf(r.path)}`).sort());
    expect(ROUTES.map((r) => r.operation.operationId).sort()).toEqual(Object.keys(STATUSES).sort());
  });

  it.each(ROUTES)('documents $method $path with every status it can answer', ({ method, path, operation }) => {
    const op = doc.paths[templateOf(path)]?.[method];
    expect(op).toBeDefined();
    expect(Object.keys(op!.responses as Json).sort()).toEqual([...new Set(STATUSES[operation.operationId])].sort());
    expect(typeof op!.summary).toBe('string');
  });

  it('uses {param} templates whose path parameters match the route params', () => {
    for (const { method, path, op } of operations()) {
      const inTemplate = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!).sort();
      const route = ROUTES.find((r) => r.method === method && templateOf(r.path) === path)!;
      expect(inTemplate).toEqual(paramsInPath(route.path).sort());
      expect(path).not.toMatch(/:/);
      const params = ((op.parameters ?? []) as unknown[]).map((p) => deref(p));
      const pathParams = params.filter((p) => p.in === 'path');
      expect(pathParams.map((p) => p.name).sort(), `${method} ${path}`).toEqual(inTemplate);
      for (const p of pathParams) expect(p.required).toBe(true);
      for (const p of params) {
        expect(['app_id', 'key_type', 'client_id', 'issuer_id', 'limit', 'cursor', 'force', 'iss']).toContain(p.name);
      }
    }
  });

  it('resolves every $ref', () => {
    const refs: string[] = [];
    walk(doc, (node) => {
      if (typeof node.$ref === 'string') refs.push(node.$ref);
    });
    expect(refs.length).toBeGreaterThan(50);
    for (const $ref of refs) expect(resolve($ref), $ref).toBeDefined();
  });

  it('has unique operationIds on every operation', () => {
    const ids = operations().map(({ op }) => op.operationId);
    for (const id of ids) expect(typeof id).toBe('string');
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('gives error responses the Error schema, their codes in the description, and the right headers', () => {
    for (const { method, path, op } of operations()) {
      for (const [status, raw] of Object.entries(op.responses as Json)) {
        const response = deref(raw);
        expect(typeof response.description, `${method} ${path} ${status}`).toBe('string');
        if (Number(status) < 400) continue;
        const codes = errorCodes(response);
        expect(codes.length, `${method} ${path} ${status}`).toBeGreaterThan(0);
        const schema = (response.content as Json)['application/json'] as Json;
        expect(((schema.schema as Json).allOf as Json[])[0]).toEqual({ $ref: '#/components/schemas/Error' });
        for (const code of codes) expect(response.description).toContain(`\`${code}\``);
        const headers = Object.keys((response.headers ?? {}) as Json);
        if (status === '429' || status === '503') expect(headers).toContain('Retry-After');
        if (status === '401') expect(headers).toContain('WWW-Authenticate');
      }
    }
  });

  it('documents every error code the server raises, with its status', () => {
    const documented = new Set(
      operations().flatMap(({ op }) =>
        Object.entries(op.responses as Json).flatMap(([status, raw]) =>
          errorCodes(deref(raw)).map((code) => `${status} ${code}`),
        ),
      ),
    );
    const issuerFiles = readdirSync(new URL('../src/issuers/', import.meta.url)).map((name) => `src/issuers/${name}`);
    const raised = ['src/errors.ts', 'src/registry.ts', 'src/http/body.ts', ...issuerFiles].flatMap((file) => [
      ...[...source(file).matchAll(/new (?:err\.)?AppKeysError\(\s*(\d{3}),\s*'([a-z_]+)'/g)].map(
        ([, status, code]) => `${status} ${code}`,
      ),
      // a token POST /resolve cannot vouch for: always 401, with the code the call names
      ...[...source(file).matchAll(/unresolvableToken\(\s*'([a-z_]+)'/g)].map(([, code]) => `401 ${code}`),
    ]);
    for (const code of ['malformed_token', 'unknown_issuer', 'invalid_signature', 'token_expired', 'no_client']) {
      expect(raised).toContain(`401 ${code}`);
    }
    expect(raised.length).toBeGreaterThan(10);
    for (const pair of [...raised, '400 invalid_client_metadata', '400 invalid_redirect_uri', '500 server_error']) {
      expect(documented, pair).toContain(pair);
    }
  });

  it('describes the components the API is built from', () => {
    const schemas = doc.components.schemas as Record<string, Json>;
    for (const name of [
      'Application',
      'Binding',
      'KeyType',
      'ApplicationStatus',
      'ApplicationCreate',
      'ApplicationPatch',
      'ProvideKeysRequest',
      'GenerateKeysRequest',
      'GeneratedKeys',
      'SecretRotation',
      'ClientMetadata',
      'ClientView',
      'ApplicationPage',
      'ClientPage',
      'Error',
    ]) {
      expect(schemas[name], name).toBeDefined();
    }
    expect(schemas.KeyType!.enum).toEqual(['PRODUCTION', 'SANDBOX']);
    expect(schemas.ApplicationStatus!.enum).toEqual(['ACTIVE', 'BLOCKED']);
    expect(schemas.Application!.required).toEqual([
      'id',
      'name',
      'description',
      'owner',
      'status',
      'created_at',
      'updated_at',
      'keys',
    ]);
    expect(schemas.Error!.required).toEqual(['error', 'error_description']);
    expect(schemas.GeneratedKeys!.required).toEqual(
      expect.arrayContaining([...(schemas.Binding!.required as string[]), 'client_secret', 'client']),
    );
    expect(schemas.ClientView!.required).toEqual(
      expect.arrayContaining(['client_id', 'binding', 'registered_at', 'updated_at']),
    );
    expect(schemas.ApplicationPage!.required).toEqual(['items']);
    const generate = schemas.GenerateKeysRequest!.properties as Json;
    expect(generate.client_id).toMatchObject({ not: {} });
    expect(generate.client_secret).toMatchObject({ not: {} });
    expect(schemas.ClientMetadata!.additionalProperties).toBe(true);
    const bearer = (doc.components.securitySchemes as Record<string, Json>).bearer!;
    expect(bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(bearer.description).toContain('appkeys:admin');
  });

  it('requires the admin scope on /clients and /issuers, appkeys:resolve or admin to resolve, none for the doc', () => {
    for (const { path, op } of operations()) {
      if (path === '/openapi.json') expect(op.security).toEqual([]);
      else if (path.startsWith('/clients') || path.startsWith('/issuers')) {
        expect(op.security).toEqual([{ bearer: ['appkeys:admin'] }]);
      } else if (path === '/bindings/lookup' || path === '/resolve') {
        expect(op.security).toEqual([{ bearer: ['appkeys:resolve'] }, { bearer: ['appkeys:admin'] }]);
      } else expect(op.security).toEqual([{ bearer: ['appkeys'] }, { bearer: ['appkeys:admin'] }]);
    }
  });
});

describe('the router made from the route table', () => {
  let harness: AppKeysHarness;
  let store: ReturnType<typeof memoryStore>;
  let owner: string;
  let admin: string;
  let resolver: string;
  beforeAll(async () => {
    store = memoryStore({ warn: () => {} });
    harness = await startAppKeys(
      { store },
      { clients: [serviceClient(GATEWAY.id, GATEWAY.secret, 'appkeys:resolve')] },
    );
    owner = await harness.ownerToken('alice');
    admin = await harness.adminToken();
    const issued = await request(harness.server)
      .post('/token')
      .set('Authorization', basicAuth(GATEWAY.id, GATEWAY.secret))
      .type('form')
      .send({ grant_type: 'client_credentials', scope: 'appkeys:resolve' });
    expect(issued.status, issued.text).toBe(200);
    resolver = (issued.body as { access_token: string }).access_token;
  });
  afterAll(async () => {
    await harness.close();
    await store.close();
  });

  const SAMPLE: Readonly<Record<string, string>> = {
    app_id: 'app_unknown',
    key_type: 'PRODUCTION',
    client_id: 'some-client',
    issuer_id: 'some-issuer',
  };
  const concrete = (path: string) => `/appkeys${path.replace(/:([A-Za-z_]+)/g, (_, name: string) => SAMPLE[name]!)}`;
  const call = (method: (typeof ROUTES)[number]['method'], path: string, token?: string) => {
    const pending = request(harness.server)[method](concrete(path));
    return token === undefined ? pending : pending.set('Authorization', `Bearer ${token}`);
  };
  /** Answered by the route itself: past the router (not 404 `not_found`, not 405) and past the checks. */
  const reachedHandler = (response: request.Response) => {
    expect([401, 405], response.text).not.toContain(response.status);
    expect(['not_found', 'insufficient_scope', 'invalid_token'], response.text).not.toContain(
      (response.body as Json).error,
    );
  };

  it.each(ROUTES)('serves $method $path behind the checks its access names', async ({ method, path, access }) => {
    const anonymous = await call(method, path);
    if (access === 'public') {
      expect(anonymous.status, anonymous.text).toBe(200);
      return;
    }
    expect(anonymous.status, anonymous.text).toBe(401);
    expect((anonymous.body as Json).error).toBe('invalid_token');

    const refused = (response: request.Response) => {
      expect(response.status, response.text).toBe(403);
      expect((response.body as Json).error).toBe('insufficient_scope');
    };
    const asOwner = await call(method, path, owner);
    if (access === 'owner') reachedHandler(asOwner);
    else refused(asOwner);
    // a gateway's token resolves and reaches nothing else
    const asResolver = await call(method, path, resolver);
    if (access === 'resolve') reachedHandler(asResolver);
    else refused(asResolver);
    reachedHandler(await call(method, path, admin));
  });
});
