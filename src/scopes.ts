/** The scopes of the management API, and who may hold them. */

export const OWNER_SCOPE = 'appkeys';
export const ADMIN_SCOPE = 'appkeys:admin';
/** Gateways: resolve a client or a token to its application, and nothing else. */
export const RESOLVE_SCOPE = 'appkeys:resolve';
export const MANAGEMENT_SCOPES: readonly string[] = [OWNER_SCOPE, ADMIN_SCOPE, RESOLVE_SCOPE];

/** The management scopes that a space-separated scope value names. */
export function managementScopesIn(scope: unknown): string[] {
  if (typeof scope !== 'string' || !scope.includes(OWNER_SCOPE)) return [];
  return scope.split(' ').filter((name) => MANAGEMENT_SCOPES.includes(name));
}

/**
 * Why client metadata may not be stored in the appkeys store or registered dynamically, if its `scope`
 * lists a management scope: those are the operator's static clients' alone.
 */
export function managementScopeRefusal(scope: unknown): string | undefined {
  const [named] = managementScopesIn(scope);
  return named === undefined ? undefined : `the scope ${named} is kept for statically configured clients`;
}

/**
 * A management scope goes only to a statically configured client whose own `scope` metadata lists it:
 * that is where the operator names the admin tool and the portal. A client without a `scope`
 * restriction, and every client of the appkeys store (generated, provided, dynamically registered),
 * never holds one.
 */
export function mayHoldManagementScope(
  client: { readonly scope?: unknown },
  isStatic: boolean,
  scope: string,
): boolean {
  return isStatic && managementScopesIn(client.scope).includes(scope);
}
