import type { AdapterFactory, Configuration } from 'oidc-provider';
import request from 'supertest';
import { expect } from 'vitest';

import { memoryAdapter } from '../../src/memory/provider-adapter.js';
import { memoryStore } from '../../src/memory/store.js';
import { redisAdapter, redisStore } from '../../adapters/redis/index.js';
import { ProviderKeys } from '../../adapters/redis/keys.js';
import type { AppKeysOptions } from '../../src/options.js';
import type { BindingStore } from '../../src/store.js';
import { ADMIN_CLIENT, startAppKeys, type AppKeysHarness } from './appkeys.js';
import { basicAuth } from '../../support/http.js';
import { baseConfiguration } from './provider.js';
import type { TestRedis } from './redis.js';

/** Where the provider keeps its state for one test, and a count of the tokens it holds. */
export interface Opened {
  readonly store: BindingStore;
  readonly adapter: AdapterFactory;
  /**
   * Redis: the AccessToken and ClientCredentials records under the test's prefix. Memory: every entry
   * the adapter holds, which a token request changes only by saving a token.
   */
  storedTokens(): Promise<number>;
  cleanup(): Promise<void>;
}

export interface Backend {
  readonly name: string;
  open(): Promise<Opened>;
}

const memoryBackend: Backend = {
  name: 'memory',
  async open() {
    const store = memoryStore({ warn: () => {} });
    const adapter = memoryAdapter();
    return {
      store,
      adapter,
      storedTokens: async () => adapter.size,
      cleanup: () => store.close(),
    };
  },
};

const redisBackend = (server: () => TestRedis | undefined): Backend => ({
  name: 'redis',
  async open() {
    const redis = server();
    if (!redis) throw new Error('the Redis backend opened before its redis-server started');
    const client = redis.client();
    const prefix = redis.namespace('tokens');
    const store = redisStore({ client, prefix: `${prefix}appkeys:` });
    const adapterPrefix = `${prefix}oidc:`;
    const keys = new ProviderKeys(adapterPrefix);
    async function count(pattern: string): Promise<number> {
      let cursor = '0';
      let found = 0;
      do {
        const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        found += batch.length;
      } while (cursor !== '0');
      return found;
    }
    return {
      store,
      adapter: redisAdapter({ client, prefix: adapterPrefix }),
      // the models' key prefixes, from the one module that builds keys, plus a glob
      storedTokens: async () => (await count(`${keys.model('AccessToken', '')}*`)) + (await count(`${keys.model('ClientCredentials', '')}*`)),
      async cleanup() {
        await store.close();
        client.disconnect();
      },
    };
  },
});

/**
 * Redis (when the suite has one) and memory: each test of a suite runs on both. `server` is asked when
 * a test opens its backend, after the suite's `beforeAll` started the redis-server.
 */
export function backendsOf(withRedis: boolean, server: () => TestRedis | undefined): Backend[] {
  return [...(withRedis ? [redisBackend(server)] : []), memoryBackend];
}

export const SECRET = 'oob-secret-0123456789abcdef0123456789abcdef';
export const API = 'https://api.example';

export type Body = Record<string, unknown>;

/** A provider with appkeys mounted on one backend, driven over HTTP as a portal and its clients would. */
export class Subject {
  readonly #harness: AppKeysHarness;
  readonly #opened: Opened;
  #admin: Promise<string> | undefined;

  private constructor(harness: AppKeysHarness, opened: Opened) {
    this.#harness = harness;
    this.#opened = opened;
  }

  static async start(backend: Backend, options: AppKeysOptions = {}, configuration: Configuration = {}): Promise<Subject> {
    const opened = await backend.open();
    try {
      const harness = await startAppKeys(
        { provideKeys: { enabled: true }, ...options, store: opened.store },
        {
          ...configuration,
          features: { ...baseConfiguration().features, ...configuration.features } as Configuration['features'],
          adapter: opened.adapter,
        },
      );
      return new Subject(harness, opened);
    } catch (error) {
      await opened.cleanup();
      throw error;
    }
  }

  get server() {
    return this.#harness.server;
  }

  storedTokens(): Promise<number> {
    return this.#opened.storedTokens();
  }

  admin(): Promise<string> {
    this.#admin ??= this.#harness.adminToken();
    return this.#admin;
  }

  ownerToken(accountId: string): Promise<string> {
    return this.#harness.ownerToken(accountId);
  }

  async api(method: 'get' | 'post' | 'put' | 'patch' | 'delete', path: string, token: string, body?: Body): Promise<request.Response> {
    const pending = request(this.server)[method](path).set('Authorization', `Bearer ${token}`);
    return body === undefined ? pending : pending.send(body);
  }

  /** An out-of-band client for client_credentials, registered by the admin. */
  async registerClient(clientId: string, secret = SECRET, metadata: Body = {}): Promise<void> {
    const response = await this.api('put', `/appkeys/clients/${clientId}`, await this.admin(), {
      client_secret: secret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'api:read', ...metadata,
    });
    expect([200, 201], response.text).toContain(response.status);
  }

  async application(owner: string, name: string): Promise<string> {
    const response = await this.api('post', '/appkeys/applications', owner, { name });
    expect(response.status, response.text).toBe(201);
    return (response.body as { id: string }).id;
  }

  async provideKeys(owner: string, appId: string, keyType: string, clientId: string, secret = SECRET): Promise<void> {
    const response = await this.api('put', `/appkeys/applications/${appId}/keys/${keyType}`, owner, { client_id: clientId, client_secret: secret });
    expect(response.status, response.text).toBe(201);
  }

  /** An application of `accountId` with the out-of-band client `clientId` as its `keyType` keys. */
  async boundClient(accountId: string, clientId: string, keyType = 'PRODUCTION'): Promise<{ owner: string; appId: string }> {
    await this.registerClient(clientId);
    const owner = await this.ownerToken(accountId);
    const appId = await this.application(owner, `${clientId} app`);
    await this.provideKeys(owner, appId, keyType, clientId);
    return { owner, appId };
  }

  async clientCredentials(clientId: string, secret = SECRET, params: Record<string, string> = {}): Promise<request.Response> {
    return request(this.server).post('/token').set('Authorization', basicAuth(clientId, secret))
      .type('form').send({ grant_type: 'client_credentials', ...params });
  }

  async accessToken(clientId: string, secret = SECRET, params: Record<string, string> = {}): Promise<string> {
    const response = await this.clientCredentials(clientId, secret, params);
    expect(response.status, response.text).toBe(200);
    return (response.body as { access_token: string }).access_token;
  }

  /** Introspection by the static admin client, which may introspect any token. */
  async introspect(token: string): Promise<Body> {
    const response = await request(this.server).post('/token/introspection')
      .set('Authorization', basicAuth(ADMIN_CLIENT.id, ADMIN_CLIENT.secret)).type('form').send({ token });
    expect(response.status, response.text).toBe(200);
    return response.body as Body;
  }

  async revoke(token: string, clientId: string, secret = SECRET): Promise<request.Response> {
    return request(this.server).post('/token/revocation')
      .set('Authorization', basicAuth(clientId, secret)).type('form').send({ token });
  }

  async finish(): Promise<void> {
    try {
      expect(await this.#opened.store.verify()).toEqual({ ok: true, problems: [] });
    } finally {
      await this.#harness.close();
      await this.#opened.cleanup();
    }
  }
}

export function expectOAuthError(response: request.Response, status: number, error: string): void {
  expect(response.status, response.text).toBe(status);
  expect((response.body as Body).error).toBe(error);
}

