import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { Configuration } from 'oidc-provider';

import { memoryAdapter } from './memory/provider-adapter.js';
import { memoryStore } from './memory/store.js';
import { StoreClientAdapter } from './client-adapter.js';
import { mergeConfiguration } from './configuration.js';
import { emit } from './events.js';
import { buildRoutes } from './http/routes.js';
import { resolveOptions, type AppKeysOptions, type ResolvedOptions } from './options.js';
import { Registry } from './registry.js';
import type { BindingStore, StoredBinding } from './store.js';

/** The extension bound to one store; see `appKeys()`. */
export class AppKeys {
  /** Where applications, bindings and out-of-band clients live. */
  readonly store: BindingStore;
  readonly options: ResolvedOptions;
  readonly #registries = new WeakMap<Provider, Registry>();
  #provider: Provider | undefined;

  constructor(options: AppKeysOptions = {}) {
    this.options = resolveOptions(options);
    this.store = this.options.store ?? memoryStore();
  }

  /**
   * The provider configuration with the extension merged in: the `Client` model in the appkeys store,
   * every other model on `config.adapter` (or in memory), the binding as a client property, token
   * claims and introspection that follow the binding. The caller's own hooks are kept and called.
   */
  configuration(config: Configuration = {}): Configuration {
    const clientAdapter = new StoreClientAdapter(this.store, (binding) => this.#clientDeletedByRegistration(binding));
    return mergeConfiguration(config, {
      clientAdapter,
      defaultAdapter: memoryAdapter(),
      requireBinding: this.options.requireBinding,
      clientRecord: (clientId) => this.store.getClient(clientId),
    });
  }

  /** The domain operations on one provider, for programmatic use (the routes and CLI call these). */
  registry(provider: Provider): Registry {
    let registry = this.#registries.get(provider);
    if (!registry) {
      registry = new Registry(this.store, provider, this.options);
      this.#registries.set(provider, registry);
      this.#provider ??= provider;
    }
    return registry;
  }

  /** The management routes as Koa middleware, for mounting in an outer Koa app before the provider. */
  routes(provider: Provider): Middleware {
    return buildRoutes(provider, this.registry(provider), this.options);
  }

  /** Mounts the routes on the provider's own Koa app, ahead of its endpoints. */
  mount(provider: Provider): void {
    provider.use(this.routes(provider));
  }

  /** A client deleted through RFC 7592 took its binding along: audit it like any other removal. */
  #clientDeletedByRegistration(binding: StoredBinding): void {
    if (!this.#provider) return;
    emit(this.#provider, 'appkeys.binding.removed', { kind: 'admin', id: `client:${binding.client_id}` }, {
      ...binding, reason: 'client_deleted', client_deleted: true,
    });
  }
}

/** Creates the extension. Options are checked now; an error names the option's path. */
export function appKeys(options?: AppKeysOptions): AppKeys {
  return new AppKeys(options);
}
