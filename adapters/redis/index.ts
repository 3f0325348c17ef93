export { redisAdapter, type RedisAdapterOptions } from './provider-adapter.js';
export { redisStore, type RedisStoreOptions } from './store.js';
