export { redisAdapter, type RedisAdapterOptions } from './provider-adapter.js';
