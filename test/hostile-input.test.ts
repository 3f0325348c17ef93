import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MAX_LIMIT } from '../src/pagination.js';
import type { AppKeysOptions } from '../src/options.js';
import { CLIENT_ID_MAX, DESCRIPTION_MAX, NAME_MAX, OWNER_MAX, SECRET_MAX } from '../src/validate.js';
import { startAppKeys, type AppKeysHarness } from './support/appkeys.js';
import { fileBackends, type Backend } from './support/backends.js';
import { expectError, expectErrorShape } from './support/errors.js';
import { prng } from './support/prng.js';
import { oobMetadata } from './support/subject.js';

/**
 * Hostile input against every route of the management API, on the memory and the Redis store: bodies
 * that are not JSON, too large, too deep, of the wrong types or shaped to pollute prototypes; ids that
 * carry key separators, globs or broken percent-encoding; forged cursors and limits. Then a seeded fuzz
 * run. The server must answer each with a 4xx in the OAuth error shape, never a 5xx, never hang, and
 * stay whole afterwards.
 */

const APPS = '/appkeys/applications';
const CLIENTS = '/appkeys/clients';
const REQUEST_TIMEOUT_MS = 5000;
const BIG_LIMIT = 1024 * 1024;

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  readonly body: unknown;
}

interface Ask {
  readonly method: string;
  /** Sent exactly as given: no normalization, no encoding. */
  readonly path: string;
  readonly token?: string | undefined;
  readonly headers?: Record<string, string>;
  /** A value is sent as JSON; a string or Buffer as is. */
  readonly body?: unknown;
  readonly contentType?: string | null;
  /** Send the body with chunked transfer encoding and no Content-Length. */
  readonly chunked?: boolean;
}

/** One raw HTTP request, bounded in time: a hang is a failure, never a stuck test. */
function ask(server: AppKeysHarness['server'], options: Ask): Promise<Answer> {
  const { port } = server.address() as AddressInfo;
  let payload: Buffer | undefined;
  if (options.body !== undefined) {
    payload = Buffer.isBuffer(options.body)
      ? options.body
      : Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body), 'utf8');
  }
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const contentType = options.contentType === undefined ? (payload ? 'application/json' : null) : options.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  if (payload) {
    // framing stated explicitly: Node's client would send a GET or DELETE body unframed
    if (options.chunked) headers['transfer-encoding'] = 'chunked';
    else headers['content-length'] ??= String(payload.length);
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: options.method, path: options.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => {
      req.destroy(
        new Error(`${options.method} ${options.path.slice(0, 120)} did not answer within ${REQUEST_TIMEOUT_MS} ms`),
      );
    }, REQUEST_TIMEOUT_MS);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    if (payload && options.chunked) {
      // several writes, so that the body really streams in chunks
      for (let at = 0; at < payload.length; at += 64 * 1024) req.write(payload.subarray(at, at + 64 * 1024));
      req.end();
    } else {
      req.end(payload);
    }
  });
}

const describeAsk = (a: Ask) => `${a.method} ${a.path.slice(0, 160)}`;

const secretOf = (clientId: string) => `secret-of-${clientId}-0123456789abcdef0123456789abcdef`;

function encodeCursor(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');
}

interface Stack {
  readonly h: AppKeysHarness;
  readonly admin: string;
  readonly alice: string;
  readonly bob: string;
  call(options: Ask): Promise<Answer>;
  /** An application of `token`'s caller; resolves its id. */
  application(token: string, name: string): Promise<string>;
  /** An out-of-band client registered by the admin, with `secretOf(clientId)`. */
  register(clientId: string): Promise<void>;
  close(): Promise<void>;
}

async function openStack(kind: Backend, options: Partial<AppKeysOptions> = {}): Promise<Stack> {
  const opened = await kind.open();
  const h = await startAppKeys(
    { provideKeys: { enabled: true }, ...options, store: opened.store },
    opened.adapter ? { adapter: opened.adapter } : {},
  );
  const [admin, alice, bob] = await Promise.all([h.adminToken(), h.ownerToken('alice'), h.ownerToken('bob')]);
  const call = (options: Ask) => ask(h.server, options);
  return {
    h,
    admin,
    alice,
    bob,
    call,
    async application(token, name) {
      const created = await call({ method: 'POST', path: APPS, token, body: { name } });
      expect(created.status, created.text).toBe(201);
      return (created.body as { id: string }).id;
    },
    async register(clientId) {
      const registered = await call({
        method: 'PUT',
        path: `${CLIENTS}/${encodeURIComponent(clientId)}`,
        token: admin,
        body: oobMetadata(secretOf(clientId)),
      });
      expect([200, 201], registered.text).toContain(registered.status);
    },
    async close() {
      try {
        expect(await h.keys.store.verify()).toEqual({ ok: true, problems: [] });
      } finally {
        await h.close();
        await opened.cleanup();
      }
    },
  };
}

/** The routes that read a JSON body, with a valid body for each, on an application of `alice`. */
function bodyRoutes(
  s: Stack,
  appId: string,
): Array<{ name: string; method: string; path: string; token: string; valid: Record<string, unknown> }> {
  return [
    { name: 'create application', method: 'POST', path: APPS, token: s.alice, valid: { name: 'valid name' } },
    {
      name: 'update application',
      method: 'PATCH',
      path: `${APPS}/${appId}`,
      token: s.alice,
      valid: { description: 'valid' },
    },
    {
      name: 'provide keys',
      method: 'PUT',
      path: `${APPS}/${appId}/keys/PRODUCTION`,
      token: s.alice,
      valid: { client_id: 'oob-valid', client_secret: secretOf('oob-valid') },
    },
    { name: 'generate keys', method: 'POST', path: `${APPS}/${appId}/keys/SANDBOX`, token: s.alice, valid: {} },
    {
      name: 'register client',
      method: 'PUT',
      path: `${CLIENTS}/oob-valid`,
      token: s.admin,
      valid: oobMetadata(secretOf('oob-valid')),
    },
  ];
}

describe.each(fileBackends('hostile'))('hostile input on the $name store', (kind) => {
  let s: Stack;
  let appId: string;
  beforeAll(async () => {
    s = await openStack(kind);
    appId = await s.application(s.alice, 'target');
  });
  afterAll(async () => {
    await s?.close();
  });

  describe('bodies', () => {
    it('answers 415 to a body that is not declared as JSON, on every route that reads one', async () => {
      for (const route of bodyRoutes(s, appId)) {
        for (const contentType of [
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/xml',
          'application/jsonx',
          'json',
          'application/json-seq',
          null,
        ]) {
          const answer = await s.call({
            method: route.method,
            path: route.path,
            token: route.token,
            body: JSON.stringify(route.valid),
            contentType,
          });
          expectError(answer, 415, 'invalid_request', `${route.name} as ${contentType}`);
        }
      }
    });

    it('answers 413 to a 2 MiB body, whether it declares its length or streams it chunked', async () => {
      const huge = JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) });
      for (const route of bodyRoutes(s, appId)) {
        for (const chunked of [false, true]) {
          const answer = await s.call({
            method: route.method,
            path: route.path,
            token: route.token,
            body: huge,
            chunked,
          });
          expectError(answer, 413, 'invalid_request', `${route.name}${chunked ? ' chunked' : ''}`);
        }
      }
    });

    it('answers 413 just above the default 64 KiB limit and accepts a body just below it', async () => {
      const envelope = JSON.stringify({ name: 'n', description: '' }).length;
      const below = await s.call({
        method: 'PATCH',
        path: `${APPS}/${appId}`,
        token: s.alice,
        body: { description: ' '.repeat(64 * 1024 - envelope - 20) },
      });
      expectError(below, 400, 'invalid_request', 'a long description');
      const above = await s.call({
        method: 'PATCH',
        path: `${APPS}/${appId}`,
        token: s.alice,
        body: { description: ' '.repeat(64 * 1024) },
      });
      expectError(above, 413, 'invalid_request', '64 KiB + envelope');
    });

    it('answers 400, never 500, to JSON nested 100 000 levels deep on every body route', async () => {
      // 100k levels need more than the default 64 KiB: a server configured with 1 MiB still parses them safely
      const big = await openStack(kind, { bodyLimitBytes: BIG_LIMIT });
      try {
        const app = await big.application(big.alice, 'deep');
        const depth = 100_000;
        const deepArray = `${'['.repeat(depth)}${']'.repeat(depth)}`;
        const deepObject = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
        const wrong: string[] = [];
        for (const route of bodyRoutes(big, app)) {
          // the route's valid body with one field made deep: only the depth can make it fail
          const withDeep = (field: string) =>
            `${JSON.stringify({ ...route.valid, [field]: 0 }).slice(0, -2)}${deepArray}}`;
          const bodies: Array<[string, string]> = [
            ['a deep object as the whole body', deepObject],
            ['a deep array as the whole body', deepArray],
            ['a deep value in an unknown field', withDeep('unknown')],
            ...[
              'name',
              'description',
              'client_id',
              'client_secret',
              'client_name',
              'contacts',
              'redirect_uris',
              'jwks',
            ].map((field): [string, string] => [`a deep ${field}`, withDeep(field)]),
            [
              'a deep value inside a jwk',
              `${JSON.stringify(route.valid).slice(0, -1)},` +
                `"jwks":{"keys":[{"kty":"oct","k":"AAAA","x":${deepArray}}]}}`,
            ],
          ];
          for (const [label, body] of bodies) {
            const answer = await big.call({ method: route.method, path: route.path, token: route.token, body });
            if (answer.status !== 400)
              wrong.push(`${route.name} with ${label}: ${answer.status} ${answer.text.slice(0, 120)}`);
            else expectErrorShape(answer, `${route.name} with ${label}`);
          }
        }
        expect(wrong).toEqual([]);
        // and the default limit turns the same bodies away before parsing them
        const turnedAway = await s.call({ method: 'POST', path: APPS, token: s.alice, body: deepObject });
        expectError(turnedAway, 413, 'invalid_request', 'deep body under the default limit');
      } finally {
        await big.close();
      }
    });

    it('answers 400 to bodies that are not one JSON object', async () => {
      for (const route of bodyRoutes(s, appId)) {
        for (const body of [
          '[]',
          '"name"',
          '1',
          'null',
          'true',
          '{"name":"a"',
          '{"name":"a"}x',
          '{"name":"a"}{}',
          "{'name':'a'}",
          '{"name":"a",}',
          'NaN',
          '{name:"a"}',
          '\u0000',
        ]) {
          const answer = await s.call({ method: route.method, path: route.path, token: route.token, body });
          expectError(answer, 400, 'invalid_request', `${route.name} with ${JSON.stringify(body)}`);
        }
      }
    });

    it('answers 400 to bytes that are not UTF-8, wherever they sit in the body', async () => {
      const sequences = [
        [0xff],
        [0xfe, 0xff],
        [0xc0, 0xaf],
        [0xed, 0xa0, 0x80],
        [0xf4, 0x90, 0x80, 0x80],
        [0xe2, 0x82],
        [0x80],
      ];
      for (const route of bodyRoutes(s, appId)) {
        for (const bytes of sequences) {
          const body = Buffer.concat([
            Buffer.from('{"name":"a'),
            Buffer.from(bytes),
            Buffer.from('","client_id":"x","client_secret":"y"}'),
          ]);
          const answer = await s.call({ method: route.method, path: route.path, token: route.token, body });
          expectError(answer, 400, 'invalid_request', `${route.name} with bytes ${bytes.join(',')}`);
        }
      }
    });

    it('answers 400 to lone surrogates escaped in application fields', async () => {
      for (const name of ['\\ud800', '\\udfff', 'a\\ud83d']) {
        const answer = await s.call({ method: 'POST', path: APPS, token: s.alice, body: `{"name":"${name}"}` });
        expectError(answer, 400, 'invalid_request', `name ${name}`);
      }
    });

    it('answers 400 to a wrong type in every field of every body', async () => {
      const wrong: unknown[] = [1, 0, -1, 1.5, true, false, null, [], ['x'], {}, { a: 1 }];
      const fields: Array<{
        route: string;
        method: string;
        path: string;
        token: string;
        base: Record<string, unknown>;
        field: string;
        extra?: unknown[];
        errors: string[];
      }> = [
        {
          route: 'create application',
          method: 'POST',
          path: APPS,
          token: s.alice,
          base: { name: 'typed' },
          field: 'name',
          extra: ['', 'x'.repeat(NAME_MAX + 1), 'a\u0000b', '\u0007'],
          errors: ['invalid_request'],
        },
        {
          route: 'create application',
          method: 'POST',
          path: APPS,
          token: s.alice,
          base: { name: 'typed' },
          field: 'description',
          extra: ['x'.repeat(DESCRIPTION_MAX + 1)],
          errors: ['invalid_request'],
        },
        {
          route: 'create application (admin)',
          method: 'POST',
          path: APPS,
          token: s.admin,
          base: { name: 'typed' },
          field: 'owner',
          extra: ['', 'x'.repeat(OWNER_MAX + 1)],
          errors: ['invalid_request'],
        },
        {
          route: 'update application',
          method: 'PATCH',
          path: `${APPS}/${appId}`,
          token: s.alice,
          base: {},
          field: 'name',
          extra: ['', 'x'.repeat(NAME_MAX + 1)],
          errors: ['invalid_request'],
        },
        {
          route: 'update application',
          method: 'PATCH',
          path: `${APPS}/${appId}`,
          token: s.alice,
          base: {},
          field: 'description',
          errors: ['invalid_request'],
        },
        {
          route: 'update application (admin)',
          method: 'PATCH',
          path: `${APPS}/${appId}`,
          token: s.admin,
          base: {},
          field: 'status',
          extra: ['', 'active', 'DELETED', 'ACTIVE '],
          errors: ['invalid_request'],
        },
        {
          route: 'provide keys',
          method: 'PUT',
          path: `${APPS}/${appId}/keys/PRODUCTION`,
          token: s.alice,
          base: { client_id: 'oob-valid', client_secret: 'x' },
          field: 'client_id',
          extra: ['', 'x'.repeat(CLIENT_ID_MAX + 1), 'tab\there', 'é'],
          errors: ['invalid_request'],
        },
        {
          route: 'provide keys',
          method: 'PUT',
          path: `${APPS}/${appId}/keys/PRODUCTION`,
          token: s.alice,
          base: { client_id: 'oob-valid', client_secret: 'x' },
          field: 'client_secret',
          extra: ['', 'x'.repeat(SECRET_MAX + 1)],
          errors: ['invalid_request'],
        },
        ...[
          'grant_types',
          'response_types',
          'redirect_uris',
          'token_endpoint_auth_method',
          'client_name',
          'scope',
          'contacts',
          'jwks',
          'client_uri',
          'application_type',
        ].map((field) => ({
          route: 'generate keys',
          method: 'POST',
          path: `${APPS}/${appId}/keys/SANDBOX`,
          token: s.alice,
          base: {},
          field,
          errors: ['invalid_request', 'invalid_client_metadata', 'invalid_redirect_uri'],
        })),
        ...['client_id', 'client_secret', 'client_secret_expires_at', 'client_id_issued_at'].map((field) => ({
          route: 'generate keys',
          method: 'POST',
          path: `${APPS}/${appId}/keys/SANDBOX`,
          token: s.alice,
          base: {},
          field,
          extra: ['chosen-by-me'],
          errors: ['invalid_request', 'invalid_client_metadata'],
        })),
        ...[
          'client_secret',
          'grant_types',
          'response_types',
          'redirect_uris',
          'token_endpoint_auth_method',
          'client_name',
          'scope',
          'contacts',
          'jwks',
          'client_uri',
          'application_type',
          'client_id',
        ].map((field) => ({
          route: 'register client',
          method: 'PUT',
          path: `${CLIENTS}/oob-typed`,
          token: s.admin,
          base: oobMetadata(secretOf('oob-typed')),
          field,
          errors: ['invalid_request', 'invalid_client_metadata', 'invalid_redirect_uri'],
        })),
      ];
      for (const spec of fields) {
        const values = [...wrong, ...(spec.extra ?? [])].filter(
          (value) =>
            !(
              // empty lists are valid metadata for these: no grant needs them here
              // (a client without grant types is valid to the provider's schema: it simply gets no tokens)
              (['grant_types', 'response_types', 'redirect_uris', 'contacts'].includes(spec.field) &&
                Array.isArray(value) &&
                value.length === 0) ||
              // an admin's owner null is "no account's application", as the API shows it
              (spec.field === 'owner' && value === null)
            ),
        );
        for (const value of values) {
          const answer = await s.call({
            method: spec.method,
            path: spec.path,
            token: spec.token,
            body: { ...spec.base, [spec.field]: value },
          });
          expectError(
            answer,
            400,
            spec.errors,
            `${spec.route} with ${spec.field}=${JSON.stringify(value)?.slice(0, 40)}`,
          );
        }
      }
      // nothing of it landed: no binding, no client, the application as it was
      const app = await s.call({ method: 'GET', path: `${APPS}/${appId}`, token: s.alice });
      expect((app.body as { keys: unknown }).keys).toEqual({});
      expect((app.body as { name: string }).name).toBe('target');
      expect((await s.call({ method: 'GET', path: `${CLIENTS}/oob-typed`, token: s.admin })).status).toBe(404);
    });

    it(
      'answers 400 to unknown fields of applications and provided keys,' +
        ' and ignores unknown client metadata as the provider does',
      async () => {
        const unknown = { surprise: 1 };
        expectError(
          await s.call({ method: 'POST', path: APPS, token: s.alice, body: { name: 'with extra', ...unknown } }),
          400,
          'invalid_request',
          'create',
        );
        expectError(
          await s.call({ method: 'POST', path: APPS, token: s.alice, body: { name: 'owner field', owner: 'bob' } }),
          400,
          'invalid_request',
          'owner sets owner',
        );
        expectError(
          await s.call({ method: 'PATCH', path: `${APPS}/${appId}`, token: s.alice, body: unknown }),
          400,
          'invalid_request',
          'update',
        );
        expectError(
          await s.call({ method: 'PATCH', path: `${APPS}/${appId}`, token: s.alice, body: { status: 'BLOCKED' } }),
          403,
          'insufficient_scope',
          'owner sets status',
        );
        expectError(
          await s.call({
            method: 'PUT',
            path: `${APPS}/${appId}/keys/PRODUCTION`,
            token: s.alice,
            body: { client_id: 'x', client_secret: 'y', ...unknown },
          }),
          400,
          'invalid_request',
          'provide',
        );

        const registered = await s.call({
          method: 'PUT',
          path: `${CLIENTS}/oob-unknown`,
          token: s.admin,
          body: oobMetadata(secretOf('oob-unknown'), unknown),
        });
        expect(registered.status, registered.text).toBe(201);
        expect(registered.body).not.toHaveProperty('surprise');
        const read = await s.call({ method: 'GET', path: `${CLIENTS}/oob-unknown`, token: s.admin });
        expect(read.body).not.toHaveProperty('surprise');

        const generateApp = await s.application(s.alice, 'generate with extra');
        const generated = await s.call({
          method: 'POST',
          path: `${APPS}/${generateApp}/keys/PRODUCTION`,
          token: s.alice,
          body: unknown,
        });
        expect(generated.status, generated.text).toBe(201);
        expect((generated.body as { client: Record<string, unknown> }).client).not.toHaveProperty('surprise');
      },
    );

    it('lets no __proto__, constructor or prototype key pollute a prototype or reach a record', async () => {
      const poison =
        '{"__proto__":{"polluted":"yes","client_secret":"from-proto"},' +
        '"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"polluted":"yes"}';
      for (const route of bodyRoutes(s, appId)) {
        const valid = JSON.stringify(route.valid).slice(1);
        const answer = await s.call({
          method: route.method,
          path: route.path,
          token: route.token,
          body: `${poison}${valid === '}' ? '}' : `,${valid}`}`,
        });
        expect(answer.status, `${route.name}: ${answer.text}`).toBeLessThan(500);
        if (answer.status >= 400) expectErrorShape(answer, route.name);
      }
      const nested = await s.call({
        method: 'PUT',
        path: `${CLIENTS}/oob-proto`,
        token: s.admin,
        body:
          `{"client_secret":"${secretOf('oob-proto')}","grant_types":["client_credentials"],"response_types":[],` +
          `"redirect_uris":[],"jwks":{"keys":[],"__proto__":{"polluted":"yes"}},"contacts":["a@example.com"],` +
          `"__proto__":{"token_endpoint_auth_method":"none"}}`,
      });
      expect(nested.status, nested.text).toBeLessThan(500);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).client_secret).toBeUndefined();
      expect(({} as Record<string, unknown>).token_endpoint_auth_method).toBeUndefined();
      // a registered client keeps the auth method the schema gave it, not one smuggled through __proto__
      if (nested.status === 201) {
        const read = await s.call({ method: 'GET', path: `${CLIENTS}/oob-proto`, token: s.admin });
        expect((read.body as { token_endpoint_auth_method: string }).token_endpoint_auth_method).toBe(
          'client_secret_basic',
        );
      }
    });
  });

  describe('ids and paths', () => {
    it('keeps client ids with key separators, braces, globs and percent signs apart, round trip', async () => {
      const ids = [
        'a:b',
        'a{b}',
        '{appkeys:}client:x',
        'a*',
        'a?',
        '*',
        '?',
        'a%41',
        '%',
        'a/b',
        '/',
        'a b',
        '[x]',
        'a\\b',
        'client:a:b',
        '..',
        '.',
      ];
      for (const id of ids) {
        const registered = await s.call({
          method: 'PUT',
          path: `${CLIENTS}/${encodeURIComponent(id)}`,
          token: s.admin,
          body: oobMetadata(secretOf(id)),
        });
        expect(registered.status, `${id}: ${registered.text}`).toBe(201);
        expect((registered.body as { client_id: string }).client_id).toBe(id);
      }
      for (const id of ids) {
        const read = await s.call({ method: 'GET', path: `${CLIENTS}/${encodeURIComponent(id)}`, token: s.admin });
        expect(read.status, `${id}: ${read.text}`).toBe(200);
        expect((read.body as { client_id: string }).client_id).toBe(id);
      }
      // each is bindable by its own secret only, and binding one touches no other
      const app = await s.application(s.alice, 'odd ids');
      const bound = await s.call({
        method: 'PUT',
        path: `${APPS}/${app}/keys/PRODUCTION`,
        token: s.alice,
        body: { client_id: 'a*', client_secret: secretOf('a*') },
      });
      expect(bound.status, bound.text).toBe(201);
      const wrongOne = await s.call({
        method: 'PUT',
        path: `${APPS}/${app}/keys/SANDBOX`,
        token: s.alice,
        body: { client_id: '*', client_secret: secretOf('a*') },
      });
      expectError(wrongOne, 401, 'invalid_client', 'secret of a* for *');
      for (const id of ids) {
        const read = await s.call({ method: 'GET', path: `${CLIENTS}/${encodeURIComponent(id)}`, token: s.admin });
        expect((read.body as { binding: unknown }).binding === null, id).toBe(id !== 'a*');
      }
      const listed = await listAll(s, CLIENTS, s.admin);
      for (const id of ids)
        expect(
          listed.filter((c) => c.client_id === id),
          id,
        ).toHaveLength(1);
      for (const id of ids.filter((i) => i !== 'a*')) {
        const deleted = await s.call({
          method: 'DELETE',
          path: `${CLIENTS}/${encodeURIComponent(id)}`,
          token: s.admin,
        });
        expect(deleted.status, `${id}: ${deleted.text}`).toBe(204);
      }
      expect(
        (await s.call({ method: 'GET', path: `${CLIENTS}/${encodeURIComponent('a*')}`, token: s.admin })).status,
      ).toBe(200);
      expect(await s.h.keys.store.verify()).toEqual({ ok: true, problems: [] });
    });

    it('answers 404 application_not_found to application ids with separators, globs and encodings', async () => {
      for (const id of [
        'a:b',
        '{x}',
        '*',
        '%3F',
        '%25',
        '%2A',
        '%7B%7D',
        'a%2Fb',
        '%2F',
        encodeURIComponent(`${appId}*`),
        encodeURIComponent(`${appId.slice(0, -1)}?`),
        `${appId}%00`,
        encodeURIComponent('app_*'),
      ]) {
        for (const [method, suffix] of [
          ['GET', ''],
          ['PATCH', ''],
          ['DELETE', ''],
          ['GET', '/keys/PRODUCTION'],
          ['DELETE', '/keys/PRODUCTION'],
          ['POST', '/keys/PRODUCTION'],
          ['POST', '/keys/PRODUCTION/secret'],
        ] as const) {
          const answer = await s.call({
            method,
            path: `${APPS}/${id}${suffix}`,
            token: s.alice,
            ...(method === 'PATCH' || method === 'POST' ? { body: method === 'PATCH' ? { name: 'renamed' } : {} } : {}),
          });
          expectError(answer, 404, 'application_not_found', `${method} ${id}${suffix}`);
        }
      }
      const still = await s.call({ method: 'GET', path: `${APPS}/${appId}`, token: s.alice });
      expect((still.body as { name: string }).name).toBe('target');
    });

    it('answers 400 or 404, never 500, to malformed percent-encoding in the path', async () => {
      const broken = ['%E0%A4%A', '%', '%Z', '%ZZ', '%FF', '%C0%AF', '%ED%A0%80', 'a%', '%%', '%u0041', '%E2%82'];
      for (const bad of broken) {
        for (const path of [
          `${APPS}/${bad}`,
          `${APPS}/${bad}/keys/PRODUCTION`,
          `${APPS}/${appId}/keys/${bad}`,
          `${APPS}/${bad}/keys/${bad}/secret`,
          `${CLIENTS}/${bad}`,
          `/appkeys/${bad}`,
          `${APPS}?cursor=${bad}`,
          `${CLIENTS}?limit=${bad}`,
        ]) {
          for (const method of ['GET', 'PUT', 'POST', 'PATCH', 'DELETE']) {
            const answer = await s.call({
              method,
              path,
              token: path.startsWith(CLIENTS) ? s.admin : s.alice,
              body: {},
            });
            expect([400, 404, 405], `${method} ${path}: ${answer.status} ${answer.text}`).toContain(answer.status);
            expectErrorShape(answer, `${method} ${path}`);
          }
        }
      }
    });

    it('answers 400 to a key type that is not PRODUCTION or SANDBOX', async () => {
      for (const keyType of [
        'production',
        'Sandbox',
        'PRODUCTION%20',
        '%20PRODUCTION',
        'PRODUCTION%00',
        'SANDBOX%0A',
        'DEV',
        '__proto__',
        'constructor',
        'key%3APRODUCTION',
        '*',
      ]) {
        for (const method of ['GET', 'PUT', 'POST', 'DELETE']) {
          const answer = await s.call({
            method,
            path: `${APPS}/${appId}/keys/${keyType}`,
            token: s.alice,
            body: method === 'PUT' ? { client_id: 'oob-valid', client_secret: 'x' } : {},
          });
          expectError(answer, [400, 401], ['invalid_request', 'invalid_client'], `${method} ${keyType}`);
          // provide keys checks the key type before the secret: never an oracle on an invalid path
          expect(answer.status, `${method} ${keyType}`).toBe(400);
        }
        const secret = await s.call({
          method: 'POST',
          path: `${APPS}/${appId}/keys/${keyType}/secret`,
          token: s.alice,
        });
        expectError(secret, 400, 'invalid_request', `rotate ${keyType}`);
      }
    });

    it('answers 4xx to 10 KB and 100 KB ids in the path and 400 to 100 KB ids in a body', async () => {
      const tenK = 'x'.repeat(10 * 1024);
      for (const path of [`${APPS}/${tenK}`, `${APPS}/${tenK}/keys/PRODUCTION`, `${CLIENTS}/${tenK}`]) {
        const answer = await s.call({ method: 'GET', path, token: path.startsWith(CLIENTS) ? s.admin : s.alice });
        expectError(answer, [400, 404], ['invalid_request', 'application_not_found'], `GET ${path.slice(0, 40)}…`);
      }
      const registered = await s.call({
        method: 'PUT',
        path: `${CLIENTS}/${tenK}`,
        token: s.admin,
        body: oobMetadata('s'),
      });
      expectError(registered, 400, 'invalid_request', 'PUT a 10 KB client id');
      // 100 KB overflows Node's 16 KiB header limit: its parser refuses it before the app sees it, with
      // 431 (Node 20–24) or by resetting the connection (Node 26)
      const hundredK = 'x'.repeat(100 * 1024);
      const overflow = await s.call({ method: 'GET', path: `${APPS}/${hundredK}`, token: s.alice }).then(
        (answer) => answer.status,
        (error: NodeJS.ErrnoException) => error.code,
      );
      expect([400, 404, 414, 431, 'ECONNRESET']).toContain(overflow);

      const big = await openStack(kind, { bodyLimitBytes: BIG_LIMIT });
      try {
        const app = await big.application(big.alice, 'long ids');
        const inBody = [
          {
            method: 'PUT',
            path: `${APPS}/${app}/keys/PRODUCTION`,
            token: big.alice,
            body: { client_id: hundredK, client_secret: 'x' },
          },
          {
            method: 'PUT',
            path: `${APPS}/${app}/keys/PRODUCTION`,
            token: big.alice,
            body: { client_id: 'x', client_secret: hundredK },
          },
          { method: 'POST', path: APPS, token: big.alice, body: { name: hundredK } },
          { method: 'POST', path: APPS, token: big.admin, body: { name: 'n', owner: hundredK } },
          { method: 'PUT', path: `${CLIENTS}/x`, token: big.admin, body: oobMetadata('s', { client_id: hundredK }) },
        ];
        for (const request of inBody)
          expectError(
            await big.call(request),
            400,
            'invalid_request',
            `${request.method} ${request.path} with a 100 KB field`,
          );
        // the body limit already turns them away at the default 64 KiB
        expectError(
          await s.call({ method: 'POST', path: APPS, token: s.alice, body: { name: hundredK } }),
          413,
          'invalid_request',
          'default limit',
        );
      } finally {
        await big.close();
      }
    });
  });

  describe('methods', () => {
    it('answers 405 invalid_request with Allow to a method a path does not take, known or not', async () => {
      const paths = [
        APPS,
        `${APPS}/${appId}`,
        `${APPS}/${appId}/keys/PRODUCTION`,
        `${APPS}/${appId}/keys/PRODUCTION/secret`,
        CLIENTS,
        `${CLIENTS}/x`,
        '/appkeys/openapi.json',
      ];
      for (const path of paths) {
        for (const method of ['TRACE', 'PROPFIND', 'PURGE', 'LOCK', 'SEARCH', 'PATCH', 'PUT']) {
          const answer = await s.call({ method, path, token: s.admin });
          if (answer.status === 405) {
            expectError(answer, 405, 'invalid_request', `${method} ${path}`);
            expect(answer.headers.allow, `${method} ${path}`).toMatch(/^[A-Z, ]+$/);
            expect(answer.headers.allow?.split(', '), `${method} ${path}`).not.toContain(method);
          } else {
            // a method the path does take: then not a routing answer at all
            expect(['PATCH', 'PUT'], `${method} ${path} answered ${answer.status} ${answer.text}`).toContain(method);
          }
        }
      }
    });
  });

  describe('listings', () => {
    it('answers 400 to a limit that is negative, zero, huge, not a number or given twice', async () => {
      for (const path of [APPS, CLIENTS]) {
        for (const limit of [
          '-1',
          '0',
          String(MAX_LIMIT + 1),
          '1000',
          '99999999999999999999',
          'abc',
          '1.5',
          '1e2',
          '0x10',
          '',
          '%20',
          '+5',
          ' 5',
          'Infinity',
          'NaN',
          '5abc',
        ]) {
          const answer = await s.call({
            method: 'GET',
            path: `${path}?limit=${encodeURIComponent(limit)}`,
            token: s.admin,
          });
          expectError(answer, 400, 'invalid_request', `${path} limit=${limit}`);
        }
        for (const query of ['limit=1&limit=2', 'limit=1&limit=1', 'cursor=a&cursor=b']) {
          const answer = await s.call({ method: 'GET', path: `${path}?${query}`, token: s.admin });
          expectError(answer, 400, 'invalid_request', `${path}?${query}`);
        }
        expect((await s.call({ method: 'GET', path: `${path}?limit=100`, token: s.admin })).status).toBe(200);
        expect((await s.call({ method: 'GET', path: `${path}?limit=1`, token: s.admin })).status).toBe(200);
      }
    });

    it('answers 400 to forged cursors that are not ours', async () => {
      const forged = [
        'not base64!',
        '====',
        '%',
        'A'.repeat(3000),
        encodeCursor('{'),
        encodeCursor('[]'),
        encodeCursor('null'),
        encodeCursor('"x"'),
        encodeCursor({}),
        encodeCursor({ v: 2, after: 'x' }),
        encodeCursor({ v: 1 }),
        encodeCursor({ v: 1, after: 1 }),
        encodeCursor({ v: 1, after: '' }),
        encodeCursor({ v: 1, after: ['x'] }),
        encodeCursor({ v: 1, after: { $gt: '' } }),
        encodeCursor({ v: '1', after: 'x' }),
        Buffer.from([0xff, 0xfe, 0x00]).toString('base64url'),
      ];
      for (const path of [APPS, CLIENTS]) {
        for (const cursor of forged) {
          const answer = await s.call({
            method: 'GET',
            path: `${path}?cursor=${encodeURIComponent(cursor)}`,
            token: path === CLIENTS ? s.admin : s.alice,
          });
          expectError(answer, 400, 'invalid_request', `${path} cursor ${cursor.slice(0, 40)}`);
        }
      }
      // a random but well-formed base64 cursor is still not ours
      const random = prng(7);
      for (let i = 0; i < 20; i += 1) {
        const bytes = Buffer.from(
          Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256)),
        );
        const answer = await s.call({
          method: 'GET',
          path: `${APPS}?cursor=${bytes.toString('base64url')}`,
          token: s.alice,
        });
        expectError(answer, 400, 'invalid_request', `random cursor ${bytes.toString('base64url')}`);
      }
    });

    it("never lists another owner's applications, whatever the cursor says", async () => {
      const bobApp = await s.application(s.bob, 'bob first');
      const aliceApp = await s.application(s.alice, 'alice after bob');
      const cursors = [
        encodeCursor({ v: 1, after: bobApp }),
        encodeCursor({ v: 1, after: 'a' }),
        encodeCursor({ v: 1, after: '\u0000' }),
        encodeCursor({ v: 1, after: '(' }),
        encodeCursor({ v: 1, after: '[app_' }),
        encodeCursor({ v: 1, after: '-' }),
        encodeCursor({ v: 1, after: '+' }),
        encodeCursor({ v: 1, after: bobApp.slice(0, -1) }),
      ];
      for (const cursor of cursors) {
        for (const [token, owner, others] of [
          [s.alice, 'alice', bobApp],
          [s.bob, 'bob', aliceApp],
        ] as const) {
          const answer = await s.call({ method: 'GET', path: `${APPS}?limit=${MAX_LIMIT}&cursor=${cursor}`, token });
          expect(answer.status, answer.text).toBe(200);
          const items = (answer.body as { items: Array<{ id: string; owner: string }> }).items;
          for (const item of items) expect(item.owner, `${owner} listed ${item.id}`).toBe(owner);
          expect(items.map((item) => item.id)).not.toContain(others);
        }
      }
    });
  });

  describe('a seeded fuzz run', () => {
    it(
      'answers ≥ 300 malformed requests across every route and method with 4xx in the error shape, no 5xx,' +
        ' no hang, and stays whole',
      async () => {
        const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

        console.info(`hostile-input fuzz on ${kind.name}: FUZZ_SEED=${seed}`);
        const random = prng(seed);
        const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
        const victim = await s.application(s.alice, 'fuzz victim');
        const bobApp = await s.application(s.bob, 'fuzz bob');
        await s.register('oob-fuzz');

        const segment = (): string =>
          pick<() => string>([
            () => victim,
            () => bobApp,
            () => appId,
            () => 'oob-fuzz',
            () => 'PRODUCTION',
            () => 'SANDBOX',
            () =>
              encodeURIComponent(
                pick(['a:b', '{x}', '*', '?', '%', '/', '\u00e9', '\u{1F600}', ' ', '..', '__proto__', 'constructor']),
              ),
            () => pick(['%E0%A4%A', '%', '%ZZ', '%FF', '%00', '%2F', '%2e%2e', '', '.', '..']),
            () => 'x'.repeat(1 + Math.floor(random() * 4000)),
            () =>
              Array.from({ length: 1 + Math.floor(random() * 12) }, () =>
                pick("abcXYZ019-_.~!$&'()*+,;=:@".split('')),
              ).join(''),
          ])();
        const paths = (): string =>
          pick<() => string>([
            () => APPS,
            () => `${APPS}/${segment()}`,
            () => `${APPS}/${segment()}/keys/${segment()}`,
            () => `${APPS}/${segment()}/keys/${segment()}/secret`,
            () => `${APPS}/${segment()}/keys`,
            () => `${APPS}/${segment()}/${segment()}`,
            () => CLIENTS,
            () => `${CLIENTS}/${segment()}`,
            () => `${CLIENTS}/${segment()}/${segment()}`,
            () => '/appkeys/openapi.json',
            () => '/appkeys',
            () => '/appkeys/',
            () => `${APPS}/`,
            () => `${APPS}//keys/PRODUCTION`,
            () => `/appkeys/${segment()}`,
            () => `/appkeys//${segment()}`,
          ])();
        const query = (): string =>
          pick<() => string>([
            () => '',
            () => '',
            () =>
              `?limit=${encodeURIComponent(
                pick(['-1', '0', String(MAX_LIMIT + 1), 'abc', '1.5', '', '5', String(MAX_LIMIT), '1e9']),
              )}`,
            () =>
              `?cursor=${encodeURIComponent(
                pick(['x', '', '%%%', encodeCursor({ v: 1, after: victim }), encodeCursor('[]'), 'A'.repeat(3000)]),
              )}`,
            () => `?force=${pick(['true', 'false', 'yes', '1', ''])}`,
            () => '?limit=1&limit=2',
            () => '?force=true&force=true',
            () =>
              `?${pick([
                '%',
                '%ZZ',
                '&&&',
                '=',
                'a[b]=c',
                '__proto__[polluted]=yes',
                'constructor[prototype][polluted]=yes',
              ])}`,
          ])();
        const value = (depth = 0): unknown =>
          pick<() => unknown>([
            () => null,
            () => true,
            () => 0,
            () => -1,
            () => 1e308,
            () => 'x'.repeat(Math.floor(random() * 300)),
            () => '',
            () => '\u0000\u0007',
            () => 'http://example.com/cb',
            () => 'client_credentials',
            () => 'PRODUCTION',
            () => (depth > 3 ? [] : Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1))),
            () =>
              depth > 3
                ? {}
                : Object.fromEntries(
                    Array.from({ length: Math.floor(random() * 4) }, () => [pick(FIELD_NAMES), value(depth + 1)]),
                  ),
          ])();
        const body = (): { body?: unknown; contentType?: string | null; chunked?: boolean } =>
          pick<() => { body?: unknown; contentType?: string | null; chunked?: boolean }>([
            () => ({}),
            () => ({
              body: Object.fromEntries(
                Array.from({ length: Math.floor(random() * 6) }, () => [pick(FIELD_NAMES), value()]),
              ),
            }),
            () => ({
              body: Object.fromEntries(
                Array.from({ length: Math.floor(random() * 6) }, () => [pick(FIELD_NAMES), value()]),
              ),
              chunked: true,
            }),
            () => ({ body: JSON.stringify(value()) }),
            () => ({
              body: JSON.stringify({ name: 'n', client_id: 'oob-fuzz', client_secret: secretOf('oob-fuzz') }).slice(
                0,
                Math.floor(random() * 60),
              ),
            }),
            () => ({
              body: Buffer.from(Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256))),
            }),
            () => ({ body: `{"name":${'['.repeat(5000)}${']'.repeat(5000)}}` }),
            () => ({ body: '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}' }),
            () => ({
              body: '{"name":"x"}',
              contentType: pick([
                'text/plain',
                'application/x-www-form-urlencoded',
                '',
                'application/json; charset=utf-16',
                'application/merge-patch+json',
                '*/*',
              ]),
            }),
            () => ({ body: 'x'.repeat(70 * 1024) }),
          ])();
        const token = (): string | undefined =>
          pick([s.admin, s.alice, s.bob, undefined, 'garbage', 'x'.repeat(3000), `${s.alice}x`, '']);
        // CONNECT is left out: Node's server hands it to a 'connect' listener (or drops it) before any app sees it
        const methods = [
          'GET',
          'POST',
          'PUT',
          'PATCH',
          'DELETE',
          'HEAD',
          'OPTIONS',
          'TRACE',
          'PROPFIND',
          'PURGE',
          'get',
        ] as const;

        // half the requests hit a real route with its own method and real ids, so that what is fuzzed
        // (body, query, headers) gets past routing into validation and the store
        const realRoutes: Array<readonly [string, () => string]> = [
          ['POST', () => APPS],
          ['GET', () => APPS],
          ['GET', () => `${APPS}/${pick([victim, bobApp])}`],
          ['PATCH', () => `${APPS}/${pick([victim, bobApp])}`],
          ['PUT', () => `${APPS}/${pick([victim, bobApp])}/keys/${pick(['PRODUCTION', 'SANDBOX'])}`],
          ['POST', () => `${APPS}/${pick([victim, bobApp])}/keys/${pick(['PRODUCTION', 'SANDBOX'])}`],
          ['POST', () => `${APPS}/${pick([victim, bobApp])}/keys/${pick(['PRODUCTION', 'SANDBOX'])}/secret`],
          ['PUT', () => `${CLIENTS}/${pick(['oob-fuzz', 'fuzz-new', encodeURIComponent('fuzz:*?{}')])}`],
          ['GET', () => CLIENTS],
        ];
        const requests: Ask[] = Array.from({ length: 360 }, (_, i) => {
          if (i % 2 === 0) {
            const [method, path] = pick(realRoutes);
            return { method, path: `${path()}${query()}`, token: pick([s.admin, s.alice, s.bob]), ...body() };
          }
          const method = pick(methods);
          const auth = pick(['bearer', 'bearer', 'bearer', 'basic', 'raw']);
          const t = token();
          const headers: Record<string, string> =
            auth === 'basic'
              ? { authorization: `Basic ${Buffer.from('appkeys-admin:nope').toString('base64')}` }
              : auth === 'raw'
                ? { authorization: pick(['Bearer', 'Bearer  x', 'bearer x y', 'Token x', '\u00ff']) }
                : {};
          return {
            method,
            path: `${paths()}${query()}`,
            ...(auth === 'bearer' ? { token: t } : {}),
            headers,
            ...body(),
          };
        });

        const failures: string[] = [];
        const statuses: Record<number, number> = {};
        const queue = [...requests];
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            for (let next = queue.shift(); next; next = queue.shift()) {
              let answer: Answer;
              try {
                answer = await s.call(next);
              } catch (error) {
                failures.push(`${describeAsk(next)}: ${(error as Error).message}`);
                continue;
              }
              statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
              if (answer.status >= 500)
                failures.push(`${describeAsk(next)}: ${answer.status} ${answer.text.slice(0, 200)}`);
              if (answer.status >= 400 && next.method !== 'HEAD') {
                const shaped =
                  /^application\/json/.test(String(answer.headers['content-type'])) &&
                  answer.body !== null &&
                  typeof answer.body === 'object' &&
                  Object.keys(answer.body).sort().join() === 'error,error_description' &&
                  typeof (answer.body as { error: unknown }).error === 'string' &&
                  typeof (answer.body as { error_description: unknown }).error_description === 'string';
                if (!shaped)
                  failures.push(
                    `${describeAsk(next)}: ${answer.status} not in the error shape: ${answer.text.slice(0, 200)}`,
                  );
              }
            }
          }),
        );

        console.info(`hostile-input fuzz on ${kind.name}: FUZZ_SEED=${seed} answered ${JSON.stringify(statuses)}`);
        expect(failures, `FUZZ_SEED=${seed} statuses ${JSON.stringify(statuses)}`).toEqual([]);
        expect(Object.values(statuses).reduce((a, b) => a + b, 0)).toBe(requests.length);
        expect(({} as Record<string, unknown>).polluted, `FUZZ_SEED=${seed}`).toBeUndefined();

        // the server is whole: the normal flow still works and the store's invariants hold
        const app = await s.application(s.alice, `after fuzz ${seed}`);
        await s.register('oob-after-fuzz');
        const provided = await s.call({
          method: 'PUT',
          path: `${APPS}/${app}/keys/PRODUCTION`,
          token: s.alice,
          body: { client_id: 'oob-after-fuzz', client_secret: secretOf('oob-after-fuzz') },
        });
        expect(provided.status, `FUZZ_SEED=${seed} ${provided.text}`).toBe(201);
        const generated = await s.call({
          method: 'POST',
          path: `${APPS}/${app}/keys/SANDBOX`,
          token: s.alice,
          body: {},
        });
        expect(generated.status, `FUZZ_SEED=${seed} ${generated.text}`).toBe(201);
        expect(await s.h.keys.store.verify(), `FUZZ_SEED=${seed}`).toEqual({ ok: true, problems: [] });
      },
    );
  });
});

const FIELD_NAMES = [
  'name',
  'description',
  'owner',
  'status',
  'client_id',
  'client_secret',
  'grant_types',
  'response_types',
  'redirect_uris',
  'token_endpoint_auth_method',
  'scope',
  'client_name',
  'jwks',
  'jwks_uri',
  'contacts',
  'appkeys_binding',
  '__proto__',
  'constructor',
  'prototype',
  'application_type',
  'client_secret_expires_at',
  'sector_identifier_uri',
  'unknown_field',
] as const;

async function listAll(s: Stack, path: string, token: string): Promise<Array<{ client_id: string }>> {
  const items: Array<{ client_id: string }> = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page += 1) {
    const answer = await s.call({
      method: 'GET',
      path: `${path}?limit=${MAX_LIMIT}${cursor ? `&cursor=${cursor}` : ''}`,
      token,
    });
    expect(answer.status, answer.text).toBe(200);
    const body = answer.body as { items: Array<{ client_id: string }>; next_cursor?: string };
    items.push(...body.items);
    cursor = body.next_cursor;
    if (!cursor) return items;
  }
  throw new Error('listing did not end within 100 pages');
}
