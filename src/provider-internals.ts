/**
 * What the extension reads of oidc-provider beyond its configuration hooks and published types, in
 * one place (read from lib/models/client.js and lib/helpers/defaults.js). Each function is checked
 * against the oldest and the newest oidc-provider 9.x the peer range admits
 * (test/provider-internals.test.ts), so a release that moves one of them fails there, not in use.
 */

import type Provider from 'oidc-provider';
import type { Configuration } from 'oidc-provider';

type ClientClass = Provider['Client'];
export type ProviderClient = InstanceType<ClientClass>;
type IntrospectionFeature = NonNullable<NonNullable<Configuration['features']>['introspection']>;
type IntrospectionPolicy = NonNullable<IntrospectionFeature['allowedPolicy']>;

/** The parts of a client the published types leave out. */
interface ClientInternals {
  readonly noManage?: boolean;
  checkClientSecretExpiration(message: string): void;
}

/** The static methods of the Client class the published types leave out. */
interface ClientClassInternals {
  new (metadata: Record<string, unknown>): ProviderClient;
  needsSecret(metadata: Record<string, unknown>): boolean;
}

const internalsOf = (client: ProviderClient) => client as ProviderClient & ClientInternals;
const classInternalsOf = (Client: ClientClass) => Client as unknown as ClientClassInternals;

/** Whether the client is one of the provider's `clients` configuration, marked by a non-enumerable `noManage`. */
export function isStaticClient(client: ProviderClient): boolean {
  return internalsOf(client).noManage === true;
}

/**
 * Whether metadata calls for a `client_secret`, by the provider's own rule: a secret-based
 * authentication method, or HS* signing or symmetric encryption, which derive keys from it.
 */
export function needsSecret(Client: ClientClass, metadata: Record<string, unknown>): boolean {
  return classInternalsOf(Client).needsSecret(metadata);
}

/**
 * A client made from metadata by the provider's own client schema, which validates and normalizes it
 * and throws the RFC 7591 errors (`invalid_client_metadata`, `invalid_redirect_uri`).
 */
export function constructClient(Client: ClientClass, metadata: Record<string, unknown>): ProviderClient {
  const Construct = classInternalsOf(Client);
  return new Construct(metadata);
}

/** Throws `invalid_client` when the client's secret has expired, as the provider's client authentication does. */
export function checkClientSecretExpiration(client: ProviderClient): void {
  internalsOf(client).checkClientSecretExpiration('client secret is expired');
}

/**
 * The provider's default `features.introspection.allowedPolicy`: a public client may introspect only
 * its own tokens. Written again here because the provider does not export its defaults, and a
 * policy that wraps the default must still apply it.
 */
export function defaultIntrospectionAllowed(...[ctx, client, token]: Parameters<IntrospectionPolicy>): boolean {
  return !(client.clientAuthMethod === 'none' && token.clientId !== ctx.oidc.client?.clientId);
}

/**
 * The provider's secret comparison (an operator's override included) run on a stand-in client with
 * the given secret, so that an unknown client costs the work a known one does. The comparison reads
 * the client's `clientSecret` and nothing else a stand-in would lack.
 */
export async function compareWithStandIn(Client: ClientClass, standInSecret: string, secret: string): Promise<boolean> {
  return Client.prototype.compareClientSecret.call({ clientSecret: standInSecret } as ProviderClient, secret);
}
