import type { Server } from 'node:http';

import Provider, { type Configuration } from 'oidc-provider';

export const ISSUER = 'http://127.0.0.1';

/** Client metadata of a confidential client_credentials client, for tests. */
export function serviceClient(
  clientId: string,
  clientSecret: string,
  scope = 'api:read',
): NonNullable<Configuration['clients']>[number] {
  return {
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope,
  };
}

/**
 * The provider configuration the tests build on: client credentials, introspection and revocation on,
 * opaque tokens, the scopes appkeys uses.
 */
export function baseConfiguration(overrides: Configuration = {}): Configuration {
  return {
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      devInteractions: { enabled: true },
    },
    scopes: ['openid', 'offline_access', 'api:read', 'appkeys', 'appkeys:admin', 'appkeys:resolve'],
    pkce: { required: () => false },
    ...overrides,
  };
}

export function buildProvider(configuration: Configuration, issuer = ISSUER): Provider {
  const provider = new Provider(issuer, configuration);
  // tests drive the provider over plain http on loopback
  provider.proxy = true;
  return provider;
}

/** A node http.Server serving the provider, for supertest. */
export function serve(provider: Provider): Server {
  return provider.listen(0) as unknown as Server;
}
