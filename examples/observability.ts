/**
 * Metrics and logs in a server of your own, wired as `appkeys serve` wires them. The parts are
 * cli/server/observability.ts (prom-client and pino, nothing the library itself loads): copy that file
 * beside this one, and import appKeys and the stores from the package instead of from ../src and
 * ../adapters.
 *
 *   npx tsx examples/observability.ts     PORT (3002), METRICS_PORT (9464), REDIS_URL (else memory)
 *
 * Metrics are served on a listener of their own, on 127.0.0.1: they are not authenticated, so they
 * never share the public listener.
 */
import { createServer } from 'node:http';

import { Redis } from 'ioredis';
import Provider, { type Configuration } from 'oidc-provider';

import { memoryStore } from '../adapters/memory/index.js';
import { redisAdapter, redisStore } from '../adapters/redis/index.js';
import { observability } from '../cli/server/observability.js';
import { appKeys, type BindingStore } from '../src/index.js';

/** The provider with appkeys mounted, its store timed, its requests counted and its events logged. */
export function observedProvider(issuer: string, configuration: Configuration, store: BindingStore) {
  const observed = observability();
  const keys = appKeys({ store: observed.instrumentStore(store), provideKeys: { enabled: true } });
  const provider = new Provider(issuer, keys.configuration(configuration));
  provider.use(observed.middleware()); // before the routes, so that it sees their answers too
  keys.mount(provider);
  observed.attach(provider);
  return { provider, keys, metrics: createServer(observed.metricsListener()) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.PORT || 3002);
  const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL) : undefined;
  const { provider, metrics } = observedProvider(
    `http://localhost:${port}`,
    {
      ...(redis && { adapter: redisAdapter({ client: redis }) }),
      features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
    },
    redis ? redisStore({ client: redis }) : memoryStore(),
  );
  provider.listen(port, '127.0.0.1');
  metrics.listen(Number(process.env.METRICS_PORT || 9464), '127.0.0.1');
}
