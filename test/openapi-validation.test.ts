/**
 * The served OpenAPI document is valid OpenAPI 3.1, and it tells the truth: every documented route is
 * driven over HTTP through its success and main error answers, and every answer's status, body and
 * headers are checked against what the document says for that path, method and status.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { generateKeyPair, SignJWT } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { memoryStore } from '../src/memory/store.js';
import { redisAdapter, redisStore } from '../adapters/redis/index.js';
import type { AppKeysOptions } from '../src/options.js';
import { ADMIN_CLIENT, startAppKeys, type AppKeysHarness } from './support/appkeys.js';
import { basicAuth } from '../support/http.js';
import { startIdp, type Idp } from './support/idp.js';
import { serviceClient } from './support/provider.js';
import { redisOrSkip, startRedis, type TestRedis } from './support/redis.js';

type Json = Record<string, unknown>;
type OpenApiDocument = Json & { paths: Record<string, Json>; components: Json };

// ajv-formats is CommonJS: NodeNext types the default import as the module, whose `default` is the plugin
const addFormats = addFormatsModule.default;

const PREFIX = '/appkeys';
const DOC_ID = 'https://appkeys.invalid/openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;
type Method = 'get' | 'put' | 'post' | 'delete' | 'patch';

const READER = { id: 'api-reader', secret: 'reader-secret-reader-secret-reader-secret' } as const;
const STATIC_BOUND = 'static-service';
const GATEWAY = { id: 'gateway', secret: 'gateway-secret-gateway-secret-gateway' } as const;

/** Escapes one JSON Pointer reference token (RFC 6901). */
const token = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * Checks real answers against a served document: matches a concrete path to its template, resolves
 * the documented response, validates the body with ajv (draft 2020-12, the OpenAPI 3.1 dialect) and
 * records which (method, path, status) were seen.
 */
class Conformance {
  readonly #doc: OpenApiDocument;
  readonly #ajv: Ajv2020;
  readonly #validators = new Map<string, ValidateFunction>();
  readonly #templates: { template: string; pattern: RegExp }[];
  readonly seen = new Map<string, Set<number>>();

  constructor(doc: Json) {
    this.#doc = doc as OpenApiDocument;
    // strict: every schema keyword must be one ajv knows; `strictTypes` stays off for `allOf` narrowing
    this.#ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true });
    addFormats(this.#ajv);
    // the document's top-level fields are not schema keywords; only schemas inside it get compiled
    this.#ajv.addVocabulary([
      'openapi',
      'info',
      'servers',
      'tags',
      'security',
      'paths',
      'components',
      'webhooks',
      'jsonSchemaDialect',
    ]);
    this.#ajv.addSchema({ ...doc, $id: DOC_ID });
    this.#templates = Object.keys(this.#doc.paths).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
    }));
  }

  operations(): string[] {
    return Object.entries(this.#doc.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((key) => (METHODS as readonly string[]).includes(key))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
  }

  exercised(): string[] {
    return [...this.seen.keys()];
  }

  #resolve(pointer: string): Json {
    let node: unknown = this.#doc;
    for (const raw of pointer.replace(/^#\//, '').split('/')) {
      node = (node as Json)[raw.replaceAll('~1', '/').replaceAll('~0', '~')];
    }
    return node as Json;
  }

  #validator(pointer: string): ValidateFunction {
    let validate = this.#validators.get(pointer);
    if (!validate) {
      validate = this.#ajv.getSchema(`${DOC_ID}${pointer}`);
      if (!validate) throw new Error(`no schema at ${pointer}`);
      this.#validators.set(pointer, validate);
    }
    return validate;
  }

  /** Every way the answer departs from the document (empty: it conforms); records it as seen. */
  check(method: Method, url: string, response: request.Response): string[] {
    const path = new URL(url, 'http://app.invalid').pathname;
    const relative = decodeURI(path).startsWith(PREFIX) ? path.slice(PREFIX.length) : path;
    const match = this.#templates.find(({ pattern }) => pattern.test(relative));
    if (!match) return [`${path} matches no documented path`];
    const operationPointer = `#/paths/${token(match.template)}/${method}`;
    const operation = this.#doc.paths[match.template]![method] as Json | undefined;
    if (!operation) return [`${method.toUpperCase()} ${match.template} is not documented`];

    const key = `${method.toUpperCase()} ${match.template}`;
    const statuses = this.seen.get(key) ?? new Set<number>();
    statuses.add(response.status);
    this.seen.set(key, statuses);

    const status = String(response.status);
    let responsePointer = `${operationPointer}/responses/${status}`;
    let documented = (operation.responses as Json)[status] as Json | undefined;
    if (!documented) return [`${key} answered ${status}, which is not documented (body ${response.text})`];
    if (typeof documented.$ref === 'string') {
      responsePointer = documented.$ref;
      documented = this.#resolve(documented.$ref);
    }

    const problems: string[] = [];
    const content = documented.content as Json | undefined;
    if (!content) {
      if (response.text !== '' && response.text !== undefined)
        problems.push(`${key} ${status} is documented without a body but has one: ${response.text}`);
    } else {
      if (!String(response.headers['content-type'] ?? '').startsWith('application/json')) {
        problems.push(
          `${key} ${status}: content-type ${String(response.headers['content-type'])}, documented application/json`,
        );
      } else {
        const validate = this.#validator(`${responsePointer}/content/application~1json/schema`);
        if (!validate(response.body)) {
          problems.push(
            `${key} ${status}: body ${response.text} does not match: ${this.#ajv.errorsText(validate.errors)}`,
          );
        }
      }
    }
    for (const [name, header] of Object.entries((documented.headers ?? {}) as Record<string, Json>)) {
      const value = response.headers[name.toLowerCase()] as string | undefined;
      const spec = typeof header.$ref === 'string' ? this.#resolve(header.$ref) : header;
      if (value === undefined) {
        if (spec.required === true) problems.push(`${key} ${status}: required header ${name} is missing`);
        continue;
      }
      const headerSchema = spec.schema as Json;
      // header values are strings on the wire; integer-typed ones are compared as numbers
      const typed = headerSchema.type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value;
      const validate = this.#ajv.compile(headerSchema);
      if (!validate(typed)) problems.push(`${key} ${status}: header ${name}: ${value} does not match its schema`);
    }
    return problems;
  }
}

interface CallOptions {
  readonly token?: string;
  readonly body?: unknown;
  /** A raw body sent with this content type instead of JSON. */
  readonly raw?: { readonly type: string; readonly text: string };
}

/** Drives the API, checking each answer against the document and its expected status and code. */
function client(harness: () => AppKeysHarness, conformance: () => Conformance) {
  return async function call(
    method: Method,
    url: string,
    expected: number,
    options: CallOptions = {},
    code?: string,
  ): Promise<request.Response> {
    let pending = request(harness().server)[method](url);
    if (options.token) pending = pending.set('Authorization', `Bearer ${options.token}`);
    let response: request.Response;
    if (options.raw) response = await pending.set('Content-Type', options.raw.type).send(options.raw.text);
    else if (options.body !== undefined) response = await pending.send(options.body as object);
    else response = await pending;
    expect(response.status, `${method.toUpperCase()} ${url}: ${response.text}`).toBe(expected);
    if (code !== undefined) expect((response.body as Json).error, `${method.toUpperCase()} ${url}`).toBe(code);
    expect(conformance().check(method, url, response).join('\n')).toBe('');
    return response;
  };
}

interface Backend {
  readonly name: string;
  options(): Promise<{
    store: AppKeysOptions['store'];
    adapter?: ReturnType<typeof redisAdapter>;
    cleanup(): Promise<void>;
  }>;
}

let redis: TestRedis | undefined;
const useRedis = redisOrSkip();

const BACKENDS: Backend[] = [
  {
    name: 'memory',
    async options() {
      const store = memoryStore({ warn: () => {} });
      return { store, cleanup: () => store.close() };
    },
  },
  ...(useRedis
    ? [
        {
          name: 'redis',
          async options() {
            const connection = redis!.client();
            const prefix = redis!.namespace('openapi');
            const store = redisStore({ client: connection, prefix: `${prefix}appkeys:` });
            return {
              store,
              adapter: redisAdapter({ client: connection, prefix: `${prefix}oidc:` }),
              async cleanup() {
                await store.close();
                connection.disconnect();
              },
            };
          },
        },
      ]
    : []),
];

beforeAll(async () => {
  if (useRedis) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('the served OpenAPI document', () => {
  let harness: AppKeysHarness;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const backend = await BACKENDS[0]!.options();
    cleanup = backend.cleanup;
    harness = await startAppKeys({ store: backend.store, provideKeys: { enabled: true } });
  });
  afterAll(async () => {
    await harness.close();
    await cleanup();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const response = await request(harness.server).get(`${PREFIX}/openapi.json`);
    expect(response.status).toBe(200);
    const validator = new Validator();
    const result = await validator.validate(response.body as Json);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('is refused by the validator when it breaks the OpenAPI schema', async () => {
    // the check above can fail: the same document with an operation's responses removed is invalid
    const response = await request(harness.server).get(`${PREFIX}/openapi.json`);
    const broken = structuredClone(response.body) as Json & { paths: Record<string, Record<string, Json>> };
    broken.paths['/applications']!.get!.responses = 'none';
    const result = await new Validator().validate(broken);
    expect(result.valid).toBe(false);
  });
});

describe.each(BACKENDS)('every documented route answers as documented ($name)', (backend) => {
  let harness: AppKeysHarness;
  let disabled: AppKeysHarness;
  let conformance: Conformance;
  /** Third-party issuers: `idp` stays up, `flaky` is taken down for the 503 answers. */
  let idp: Idp;
  let flaky: Idp;
  const cleanups: Array<() => Promise<void>> = [];
  const call = client(
    () => harness,
    () => conformance,
  );
  const callDisabled = client(
    () => disabled,
    () => conformance,
  );

  beforeAll(async () => {
    [idp, flaky] = await Promise.all([startIdp(), startIdp()]);
    cleanups.push(
      () => idp.close(),
      () => flaky.close(),
    );
    const main = await backend.options();
    cleanups.push(main.cleanup);
    harness = await startAppKeys(
      {
        store: main.store,
        // a low per-caller limit, so that throttling is reached in three attempts
        provideKeys: { enabled: true, attempts: { perCaller: 2 } },
        bodyLimitBytes: 4096,
        issuers: { allowHttpLoopback: true, timeoutMs: 1500 },
      },
      {
        ...(main.adapter && { adapter: main.adapter }),
        clients: [
          serviceClient(READER.id, READER.secret, 'api:read'),
          serviceClient(STATIC_BOUND, 'static-secret-static-secret-static-secret'),
          serviceClient(GATEWAY.id, GATEWAY.secret, 'appkeys:resolve'),
        ],
      },
    );
    const other = await backend.options();
    cleanups.push(other.cleanup);
    disabled = await startAppKeys(
      { store: other.store, provideKeys: { enabled: false } },
      {
        ...(other.adapter && { adapter: other.adapter }),
      },
    );
    const served = await request(harness.server).get(`${PREFIX}/openapi.json`);
    conformance = new Conformance(served.body as Json);
  });
  afterAll(async () => {
    await harness?.close();
    await disabled?.close();
    for (const cleanup of cleanups) await cleanup();
  });

  it('answers success and error statuses with the documented bodies and headers', async () => {
    const admin = await harness.adminToken();
    const alice = await harness.ownerToken('alice');
    const bob = await harness.ownerToken('bob');
    const readerToken = (
      await request(harness.server)
        .post('/token')
        .set('Authorization', basicAuth(READER.id, READER.secret))
        .type('form')
        .send({ grant_type: 'client_credentials', scope: 'api:read' })
    ).body.access_token as string;

    // the document itself
    await call('get', `${PREFIX}/openapi.json`, 200);

    // authentication and scope, shared by every protected route
    await call('get', `${PREFIX}/applications`, 401, {}, 'invalid_token');
    await call('get', `${PREFIX}/applications`, 401, { token: 'not-a-token' }, 'invalid_token');
    await call('get', `${PREFIX}/applications`, 403, { token: readerToken }, 'insufficient_scope');
    await call('get', `${PREFIX}/clients`, 403, { token: alice }, 'insufficient_scope');

    // out-of-band clients (admin)
    const secret = 'secret-issued-elsewhere-0123456789';
    const metadata = {
      client_secret: secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    };
    await call('put', `${PREFIX}/clients/corp-billing`, 201, { token: admin, body: metadata });
    await call('put', `${PREFIX}/clients/corp-billing`, 200, { token: admin, body: metadata });
    await call('put', `${PREFIX}/clients/corp-billing`, 200, {
      token: admin,
      body: { ...metadata, client_name: 'Billing' },
    });
    await call('put', `${PREFIX}/clients/corp-reports`, 201, {
      token: admin,
      body: { ...metadata, client_secret: 'reports-secret-0123456789' },
    });
    await call('put', `${PREFIX}/clients/corp-web`, 201, {
      token: admin,
      body: {
        client_secret: 'web-secret-0123456789',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: ['https://web.example/cb'],
        client_name: 'Web',
        contacts: ['ops@example.com'],
      },
    });
    await call(
      'put',
      `${PREFIX}/clients/corp-bad`,
      400,
      { token: admin, body: { ...metadata, token_endpoint_auth_method: 'no-such-method' } },
      'invalid_client_metadata',
    );
    await call(
      'put',
      `${PREFIX}/clients/corp-bad`,
      400,
      { token: admin, body: { ...metadata, client_id: 'other' } },
      'invalid_request',
    );
    await call(
      'put',
      `${PREFIX}/clients/${ADMIN_CLIENT.id}`,
      409,
      { token: admin, body: metadata },
      'client_is_static',
    );
    await call(
      'put',
      `${PREFIX}/clients/corp-bad`,
      415,
      { token: admin, raw: { type: 'text/plain', text: 'client_secret=x' } },
      'invalid_request',
    );
    await call(
      'put',
      `${PREFIX}/clients/corp-bad`,
      413,
      { token: admin, body: { ...metadata, client_name: 'x'.repeat(5000) } },
      'invalid_request',
    );
    await call(
      'put',
      `${PREFIX}/clients/corp-bad`,
      400,
      { token: admin, raw: { type: 'application/json', text: '{"client_secret":' } },
      'invalid_request',
    );
    await call('put', `${PREFIX}/clients/corp-bad`, 401, { body: metadata }, 'invalid_token');
    await call('put', `${PREFIX}/clients/corp-bad`, 403, { token: alice, body: metadata }, 'insufficient_scope');

    await call('get', `${PREFIX}/clients/corp-billing`, 200, { token: admin });
    await call('get', `${PREFIX}/clients/corp-web`, 200, { token: admin });
    await call('get', `${PREFIX}/clients/nobody`, 404, { token: admin }, 'client_not_found');
    await call('get', `${PREFIX}/clients/${encodeURIComponent('tab\there')}`, 400, { token: admin }, 'invalid_request');

    // a listing followed page by page
    const firstClients = await call('get', `${PREFIX}/clients?limit=2`, 200, { token: admin });
    const clientCursor = (firstClients.body as { next_cursor?: string }).next_cursor;
    expect(clientCursor).toBeTypeOf('string');
    const lastClients = await call('get', `${PREFIX}/clients?limit=2&cursor=${clientCursor}`, 200, { token: admin });
    expect((lastClients.body as Json).next_cursor).toBeUndefined();
    await call('get', `${PREFIX}/clients?cursor=!!`, 400, { token: admin }, 'invalid_request');
    await call('get', `${PREFIX}/clients?limit=0`, 400, { token: admin }, 'invalid_request');

    // applications (owners)
    const app = (
      await call('post', `${PREFIX}/applications`, 201, {
        token: alice,
        body: { name: 'Billing dashboard', description: 'Invoices' },
      })
    ).body as { id: string };
    await call('post', `${PREFIX}/applications`, 201, { token: alice, body: { name: 'Second' } });
    await call('post', `${PREFIX}/applications`, 201, { token: admin, body: { name: 'Carol app', owner: 'carol' } });
    const bobApp = (await call('post', `${PREFIX}/applications`, 201, { token: bob, body: { name: 'Invoices' } }))
      .body as { id: string };
    await call(
      'post',
      `${PREFIX}/applications`,
      409,
      { token: alice, body: { name: 'billing DASHBOARD' } },
      'application_name_taken',
    );
    await call(
      'post',
      `${PREFIX}/applications`,
      400,
      { token: alice, body: { name: 'x', owner: 'bob' } },
      'invalid_request',
    );
    await call(
      'post',
      `${PREFIX}/applications`,
      415,
      { token: alice, raw: { type: 'text/plain', text: 'name=x' } },
      'invalid_request',
    );
    await call(
      'post',
      `${PREFIX}/applications`,
      413,
      { token: alice, body: { name: 'x', description: 'y'.repeat(5000) } },
      'invalid_request',
    );
    await call('post', `${PREFIX}/applications`, 401, { body: { name: 'x' } }, 'invalid_token');
    await call(
      'post',
      `${PREFIX}/applications`,
      403,
      { token: readerToken, body: { name: 'x' } },
      'insufficient_scope',
    );

    const firstApps = await call('get', `${PREFIX}/applications?limit=1`, 200, { token: alice });
    const appCursor = (firstApps.body as { next_cursor?: string }).next_cursor;
    expect(appCursor).toBeTypeOf('string');
    const lastApps = await call('get', `${PREFIX}/applications?limit=1&cursor=${appCursor}`, 200, { token: alice });
    expect((lastApps.body as Json).next_cursor).toBeUndefined();
    await call('get', `${PREFIX}/applications`, 200, { token: admin });
    await call('get', `${PREFIX}/applications?limit=many`, 400, { token: alice }, 'invalid_request');

    await call('get', `${PREFIX}/applications/${app.id}`, 200, { token: alice });
    await call('get', `${PREFIX}/applications/${app.id}`, 404, { token: bob }, 'application_not_found');
    await call('get', `${PREFIX}/applications/${app.id}`, 401, {}, 'invalid_token');
    await call('patch', `${PREFIX}/applications/${app.id}`, 200, {
      token: alice,
      body: { description: 'Invoices and credit notes' },
    });
    await call(
      'patch',
      `${PREFIX}/applications/${app.id}`,
      409,
      { token: alice, body: { name: 'Second' } },
      'application_name_taken',
    );
    await call(
      'patch',
      `${PREFIX}/applications/${app.id}`,
      404,
      { token: bob, body: { name: 'Mine' } },
      'application_not_found',
    );
    await call(
      'patch',
      `${PREFIX}/applications/${app.id}`,
      403,
      { token: alice, body: { status: 'BLOCKED' } },
      'insufficient_scope',
    );
    await call(
      'patch',
      `${PREFIX}/applications/${app.id}`,
      415,
      { token: alice, raw: { type: 'text/plain', text: 'x' } },
      'invalid_request',
    );
    await call(
      'patch',
      `${PREFIX}/applications/${app.id}`,
      413,
      { token: alice, body: { description: 'y'.repeat(5000) } },
      'invalid_request',
    );
    await call('patch', `${PREFIX}/applications/${bobApp.id}`, 200, { token: admin, body: { status: 'BLOCKED' } });
    await call(
      'patch',
      `${PREFIX}/applications/${bobApp.id}`,
      403,
      { token: bob, body: { name: 'Unblocked by me' } },
      'application_blocked',
    );
    await call('delete', `${PREFIX}/applications/${bobApp.id}`, 403, { token: bob }, 'application_blocked');
    await call(
      'post',
      `${PREFIX}/applications/${bobApp.id}/keys/SANDBOX`,
      403,
      { token: bob, body: {} },
      'application_blocked',
    );
    await call('patch', `${PREFIX}/applications/${bobApp.id}`, 200, { token: admin, body: { status: 'ACTIVE' } });

    // provide keys
    const keys = `${PREFIX}/applications/${app.id}/keys`;
    await call('put', `${keys}/PRODUCTION`, 201, {
      token: alice,
      body: { client_id: 'corp-billing', client_secret: secret },
    });
    await call('put', `${keys}/PRODUCTION`, 200, {
      token: alice,
      body: { client_id: 'corp-billing', client_secret: secret },
    });
    await call(
      'put',
      `${keys}/SANDBOX`,
      409,
      { token: alice, body: { client_id: 'corp-billing', client_secret: secret } },
      'client_already_bound',
    );
    await call(
      'put',
      `${keys}/PRODUCTION`,
      409,
      { token: alice, body: { client_id: 'corp-reports', client_secret: 'reports-secret-0123456789' } },
      'key_type_already_bound',
    );
    await call(
      'put',
      `${keys}/STAGING`,
      400,
      { token: alice, body: { client_id: 'corp-billing', client_secret: secret } },
      'invalid_request',
    );
    await call('put', `${keys}/SANDBOX`, 400, { token: alice, body: { client_id: 'corp-reports' } }, 'invalid_request');
    await call(
      'put',
      `${keys}/SANDBOX`,
      415,
      { token: alice, raw: { type: 'text/plain', text: 'x' } },
      'invalid_request',
    );
    await call(
      'put',
      `${keys}/SANDBOX`,
      413,
      { token: alice, body: { client_id: 'corp-reports', client_secret: 'z'.repeat(5000) } },
      'invalid_request',
    );
    await call(
      'put',
      `${keys}/SANDBOX`,
      404,
      { token: bob, body: { client_id: 'corp-reports', client_secret: 'reports-secret-0123456789' } },
      'application_not_found',
    );
    await call(
      'put',
      `${keys}/SANDBOX`,
      401,
      { body: { client_id: 'corp-reports', client_secret: 'x' } },
      'invalid_token',
    );
    await call(
      'put',
      `${keys}/SANDBOX`,
      403,
      { token: readerToken, body: { client_id: 'corp-reports', client_secret: 'x' } },
      'insufficient_scope',
    );
    await call(
      'put',
      `${PREFIX}/applications/${bobApp.id}/keys/SANDBOX`,
      409,
      {
        token: bob,
        body: { client_id: STATIC_BOUND, client_secret: 'static-secret-static-secret-static-secret' },
      },
      'client_is_static',
    );
    // wrong secrets: two failures allowed per caller and client, then throttled
    await call(
      'put',
      `${keys}/SANDBOX`,
      401,
      { token: alice, body: { client_id: 'corp-reports', client_secret: 'wrong-1' } },
      'invalid_client',
    );
    await call(
      'put',
      `${keys}/SANDBOX`,
      401,
      { token: alice, body: { client_id: 'corp-reports', client_secret: 'wrong-2' } },
      'invalid_client',
    );
    const throttled = await call(
      'put',
      `${keys}/SANDBOX`,
      429,
      { token: alice, body: { client_id: 'corp-reports', client_secret: 'wrong-3' } },
      'too_many_attempts',
    );
    expect(throttled.headers['retry-after']).toMatch(/^\d+$/);
    await call('delete', `${PREFIX}/clients/corp-reports/attempts`, 204, { token: admin });
    await call('delete', `${PREFIX}/clients/${'x'.repeat(600)}/attempts`, 400, { token: admin }, 'invalid_request');
    await call('delete', `${PREFIX}/clients/corp-reports/attempts`, 403, { token: alice }, 'insufficient_scope');
    const disabledAdmin = await disabled.adminToken();
    const disabledApp = (
      await callDisabled('post', `${PREFIX}/applications`, 201, { token: disabledAdmin, body: { name: 'Any' } })
    ).body as { id: string };
    await callDisabled(
      'put',
      `${PREFIX}/applications/${disabledApp.id}/keys/SANDBOX`,
      403,
      {
        token: disabledAdmin,
        body: { client_id: 'corp-billing', client_secret: secret },
      },
      'provide_keys_disabled',
    );

    // generate keys
    const generated = await call('post', `${keys}/SANDBOX`, 201, { token: alice, body: {} });
    expect((generated.body as Json).client_secret).toBeTypeOf('string');
    const bobKeys = `${PREFIX}/applications/${bobApp.id}/keys`;
    await call('post', `${bobKeys}/PRODUCTION`, 201, {
      token: bob,
      body: {
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['https://invoices.example/cb'],
        client_name: 'Invoices',
      },
    });
    await call('post', `${keys}/SANDBOX`, 409, { token: alice, body: {} }, 'key_type_already_bound');
    await call(
      'post',
      `${bobKeys}/SANDBOX`,
      400,
      { token: bob, body: { grant_types: ['authorization_code'], redirect_uris: ['not a uri'] } },
      'invalid_redirect_uri',
    );
    await call(
      'post',
      `${bobKeys}/SANDBOX`,
      400,
      { token: bob, body: { token_endpoint_auth_method: 'no-such-method' } },
      'invalid_client_metadata',
    );
    await call('post', `${bobKeys}/SANDBOX`, 400, { token: bob, body: { client_id: 'mine' } }, 'invalid_request');
    await call(
      'post',
      `${bobKeys}/SANDBOX`,
      415,
      { token: bob, raw: { type: 'text/plain', text: 'x' } },
      'invalid_request',
    );
    await call(
      'post',
      `${bobKeys}/SANDBOX`,
      413,
      { token: bob, body: { client_name: 'n'.repeat(5000) } },
      'invalid_request',
    );
    await call('post', `${bobKeys}/SANDBOX`, 404, { token: alice, body: {} }, 'application_not_found');
    await call('post', `${bobKeys}/SANDBOX`, 401, { body: {} }, 'invalid_token');

    // read a binding
    await call('get', `${keys}/PRODUCTION`, 200, { token: alice });
    await call('get', `${keys}/SANDBOX`, 200, { token: admin });
    await call('get', `${bobKeys}/SANDBOX`, 404, { token: bob }, 'binding_not_found');
    await call('get', `${keys}/PRODUCTION`, 404, { token: bob }, 'application_not_found');
    await call('get', `${keys}/production`, 400, { token: alice }, 'invalid_request');
    await call('get', `${keys}/PRODUCTION`, 403, { token: readerToken }, 'insufficient_scope');
    // listings of bound applications and clients
    await call('get', `${PREFIX}/applications/${app.id}`, 200, { token: alice });
    await call('get', `${PREFIX}/applications`, 200, { token: alice });
    await call('get', `${PREFIX}/clients/corp-billing`, 200, { token: admin });
    await call('get', `${PREFIX}/clients?limit=100`, 200, { token: admin });

    // rotate a secret
    const rotated = await call('post', `${keys}/SANDBOX/secret`, 200, { token: alice });
    expect((rotated.body as Json).client_secret).not.toBe((generated.body as Json).client_secret);
    await call('post', `${keys}/PRODUCTION/secret`, 409, { token: alice }, 'client_managed_externally');
    await call('post', `${bobKeys}/SANDBOX/secret`, 404, { token: bob }, 'binding_not_found');
    await call('post', `${keys}/OTHER/secret`, 400, { token: alice }, 'invalid_request');
    await call('post', `${keys}/SANDBOX/secret`, 401, {}, 'invalid_token');

    // unbind
    await call('delete', `${keys}/SANDBOX`, 204, { token: alice });
    await call('delete', `${keys}/SANDBOX`, 404, { token: alice }, 'binding_not_found');
    await call('delete', `${keys}/OTHER`, 400, { token: alice }, 'invalid_request');
    await call('delete', `${keys}/PRODUCTION`, 403, { token: readerToken }, 'insufficient_scope');

    // delete a bound client: refused, then forced
    await call('delete', `${PREFIX}/clients/corp-billing`, 409, { token: admin }, 'client_already_bound');
    await call('delete', `${PREFIX}/clients/corp-billing?force=maybe`, 400, { token: admin }, 'invalid_request');
    await call('delete', `${PREFIX}/clients/corp-billing?force=true`, 204, { token: admin });
    await call('delete', `${PREFIX}/clients/corp-reports`, 204, { token: admin });
    await call('delete', `${PREFIX}/clients/corp-reports`, 404, { token: admin }, 'client_not_found');
    await call('delete', `${PREFIX}/clients/corp-web`, 403, { token: alice }, 'insufficient_scope');
    await call('delete', `${PREFIX}/clients/corp-web`, 401, {}, 'invalid_token');

    // delete applications
    await call('delete', `${PREFIX}/applications/${app.id}`, 204, { token: alice });
    await call('delete', `${PREFIX}/applications/${app.id}`, 404, { token: alice }, 'application_not_found');
    await call('delete', `${PREFIX}/applications/${bobApp.id}`, 404, { token: alice }, 'application_not_found');
    await call('delete', `${PREFIX}/applications/${bobApp.id}`, 204, { token: admin });
  });

  it('answers the third-party issuer and resolution routes as documented', async () => {
    const admin = await harness.adminToken();
    const carol = await harness.ownerToken('carol');
    const gateway = (
      await request(harness.server)
        .post('/token')
        .set('Authorization', basicAuth(GATEWAY.id, GATEWAY.secret))
        .type('form')
        .send({ grant_type: 'client_credentials', scope: 'appkeys:resolve' })
    ).body.access_token as string;
    expect(gateway).toBeTypeOf('string');
    const issuers = `${PREFIX}/issuers`;
    const corp = { issuer: idp.issuer };

    // the admin's list of issuers
    const registered = await call('put', `${issuers}/corp`, 201, {
      token: admin,
      body: { ...corp, probe: { scope: 'api:read' } },
    });
    expect(registered.body).toMatchObject({
      issuer_id: 'corp',
      issuer: idp.issuer,
      verification: 'client_credentials',
    });
    await call('put', `${issuers}/corp`, 200, { token: admin, body: { ...corp, probe: { scope: 'api:read' } } });
    await call('put', `${issuers}/flaky`, 201, { token: admin, body: { issuer: flaky.issuer } });
    await call('put', `${issuers}/corp-again`, 409, { token: admin, body: corp }, 'issuer_taken');
    await call(
      'put',
      `${issuers}/elsewhere`,
      400,
      { token: admin, body: { issuer: 'http://elsewhere.example' } },
      'invalid_issuer',
    );
    await call(
      'put',
      `${issuers}/${encodeURIComponent('no way')}`,
      400,
      { token: admin, body: corp },
      'invalid_request',
    );
    await call('put', `${issuers}/corp`, 400, { token: admin, body: { ...corp, colour: 'red' } }, 'invalid_request');
    await call(
      'put',
      `${issuers}/corp`,
      415,
      { token: admin, raw: { type: 'text/plain', text: 'issuer=x' } },
      'invalid_request',
    );
    await call(
      'put',
      `${issuers}/corp`,
      413,
      { token: admin, body: { issuer: `https://big.example/${'x'.repeat(5000)}` } },
      'invalid_request',
    );
    await call('put', `${issuers}/corp`, 401, { body: corp }, 'invalid_token');
    await call('put', `${issuers}/corp`, 403, { token: carol, body: corp }, 'insufficient_scope');
    await call('get', issuers, 200, { token: admin });
    await call('get', issuers, 403, { token: gateway }, 'insufficient_scope');
    await call('get', `${issuers}/corp`, 200, { token: admin });
    await call('get', `${issuers}/nobody`, 404, { token: admin }, 'issuer_not_found');
    await call('get', `${issuers}/${encodeURIComponent('no way')}`, 400, { token: admin }, 'invalid_request');

    // provide keys of a client of the issuer, proven there
    const app = (await call('post', `${PREFIX}/applications`, 201, { token: carol, body: { name: 'Gateway-facing' } }))
      .body as { id: string };
    const keys = `${PREFIX}/applications/${app.id}/keys`;
    const corpClient = {
      issuer_id: 'corp',
      client_id: idp.secretClient.client_id,
      client_secret: idp.secretClient.client_secret,
    };
    await call(
      'put',
      `${keys}/PRODUCTION`,
      401,
      { token: carol, body: { ...corpClient, client_secret: 'wrong' } },
      'invalid_client',
    );
    const provided = await call('put', `${keys}/PRODUCTION`, 201, { token: carol, body: corpClient });
    expect(provided.body).toMatchObject({
      client_id: idp.secretClient.client_id,
      issuer_id: 'corp',
      issuer: idp.issuer,
      verification: 'client_credentials',
    });
    await call('put', `${keys}/PRODUCTION`, 200, { token: carol, body: corpClient });
    await call(
      'put',
      `${keys}/SANDBOX`,
      404,
      { token: carol, body: { ...corpClient, issuer_id: 'nobody' } },
      'issuer_not_found',
    );
    await call(
      'put',
      `${keys}/SANDBOX`,
      400,
      { token: carol, body: { issuer_id: 'corp', client_id: idp.postClient.client_id } },
      'invalid_request',
    );
    await call('get', `${keys}/PRODUCTION`, 200, { token: carol });
    await call('get', `${PREFIX}/applications/${app.id}`, 200, { token: carol });
    const local = (await call('post', `${keys}/SANDBOX`, 201, { token: carol, body: {} })).body as {
      client_id: string;
    };

    // bound clients keep their issuer
    await call('delete', `${issuers}/corp`, 409, { token: admin }, 'issuer_in_use');
    await call(
      'put',
      `${issuers}/corp`,
      409,
      { token: admin, body: { ...corp, verification: 'none' } },
      'issuer_in_use',
    );

    // gateways look clients up: of the issuer by its URL, of this provider without one
    const lookup = `${PREFIX}/bindings/lookup`;
    const iss = encodeURIComponent(idp.issuer);
    const corpLookup = `${lookup}?iss=${iss}&client_id=${encodeURIComponent(idp.secretClient.client_id)}`;
    const found = await call('get', corpLookup, 200, { token: gateway });
    expect(found.body).toEqual({
      application_id: app.id,
      key_type: 'PRODUCTION',
      status: 'ACTIVE',
      owner: 'carol',
      client_id: idp.secretClient.client_id,
      issuer_id: 'corp',
      issuer: idp.issuer,
    });
    await call('get', corpLookup, 200, { token: admin });
    const localFound = await call('get', `${lookup}?client_id=${encodeURIComponent(local.client_id)}`, 200, {
      token: gateway,
    });
    expect(localFound.body).not.toHaveProperty('issuer');
    await call(
      'get',
      `${lookup}?iss=${iss}&client_id=${encodeURIComponent(idp.postClient.client_id)}`,
      404,
      { token: gateway },
      'client_not_bound',
    );
    await call(
      'get',
      `${lookup}?iss=${encodeURIComponent('https://stranger.example')}&client_id=x`,
      404,
      { token: gateway },
      'issuer_not_found',
    );
    await call('get', `${lookup}?iss=${iss}`, 400, { token: gateway }, 'invalid_request');
    await call('get', corpLookup, 403, { token: carol }, 'insufficient_scope');
    await call('get', corpLookup, 401, {}, 'invalid_token');

    // and resolve JWT access tokens of the issuer
    const resolve = `${PREFIX}/resolve`;
    const jwt = await idp.accessToken(idp.secretClient.client_id);
    const resolved = await call('post', resolve, 200, { token: gateway, body: { token: jwt } });
    expect(resolved.body).toEqual(found.body);
    await call('post', resolve, 200, { token: admin, body: { token: jwt } });
    const now = Math.floor(Date.now() / 1000);
    const unbound = await idp.accessToken(idp.postClient.client_id);
    await call('post', resolve, 404, { token: gateway, body: { token: unbound } }, 'client_not_bound');
    const refusedAs = async (code: string, token: string) => {
      const refused = await call('post', resolve, 401, { token: gateway, body: { token } }, code);
      // the challenge is for the caller's own token, not the one resolved
      expect(refused.headers['www-authenticate']).toBeUndefined();
    };
    const claims = { client_id: idp.secretClient.client_id, iat: now, exp: now + 60 };
    await refusedAs('malformed_token', 'eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2lnbmF0dXJl');
    await refusedAs('unknown_issuer', await idp.signed({ ...claims, iss: 'https://stranger.example' }));
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ ...claims, iss: idp.issuer })
      .setProtectedHeader({ alg: 'ES256' })
      .sign(privateKey);
    await refusedAs('invalid_signature', forged);
    await refusedAs('token_expired', await idp.signed({ ...claims, iat: now - 3600, exp: now - 600 }));
    await refusedAs('no_client', await idp.signed({ sub: 'someone', iat: now, exp: now + 60 }));
    await refusedAs('malformed_token', 'not a jwt');
    await call('post', resolve, 400, { token: gateway, body: { token: 42 } }, 'invalid_request');
    await call('post', resolve, 400, { token: gateway, body: { token: jwt, client_id: 'x' } }, 'invalid_request');
    await call(
      'post',
      resolve,
      415,
      { token: gateway, raw: { type: 'text/plain', text: 'token=x' } },
      'invalid_request',
    );
    await call('post', resolve, 413, { token: gateway, body: { token: 'x'.repeat(5000) } }, 'invalid_request');
    await call('post', resolve, 403, { token: carol, body: { token: jwt } }, 'insufficient_scope');
    const anonymous = await call('post', resolve, 401, { body: { token: jwt } }, 'invalid_token');
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer /);

    // an issuer that does not answer: 503 with Retry-After, and nothing changed
    const flakyApp = (await call('post', `${PREFIX}/applications`, 201, { token: carol, body: { name: 'Flaky' } }))
      .body as { id: string };
    await flaky.stop();
    try {
      const unavailable = [
        await call(
          'put',
          `${issuers}/flaky`,
          503,
          { token: admin, body: { issuer: flaky.issuer, probe: { scope: 'api:read' } } },
          'temporarily_unavailable',
        ),
        await call(
          'put',
          `${PREFIX}/applications/${flakyApp.id}/keys/PRODUCTION`,
          503,
          {
            token: carol,
            body: {
              issuer_id: 'flaky',
              client_id: flaky.secretClient.client_id,
              client_secret: flaky.secretClient.client_secret,
            },
          },
          'temporarily_unavailable',
        ),
        // its keys were never fetched, so there are none cached to verify with
        await call(
          'post',
          resolve,
          503,
          {
            token: gateway,
            body: { token: await flaky.signed({ ...claims, client_id: flaky.secretClient.client_id }) },
          },
          'temporarily_unavailable',
        ),
      ];
      for (const answer of unavailable) expect(answer.headers['retry-after']).toMatch(/^\d+$/);
    } finally {
      await flaky.start();
    }
    const unchanged = await call('get', `${issuers}/flaky`, 200, { token: admin });
    expect(unchanged.body).not.toHaveProperty('probe');

    // removing issuers: refused while bound, then gone
    await call('delete', `${keys}/PRODUCTION`, 204, { token: carol });
    await call('delete', `${issuers}/corp`, 204, { token: admin });
    await call('delete', `${issuers}/corp`, 404, { token: admin }, 'issuer_not_found');
    await call('delete', `${issuers}/flaky`, 204, { token: admin });
    await call('delete', `${issuers}/${encodeURIComponent('no way')}`, 400, { token: admin }, 'invalid_request');
    await call('delete', `${issuers}/flaky`, 403, { token: gateway }, 'insufficient_scope');
    await call('delete', `${issuers}/flaky`, 401, {}, 'invalid_token');
    await call('get', issuers, 200, { token: admin });
    await call('delete', `${PREFIX}/applications/${app.id}`, 204, { token: carol });
    await call('delete', `${PREFIX}/applications/${flakyApp.id}`, 204, { token: carol });
  });

  it('exercised every documented route, and every main error status', () => {
    expect(conformance.exercised().sort()).toEqual(conformance.operations().sort());
    const statuses = new Set([...conformance.seen.values()].flatMap((set) => [...set]));
    for (const status of [200, 201, 204, 400, 401, 403, 404, 409, 413, 415, 429, 503]) {
      expect(statuses.has(status), `status ${status}`).toBe(true);
    }
  });

  it('finds a body that departs from the document', () => {
    // the checker itself can fail: a binding missing its origin is not a documented 200 answer
    const fake = {
      status: 200,
      text: '{}',
      body: { application_id: 'a', key_type: 'PRODUCTION', client_id: 'c' },
      headers: { 'content-type': 'application/json' },
    };
    const problems = conformance.check(
      'get',
      `${PREFIX}/applications/a/keys/PRODUCTION`,
      fake as unknown as request.Response,
    );
    expect(problems.join('\n')).toMatch(/must have required property 'origin'/);
    const undocumented = conformance.check('get', `${PREFIX}/applications/a/keys/PRODUCTION`, {
      ...fake,
      status: 418,
    } as unknown as request.Response);
    expect(undocumented.join('\n')).toMatch(/418, which is not documented/);
  });
});

// a store outage needs a private redis-server to stop; with REDIS_URL the server is not ours to stop
describe.skipIf(!useRedis || Boolean(process.env.REDIS_URL))('a store outage answers as documented', () => {
  let harness: AppKeysHarness;
  let conformance: Conformance;
  let store: ReturnType<typeof redisStore>;
  const call = client(
    () => harness,
    () => conformance,
  );

  beforeAll(async () => {
    // the store in Redis, the provider's tokens in memory: only the store goes down
    store = redisStore({
      client: redis!.client({ maxRetriesPerRequest: 0 }),
      prefix: `${redis!.namespace('outage')}appkeys:`,
      timeoutMs: 300,
    });
    harness = await startAppKeys({ store, provideKeys: { enabled: true } });
    conformance = new Conformance((await request(harness.server).get(`${PREFIX}/openapi.json`)).body as Json);
  });
  afterAll(async () => {
    await harness?.close();
    await store?.close();
  });

  it('answers 503 temporarily_unavailable with Retry-After while the store is down', async () => {
    const admin = await harness.adminToken();
    await call('post', `${PREFIX}/applications`, 201, {
      token: admin,
      body: { name: 'Before the outage', owner: 'alice' },
    });
    await redis!.kill();
    try {
      const down = await call(
        'post',
        `${PREFIX}/applications`,
        503,
        { token: admin, body: { name: 'During the outage', owner: 'alice' } },
        'temporarily_unavailable',
      );
      expect(down.headers['retry-after']).toMatch(/^\d+$/);
      await call('get', `${PREFIX}/applications`, 503, { token: admin }, 'temporarily_unavailable');
    } finally {
      await redis!.restart();
    }
  });
});
