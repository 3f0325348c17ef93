import type { Adapter, AdapterPayload } from 'oidc-provider';

import { providerPayload, withoutServerOwned } from './client-record.js';
import { isExternalRef } from './issuers/ref.js';
import type { SecretsAtRest } from './secrets/at-rest.js';
import type { BindingStore, StoredBinding } from './store.js';
import type { ClientMetadata } from './types.js';

/**
 * The provider's `Client` model, backed by the appkeys store. Out-of-band, generated and dynamically
 * registered clients all live there, so one lookup gives the token endpoint the client and its binding.
 */
export class StoreClientAdapter implements Adapter {
  readonly #store: BindingStore;
  readonly #onBindingRemoved: (binding: StoredBinding) => void;
  readonly #secrets: SecretsAtRest;

  constructor(store: BindingStore, onBindingRemoved: (binding: StoredBinding) => void, secrets: SecretsAtRest) {
    this.#store = store;
    this.#onBindingRemoved = onBindingRemoved;
    this.#secrets = secrets;
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    // the store's record of a third-party issuer's client is a binding, never a client of this provider
    if (isExternalRef(id)) return undefined;
    const stored = await this.#store.getClient(id);
    // a BLOCKED application's clients are invisible to the provider: the token endpoint answers
    // invalid_client and their tokens stop introspecting, at no extra lookup
    if (!stored || stored.binding?.status === 'BLOCKED') return undefined;
    const payload = providerPayload(stored);
    // a stored hash reaches the provider only as its stand-in (see SecretsAtRest)
    if (payload.client_secret !== undefined) payload.client_secret = this.#secrets.forProvider(payload.client_secret);
    return payload as AdapterPayload;
  }

  /**
   * Dynamic registration (RFC 7591/7592): metadata is replaced, the binding kept and never forged. The
   * secret is stored as `secrets` says; a client that would need a hashed secret in plaintext is
   * refused here (400 invalid_client_metadata), the one place every such write passes.
   */
  async upsert(id: string, payload: AdapterPayload): Promise<void> {
    const metadata = await this.#secrets.forProviderWrite(
      withoutServerOwned({ ...payload, client_id: id }) as ClientMetadata,
    );
    await this.#store.putClient(metadata, new Date().toISOString());
  }

  /** RFC 7592 delete: a bound client takes its binding with it, so no binding names a missing client. */
  async destroy(id: string): Promise<void> {
    const result = await this.#store.deleteClient(id, true);
    if (result.outcome === 'deleted' && result.binding) this.#onBindingRemoved(result.binding);
  }

  async consume(): Promise<void> {
    throw new Error('the Client model is not consumable');
  }

  async findByUid(): Promise<undefined> {
    return undefined;
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  async revokeByGrantId(): Promise<void> {
    // clients belong to no grant
  }
}
