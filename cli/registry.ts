import { randomBytes } from 'node:crypto';

import type { Cluster, Redis } from 'ioredis';
import type { Configuration } from 'oidc-provider';

import { redisStore } from '../adapters/redis/store.js';
import type { AppKeysOptions } from '../src/options.js';
import type { BindingStore } from '../src/store.js';
import type { Registry } from '../src/registry.js';
import type { Actor } from '../src/types.js';
import type { CommandContext } from './spec.js';

/** Who the CLI acts as, in the registry's events. */
export const CLI_ACTOR: Actor = { kind: 'admin', id: 'cli' };

/**
 * The provider's start-up notices (development keys, interactions, runtime) concern a server; the CLI's
 * provider never serves, so they would only mislead. Filtered while it is loaded and built, nothing else.
 */
async function withoutProviderNotices<T>(build: () => Promise<T>): Promise<T> {
  const { warn, info } = console;
  const filter =
    (original: (...args: unknown[]) => void) =>
    (...args: unknown[]) => {
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

interface ProviderSource {
  readonly issuer: string;
  readonly configuration: Configuration;
  readonly appkeys: Omit<AppKeysOptions, 'store'>;
}

/** The development server's, as `serve` without `--config` runs it (same environment variables). */
async function developmentSource(env: NodeJS.ProcessEnv): Promise<ProviderSource> {
  const { standaloneConfiguration } = await import('./server/standalone.js');
  const issuer = env.ISSUER || `http://localhost:${env.PORT || 3000}`;
  return {
    issuer,
    configuration: standaloneConfiguration({
      issuer,
      adminClientId: env.APPKEYS_ADMIN_CLIENT_ID || 'appkeys-admin',
      // only its presence matters: the static admin client must be valid to build the provider
      adminClientSecret: randomBytes(24).toString('base64url'),
    }),
    // as the server stores secrets, so that an import hashes them when the server does
    appkeys: {
      provideKeys: { enabled: true },
      ...(env.APPKEYS_HASH_SECRETS === '1' && { secrets: { hash: 'scrypt' } }),
      // as the development server, beside which a third-party issuer may run on http://localhost
      issuers: { allowHttpLoopback: true },
    },
  };
}

/**
 * The registry over `store`, with a provider built (never listening) from the configuration `serve`
 * would run — the operator module's with `--config`, else the development server's — for its client
 * schema, its static clients and its `extraClientMetadata`: a client registered here is validated
 * exactly as that server would validate it over HTTP, through the same domain rules.
 */
export async function cliRegistry(
  store: BindingStore,
  context: Pick<CommandContext, 'operator' | 'io'>,
): Promise<Registry> {
  return withoutProviderNotices(async () => {
    const [{ default: Provider }, { appKeys }, source] = await Promise.all([
      import('oidc-provider'),
      import('../src/app-keys.js'),
      context.operator ?? developmentSource(context.io.env),
    ]);
    const keys = appKeys({ ...source.appkeys, store });
    const provider = new Provider(source.issuer, keys.configuration(source.configuration));
    return keys.registry(provider);
  });
}

/** The Redis store the server uses, with a longer bound per call: the CLI is not answering a request. */
export function cliRedisStore(client: Redis | Cluster, prefix: string): BindingStore {
  return redisStore({ client, prefix, timeoutMs: 5000 });
}
