export { memoryStore, type MemoryStoreOptions } from './store.js';
export { memoryAdapter, type MemoryAdapterFactory, type MemoryAdapterOptions } from './provider-adapter.js';
