export { redisAdapter, type RedisAdapterOptions } from './provider-adapter.js';
export { redisStore, type RedisStoreOptions } from './store.js';
export { clientCacheOf, type ClientCache, type ClientCacheOptions, type ClientCacheStats } from './client-cache/index.js';
