import type { Cluster, Redis } from 'ioredis';
import type { Adapter, ClientMetadata, Configuration, default as Provider } from 'oidc-provider';

import type { SecretsOptions } from '../src/secrets/options.js';
import { adminClientMetadata, benchClientMetadata, BENCH_ADMIN, BENCH_CLIENT } from './workload.js';

/** What the parent hands a server child (through its environment). */
export interface VariantContext {
  /** The Redis to use; set for variants with `redis: true`, unless `clusterNodes` is. */
  readonly redisUrl: string | undefined;
  /** A Redis Cluster to use instead (`host:port` of its nodes): the variant then talks to it as ioredis Cluster. */
  readonly clusterNodes?: readonly string[] | undefined;
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
  /** Whether the bench client is bound to an application, so that its tokens carry the binding. */
  readonly bound: boolean;
  /** Builds the provider, with the bench client registered; runs in the server child process. */
  create(context: VariantContext): Promise<BuiltServer>;
}

/**
 * The configuration every token-endpoint variant shares, so that a pair differs only in what it is
 * meant to compare: client_credentials with opaque tokens (no resource indicator, hence no JWT).
 * The bench client is NOT static: static clients are cached by the provider and cost no lookup, so each
 * variant registers it in its Client model (see `registerDynamicClient`) and every token request reads
 * it back, as it would for any client registered at run time. The static admin client (appkeys routes)
 * and introspection (to check what tokens carry) are there in every variant; neither touches the token
 * request of the bench client.
 */
export function tokenEndpointConfiguration(overrides: Configuration = {}): Configuration {
  return {
    clients: [adminClientMetadata()],
    scopes: [BENCH_CLIENT.scope, BENCH_ADMIN.scope],
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      devInteractions: { enabled: false },
    },
    // the provider's default (10 minutes), spelled out so that it does not warn and cannot drift
    ttl: { ClientCredentials: 600 },
    ...overrides,
  };
}

const ISSUER = 'http://127.0.0.1';

/** Redis key prefixes of a server variant: the provider's models and the appkeys store. */
export function adapterPrefix(context: Pick<VariantContext, 'prefix'>): string {
  return `${context.prefix}oidc:`;
}

export function storePrefix(context: Pick<VariantContext, 'prefix'>): string {
  return `${context.prefix}appkeys:`;
}

/**
 * The parent process reads this table too (names, descriptions); what a server needs is imported only
 * when one is built, so the load generator loads neither oidc-provider nor a Redis client.
 */
async function newProvider(configuration: Configuration): Promise<Provider> {
  const { default: ProviderClass } = await import('oidc-provider');
  return new ProviderClass(ISSUER, configuration);
}

/** Client metadata as the provider's own schema normalizes it (what registration would store). */
export function normalizedMetadata(provider: Provider, metadata: ClientMetadata): ClientMetadata {
  // the published types omit the constructor's metadata parameter
  const Construct = provider.Client as unknown as new (metadata: ClientMetadata) => { metadata(): ClientMetadata };
  return new Construct(metadata).metadata();
}

/**
 * Registers the bench client as dynamic registration (RFC 7591) would: its normalized metadata upserted
 * through the provider's own Client-model adapter.
 */
async function registerDynamicClient(provider: Provider): Promise<void> {
  // `Client.adapter` is the model's adapter instance; the published types leave it out
  const { adapter } = provider.Client as unknown as { adapter: Adapter };
  const metadata = normalizedMetadata(provider, benchClientMetadata());
  await adapter.upsert(metadata.client_id, { ...metadata });
}

/** The variant's Redis client: an ioredis Cluster on the cluster's nodes if given one, else one connection. */
async function redisClientOf(
  context: VariantContext,
  variant: string,
  { enableAutoPipelining = false } = {},
): Promise<Redis | Cluster> {
  const { Cluster, Redis } = await import('ioredis');
  if (context.clusterNodes && context.clusterNodes.length > 0) {
    return new Cluster(
      context.clusterNodes.map((node) => {
        const [host = '', port = ''] = node.split(':');
        return { host, port: Number(port) };
      }),
      { enableAutoPipelining },
    );
  }
  if (!context.redisUrl) throw new Error(`server variant "${variant}" needs a Redis URL (BENCH_REDIS_URL)`);
  return new Redis(context.redisUrl, { enableAutoPipelining });
}

interface AppkeysSetup {
  /** How the client's secret is kept. */
  readonly secrets?: SecretsOptions;
  /** redisStore's `clientCache`: client records served from process memory, invalidated by Redis. */
  readonly clientCache?: boolean;
  /** ioredis' `enableAutoPipelining`: commands of concurrent requests sent in one write. */
  readonly pipelined?: boolean;
}

/**
 * appkeys on redisStore + redisAdapter (one ioredis client), the bench client registered out of band and
 * bound through the registry: the same steps as the HTTP API.
 */
async function appkeysServer(
  context: VariantContext,
  variant: string,
  { secrets, clientCache, pipelined }: AppkeysSetup = {},
): Promise<BuiltServer> {
  const [{ redisAdapter, redisStore }, { appKeys }] = await Promise.all([
    import('../adapters/redis/index.js'),
    import('../src/index.js'),
  ]);
  const client = await redisClientOf(context, variant, { enableAutoPipelining: pipelined });
  const keys = appKeys({
    store: redisStore({ client, prefix: storePrefix(context), ...(clientCache && { clientCache }) }),
    provideKeys: { enabled: true },
    ...(secrets && { secrets }),
  });
  const provider = await newProvider(
    keys.configuration(
      tokenEndpointConfiguration({
        adapter: redisAdapter({ client, prefix: adapterPrefix(context) }),
      }),
    ),
  );
  keys.mount(provider);
  const registry = keys.registry(provider);
  const admin = { kind: 'admin', id: `client:${BENCH_ADMIN.clientId}` } as const;
  const { client_id: clientId, client_secret: clientSecret, ...metadata } = benchClientMetadata();
  await registry.registerClient(admin, clientId, { ...metadata, client_secret: clientSecret });
  const application = await registry.createApplication(admin, { name: 'bench application', owner: 'bench-owner' });
  await registry.provideKeys(admin, application.id, 'PRODUCTION', { client_id: clientId, client_secret: clientSecret });
  return {
    provider,
    async close() {
      client.disconnect();
    },
  };
}

export const VARIANTS = {
  memory: {
    description: "oidc-provider's default in-memory adapter; bench client registered dynamically in it",
    redis: false,
    bound: false,
    async create() {
      const provider = await newProvider(tokenEndpointConfiguration());
      await registerDynamicClient(provider);
      return { provider, async close() {} };
    },
  },
  redis: {
    description: 'redisAdapter for every model (ioredis, default options); bench client registered dynamically in it',
    redis: true,
    bound: false,
    async create(context) {
      const { redisAdapter } = await import('../adapters/redis/index.js');
      const client = await redisClientOf(context, 'redis');
      const provider = await newProvider(
        tokenEndpointConfiguration({
          adapter: redisAdapter({ client, prefix: adapterPrefix(context) }),
        }),
      );
      await registerDynamicClient(provider);
      return {
        provider,
        async close() {
          client.disconnect();
        },
      };
    },
  },
  'redis-appkeys': {
    description:
      'appkeys on redisStore + redisAdapter (one ioredis client); bench client registered out of band' +
      ' and bound to an application (PRODUCTION, provided keys)',
    redis: true,
    bound: true,
    create: (context) => appkeysServer(context, 'redis-appkeys'),
  },
  'redis-appkeys-cached': {
    description:
      'redis-appkeys with redisStore({ clientCache: true }): the client record read from process memory,' +
      ' invalidated by Redis (client-side caching)',
    redis: true,
    bound: true,
    create: (context) => appkeysServer(context, 'redis-appkeys-cached', { clientCache: true }),
  },
  'redis-appkeys-fast': {
    description:
      'redis-appkeys-cached on an ioredis client with enableAutoPipelining: the client record from process' +
      ' memory, and the commands of concurrent requests written together',
    redis: true,
    bound: true,
    create: (context) => appkeysServer(context, 'redis-appkeys-fast', { clientCache: true, pipelined: true }),
  },
  'redis-appkeys-hashed': {
    description:
      "redis-appkeys with secrets: { hash: 'scrypt' } (production cost, ln=15 r=8 p=1) and its default cache" +
      ' of recent verifications (10,000 entries, 60 s)',
    redis: true,
    bound: true,
    create: (context) => appkeysServer(context, 'redis-appkeys-hashed', { secrets: { hash: 'scrypt' } }),
  },
  'redis-appkeys-hashed-nocache': {
    description: "redis-appkeys with secrets: { hash: 'scrypt', cache: false }: scrypt on every token request",
    redis: true,
    bound: true,
    create: (context) =>
      appkeysServer(context, 'redis-appkeys-hashed-nocache', { secrets: { hash: 'scrypt', cache: false } }),
  },
} satisfies Record<string, ServerVariant>;

export type VariantName = keyof typeof VARIANTS;

export function isVariantName(name: string): name is VariantName {
  return Object.hasOwn(VARIANTS, name);
}

export function variant(name: VariantName): ServerVariant {
  return VARIANTS[name];
}
