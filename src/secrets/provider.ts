import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';

import { isStaticClient, type ProviderClient } from '../provider-internals.js';
import type { SecretsAtRest } from './at-rest.js';
import { plaintextNeed } from './rules.js';
import { isSecretHash } from './scrypt.js';

/**
 * Where secrets at rest meet oidc-provider 9's internals, read from its source (lib/models/client.js,
 * lib/shared/client_auth.js, lib/actions/registration.js):
 * - every secret check — client_secret_basic and _post at every endpoint, and Provide Keys — goes
 *   through `Client.prototype.compareClientSecret(actual)`, one per provider (`provider.Client`);
 * - statically configured clients are told apart by provider-internals.ts's `isStaticClient`;
 * - RFC 7592 reads and updates answer with `client.metadata()`, secret included, as `ctx.body`.
 */

interface SecretFields {
  readonly clientId?: string;
  readonly clientSecret?: unknown;
  metadata?(): Record<string, unknown>;
}

type Compare = (this: SecretFields, actual: string) => boolean | Promise<boolean>;

/** Called after a plaintext record authenticated while hashing is on; must neither wait nor throw. */
export type Upgrade = (clientId: string, plaintext: string) => void;

/**
 * Teaches the provider's `compareClientSecret` the stored hashes: a stand-in is verified with scrypt
 * (constant time), anything else as the provider (or an operator's override) compares it. With hashing
 * on, a plaintext record that matches is upgraded in the background, and one that does not pays for a
 * scrypt run too, as do unknown clients in Provide Keys: no failure is faster than another.
 */
function teachCompare(provider: Provider, secrets: SecretsAtRest, upgrade: Upgrade): void {
  const prototype = provider.Client.prototype as unknown as { compareClientSecret: Compare };
  const compare = prototype.compareClientSecret;
  prototype.compareClientSecret = async function compareClientSecret(
    this: SecretFields,
    actual: string,
  ): Promise<boolean> {
    if (isStaticClient(this as unknown as ProviderClient)) return compare.call(this, actual);
    const hash = secrets.hashOf(this.clientSecret);
    if (hash) return secrets.verify(this.clientId, hash, actual);
    const matches = await compare.call(this, actual);
    if (!secrets.hashing) return matches;
    if (!matches) {
      await secrets.dummyVerify(actual);
    } else if (typeof this.clientId === 'string' && !plaintextNeed(this.metadata?.() ?? {})) {
      upgrade(this.clientId, actual);
    }
    return matches;
  };
}

/** Takes a stored hash (or its stand-in) out of any answer of the provider's: RFC 7592 reads and updates. */
function withoutStoredSecrets(secrets: SecretsAtRest): Middleware {
  return async (ctx, next) => {
    await next();
    const body: unknown = ctx.body;
    if (!body || typeof body !== 'object' || Buffer.isBuffer(body)) return;
    const shown = body as Record<string, unknown>;
    if (secrets.hashOf(shown.client_secret) !== undefined || isSecretHash(shown.client_secret))
      delete shown.client_secret;
  };
}

/** Installs secrets at rest on one provider; called once per provider, when the extension first meets it. */
export function installSecretsAtRest(provider: Provider, secrets: SecretsAtRest, upgrade: Upgrade): void {
  teachCompare(provider, secrets, upgrade);
  provider.use(withoutStoredSecrets(secrets));
}
