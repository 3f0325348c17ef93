import type Provider from 'oidc-provider';

import type { Actor } from './types.js';

/**
 * Every change is an event on the provider, for audit: what happened, who did it, when. Payloads are
 * built from ids and bindings only; no secret ever reaches one.
 */
export type AppKeysEvent =
  | 'appkeys.application.created'
  | 'appkeys.application.deleted'
  | 'appkeys.application.status_changed'
  | 'appkeys.binding.created'
  | 'appkeys.binding.removed'
  | 'appkeys.client.registered'
  | 'appkeys.client.deleted'
  | 'appkeys.client.secret_rotated'
  | 'appkeys.client.attempts_cleared'
  | 'appkeys.client.secret_hashed'
  | 'appkeys.client.secret_hash_failed'
  | 'appkeys.provide_keys.failed'
  | 'appkeys.issuer.registered'
  | 'appkeys.issuer.deleted';

export interface AppKeysEventPayload extends Record<string, unknown> {
  readonly actor: Actor;
  readonly at: string;
}

export function emit(provider: Provider, event: AppKeysEvent, actor: Actor, details: Record<string, unknown>): void {
  const payload: AppKeysEventPayload = {
    ...details,
    actor: { kind: actor.kind, id: actor.id },
    at: new Date().toISOString(),
  };
  provider.emit(event, payload);
}
