import type { Server } from 'node:http';

import type { Configuration } from 'oidc-provider';
import request from 'supertest';

import type { AppKeysOptions } from '../../src/options.js';
import { appKeys, type AppKeys } from '../../src/app-keys.js';
import { authorizationCodeFlow } from './auth-code.js';
import { basicAuth } from '../../support/http.js';
import { baseConfiguration, buildProvider, serve, serviceClient } from './provider.js';

export const ADMIN_CLIENT = { id: 'appkeys-admin', secret: 'admin-secret-admin-secret-admin-secret' } as const;
export const PORTAL_CLIENT = { id: 'portal', redirectUri: 'http://portal.example/cb' } as const;

export interface AppKeysHarness {
  readonly keys: AppKeys;
  readonly provider: ReturnType<typeof buildProvider>;
  readonly server: Server;
  /** A client_credentials token with the `appkeys:admin` scope. */
  adminToken(): Promise<string>;
  /** An access token for `accountId` with the `appkeys` scope, through the authorization-code flow. */
  ownerToken(accountId: string): Promise<string>;
  /** Every event the provider emitted, in order, with its payload. */
  readonly events: Array<{ name: string; payload: unknown }>;
  close(): Promise<void>;
}

/**
 * A real provider with appkeys mounted on its own Koa app, served over HTTP for supertest: an admin
 * service client and a public "portal" client that owners sign in through.
 */
export async function startAppKeys(
  options: AppKeysOptions,
  configuration: Configuration = {},
): Promise<AppKeysHarness> {
  const keys = appKeys(options);
  const base = baseConfiguration(configuration);
  const provider = buildProvider(
    keys.configuration({
      ...base,
      clients: [
        serviceClient(ADMIN_CLIENT.id, ADMIN_CLIENT.secret, 'appkeys:admin'),
        {
          client_id: PORTAL_CLIENT.id,
          token_endpoint_auth_method: 'none',
          redirect_uris: [PORTAL_CLIENT.redirectUri],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          scope: 'openid appkeys',
        },
        ...(configuration.clients ?? []),
      ],
    }),
  );
  keys.mount(provider);
  const events: AppKeysHarness['events'] = [];
  const originalEmit = provider.emit.bind(provider);
  provider.emit = ((name: string, ...args: unknown[]) => {
    if (name.startsWith('appkeys.')) events.push({ name, payload: args[0] });
    return originalEmit(name, ...args);
  }) as typeof provider.emit;
  const server = serve(provider);

  return {
    keys,
    provider,
    server,
    events,
    async adminToken() {
      const response = await request(server)
        .post('/token')
        .set('Authorization', basicAuth(ADMIN_CLIENT.id, ADMIN_CLIENT.secret))
        .type('form')
        .send({ grant_type: 'client_credentials', scope: 'appkeys:admin' });
      if (response.status !== 200) throw new Error(`admin token: ${response.status} ${response.text}`);
      return (response.body as { access_token: string }).access_token;
    },
    async ownerToken(accountId: string) {
      const tokens = await authorizationCodeFlow(server, {
        clientId: PORTAL_CLIENT.id,
        redirectUri: PORTAL_CLIENT.redirectUri,
        scope: 'openid appkeys',
        accountId,
      });
      return tokens.access_token;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
