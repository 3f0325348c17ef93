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
import { buildPortal } from './portal/portal.js';
import { adapterSessions } from './portal/sessions.js';
import { Registry } from './registry.js';
import { SecretsAtRest } from './secrets/at-rest.js';
import { installSecretsAtRest } from './secrets/provider.js';
import { upgradeInBackground, type BackgroundOutcome } from './secrets/upgrade.js';
import type { BindingStore, StoredBinding } from './store.js';

/** The extension bound to one store; see `appKeys()`. */
export class AppKeys {
  /** Where applications, bindings and out-of-band clients live. */
  readonly store: BindingStore;
  readonly options: ResolvedOptions;
  readonly #registries = new WeakMap<Provider, Registry>();
  #provider: Provider | undefined;
  readonly #secrets: SecretsAtRest;
  /** The caller's provider adapter, where portal sessions live unless `portal.sessions` says otherwise. */
  #providerAdapter: Configuration['adapter'];

  constructor(options: AppKeysOptions = {}) {
    this.options = resolveOptions(options);
    this.store = this.options.store ?? memoryStore();
    this.#secrets = new SecretsAtRest(this.options.secrets);
  }

  /**
   * The provider configuration with the extension merged in: the `Client` model in the appkeys store,
   * every other model on `config.adapter` (or in memory), the binding as a client property, token
   * claims and introspection that follow the binding. The caller's own hooks are kept and called.
   */
  configuration(config: Configuration = {}): Configuration {
    const clientAdapter = new StoreClientAdapter(
      this.store,
      (binding) => this.#clientDeletedByRegistration(binding),
      this.#secrets,
    );
    this.#providerAdapter = config.adapter;
    return mergeConfiguration(config, {
      clientAdapter,
      defaultAdapter: memoryAdapter(),
      requireBinding: this.options.requireBinding,
      clientRecord: (clientId) => this.store.getClient(clientId),
    });
  }

  /**
   * The domain operations on one provider, for programmatic use (the routes and CLI call these). The
   * first call for a provider also teaches it the stored secret hashes (`routes()` and `mount()` make it).
   */
  registry(provider: Provider): Registry {
    let registry = this.#registries.get(provider);
    if (!registry) {
      registry = new Registry(this.store, provider, this.options, this.#secrets);
      installSecretsAtRest(
        provider,
        this.#secrets,
        upgradeInBackground(this.store, (clientId, result) => this.#upgraded(provider, clientId, result)),
      );
      this.#registries.set(provider, registry);
      this.#provider ??= provider;
    }
    return registry;
  }

  /**
   * The management routes as Koa middleware, for mounting in an outer Koa app before the provider;
   * with `portal.enabled`, the portal's pages under `<prefix>/portal/` ahead of them.
   */
  routes(provider: Provider): Middleware {
    const api = buildRoutes(provider, this.registry(provider), this.options);
    const { portal } = this.options;
    if (!portal) return api;
    const pages = buildPortal(
      provider,
      this.registry(provider),
      this.options,
      portal,
      portal.sessions ?? adapterSessions(this.#providerAdapter ?? memoryAdapter()),
    );
    return async function appkeys(ctx, next) {
      await pages(ctx, () => api(ctx, next));
    };
  }

  /** Mounts the routes on the provider's own Koa app, ahead of its endpoints. */
  mount(provider: Provider): void {
    provider.use(this.routes(provider));
  }

  /** An upgrade of a plaintext secret after an authentication, audited; the secret is in no payload. */
  #upgraded(provider: Provider, clientId: string, result: BackgroundOutcome): void {
    const actor = { kind: 'admin', id: `client:${clientId}` } as const;
    if (result.outcome === 'hashed')
      emit(provider, 'appkeys.client.secret_hashed', actor, { client_id: clientId, trigger: 'authentication' });
    if (result.outcome === 'failed' || result.outcome === 'conflict') {
      emit(provider, 'appkeys.client.secret_hash_failed', actor, {
        client_id: clientId,
        error: result.outcome === 'failed' ? result.error : 'conflict',
      });
    }
  }

  /** A client deleted through RFC 7592 took its binding along: audit it like any other removal. */
  #clientDeletedByRegistration(binding: StoredBinding): void {
    if (!this.#provider) return;
    emit(
      this.#provider,
      'appkeys.binding.removed',
      { kind: 'admin', id: `client:${binding.client_id}` },
      {
        ...binding,
        reason: 'client_deleted',
        client_deleted: true,
      },
    );
  }
}

/** Creates the extension. Options are checked now; an error names the option's path. */
export function appKeys(options?: AppKeysOptions): AppKeys {
  return new AppKeys(options);
}
