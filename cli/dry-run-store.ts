import { canonicalJson } from '../src/canonical-json.js';
import type { BindingStore, StoredClient } from '../src/store.js';
import type { ClientMetadata } from '../src/types.js';

/**
 * A store that reads through to `store` and keeps the client registrations it is given in memory,
 * writing nothing: `clients import --dry-run` runs the registry's very own `registerClient` on it, so
 * what it reports is what a real import would do. Every other change is refused.
 */
export function dryRunStore(store: BindingStore): BindingStore {
  const pending = new Map<string, StoredClient>();
  const refuse = async (): Promise<never> => {
    throw new Error('a dry run changes nothing');
  };
  const getClient = async (clientId: string) => pending.get(clientId) ?? store.getClient(clientId);
  return {
    kind: `${store.kind} (dry run)`,
    getClient,
    async putClient(metadata: ClientMetadata, at: string) {
      const existing = await getClient(metadata.client_id);
      if (existing && canonicalJson(existing.metadata) === canonicalJson(metadata)) return 'unchanged';
      pending.set(metadata.client_id, {
        metadata,
        registered_at: existing?.registered_at ?? at,
        updated_at: at,
        revision: (existing?.revision ?? 0) + 1,
        ...(existing?.binding && { binding: existing.binding }),
      });
      return existing ? 'replaced' : 'created';
    },
    listClients: (after, limit) => store.listClients(after, limit),
    getApplication: (applicationId) => store.getApplication(applicationId),
    listApplications: (owner, after, limit) => store.listApplications(owner, after, limit),
    getIssuer: (issuerId) => store.getIssuer(issuerId),
    listIssuers: () => store.listIssuers(),
    verify: () => store.verify(),
    replaceClientMetadata: refuse,
    deleteClient: refuse,
    createApplication: refuse,
    updateApplication: refuse,
    deleteApplication: refuse,
    bind: refuse,
    createAndBind: refuse,
    unbind: refuse,
    recordFailedAttempt: refuse,
    attemptWait: refuse,
    clearFailedAttempts: refuse,
    putIssuer: refuse,
    deleteIssuer: refuse,
    useAssertionId: refuse,
    async close() {
      pending.clear();
    },
  };
}
