import type { StoredClient } from './store.js';
import type { ClientBinding, ClientMetadata } from './types.js';

/**
 * The client property (an `extraClientMetadata` property) that carries a client's binding inside its
 * own record, so the token endpoint learns the binding from the client lookup it does anyway.
 * Server-owned: stripped from every request body, ours and the provider's dynamic registration.
 */
export const BINDING_PROPERTY = 'appkeys_binding';

/** The record as the provider's `Client` model reads it: metadata plus the binding property. */
export function providerPayload(stored: StoredClient): ClientMetadata {
  const payload: ClientMetadata = { ...stored.metadata };
  // stored metadata never holds it (every write strips it); `delete` would also slow every later use of
  // the object, on the token endpoint's path
  if (BINDING_PROPERTY in payload) delete payload[BINDING_PROPERTY];
  if (stored.binding) payload[BINDING_PROPERTY] = { ...stored.binding };
  return payload;
}

/** Metadata without anything server-owned, as it may be stored or validated. */
export function withoutServerOwned<T extends Record<string, unknown>>(metadata: T): T {
  const copy = { ...metadata };
  delete copy[BINDING_PROPERTY];
  return copy;
}

/** Reads the binding from a provider `Client` instance, checking its shape. */
export function bindingOfClient(client: unknown): ClientBinding | undefined {
  if (!client || typeof client !== 'object') return undefined;
  const value = (client as Record<string, unknown>)[BINDING_PROPERTY];
  if (!value || typeof value !== 'object') return undefined;
  const binding = value as Partial<ClientBinding>;
  if (typeof binding.application_id !== 'string' || typeof binding.key_type !== 'string') return undefined;
  return binding as ClientBinding;
}

/** Metadata as shown to an API caller: never a secret. */
export function publicMetadata(metadata: ClientMetadata): Record<string, unknown> {
  const shown: Record<string, unknown> = { ...metadata };
  delete shown.client_secret;
  delete shown[BINDING_PROPERTY];
  return shown;
}
