// The embedded defaults live in src/memory, where the core reaches them without importing adapters/.
export { memoryStore, type MemoryStoreOptions } from '../../src/memory/store.js';
export {
  memoryAdapter,
  type MemoryAdapterFactory,
  type MemoryAdapterOptions,
} from '../../src/memory/provider-adapter.js';
