import type { VerifyResult } from '../types.js';
import type { MemoryState } from './records.js';

/**
 * The registry's invariants checked on the memory store's state: binding ⇄ client record ⇄ owner index
 * ⇄ name index, and every listing against its records. The readable statement of what verify() checks
 * on every store.
 */
export function verifyMemoryState(state: MemoryState): VerifyResult {
  const problems: string[] = [];
  const show = JSON.stringify;

  for (const [clientId, client] of state.clients) {
    if (client.metadata.client_id !== clientId) {
      problems.push(`client ${show(clientId)}: its metadata names client_id ${show(client.metadata.client_id)}`);
    }
    if (!state.clientIds.has(clientId)) problems.push(`client ${show(clientId)}: missing from the client listing`);
    const binding = client.binding;
    if (!binding) continue;
    const application = state.applications.get(binding.application_id);
    if (!application) {
      problems.push(
        `client ${show(clientId)}: bound to application ${show(binding.application_id)}, which does not exist`,
      );
      continue;
    }
    const held = application.bindings.get(binding.key_type);
    if (!held || held.client_id !== clientId) {
      problems.push(
        `client ${show(clientId)}: bound to ${show(binding.application_id)}/${binding.key_type}, ` +
          `but that application holds ${held ? show(held.client_id) : 'no client'} there`,
      );
      continue;
    }
    if (binding.origin !== held.origin || binding.bound_at !== held.bound_at || binding.bound_by !== held.bound_by) {
      problems.push(
        `client ${show(clientId)}: its binding's origin/bound_at/bound_by differ from application ` +
          `${show(application.id)}'s`,
      );
    }
    if (binding.status !== application.status) {
      problems.push(
        `client ${show(clientId)}: binding status ${binding.status}, application ${show(application.id)} ` +
          `is ${application.status}`,
      );
    }
  }
  for (const id of state.clientIds.values()) {
    if (!state.clients.has(id)) problems.push(`client listing names ${show(id)}, which has no record`);
  }

  for (const [applicationId, application] of state.applications) {
    const where = `application ${show(applicationId)}`;
    if (application.id !== applicationId) problems.push(`${where}: its record names id ${show(application.id)}`);
    if (!state.applicationIds.has(applicationId)) problems.push(`${where}: missing from the application listing`);
    if (!state.ownerApplications.get(application.owner)?.has(applicationId)) {
      problems.push(`${where}: missing from owner ${show(application.owner)}'s index`);
    }
    const holder = state.ownerNames.get(application.owner)?.get(application.nameKey);
    if (holder !== applicationId) {
      problems.push(
        `${where}: name key ${show(application.nameKey)} of owner ${show(application.owner)} points to ` +
          `${holder === undefined ? 'nothing' : show(holder)}`,
      );
    }
    for (const [keyType, binding] of application.bindings) {
      if (binding.key_type !== keyType || binding.application_id !== applicationId) {
        problems.push(
          `${where}: ${keyType} binding is recorded as ${show(binding.application_id)}/${binding.key_type}`,
        );
      }
      const client = state.clients.get(binding.client_id);
      if (!client) {
        problems.push(`${where}: ${keyType} is bound to client ${show(binding.client_id)}, which does not exist`);
      } else if (client.binding?.application_id !== applicationId || client.binding.key_type !== keyType) {
        problems.push(
          `${where}: ${keyType} is bound to client ${show(binding.client_id)}, whose record says ` +
            `${client.binding ? `${show(client.binding.application_id)}/${client.binding.key_type}` : 'unbound'}`,
        );
      }
    }
  }
  for (const id of state.applicationIds.values()) {
    if (!state.applications.has(id)) problems.push(`application listing names ${show(id)}, which has no record`);
  }
  for (const [owner, ids] of state.ownerApplications) {
    for (const id of ids.values()) {
      const application = state.applications.get(id);
      if (application?.owner !== owner) {
        problems.push(
          `owner ${show(owner)}'s index names application ${show(id)}, ` +
            `${application ? `owned by ${show(application.owner)}` : 'which does not exist'}`,
        );
      }
    }
  }
  for (const [owner, names] of state.ownerNames) {
    for (const [nameKey, id] of names) {
      const application = state.applications.get(id);
      if (application?.owner !== owner || application.nameKey !== nameKey) {
        problems.push(
          `owner ${show(owner)}'s name ${show(nameKey)} points to application ${show(id)}, ` +
            `${
              application
                ? `named ${show(application.nameKey)} of owner ${show(application.owner)}`
                : 'which does not exist'
            }`,
        );
      }
    }
  }
  return { ok: problems.length === 0, problems };
}
