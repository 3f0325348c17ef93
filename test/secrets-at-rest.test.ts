import type { Configuration } from 'oidc-provider';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { memoryStore } from '../src/memory/store.js';
import { redisAdapter, redisStore } from '../adapters/redis/index.js';
import { StoreKeys } from '../adapters/redis/keys.js';
import type { AppKeysOptions } from '../src/options.js';
import { hashSecret, setCostOfNewHashesForTests } from '../src/secrets/scrypt.js';
import type { BindingStore } from '../src/store.js';
import { startAppKeys } from './support/appkeys.js';
import { basicAuth } from '../support/http.js';
import { redisOrSkip, startRedis, type TestRedis } from './support/redis.js';
import type { Backend } from './support/backends.js';
import { oobMetadata, Subject } from './support/subject.js';
import { runCliHere } from './support/cli.js';

// each hash names its own parameters: cheap ones keep this file fast and prove they are read back
setCostOfNewHashesForTests({ ln: 10, r: 8, p: 1 });

const withRedis = redisOrSkip();
let redis: TestRedis | undefined;
beforeAll(async () => {
  if (withRedis) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const HASHING: AppKeysOptions = { secrets: { hash: 'scrypt' } };
const PHC = /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;
const SECRET = 'oob-secret-0123456789abcdef0123456789abcdef';
const OTHER = 'oob-other-0123456789abcdef0123456789abcdef';
const WRONG = 'wrong-secret-0123456789abcdef0123456789abc';
const REGISTRATION = {
  registration: { enabled: true },
  registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
};

const clientPath = (id: string) => `/appkeys/clients/${encodeURIComponent(id)}`;
const keysPath = (appId: string, keyType: string) => `/appkeys/applications/${appId}/keys/${keyType}`;

/** A store as the tests open it, with a look at what it holds: the record itself, not the API's view. */
interface Opened {
  readonly store: BindingStore;
  /** The stored metadata's `client_secret`, read straight from the store's data. */
  rawSecret(clientId: string): Promise<unknown>;
  /** Everything the store holds for the client, as text. */
  rawRecord(clientId: string): Promise<string>;
  /** A Backend handing Subject.start this very store, so two servers can share it. */
  readonly backend: Backend;
  close(): Promise<void>;
}

interface StoreKind {
  readonly name: string;
  open(): Opened;
}

const memoryKind: StoreKind = {
  name: 'memory',
  open() {
    const store = memoryStore({ warn: () => {} });
    const raw = async (clientId: string) => (await store.getClient(clientId))?.metadata;
    return {
      store,
      rawSecret: async (clientId) => (await raw(clientId))?.client_secret,
      rawRecord: async (clientId) => JSON.stringify(await store.getClient(clientId)),
      backend: { name: 'memory', open: async () => ({ store, cleanup: async () => {} }) },
      close: () => store.close(),
    };
  },
};

function redisKind(server: () => TestRedis): StoreKind {
  return {
    name: 'redis',
    open() {
      const client = server().client();
      const prefix = server().namespace('secrets');
      const store = redisStore({ client, prefix: `${prefix}appkeys:` });
      const keys = new StoreKeys(`${prefix}appkeys:`);
      return {
        store,
        async rawSecret(clientId) {
          // the test's own client, reading the hash field the store keeps the provider's JSON in
          const metadata = await client.hget(keys.client(clientId), 'metadata');
          return metadata === null ? undefined : (JSON.parse(metadata) as { client_secret?: unknown }).client_secret;
        },
        rawRecord: async (clientId) => JSON.stringify(await client.hgetall(keys.client(clientId))),
        backend: {
          name: 'redis',
          open: async () => ({
            store,
            adapter: redisAdapter({ client, prefix: `${prefix}oidc:` }),
            cleanup: async () => {},
          }),
        },
        async close() {
          await store.close();
          client.disconnect();
        },
      };
    },
  };
}

const kinds: StoreKind[] = [memoryKind, ...(withRedis ? [redisKind(() => redis!)] : [])];

function expectRefused(response: request.Response, ...named: string[]): void {
  expect(response.status, response.text).toBe(400);
  expect(response.body.error).toBe('invalid_client_metadata');
  for (const text of [...named, 'plaintext']) expect(response.body.error_description).toContain(text);
}

describe.each(kinds)('secrets at rest on the $name store', (kind) => {
  const subjects: Subject[] = [];
  let current: Opened | undefined;

  /** The test's store; every server a test starts shares it. */
  function stored(): Opened {
    current ??= kind.open();
    return current;
  }

  async function start(options: AppKeysOptions = HASHING, configuration: Configuration = {}): Promise<Subject> {
    const subject = await Subject.start(stored().backend, options, configuration);
    subjects.push(subject);
    return subject;
  }

  afterEach(async () => {
    const started = subjects.splice(0);
    const opened = current;
    current = undefined;
    try {
      for (const subject of started) {
        try {
          subject.expectNoSecretLeaked();
          for (const response of subject.responses)
            expect(response.text, `${response.path} shows a stored hash`).not.toContain('$scrypt$');
        } finally {
          await subject.finish();
        }
      }
    } finally {
      await opened?.close();
    }
  });

  it('keeps an out-of-band secret as a PHC scrypt hash, and authenticates with it', async () => {
    const t = await start();
    await t.registerClient('svc', SECRET);

    expect(await stored().rawSecret('svc')).toMatch(PHC);
    expect(await stored().rawRecord('svc')).not.toContain(SECRET);
    expect((await t.clientCredentials('svc', SECRET)).status).toBe(200);
    const wrong = await t.clientCredentials('svc', WRONG);
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
    const shown = await t.get(clientPath('svc'), await t.admin());
    expect(shown.status).toBe(200);
    expect(shown.body).not.toHaveProperty('client_secret');
  });

  it('answers unchanged when the same secret is registered again, and replaces it for another', async () => {
    const t = await start();
    const admin = await t.admin();
    expect((await t.put(clientPath('svc'), admin, oobMetadata(t.secret(SECRET)))).status).toBe(201);
    const first = await stored().rawSecret('svc');

    const again = await t.put(clientPath('svc'), admin, oobMetadata(SECRET));
    expect(again.status).toBe(200);
    expect(await stored().rawSecret('svc')).toBe(first);
    expect(t.eventsNamed('appkeys.client.registered')).toHaveLength(1);

    expect((await t.put(clientPath('svc'), admin, oobMetadata(t.secret(OTHER)))).status).toBe(200);
    expect(t.eventsNamed('appkeys.client.registered')).toEqual([
      expect.objectContaining({ replaced: false }),
      expect.objectContaining({ client_id: 'svc', replaced: true }),
    ]);
    expect(await stored().rawSecret('svc')).toMatch(PHC);
    expect(await stored().rawSecret('svc')).not.toBe(first);
    expect((await t.clientCredentials('svc', SECRET)).status).toBe(401);
    expect((await t.clientCredentials('svc', OTHER)).status).toBe(200);
  });

  it('refuses a hash where a secret is expected', async () => {
    const t = await start();
    await t.registerClient('svc', SECRET);
    const hash = String(await stored().rawSecret('svc'));
    const response = await t.put(clientPath('copy'), await t.admin(), oobMetadata(hash));
    expect(response.status).toBe(400);
    expect(response.body.error_description).toContain('not a hash');
  });

  it(
    "proves a hashed client's secret for Provide Keys, " + 'with one answer for a wrong secret and an unknown client',
    async () => {
      const t = await start();
      await t.registerClient('svc', SECRET);
      const alice = await t.owner('alice');
      const appId = await t.application(alice, 'App');

      for (const body of [
        { client_id: 'svc', client_secret: WRONG },
        { client_id: 'nobody', client_secret: WRONG },
      ]) {
        const refused = await t.put(keysPath(appId, 'PRODUCTION'), alice, body);
        expect(refused.status).toBe(401);
        expect(refused.body.error).toBe('invalid_client');
      }
      const provided = await t.put(keysPath(appId, 'PRODUCTION'), alice, { client_id: 'svc', client_secret: SECRET });
      expect(provided.status, provided.text).toBe(201);
      expect(await t.introspect(await t.accessToken('svc', SECRET))).toMatchObject({
        active: true,
        application_id: appId,
      });
    },
  );

  it('stores generated secrets hashed, shows each once, and rotates them', async () => {
    const t = await start();
    const alice = await t.owner('alice');
    const appId = await t.application(alice, 'App');

    const generated = await t.post(keysPath(appId, 'PRODUCTION'), alice, {});
    expect(generated.status, generated.text).toBe(201);
    const { client_id: clientId, client_secret: secret } = generated.body as {
      client_id: string;
      client_secret: string;
    };
    expect(generated.body.client).not.toHaveProperty('client_secret');
    expect(await stored().rawSecret(clientId)).toMatch(PHC);
    expect(await stored().rawRecord(clientId)).not.toContain(secret);
    expect((await t.clientCredentials(clientId, secret)).status).toBe(200);

    const rotated = await t.post(`${keysPath(appId, 'PRODUCTION')}/secret`, alice);
    expect(rotated.status, rotated.text).toBe(200);
    const next = (rotated.body as { client_secret: string }).client_secret;
    expect(await stored().rawSecret(clientId)).toMatch(PHC);
    expect(await stored().rawRecord(clientId)).not.toContain(next);
    expect((await t.clientCredentials(clientId, secret)).status).toBe(401);
    expect((await t.clientCredentials(clientId, next)).status).toBe(200);
    expect((await t.get(keysPath(appId, 'PRODUCTION'), alice)).body).not.toHaveProperty('client_secret');
  });

  it('hashes dynamically registered secrets and never shows the hash in RFC 7591 or RFC 7592 answers', async () => {
    const t = await start(HASHING, { features: REGISTRATION });
    const metadata = { grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'api:read' };

    const registered = await request(t.server).post('/reg').send(metadata);
    expect(registered.status, registered.text).toBe(201);
    const {
      client_id: clientId,
      client_secret: secret,
      registration_access_token: rat,
    } = registered.body as Record<string, string>;
    expect(secret).toEqual(expect.any(String));
    t.secret(secret!);
    const hash = await stored().rawSecret(clientId!);
    expect(hash).toMatch(PHC);

    const read = await request(t.server)
      .get(`/reg/${encodeURIComponent(clientId!)}`)
      .set('Authorization', `Bearer ${rat}`);
    expect(read.status, read.text).toBe(200);
    expect(read.body).not.toHaveProperty('client_secret');
    expect(read.text).not.toContain('$scrypt$');

    const updated = await request(t.server)
      .put(`/reg/${encodeURIComponent(clientId!)}`)
      .set('Authorization', `Bearer ${rat}`)
      .send({ ...metadata, client_id: clientId, client_name: 'renamed' });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body).toMatchObject({ client_name: 'renamed' });
    expect(updated.body).not.toHaveProperty('client_secret');
    expect(updated.text).not.toContain('$scrypt$');
    expect(await stored().rawSecret(clientId!)).toBe(hash);
    expect((await t.clientCredentials(clientId!, secret!)).status).toBe(200);

    // the provider compares a repeated client_secret with what it holds: as documented, leave it out
    const repeated = await request(t.server)
      .put(`/reg/${encodeURIComponent(clientId!)}`)
      .set('Authorization', `Bearer ${rat}`)
      .send({ ...metadata, client_id: clientId, client_secret: secret });
    expect(repeated.status).toBe(400);
    expect(repeated.body.error).toBe('invalid_request');
    expect(await stored().rawSecret(clientId!)).toBe(hash);
  });

  it('refuses what needs the plaintext secret with 400 invalid_client_metadata naming why', async () => {
    const t = await start(HASHING, { features: REGISTRATION });
    const admin = await t.admin();
    expectRefused(
      await t.put(
        clientPath('jwt'),
        admin,
        oobMetadata(t.secret(SECRET), { token_endpoint_auth_method: 'client_secret_jwt' }),
      ),
      'token_endpoint_auth_method client_secret_jwt',
    );
    expectRefused(
      await t.put(clientPath('hs'), admin, oobMetadata(SECRET, { id_token_signed_response_alg: 'HS256' })),
      'id_token_signed_response_alg HS256',
    );
    expectRefused(
      await t.put(
        clientPath('pbes2'),
        admin,
        oobMetadata(SECRET, { id_token_encrypted_response_alg: 'PBES2-HS256+A128KW' }),
      ),
      'id_token_encrypted_response_alg PBES2-HS256+A128KW',
    );
    expectRefused(
      await t.put(clientPath('dir'), admin, oobMetadata(SECRET, { userinfo_encrypted_response_alg: 'dir' })),
      'userinfo_encrypted_response_alg dir',
    );
    for (const id of ['jwt', 'hs', 'pbes2', 'dir']) expect(await stored().rawSecret(id)).toBeUndefined();

    const alice = await t.owner('alice');
    const appId = await t.application(alice, 'App');
    expectRefused(
      await t.post(keysPath(appId, 'PRODUCTION'), alice, { request_object_signing_alg: 'HS256' }),
      'request_object_signing_alg HS256',
    );
    expect((await t.get(`/appkeys/applications/${appId}`, alice)).body.keys).toEqual({});

    const dynamic = await request(t.server)
      .post('/reg')
      .send({
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_jwt',
      });
    expectRefused(dynamic, 'token_endpoint_auth_method client_secret_jwt');
    expect(dynamic.body).not.toHaveProperty('client_secret');
    expect((await t.get('/appkeys/clients', admin)).body.items).toEqual([]);
  });

  it('upgrades a plaintext record after its first successful token request, and it keeps working', async () => {
    const t = await start();
    t.secret(SECRET);
    // a record from before hashing was turned on
    await stored().store.putClient({ client_id: 'legacy', ...oobMetadata(SECRET) }, new Date().toISOString());
    expect(await stored().rawSecret('legacy')).toBe(SECRET);

    expect((await t.clientCredentials('legacy', WRONG)).status).toBe(401);
    expect((await t.clientCredentials('legacy', SECRET)).status).toBe(200);
    await vi.waitFor(
      () =>
        expect(t.eventsNamed('appkeys.client.secret_hashed')).toEqual([
          expect.objectContaining({ client_id: 'legacy', trigger: 'authentication' }),
        ]),
      { timeout: 10_000, interval: 20 },
    );
    expect(await stored().rawSecret('legacy')).toMatch(PHC);
    expect(await stored().rawRecord('legacy')).not.toContain(SECRET);

    expect((await t.clientCredentials('legacy', SECRET)).status).toBe(200);
    expect((await t.clientCredentials('legacy', WRONG)).status).toBe(401);
    expect(t.eventsNamed('appkeys.client.secret_hash_failed')).toEqual([]);
  });

  it('keeps verifying hashed records once hashing is off, and then stores new secrets as given', async () => {
    const hashing = await start();
    await hashing.registerClient('svc', SECRET);
    const plain = await start({});

    expect((await plain.clientCredentials('svc', SECRET)).status).toBe(200);
    expect((await plain.clientCredentials('svc', WRONG)).status).toBe(401);
    // the same secret again keeps its hash: no import turns a hash back into plaintext
    const again = await plain.put(clientPath('svc'), await plain.admin(), oobMetadata(SECRET));
    expect(again.status).toBe(200);
    expect(await stored().rawSecret('svc')).toMatch(PHC);

    await plain.registerClient('other', OTHER);
    expect(await stored().rawSecret('other')).toBe(OTHER);
  });
});

describe('secrets options', () => {
  it('name the option path of a wrong value', async () => {
    const { appKeys } = await import('../src/app-keys.js');
    const store = memoryStore({ warn: () => {} });
    expect(() => appKeys({ store, secrets: { hash: 'bcrypt' } as never })).toThrow(
      "appKeys: options.secrets.hash must be 'scrypt' or 'none'",
    );
    expect(() => appKeys({ store, secrets: 'scrypt' as never })).toThrow('appKeys: options.secrets must be an object');
    expect(() => appKeys({ store, secrets: { hash: 'scrypt', salt: 1 } as never })).toThrow(
      'appKeys: options.secrets.salt is not an option',
    );
    expect(() => appKeys({ store, secrets: { cache: { maxEntries: 0 } } })).toThrow(
      'appKeys: options.secrets.cache.maxEntries must be a positive integer',
    );
    expect(() => appKeys({ store, secrets: { cache: { maxAgeMs: 1.5 } } })).toThrow(
      'appKeys: options.secrets.cache.maxAgeMs must be a positive integer',
    );
    expect(appKeys({ store, secrets: { hash: 'scrypt', cache: false } }).options.secrets).toEqual({
      hash: true,
      cache: undefined,
    });
  });
});

describe('a provider that never met the extension', () => {
  it('refuses hashed clients rather than derive anything from the stored hash', async () => {
    const { appKeys } = await import('../src/app-keys.js');
    const store = memoryStore({ warn: () => {} });
    const keys = appKeys({ store, ...HASHING });
    const harness = await startAppKeys({ store, ...HASHING });
    try {
      const admin = await harness.adminToken();
      const registered = await request(harness.server)
        .put(clientPath('svc'))
        .set('Authorization', `Bearer ${admin}`)
        .send(oobMetadata(SECRET));
      expect(registered.status).toBe(201);
      // configuration() only: no mount(), routes() or registry() taught this provider the hashes
      const { buildProvider, serve, baseConfiguration } = await import('./support/provider.js');
      const bare = buildProvider(keys.configuration(baseConfiguration()));
      const server = serve(bare);
      try {
        const hash = String((await store.getClient('svc'))?.metadata.client_secret);
        for (const secret of [SECRET, hash]) {
          const response = await request(server)
            .post('/token')
            .set('Authorization', basicAuth('svc', secret))
            .type('form')
            .send({ grant_type: 'client_credentials' });
          expect(response.status).toBe(401);
        }
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    } finally {
      await harness.close();
    }
  });
});

describe.runIf(withRedis)('appkeys clients hash-secrets', () => {
  const cli = (args: readonly string[]) => runCliHere(args, { REDIS_URL: redis!.url });

  it(
    'hashes every plaintext secret, keeps those that need the plaintext, ' + 'and changes nothing when run again',
    async () => {
      const client = redis!.client();
      const prefix = `${redis!.namespace('hash-secrets')}appkeys:`;
      const store = redisStore({ client, prefix });
      const keys = new StoreKeys(prefix);
      const rawSecret = async (id: string) =>
        (JSON.parse((await client.hget(keys.client(id), 'metadata'))!) as { client_secret?: string }).client_secret;
      const at = new Date().toISOString();
      const service = (id: string, secret: string, extra: Record<string, unknown> = {}) => ({
        client_id: id,
        ...oobMetadata(secret),
        ...extra,
      });
      const secrets = [`${SECRET}-1`, `${SECRET}-2`, `${SECRET}-jwt`];
      await store.putClient(service('plain-1', secrets[0]!), at);
      await store.putClient(service('plain-2', secrets[1]!), at);
      await store.putClient(service('jwt', secrets[2]!, { token_endpoint_auth_method: 'client_secret_jwt' }), at);
      await store.putClient(service('hashed', await hashSecret(OTHER)), at);
      await store.putClient(
        {
          client_id: 'public',
          grant_types: ['authorization_code'],
          response_types: ['code'],
          redirect_uris: ['https://app.example/cb'],
          token_endpoint_auth_method: 'none',
        },
        at,
      );
      const args = ['clients', 'hash-secrets', '--prefix', prefix];
      try {
        const first = await cli(args);
        expect(first.stdout).toContain('hashed 2, already hashed 1, without secret 1, kept plaintext 1, not hashed 0');
        expect(first.stdout).toContain(
          'kept plaintext  jwt: token_endpoint_auth_method client_secret_jwt needs the secret itself',
        );
        expect(first.code).toBe(1);
        expect(await rawSecret('plain-1')).toMatch(PHC);
        expect(await rawSecret('plain-2')).toMatch(PHC);
        expect(await rawSecret('jwt')).toBe(secrets[2]);
        const hashed = await Promise.all(['plain-1', 'plain-2', 'hashed'].map(rawSecret));

        const second = await cli(args);
        expect(second.stdout).toContain('hashed 0, already hashed 3, without secret 1, kept plaintext 1, not hashed 0');
        expect(await Promise.all(['plain-1', 'plain-2', 'hashed'].map(rawSecret))).toEqual(hashed);
        for (const printed of [first.stdout, first.stderr, second.stdout, second.stderr]) {
          for (const secret of [...secrets, OTHER]) expect(printed).not.toContain(secret);
          expect(printed).not.toContain('$scrypt$');
        }

        const server = await startAppKeys(
          { store, ...HASHING },
          { adapter: redisAdapter({ client, prefix: `${prefix}oidc:` }) },
        );
        try {
          const token = (secret: string) =>
            request(server.server)
              .post('/token')
              .set('Authorization', basicAuth('plain-1', secret))
              .type('form')
              .send({ grant_type: 'client_credentials' });
          expect((await token(secrets[0]!)).status).toBe(200);
          expect((await token(WRONG)).status).toBe(401);
        } finally {
          await server.close();
        }
      } finally {
        await store.close();
        client.disconnect();
      }
    },
  );
});
