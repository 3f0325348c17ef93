import type { Configuration } from 'oidc-provider';
import request from 'supertest';
import { afterEach, expect } from 'vitest';

import type { AppKeysOptions } from '../../src/options.js';
import { basicAuth } from '../../support/http.js';
import { ADMIN_CLIENT, startAppKeys, type AppKeysHarness } from './appkeys.js';
import type { Backend, Opened } from './backends.js';
import { baseConfiguration } from './provider.js';

export const SECRET = 'oob-secret-0123456789abcdef0123456789abcdef';
export const API = 'https://api.example';

export type Body = Record<string, unknown>;
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
 * A real provider with appkeys mounted, on one backend, driven over HTTP as a portal and its clients
 * would: the management API with every answer recorded, every secret the test used remembered, tokens
 * at /token, introspection and revocation.
 */
export class Subject {
  readonly harness: AppKeysHarness;
  readonly #opened: Opened;
  readonly #owners = new Map<string, Promise<string>>();
  #admin: Promise<string> | undefined;
  /** Every secret this test has used or been shown. */
  readonly secrets = new Set<string>([ADMIN_CLIENT.secret]);
  readonly responses: Recorded[] = [];

  private constructor(harness: AppKeysHarness, opened: Opened) {
    this.harness = harness;
    this.#opened = opened;
  }

  static async start(
    backend: Backend,
    options: AppKeysOptions = {},
    configuration: Configuration = {},
  ): Promise<Subject> {
    const opened = await backend.open();
    const features = { ...baseConfiguration().features, ...configuration.features } as Configuration['features'];
    try {
      const harness = await startAppKeys(
        { provideKeys: { enabled: true }, ...options, store: opened.store },
        { ...configuration, features, ...(opened.adapter && { adapter: opened.adapter }) },
      );
      return new Subject(harness, opened);
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

  /** Tokens the provider holds now (see `Opened.storedTokens`). */
  storedTokens(): Promise<number> {
    if (!this.#opened.storedTokens) throw new Error('this backend does not count its tokens');
    return this.#opened.storedTokens();
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

  /** The owner token of `accountId` for this test: one sign-in per account. */
  owner(accountId: string): Promise<string> {
    let token = this.#owners.get(accountId);
    if (!token) {
      token = this.harness.ownerToken(accountId);
      this.#owners.set(accountId, token);
    }
    return token;
  }

  /** A new owner token of `accountId`, from a sign-in of its own. */
  ownerToken(accountId: string): Promise<string> {
    return this.harness.ownerToken(accountId);
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

  get(path: string, token: string | undefined): Promise<request.Response> {
    return this.call('get', path, token);
  }
  post(path: string, token: string | undefined, body?: unknown): Promise<request.Response> {
    return this.call('post', path, token, body);
  }
  put(path: string, token: string | undefined, body?: unknown): Promise<request.Response> {
    return this.call('put', path, token, body);
  }
  patch(path: string, token: string | undefined, body?: unknown): Promise<request.Response> {
    return this.call('patch', path, token, body);
  }
  delete(path: string, token: string | undefined): Promise<request.Response> {
    return this.call('delete', path, token);
  }

  /** An application of the owner of `ownerToken`, created through the API; resolves its id. */
  async application(ownerToken: string, name: string): Promise<string> {
    const response = await this.post('/appkeys/applications', ownerToken, { name });
    expect(response.status, response.text).toBe(201);
    return (response.body as { id: string }).id;
  }

  /** An out-of-band client registered by the admin with the given secret. */
  async registerClient(clientId: string, secret = SECRET, extra: Record<string, unknown> = {}): Promise<void> {
    this.secret(secret);
    const response = await this.put(
      `/appkeys/clients/${encodeURIComponent(clientId)}`,
      await this.admin(),
      oobMetadata(secret, extra),
    );
    expect([200, 201], response.text).toContain(response.status);
  }

  async provideKeys(
    ownerToken: string,
    appId: string,
    keyType: string,
    clientId: string,
    secret = SECRET,
  ): Promise<void> {
    const response = await this.put(`/appkeys/applications/${appId}/keys/${keyType}`, ownerToken, {
      client_id: clientId,
      client_secret: secret,
    });
    expect(response.status, response.text).toBe(201);
  }

  /** An application of `accountId` with the out-of-band client `clientId` as its `keyType` keys. */
  async boundClient(
    accountId: string,
    clientId: string,
    keyType = 'PRODUCTION',
  ): Promise<{ owner: string; appId: string }> {
    await this.registerClient(clientId);
    const owner = await this.ownerToken(accountId);
    const appId = await this.application(owner, `${clientId} app`);
    await this.provideKeys(owner, appId, keyType, clientId);
    return { owner, appId };
  }

  /** A client_credentials token request at the provider's own token endpoint. */
  async clientCredentials(
    clientId: string,
    secret = SECRET,
    params: Record<string, string> = {},
  ): Promise<request.Response> {
    return request(this.server)
      .post('/token')
      .set('Authorization', basicAuth(clientId, secret))
      .type('form')
      .send({ grant_type: 'client_credentials', ...params });
  }

  /** A client_credentials access token, or a failed assertion. */
  async accessToken(clientId: string, secret = SECRET, params: Record<string, string> = {}): Promise<string> {
    const response = await this.clientCredentials(clientId, secret, params);
    expect(response.status, response.text).toBe(200);
    return (response.body as { access_token: string }).access_token;
  }

  /** Introspection by the static admin client, which always exists and may introspect any token. */
  async introspect(token: string): Promise<Body> {
    const response = await request(this.server)
      .post('/token/introspection')
      .set('Authorization', basicAuth(ADMIN_CLIENT.id, ADMIN_CLIENT.secret))
      .type('form')
      .send({ token });
    expect(response.status, response.text).toBe(200);
    return response.body as Body;
  }

  async revoke(token: string, clientId: string, secret = SECRET): Promise<request.Response> {
    return request(this.server)
      .post('/token/revocation')
      .set('Authorization', basicAuth(clientId, secret))
      .type('form')
      .send({ token });
  }

  /** Events of one name, in order. */
  eventsNamed(name: string): Body[] {
    return this.events.filter((event) => event.name === name).map((event) => event.payload as Body);
  }

  /** No event payload and no answer other than generating or rotating keys holds a secret of this test. */
  expectNoSecretLeaked(): void {
    for (const secret of this.secrets) {
      for (const event of this.events) {
        expect(JSON.stringify(event.payload), `event ${event.name} holds a secret`).not.toContain(secret);
      }
      for (const response of this.responses) {
        if (mayShowSecret(response.method, response.path)) continue;
        expect(response.text, `${response.method.toUpperCase()} ${response.path} answered with a secret`).not.toContain(
          secret,
        );
      }
    }
  }

  /** Checks the store's invariants and releases everything. */
  async finish(): Promise<void> {
    try {
      expect(await this.#opened.store.verify()).toEqual({ ok: true, problems: [] });
    } finally {
      await this.harness.close();
      await this.#opened.cleanup();
    }
  }
}

/**
 * Starts subjects on `backend` for the tests of the describe it is called in; after each test, every
 * subject it started is checked (no secret leaked, with `expectNoLeaks`; the store's invariants) and
 * closed.
 */
export function subjectsPerTest(
  backend: Backend,
  { expectNoLeaks = false } = {},
): (options?: AppKeysOptions, configuration?: Configuration) => Promise<Subject> {
  const started: Subject[] = [];
  afterEach(async () => {
    for (const subject of started.splice(0)) {
      try {
        if (expectNoLeaks) subject.expectNoSecretLeaked();
      } finally {
        await subject.finish();
      }
    }
  });
  return async (options, configuration) => {
    const subject = await Subject.start(backend, options, configuration);
    started.push(subject);
    return subject;
  };
}
