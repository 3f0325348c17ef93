import type { AdapterFactory, Configuration } from 'oidc-provider';
import request from 'supertest';
import { expect } from 'vitest';

import { memoryStore } from '../../src/memory/store.js';
import { redisAdapter, redisStore } from '../../adapters/redis/index.js';
import type { AppKeysOptions } from '../../src/options.js';
import type { BindingStore } from '../../src/store.js';
import { ADMIN_CLIENT, startAppKeys, type AppKeysHarness } from './appkeys.js';
import { basicAuth } from '../../support/http.js';
import { baseConfiguration } from './provider.js';
import type { TestRedis } from './redis.js';

/** Where a subject keeps its state: the appkeys store, and (optionally) every other provider model. */
export interface Backend {
  readonly name: string;
  open(): Promise<{ store: BindingStore; adapter?: AdapterFactory; cleanup(): Promise<void> }>;
}

export const memoryBackend: Backend = {
  name: 'memory',
  async open() {
    const store = memoryStore({ warn: () => {} });
    return { store, cleanup: () => store.close() };
  },
};

/** A Redis store and the Redis provider adapter on their own client, under a fresh prefix. */
export function redisBackend(redis: () => TestRedis): Backend {
  return {
    name: 'redis',
    async open() {
      const server = redis();
      const client = server.client();
      const prefix = server.namespace('routes');
      const store = redisStore({ client, prefix: `${prefix}appkeys:` });
      return {
        store,
        adapter: redisAdapter({ client, prefix: `${prefix}oidc:` }),
        async cleanup() {
          await store.close();
          client.disconnect();
        },
      };
    },
  };
}

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

interface Recorded {
  readonly method: Method;
  readonly path: string;
  readonly status: number;
  readonly text: string;
}

/** Metadata of a confidential client_credentials client, as an operator would PUT it. */
export function oobMetadata(secret: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    client_secret: secret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'api:read',
    ...extra,
  };
}

/** Generating keys and rotating a secret are the only answers allowed to show a secret. */
function mayShowSecret(method: Method, path: string): boolean {
  return method === 'post' && /\/keys\/[^/]+(\/secret)?$/.test(path.split('?')[0]!);
}

/**
 * A real provider with appkeys mounted, on the given backend, plus what the route tests need: the
 * management API driven over HTTP with every answer recorded, every secret the test used remembered,
 * tokens at /token and introspection.
 */
export class Subject {
  readonly harness: AppKeysHarness;
  readonly #cleanup: () => Promise<void>;
  readonly #owners = new Map<string, Promise<string>>();
  #admin: Promise<string> | undefined;
  /** Every secret this test has used or been shown. */
  readonly secrets = new Set<string>([ADMIN_CLIENT.secret]);
  readonly responses: Recorded[] = [];

  private constructor(harness: AppKeysHarness, cleanup: () => Promise<void>) {
    this.harness = harness;
    this.#cleanup = cleanup;
  }

  static async start(backend: Backend, options: AppKeysOptions = {}, configuration: Configuration = {}): Promise<Subject> {
    const opened = await backend.open();
    const features = { ...baseConfiguration().features, ...configuration.features } as Configuration['features'];
    try {
      const harness = await startAppKeys(
        { provideKeys: { enabled: true }, ...options, store: opened.store },
        { ...configuration, features, ...(opened.adapter && { adapter: opened.adapter }) },
      );
      return new Subject(harness, opened.cleanup);
    } catch (error) {
      await opened.cleanup();
      throw error;
    }
  }

  get server() {
    return this.harness.server;
  }

  get events() {
    return this.harness.events;
  }

  /** Remembers a secret, so that the leak check looks for it; returns it. */
  secret(value: string): string {
    this.secrets.add(value);
    return value;
  }

  admin(): Promise<string> {
    this.#admin ??= this.harness.adminToken();
    return this.#admin;
  }

  owner(accountId: string): Promise<string> {
    let token = this.#owners.get(accountId);
    if (!token) {
      token = this.harness.ownerToken(accountId);
      this.#owners.set(accountId, token);
    }
    return token;
  }

  /** One call to the management API with a Bearer token (none when `token` is undefined). */
  async call(method: Method, path: string, token: string | undefined, body?: unknown): Promise<request.Response> {
    let pending = request(this.server)[method](path);
    if (token !== undefined) pending = pending.set('Authorization', `Bearer ${token}`);
    const response = body === undefined ? await pending : await pending.send(body as object);
    this.responses.push({ method, path, status: response.status, text: response.text });
    const shown = (response.body as { client_secret?: unknown } | undefined)?.client_secret;
    if (typeof shown === 'string' && mayShowSecret(method, path)) this.secrets.add(shown);
    return response;
  }

  get(path: string, token: string | undefined): Promise<request.Response> { return this.call('get', path, token); }
  post(path: string, token: string | undefined, body?: unknown): Promise<request.Response> { return this.call('post', path, token, body); }
  put(path: string, token: string | undefined, body?: unknown): Promise<request.Response> { return this.call('put', path, token, body); }
  patch(path: string, token: string | undefined, body?: unknown): Promise<request.Response> { return this.call('patch', path, token, body); }
  delete(path: string, token: string | undefined): Promise<request.Response> { return this.call('delete', path, token); }

  /** An application of `owner`, created through the API; resolves its id. */
  async application(ownerToken: string, name: string): Promise<string> {
    const response = await this.post('/appkeys/applications', ownerToken, { name });
    expect(response.status, response.text).toBe(201);
    return (response.body as { id: string }).id;
  }

  /** An out-of-band client registered by the admin with the given secret. */
  async registerClient(clientId: string, secret: string, extra: Record<string, unknown> = {}): Promise<void> {
    this.secret(secret);
    const response = await this.put(`/appkeys/clients/${encodeURIComponent(clientId)}`, await this.admin(), oobMetadata(secret, extra));
    expect([200, 201], response.text).toContain(response.status);
  }

  /** A client_credentials token request at the provider's own token endpoint. */
  async clientCredentials(clientId: string, secret: string, scope?: string): Promise<request.Response> {
    return request(this.server).post('/token').set('Authorization', basicAuth(clientId, secret))
      .type('form').send({ grant_type: 'client_credentials', ...(scope !== undefined && { scope }) });
  }

  /** A client_credentials access token, or a failed assertion. */
  async accessToken(clientId: string, secret: string, scope?: string): Promise<string> {
    const response = await this.clientCredentials(clientId, secret, scope);
    expect(response.status, response.text).toBe(200);
    return (response.body as { access_token: string }).access_token;
  }

  /** Introspection by the static admin client, which always exists and may introspect any token. */
  async introspect(token: string): Promise<Record<string, unknown>> {
    const response = await request(this.server).post('/token/introspection')
      .set('Authorization', basicAuth(ADMIN_CLIENT.id, ADMIN_CLIENT.secret)).type('form').send({ token });
    expect(response.status, response.text).toBe(200);
    return response.body as Record<string, unknown>;
  }

  /** Events of one name, in order. */
  eventsNamed(name: string): Array<Record<string, unknown>> {
    return this.events.filter((event) => event.name === name).map((event) => event.payload as Record<string, unknown>);
  }

  /** No event payload and no answer other than generating or rotating keys holds a secret of this test. */
  expectNoSecretLeaked(): void {
    for (const secret of this.secrets) {
      for (const event of this.events) {
        expect(JSON.stringify(event.payload), `event ${event.name} holds a secret`).not.toContain(secret);
      }
      for (const response of this.responses) {
        if (mayShowSecret(response.method, response.path)) continue;
        expect(response.text, `${response.method.toUpperCase()} ${response.path} answered with a secret`).not.toContain(secret);
      }
    }
  }

  /** Checks the store's invariants and releases everything. */
  async finish(): Promise<void> {
    try {
      expect(await this.harness.keys.store.verify()).toEqual({ ok: true, problems: [] });
    } finally {
      await this.harness.close();
      await this.#cleanup();
    }
  }
}
