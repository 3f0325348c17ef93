/**
 * Every read of oidc-provider beyond its hooks and published types (src/provider-internals.ts), made
 * against real providers of the oldest and the newest oidc-provider 9.x the peer range admits. A
 * release that renames or drops what one of them reads fails here.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';

import NewestProvider, { type Configuration } from 'oidc-provider';
import OldestProvider from 'oidc-provider-oldest';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { memoryAdapter } from '../src/memory/provider-adapter.js';
import {
  checkClientSecretExpiration,
  compareWithStandIn,
  constructClient,
  defaultIntrospectionAllowed,
  isStaticClient,
  needsSecret,
} from '../src/provider-internals.js';
import { basicAuth } from '../support/http.js';
import { serviceClient } from './support/provider.js';

type ProviderClass = typeof NewestProvider;
type Provider = InstanceType<ProviderClass>;

const require = createRequire(import.meta.url);
const versionOf = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
const ours = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  peerDependencies: Record<string, string>;
};

const VERSIONS: readonly { name: string; version: string; Provider: ProviderClass }[] = [
  { name: 'oldest', version: versionOf('oidc-provider-oldest'), Provider: OldestProvider },
  { name: 'newest', version: versionOf('oidc-provider'), Provider: NewestProvider },
];

const SERVICE = { id: 'service', secret: 'service-secret-service-secret-service' } as const;
const READER = 'public-reader';

function configuration(extra: Configuration = {}): Configuration {
  return {
    adapter: memoryAdapter(),
    clients: [
      serviceClient(SERVICE.id, SERVICE.secret),
      {
        client_id: READER,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: ['https://reader.example/cb'],
      },
    ],
    scopes: ['api:read'],
    ...extra,
    // the features type is a union keyed on each feature's `enabled`; the spread keeps it
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      ...extra.features,
    } as Configuration['features'],
  };
}

function build(Provider: ProviderClass, extra: Configuration = {}): Provider {
  const provider = new Provider('http://127.0.0.1', configuration(extra));
  provider.proxy = true;
  return provider;
}

const confidential = (clientId: string, extra: Record<string, unknown> = {}) => ({
  client_id: clientId,
  client_secret: `${clientId}-secret`,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  ...extra,
});

it('tests the oldest oidc-provider the peer range admits', () => {
  expect(ours.peerDependencies['oidc-provider']).toBe(`^${VERSIONS[0]!.version}`);
  expect(VERSIONS[1]!.version).toMatch(/^9\./);
  expect(OldestProvider).not.toBe(NewestProvider);
});

describe.each(VERSIONS)('oidc-provider $version ($name)', ({ Provider }) => {
  let provider: Provider;
  beforeAll(() => {
    provider = build(Provider);
  });

  it('marks statically configured clients, and no other', async () => {
    const adapter = memoryAdapter();
    const withStored = build(Provider, { adapter });
    await adapter('Client').upsert('stored', confidential('stored'), 3600);

    const configured = await withStored.Client.find(SERVICE.id);
    const stored = await withStored.Client.find('stored');
    expect(configured).toBeDefined();
    expect(stored).toBeDefined();
    expect(isStaticClient(configured!)).toBe(true);
    expect(isStaticClient(stored!)).toBe(false);
    expect(isStaticClient(constructClient(withStored.Client, confidential('made')))).toBe(false);
  });

  it('tells which metadata needs a client secret', () => {
    expect(needsSecret(provider.Client, { token_endpoint_auth_method: 'client_secret_basic' })).toBe(true);
    expect(needsSecret(provider.Client, { token_endpoint_auth_method: 'client_secret_post' })).toBe(true);
    expect(needsSecret(provider.Client, { token_endpoint_auth_method: 'none' })).toBe(false);
    expect(needsSecret(provider.Client, { token_endpoint_auth_method: 'private_key_jwt' })).toBe(false);
    // HS* signing derives its key from the secret, whatever the authentication method
    expect(
      needsSecret(provider.Client, { token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'HS256' }),
    ).toBe(true);
  });

  it(
    "constructs a client through the provider's schema, which normalizes metadata and refuses bad " +
      'metadata with RFC 7591 codes',
    () => {
      const client = constructClient(provider.Client, confidential('made'));
      expect(client).toBeInstanceOf(provider.Client);
      expect(client.clientId).toBe('made');
      expect(client.metadata()).toMatchObject({
        client_id: 'made',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
      });

      expect(() =>
        constructClient(provider.Client, confidential('bad', { token_endpoint_auth_method: 'no-such-method' })),
      ).toThrow(expect.objectContaining({ error: 'invalid_client_metadata' }));
      expect(() =>
        constructClient(provider.Client, {
          ...confidential('bad'),
          grant_types: ['authorization_code'],
          response_types: ['code'],
          redirect_uris: ['not a uri'],
        }),
      ).toThrow(expect.objectContaining({ error: 'invalid_redirect_uri' }));
    },
  );

  it('refuses a client whose secret has expired, and only such a client', () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = constructClient(provider.Client, confidential('expired', { client_secret_expires_at: now - 60 }));
    const current = constructClient(provider.Client, confidential('current', { client_secret_expires_at: now + 3600 }));
    const lasting = constructClient(provider.Client, confidential('lasting'));
    expect(() => checkClientSecretExpiration(expired)).toThrow(expect.objectContaining({ error: 'invalid_client' }));
    expect(() => checkClientSecretExpiration(current)).not.toThrow();
    expect(() => checkClientSecretExpiration(lasting)).not.toThrow();
  });

  it("compares a secret on a stand-in client, through an operator's override of the comparison", async () => {
    const own = build(Provider);
    expect(await compareWithStandIn(own.Client, 'stand-in-secret', 'stand-in-secret')).toBe(true);
    expect(await compareWithStandIn(own.Client, 'stand-in-secret', 'a guess')).toBe(false);

    const compared: string[] = [];
    const original = own.Client.prototype.compareClientSecret;
    own.Client.prototype.compareClientSecret = function compareClientSecret(actual: string) {
      compared.push(actual);
      return original.call(this, actual);
    };
    expect(await compareWithStandIn(own.Client, 'stand-in-secret', 'another guess')).toBe(false);
    expect(compared).toEqual(['another guess']);
  });

  describe('the default introspection policy', () => {
    interface Served {
      readonly provider: Provider;
      readonly server: Server;
    }
    const serve = (served: Provider): Served => ({ provider: served, server: served.listen(0) as unknown as Server });
    let byDefault: Served;
    let byOurs: Served;
    const decisions: boolean[] = [];
    beforeAll(() => {
      byDefault = serve(build(Provider));
      byOurs = serve(
        build(Provider, {
          features: {
            introspection: {
              enabled: true,
              allowedPolicy: (ctx, client, token) => {
                const allowed = defaultIntrospectionAllowed(ctx, client, token);
                decisions.push(allowed);
                return allowed;
              },
            },
          },
        }),
      );
    });
    afterAll(async () => {
      for (const { server } of [byDefault, byOurs]) await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    /** A token of the public client, made by the provider's own model: no grant gets it one here. */
    async function readerToken({ provider: own }: Served): Promise<string> {
      const client = await own.Client.find(READER);
      return new own.ClientCredentials({ client: client!, scope: 'api:read' }).save();
    }

    /**
     * Whether introspection answers active for a confidential client's own token, a public client's
     * own token, and a public client asking about another's.
     */
    async function answers(served: Served): Promise<boolean[]> {
      const issued = await request(served.server)
        .post('/token')
        .set('Authorization', basicAuth(SERVICE.id, SERVICE.secret))
        .type('form')
        .send({ grant_type: 'client_credentials', scope: 'api:read' });
      expect(issued.status, issued.text).toBe(200);
      const serviceToken = (issued.body as { access_token: string }).access_token;
      const introspect = async (form: Record<string, string>, authorization?: string) => {
        const pending = request(served.server).post('/token/introspection').type('form');
        const response = await (authorization ? pending.set('Authorization', authorization) : pending).send(form);
        expect(response.status, response.text).toBe(200);
        return (response.body as { active: boolean }).active;
      };
      return [
        await introspect({ token: serviceToken }, basicAuth(SERVICE.id, SERVICE.secret)),
        await introspect({ client_id: READER, token: await readerToken(served) }),
        await introspect({ client_id: READER, token: serviceToken }),
      ];
    }

    it("decides as the provider's own default does", async () => {
      const expected = [true, true, false];
      expect(await answers(byDefault)).toEqual(expected);
      expect(await answers(byOurs)).toEqual(expected);
      expect(decisions).toEqual(expected);
    });
  });
});
