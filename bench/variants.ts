import type { Configuration, default as Provider } from 'oidc-provider';

import { benchClientMetadata, BENCH_CLIENT } from './workload.js';

/** What the parent hands a server child (through its environment). */
export interface VariantContext {
  /** The Redis to use; set for variants with `redis: true`. */
  readonly redisUrl: string | undefined;
  /** A key prefix of this run's own, so that runs sharing a Redis never see each other's keys. */
  readonly prefix: string;
}

export interface BuiltServer {
  readonly provider: Provider;
  /** Releases what `create` opened (Redis connections), after the HTTP server has closed. */
  close(): Promise<void>;
}

/** One server under test. Add a row to VARIANTS to benchmark another setup. */
export interface ServerVariant {
  /** One line for the printout. */
  readonly description: string;
  /** Whether it talks to Redis: it is then given `redisUrl`, and its commands per request are counted. */
  readonly redis: boolean;
  /** Builds the provider; runs in the server child process. */
  create(context: VariantContext): Promise<BuiltServer>;
}

/**
 * The configuration every token-endpoint variant shares, so that a pair differs only in what it is
 * meant to compare: client_credentials with opaque tokens (no resource indicator, hence no JWT) for one
 * static confidential client. Only what the token endpoint needs is enabled.
 */
export function tokenEndpointConfiguration(overrides: Configuration = {}): Configuration {
  return {
    clients: [benchClientMetadata()],
    scopes: [BENCH_CLIENT.scope],
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
    },
    // the provider's default (10 minutes), spelled out so that it does not warn and cannot drift
    ttl: { ClientCredentials: 600 },
    ...overrides,
  };
}

const ISSUER = 'http://127.0.0.1';

/**
 * The parent process reads this table too (names, descriptions); what a server needs is imported only
 * when one is built, so the load generator loads neither oidc-provider nor a Redis client.
 */
async function newProvider(configuration: Configuration): Promise<Provider> {
  const { default: ProviderClass } = await import('oidc-provider');
  return new ProviderClass(ISSUER, configuration);
}

function redisUrlOf(context: VariantContext, variant: string): string {
  if (!context.redisUrl) throw new Error(`server variant "${variant}" needs a Redis URL (BENCH_REDIS_URL)`);
  return context.redisUrl;
}

export const VARIANTS = {
  memory: {
    description: 'oidc-provider default in-memory adapter',
    redis: false,
    async create() {
      const provider = await newProvider(tokenEndpointConfiguration());
      return { provider, async close() {} };
    },
  },
  redis: {
    description: 'redisAdapter (ioredis, default client options)',
    redis: true,
    async create(context) {
      const [{ Redis }, { redisAdapter }] = await Promise.all([import('ioredis'), import('../adapters/redis/index.js')]);
      const client = new Redis(redisUrlOf(context, 'redis'));
      const provider = await newProvider(tokenEndpointConfiguration({
        adapter: redisAdapter({ client, prefix: context.prefix }),
      }));
      return {
        provider,
        async close() {
          client.disconnect();
        },
      };
    },
  },
} satisfies Record<string, ServerVariant>;

export type VariantName = keyof typeof VARIANTS;

export function isVariantName(name: string): name is VariantName {
  return Object.hasOwn(VARIANTS, name);
}

export function variant(name: VariantName): ServerVariant {
  return VARIANTS[name];
}
