import { randomBytes } from 'node:crypto';

import type { Redis } from 'ioredis';

import { redisStore } from '../adapters/redis/store.js';
import type { BindingStore } from '../src/store.js';
import type { Registry } from '../src/registry.js';
import type { Actor } from '../src/types.js';

/** Who the CLI acts as, in the registry's events. */
export const CLI_ACTOR: Actor = { kind: 'admin', id: 'cli' };

/**
 * The provider's start-up notices (development keys, interactions, runtime) concern a server; the CLI's
 * provider never serves, so they would only mislead. Filtered while it is loaded and built, nothing else.
 */
async function withoutProviderNotices<T>(build: () => Promise<T>): Promise<T> {
  const { warn, info } = console;
  const filter = (original: (...args: unknown[]) => void) => (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('oidc-provider ')) return;
    original.apply(console, args);
  };
  console.warn = filter(warn);
  console.info = filter(info);
  try {
    return await build();
  } finally {
    console.warn = warn;
    console.info = info;
  }
}

/**
 * The registry over `store`, with a provider built (never listening) from the development server's
 * configuration for its client schema and static clients: a client registered here is validated exactly
 * as `appkeys serve` would validate it over HTTP, through the same domain rules.
 */
export async function cliRegistry(store: BindingStore, env: NodeJS.ProcessEnv): Promise<Registry> {
  return withoutProviderNotices(async () => {
    const [{ default: Provider }, { appKeys }, { standaloneConfiguration }] = await Promise.all([
      import('oidc-provider'),
      import('../src/app-keys.js'),
      import('./server/standalone.js'),
    ]);
    const issuer = env.ISSUER || `http://localhost:${env.PORT || 3000}`;
    // as the server stores secrets, so that an import hashes them when the server does
    const keys = appKeys({ store, provideKeys: { enabled: true }, ...(env.APPKEYS_HASH_SECRETS === '1' && { secrets: { hash: 'scrypt' } }) });
    const provider = new Provider(issuer, keys.configuration(standaloneConfiguration({
      issuer,
      adminClientId: env.APPKEYS_ADMIN_CLIENT_ID || 'appkeys-admin',
      // only its presence matters: the static admin client must be valid to build the provider
      adminClientSecret: randomBytes(24).toString('base64url'),
    })));
    return keys.registry(provider);
  });
}

/** The Redis store the server uses, with a longer bound per call: the CLI is not answering a request. */
export function cliRedisStore(client: Redis, prefix: string): BindingStore {
  return redisStore({ client, prefix, timeoutMs: 5000 });
}
