import type { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { MAX_LIMIT } from '../src/pagination.js';
import { ADMIN_CLIENT, startAppKeys, type AppKeysHarness } from './support/appkeys.js';
import { fileBackends, type Opened } from './support/backends.js';
import { basicAuth } from '../support/http.js';
import { oobMetadata } from './support/subject.js';

/**
 * Secrets stay where they belong: a full Provide Keys scenario is recorded (every response with its
 * headers, every event the provider emits, every line written to stdout, stderr or the console, and on
 * Redis the whole keyspace), and no secret may appear anywhere but in the one answer that generated or
 * rotated it and in its own client's record. Then owner isolation: another owner reaches nothing of an
 * application through any route or parameter.
 */

const APPS = '/appkeys/applications';
const CLIENTS = '/appkeys/clients';
const appPath = (id: string) => `${APPS}/${id}`;
const keysPath = (id: string, keyType: string) => `${APPS}/${id}/keys/${keyType}`;

const backends = fileBackends('leaks');

/** Where a piece of recorded output came from, and the text to search. */
interface Trace {
  readonly where: string;
  readonly text: string;
}

/** Every form a secret could take in text: as is, in Basic credentials, URL-encoded. */
function formsOf(secret: string): string[] {
  return [
    ...new Set([
      secret,
      Buffer.from(secret).toString('base64').replace(/=+$/, ''),
      Buffer.from(secret).toString('base64url'),
      encodeURIComponent(secret),
    ]),
  ];
}

function isKoaContext(value: object): boolean {
  return 'req' in value && 'res' in value && 'app' in value && 'request' in value;
}

/**
 * Every string reachable from an event argument, as text to search: own properties, errors' message,
 * stack and cause, cycles cut. A Koa context is the provider's request itself (it holds the request's
 * credentials by nature): it is named, not walked.
 */
function textOf(value: unknown, seen = new WeakSet<object>(), depth = 0): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string') return value;
  if (typeof value !== 'object') return typeof value === 'function' ? '' : String(value);
  if (seen.has(value) || depth > 12) return '';
  seen.add(value);
  if (isKoaContext(value)) return '[koa context]';
  const parts: string[] = [];
  if (value instanceof Error)
    parts.push(value.name, value.message, value.stack ?? '', textOf(value.cause, seen, depth + 1));
  if (value instanceof Map || value instanceof Set) {
    for (const entry of value) parts.push(textOf(entry, seen, depth + 1));
  }
  for (const key of Object.getOwnPropertyNames(value)) {
    let inner: unknown;
    try {
      inner = (value as Record<string, unknown>)[key];
    } catch {
      continue;
    }
    parts.push(key, textOf(inner, seen, depth + 1));
  }
  return parts.join('\n');
}

/** Records everything written to stdout, stderr, the console and process warnings until `stop()`. */
function captureOutput(): { lines: Trace[]; stop(): void } {
  const lines: Trace[] = [];
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace', 'dir'] as const;
  const originals = methods.map((method) => console[method]);
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    lines.push({ where: 'stdout', text: String(chunk) });
    return (stdout as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
    lines.push({ where: 'stderr', text: String(chunk) });
    return (stderr as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  methods.forEach((method, i) => {
    console[method] = (...args: unknown[]) => {
      lines.push({ where: `console.${method}`, text: args.map((arg) => textOf(arg)).join(' ') });
      (originals[i] as (...a: unknown[]) => void)(...args);
    };
  });
  const onWarning = (warning: Error) => lines.push({ where: 'process warning', text: textOf(warning) });
  process.on('warning', onWarning);
  return {
    lines,
    stop() {
      process.stdout.write = stdout as typeof process.stdout.write;
      process.stderr.write = stderr as typeof process.stderr.write;
      methods.forEach((method, i) => {
        console[method] = originals[i] as never;
      });
      process.off('warning', onWarning);
    },
  };
}

/** A harness recording every response and every provider event. */
interface Recorder {
  readonly h: AppKeysHarness;
  readonly responses: Array<Trace & { status: number; body: unknown }>;
  readonly events: Trace[];
  call(
    method: 'get' | 'post' | 'put' | 'patch' | 'delete',
    path: string,
    token: string | undefined,
    body?: object,
  ): Promise<request.Response>;
  form(path: string, auth: [string, string], fields: Record<string, string>): Promise<request.Response>;
}

function record(h: AppKeysHarness): Recorder {
  const responses: Recorder['responses'] = [];
  const events: Trace[] = [];
  // every event, the provider's own included
  const emit = h.provider.emit.bind(h.provider);
  h.provider.emit = ((name: string, ...args: unknown[]) => {
    events.push({ where: `event ${name}`, text: args.map((arg) => textOf(arg)).join('\n') });
    return emit(name, ...args);
  }) as typeof h.provider.emit;
  const keep = (label: string, response: request.Response) => {
    const head = Object.entries(response.headers)
      .map(([name, value]) => `${name}: ${String(value)}`)
      .join('\n');
    responses.push({
      where: label,
      status: response.status,
      body: response.body,
      text: `${response.status}\n${head}\n\n${response.text}`,
    });
    return response;
  };
  return {
    h,
    responses,
    events,
    async call(method, path, token, body) {
      let pending = request(h.server)[method](path);
      if (token !== undefined) pending = pending.set('Authorization', `Bearer ${token}`);
      return keep(`${method.toUpperCase()} ${path}`, body === undefined ? await pending : await pending.send(body));
    },
    async form(path, [id, secret], fields) {
      return keep(
        `POST ${path} as ${id}`,
        await request(h.server).post(path).set('Authorization', basicAuth(id, secret)).type('form').send(fields),
      );
    },
  };
}

/** Every key under a prefix with its contents, as text per (key, field). */
async function keyspace(client: Redis, prefix: string): Promise<Array<{ key: string; field: string; text: string }>> {
  const out: Array<{ key: string; field: string; text: string }> = [];
  let cursor = '0';
  let rounds = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `{${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      out.push({ key, field: '(name)', text: key });
      const type = await client.type(key);
      if (type === 'hash') {
        for (const [field, value] of Object.entries(await client.hgetall(key)))
          out.push({ key, field, text: `${field}\n${value}` });
      } else if (type === 'zset') {
        out.push({ key, field: '(members)', text: (await client.zrange(key, 0, -1, 'WITHSCORES')).join('\n') });
      } else if (type === 'set') {
        out.push({ key, field: '(members)', text: (await client.smembers(key)).join('\n') });
      } else if (type === 'string') {
        out.push({ key, field: '(value)', text: (await client.get(key)) ?? '' });
      } else if (type !== 'none') {
        out.push({ key, field: `(${type})`, text: `unexpected type ${type}` });
      }
    }
    rounds += 1;
  } while (cursor !== '0' && rounds < 10_000);
  return out;
}

describe.each(backends)("no secret leaks and no owner reaches another's application, on the $name store", (backend) => {
  let opened: Opened;
  let r: Recorder;
  beforeAll(async () => {
    opened = await backend.open();
  });
  afterEach(async () => {
    expect(await opened.store.verify()).toEqual({ ok: true, problems: [] });
  });
  afterAll(async () => {
    await r?.h.close();
    await opened?.cleanup();
  });

  it(
    'shows each secret only in the one answer that generated or rotated it, ' + 'and stores none outside its client',
    async () => {
      r = record(
        await startAppKeys(
          { store: opened.store, provideKeys: { enabled: true } },
          opened.adapter ? { adapter: opened.adapter } : {},
        ),
      );
      const [admin, alice, bob] = await Promise.all([r.h.adminToken(), r.h.ownerToken('alice'), r.h.ownerToken('bob')]);

      const secret = (label: string) => `${label}-0123456789abcdef0123456789abcdef-${backend.name}`;
      const oldSecret1 = secret('first-secret-of-oob-1');
      const secret1 = secret('secret-of-oob-1');
      const secret2 = secret('secret-of-oob-2');
      const secret3 = secret('secret-of-oob-3');
      const wrong1 = secret('wrong-guess-one');
      const wrong2 = secret('wrong-guess-two');
      /** Secrets and the one answer each may appear in (none: never shown). */
      const shownIn = new Map<string, string | undefined>([
        [ADMIN_CLIENT.secret, undefined],
        [oldSecret1, undefined],
        [secret1, undefined],
        [secret2, undefined],
        [secret3, undefined],
        [wrong1, undefined],
        [wrong2, undefined],
      ]);

      const output = captureOutput();
      try {
        // out-of-band registration: create, idempotent repeat, replace with a new secret
        expect((await r.call('put', `${CLIENTS}/oob-1`, admin, oobMetadata(oldSecret1))).status).toBe(201);
        expect((await r.call('put', `${CLIENTS}/oob-1`, admin, oobMetadata(oldSecret1))).status).toBe(200);
        expect((await r.call('put', `${CLIENTS}/oob-1`, admin, oobMetadata(secret1))).status).toBe(200);
        expect((await r.call('put', `${CLIENTS}/oob-2`, admin, oobMetadata(secret2))).status).toBe(201);
        expect((await r.call('put', `${CLIENTS}/oob-3`, admin, oobMetadata(secret3))).status).toBe(201);

        const a1 = (await r.call('post', APPS, alice, { name: 'Alice one', description: 'first' })).body.id as string;
        const a2 = (await r.call('post', APPS, alice, { name: 'Alice two' })).body.id as string;
        const b1 = (await r.call('post', APPS, bob, { name: 'Bob one' })).body.id as string;
        expect([a1, a2, b1].every(Boolean)).toBe(true);

        // wrong secrets until throttled; then even the right one is refused for a while
        const failures = [];
        for (let i = 0; i < 6; i += 1)
          failures.push(
            (await r.call('put', keysPath(a2, 'PRODUCTION'), alice, { client_id: 'oob-2', client_secret: wrong2 }))
              .status,
          );
        expect(failures).toEqual([401, 401, 401, 401, 401, 429]);
        expect(
          (await r.call('put', keysPath(a2, 'PRODUCTION'), alice, { client_id: 'oob-2', client_secret: secret2 }))
            .status,
        ).toBe(429);
        expect(
          (
            await r.call('put', keysPath(a1, 'PRODUCTION'), alice, {
              client_id: 'no-such-client',
              client_secret: wrong1,
            })
          ).status,
        ).toBe(401);
        expect(
          (await r.call('put', keysPath(a1, 'PRODUCTION'), alice, { client_id: 'oob-1', client_secret: oldSecret1 }))
            .status,
        ).toBe(401);

        // provide keys, repeat, and a second owner trying the same client
        expect(
          (await r.call('put', keysPath(a1, 'PRODUCTION'), alice, { client_id: 'oob-1', client_secret: secret1 }))
            .status,
        ).toBe(201);
        expect(
          (await r.call('put', keysPath(a1, 'PRODUCTION'), alice, { client_id: 'oob-1', client_secret: secret1 }))
            .status,
        ).toBe(200);
        expect(
          (await r.call('put', keysPath(b1, 'PRODUCTION'), bob, { client_id: 'oob-1', client_secret: secret1 })).status,
        ).toBe(409);
        expect(
          (await r.call('put', keysPath(b1, 'SANDBOX'), bob, { client_id: 'oob-3', client_secret: secret3 })).status,
        ).toBe(201);

        // generate keys: the secret is shown once
        const generate = `POST ${keysPath(a1, 'SANDBOX')}`;
        const generated = await r.call('post', keysPath(a1, 'SANDBOX'), alice, {});
        expect(generated.status, generated.text).toBe(201);
        const generatedId = generated.body.client_id as string;
        const generatedSecret = generated.body.client_secret as string;
        shownIn.set(generatedSecret, generate);

        // tokens for both clients, introspected
        const providedToken = await r.form('/token', ['oob-1', secret1], { grant_type: 'client_credentials' });
        expect(providedToken.status, providedToken.text).toBe(200);
        const generatedToken = await r.form('/token', [generatedId, generatedSecret], {
          grant_type: 'client_credentials',
        });
        expect(generatedToken.status, generatedToken.text).toBe(200);
        for (const token of [providedToken.body.access_token as string, generatedToken.body.access_token as string]) {
          const introspected = await r.form('/token/introspection', [ADMIN_CLIENT.id, ADMIN_CLIENT.secret], { token });
          expect(introspected.body).toMatchObject({ active: true, application_id: a1 });
        }

        // rotation: the new secret is shown once, the old one stops working; provided keys cannot rotate
        const rotate = `POST ${keysPath(a1, 'SANDBOX')}/secret`;
        const rotated = await r.call('post', `${keysPath(a1, 'SANDBOX')}/secret`, alice);
        expect(rotated.status, rotated.text).toBe(200);
        const rotatedSecret = rotated.body.client_secret as string;
        shownIn.set(rotatedSecret, rotate);
        expect(
          (await r.form('/token', [generatedId, generatedSecret], { grant_type: 'client_credentials' })).status,
        ).toBe(401);
        expect(
          (await r.form('/token', [generatedId, rotatedSecret], { grant_type: 'client_credentials' })).status,
        ).toBe(200);
        expect((await r.call('post', `${keysPath(a1, 'PRODUCTION')}/secret`, alice)).status).toBe(409);

        // a generated client that dies with its application
        const doomed = await r.call('post', keysPath(a2, 'SANDBOX'), alice, {});
        expect(doomed.status, doomed.text).toBe(201);
        shownIn.set(doomed.body.client_secret as string, `POST ${keysPath(a2, 'SANDBOX')}`);

        // every read there is
        for (const [path, token] of [
          [APPS, alice],
          [`${APPS}?limit=1`, alice],
          [appPath(a1), alice],
          [keysPath(a1, 'PRODUCTION'), alice],
          [keysPath(a1, 'SANDBOX'), alice],
          [APPS, admin],
          [appPath(b1), admin],
          [CLIENTS, admin],
          [`${CLIENTS}?limit=2`, admin],
          [`${CLIENTS}/oob-1`, admin],
          [`${CLIENTS}/${generatedId}`, admin],
          [`${CLIENTS}/oob-2`, admin],
          ['/appkeys/openapi.json', undefined],
        ] as const) {
          expect((await r.call('get', path, token)).status, path).toBe(200);
        }
        const paged = await r.call('get', `${CLIENTS}?limit=1`, admin);
        expect(
          (await r.call('get', `${CLIENTS}?limit=1&cursor=${paged.body.next_cursor as string}`, admin)).status,
        ).toBe(200);

        // change, unbind, delete
        expect(
          (await r.call('patch', appPath(a1), alice, { name: 'Alice renamed', description: 'second' })).status,
        ).toBe(200);
        expect((await r.call('patch', appPath(b1), admin, { status: 'BLOCKED' })).status).toBe(200);
        expect((await r.form('/token', ['oob-3', secret3], { grant_type: 'client_credentials' })).status).toBe(401);
        expect((await r.call('patch', appPath(b1), admin, { status: 'ACTIVE' })).status).toBe(200);
        expect((await r.call('delete', keysPath(a1, 'PRODUCTION'), alice)).status).toBe(204);
        const afterUnbind = await r.form('/token/introspection', [ADMIN_CLIENT.id, ADMIN_CLIENT.secret], {
          token: providedToken.body.access_token as string,
        });
        expect(afterUnbind.body).toEqual({ active: false });
        expect((await r.call('delete', appPath(a2), alice)).status).toBe(204);
        expect((await r.call('get', `${CLIENTS}/${doomed.body.client_id as string}`, admin)).status).toBe(404);
        expect((await r.call('delete', `${CLIENTS}/${generatedId}`, admin)).status).toBe(409);
        expect((await r.call('delete', `${CLIENTS}/${generatedId}?force=true`, admin)).status).toBe(204);
        expect((await r.call('delete', `${CLIENTS}/oob-2`, admin)).status).toBe(204);
        expect(
          (await r.form('/token/revocation', [ADMIN_CLIENT.id, ADMIN_CLIENT.secret], { token: admin })).status,
        ).toBe(200);
      } finally {
        output.stop();
      }

      // the harness's own token requests happened before capture; everything else was recorded
      expect(r.responses.length).toBeGreaterThan(50);
      expect(r.events.some((e) => e.where === 'event appkeys.provide_keys.failed')).toBe(true);
      expect(r.events.some((e) => e.where === 'event appkeys.client.secret_rotated')).toBe(true);

      const leaks: string[] = [];
      for (const [value, allowedIn] of shownIn) {
        const forms = formsOf(value);
        const found = (trace: Trace) => forms.some((form) => trace.text.includes(form));
        for (const response of r.responses) {
          if (response.where === allowedIn) {
            // in its own answer: exactly once, as client_secret
            expect((response.body as { client_secret?: string }).client_secret).toBe(value);
            expect(response.text.split(value).length - 1, response.where).toBe(1);
          } else if (found(response)) {
            leaks.push(`response ${response.where} shows ${value}`);
          }
        }
        for (const event of r.events) if (found(event)) leaks.push(`${event.where} carries ${value}`);
        for (const line of output.lines)
          if (found(line)) leaks.push(`${line.where} printed ${value}: ${line.text.slice(0, 200)}`);
      }
      expect(leaks).toEqual([]);

      // in Redis, a secret lives in its own client's record and nowhere else; old secrets nowhere at all
      if (opened.client && opened.prefix) {
        const current = new Map<string, string>();
        for (const id of ['oob-1', 'oob-3'])
          current.set(id, (await opened.store.getClient(id))!.metadata.client_secret as string);
        expect(current.get('oob-1')).toBe(secret1);
        const stored = [
          ...(await keyspace(opened.client, `${opened.prefix}appkeys:`)),
          ...(await keyspace(opened.client, `${opened.prefix}oidc:`)),
        ];
        expect(stored.length).toBeGreaterThan(5);
        const misplaced: string[] = [];
        for (const value of shownIn.keys()) {
          const forms = formsOf(value);
          for (const entry of stored) {
            if (!forms.some((form) => entry.text.includes(form))) continue;
            const owner = [...current].find(([, s]) => s === value)?.[0];
            const allowed =
              owner !== undefined &&
              entry.key === `{${opened.prefix}appkeys:}client:${owner}` &&
              entry.field === 'metadata';
            if (!allowed) misplaced.push(`${entry.key} ${entry.field} holds ${value}`);
          }
        }
        expect(misplaced).toEqual([]);
      }
    },
  );

  it("lets no owner see or touch another owner's application through any route or parameter", async () => {
    r ??= record(
      await startAppKeys(
        { store: opened.store, provideKeys: { enabled: true } },
        opened.adapter ? { adapter: opened.adapter } : {},
      ),
    );
    const [admin, alice, bob] = await Promise.all([
      r.h.adminToken(),
      r.h.ownerToken('alice-iso'),
      r.h.ownerToken('bob-iso'),
    ]);
    const aliceSecret = 'alice-iso-secret-0123456789abcdef0123456789';
    const bobSecret = 'bob-iso-secret-0123456789abcdef0123456789ab';
    expect((await r.call('put', `${CLIENTS}/iso-alice`, admin, oobMetadata(aliceSecret))).status).toBe(201);
    expect((await r.call('put', `${CLIENTS}/iso-bob`, admin, oobMetadata(bobSecret))).status).toBe(201);
    const app = (await r.call('post', APPS, alice, { name: 'Alice private', description: 'mine' })).body.id as string;
    expect(
      (await r.call('put', keysPath(app, 'PRODUCTION'), alice, { client_id: 'iso-alice', client_secret: aliceSecret }))
        .status,
    ).toBe(201);
    const bobsOwn = (await r.call('post', APPS, bob, { name: 'Bob own' })).body.id as string;
    const before = (await r.call('get', appPath(app), alice)).body as Record<string, unknown>;
    const clientsBefore = (await r.call('get', `${CLIENTS}?limit=100`, admin)).body.items.length as number;
    const aliceToken = await r.form('/token', ['iso-alice', aliceSecret], { grant_type: 'client_credentials' });
    expect(aliceToken.status).toBe(200);

    // an id that exists but is alice's, and one that exists nowhere, must read the same to bob
    const missing = `app_${'0'.repeat(12)}${'f'.repeat(20)}`;
    const attempts: Array<['get' | 'post' | 'put' | 'patch' | 'delete', (id: string) => string, object?]> = [
      ['get', appPath],
      ['patch', appPath, { description: 'bob was here' }],
      ['patch', appPath, { name: 'Bob took it' }],
      ['delete', appPath],
      ['get', (id) => keysPath(id, 'PRODUCTION')],
      ['get', (id) => keysPath(id, 'SANDBOX')],
      ['delete', (id) => keysPath(id, 'PRODUCTION')],
      ['put', (id) => keysPath(id, 'SANDBOX'), { client_id: 'iso-bob', client_secret: bobSecret }],
      ['put', (id) => keysPath(id, 'PRODUCTION'), { client_id: 'iso-bob', client_secret: bobSecret }],
      ['post', (id) => keysPath(id, 'SANDBOX'), {}],
      ['post', (id) => `${keysPath(id, 'PRODUCTION')}/secret`],
      ['post', (id) => `${keysPath(id, 'SANDBOX')}/secret`],
    ];
    for (const [method, path, body] of attempts) {
      const other = await r.call(method, path(app), bob, body);
      const none = await r.call(method, path(missing), bob, body);
      expect(other.status, `${method} ${path(app)}: ${other.text}`).toBe(404);
      expect(other.body, `${method} ${path(app)}`).toEqual({
        error: 'application_not_found',
        error_description: expect.any(String),
      });
      expect(other.body, `${method} ${path(app)} differs from a missing id`).toEqual(none.body);
    }
    // a wrong secret on alice's application reads as on any other: invalid_client, no word about the application
    const guessOther = await r.call('put', keysPath(app, 'SANDBOX'), bob, {
      client_id: 'iso-bob',
      client_secret: 'wrong-0123456789abcdef0123456789abcdef',
    });
    const guessNone = await r.call('put', keysPath(missing, 'SANDBOX'), bob, {
      client_id: 'iso-bob',
      client_secret: 'wrong-0123456789abcdef0123456789abcdef',
    });
    expect(guessOther.status).toBe(401);
    expect(guessOther.body).toEqual(guessNone.body);

    // listings, with every cursor bob could forge from alice's id
    const cursor = (after: string) => Buffer.from(JSON.stringify({ v: 1, after })).toString('base64url');
    for (const query of [
      '',
      `?limit=${MAX_LIMIT}`,
      `?cursor=${cursor(app)}`,
      `?cursor=${cursor(app.slice(0, -1))}`,
      `?cursor=${cursor('a')}`,
      `?cursor=${cursor(' ')}`,
      `?limit=1&cursor=${cursor('app_')}`,
    ]) {
      const listed = await r.call('get', `${APPS}${query}`, bob);
      expect(listed.status, listed.text).toBe(200);
      for (const item of listed.body.items as Array<{ id: string; owner: string }>) {
        expect(item.owner, `${query} listed ${item.id}`).toBe('bob-iso');
        expect(item.id).not.toBe(app);
      }
    }
    expect(
      ((await r.call('get', `${APPS}?limit=100`, bob)).body.items as Array<{ id: string }>).map((i) => i.id),
    ).toEqual([bobsOwn]);

    // the admin-only client routes, which name alice's client and its binding
    for (const [method, path, body] of [
      ['get', CLIENTS],
      ['get', `${CLIENTS}/iso-alice`],
      ['delete', `${CLIENTS}/iso-alice?force=true`],
      ['put', `${CLIENTS}/iso-alice`, oobMetadata(bobSecret)],
    ] as const) {
      const answer = await r.call(method, path, bob, body);
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(answer.body.error).toBe('insufficient_scope');
      expect(answer.text).not.toContain(app);
    }

    // and nothing of alice's changed: the application, its binding, its client's secret, no new client
    expect((await r.call('get', appPath(app), alice)).body).toEqual(before);
    expect((await r.call('get', `${CLIENTS}/iso-bob`, admin)).body.binding).toBeNull();
    expect((await r.call('get', `${CLIENTS}?limit=100`, admin)).body.items).toHaveLength(clientsBefore);
    expect((await r.form('/token', ['iso-alice', aliceSecret], { grant_type: 'client_credentials' })).status).toBe(200);
    const introspected = await r.form('/token/introspection', [ADMIN_CLIENT.id, ADMIN_CLIENT.secret], {
      token: aliceToken.body.access_token as string,
    });
    expect(introspected.body).toMatchObject({ active: true, application_id: app });
    for (const response of r.responses.filter(
      (res) => res.where.includes(app) && res.status !== 200 && res.status !== 201 && res.status !== 204,
    )) {
      expect(response.text, response.where).not.toContain('Alice private');
    }
  });
});
