import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import Provider from 'oidc-provider';

import { redisAdapter, redisStore } from '../../../adapters/redis/index.js';
import { appKeys, type AppKeys } from '../../../src/app-keys.js';
import { memoryStore } from '../../../src/memory/store.js';
import type { AppKeysOptions } from '../../../src/options.js';
import { basicAuth } from '../../../support/http.js';
import { baseConfiguration } from '../../support/provider.js';
import type { TestRedis } from '../../support/redis.js';

export const PORTAL_CLIENT_ID = 'appkeys-portal';
export const ADMIN_ACCOUNT = 'admin';

export interface PortalServer {
  /** The issuer, `http://127.0.0.1:<port>`. */
  readonly issuer: string;
  /** The portal's home page. */
  readonly portal: string;
  readonly keys: AppKeys;
  readonly provider: Provider;
  /** A client_credentials token request, answered as JSON. */
  clientToken(clientId: string, secret: string): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Introspection of `token`, authenticated as the client that holds it. */
  introspect(clientId: string, secret: string, token: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface PortalServerSettings {
  /** Keep the registry and the provider's models (portal sessions among them) in this Redis. */
  readonly redis?: TestRedis;
  readonly appkeys?: Omit<AppKeysOptions, 'store' | 'portal'>;
}

/**
 * A provider with appkeys and its portal on a loopback port, the issuer naming that port, the way
 * `npm start` serves them: the development login, the static portal client, `admin` as the admin.
 */
export async function startPortalServer(settings: PortalServerSettings = {}): Promise<PortalServer> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const redis = settings.redis?.client();
  const namespace = settings.redis?.namespace('portal') ?? '';

  const keys = appKeys({
    provideKeys: { enabled: true },
    ...settings.appkeys,
    store: redis ? redisStore({ client: redis, prefix: `${namespace}appkeys:` }) : memoryStore({ warn: () => {} }),
    portal: { enabled: true, admins: [ADMIN_ACCOUNT] },
  });
  const provider = new Provider(
    issuer,
    keys.configuration({
      ...baseConfiguration(),
      ...(redis && { adapter: redisAdapter({ client: redis, prefix: `${namespace}oidc:` }) }),
      clients: [
        {
          client_id: PORTAL_CLIENT_ID,
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
          response_types: ['code'],
          redirect_uris: [`${issuer}/appkeys/portal/callback`],
          scope: 'openid appkeys',
        },
      ],
    }),
  );
  keys.mount(provider);
  server.on('request', provider.callback());

  const form = async (path: string, clientId: string, secret: string, fields: Record<string, string>) => {
    const response = await fetch(`${issuer}${path}`, {
      method: 'POST',
      headers: { authorization: basicAuth(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  return {
    issuer,
    portal: `${issuer}/appkeys/portal/`,
    keys,
    provider,
    clientToken: (clientId, secret) => form('/token', clientId, secret, { grant_type: 'client_credentials' }),
    async introspect(clientId, secret, token) {
      return (await form('/token/introspection', clientId, secret, { token })).body;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await keys.store.close();
    },
  };
}
