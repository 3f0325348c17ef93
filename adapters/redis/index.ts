export { redisAdapter, type RedisAdapterOptions } from './provider-adapter.js';
export { redisStore, type RedisStoreOptions } from './store.js';
export type {
  NodeRedisClient,
  NodeRedisCluster,
  NodeRedisCommandOptions,
  NodeRedisShardNode,
  RedisClient,
} from './client.js';
export type { WaitForReplicas } from './connection.js';
export {
  clientCacheOf,
  type CachedHash,
  type ClientCache,
  type ClientCacheOptions,
  type ClientCacheState,
  type ClientCacheStats,
} from './client-cache/index.js';
