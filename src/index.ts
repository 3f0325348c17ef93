export { appKeys, AppKeys } from './app-keys.js';
export type { AppKeysOptions } from './options.js';
export type { BindingStore, StoredApplication, StoredBinding, StoredClient } from './store.js';
export type { AppKeysEvent, AppKeysEventPayload } from './events.js';
export { AppKeysError } from './errors.js';
export { BINDING_PROPERTY } from './client-record.js';
export { Registry } from './registry.js';
export * from './types.js';
