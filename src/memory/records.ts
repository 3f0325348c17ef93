import type { StoredIssuer } from '../issuers/types.js';
import type { StoredBinding } from '../store.js';
import type { ApplicationStatus, ClientBinding, ClientMetadata, KeyType } from '../types.js';
import { SortedIds } from './sorted-ids.js';

/** What the memory store holds: records and the indexes that list them, as the Redis layout has them. */
export interface ClientRecord {
  metadata: ClientMetadata;
  binding: ClientBinding | undefined;
  readonly registered_at: string;
  updated_at: string;
  revision: number;
}

export interface ApplicationRecord {
  readonly id: string;
  name: string;
  nameKey: string;
  description: string;
  readonly owner: string;
  status: ApplicationStatus;
  readonly created_at: string;
  updated_at: string;
  readonly bindings: Map<KeyType, StoredBinding>;
}

export interface MemoryState {
  readonly clients: Map<string, ClientRecord>;
  readonly clientIds: SortedIds;
  readonly applications: Map<string, ApplicationRecord>;
  readonly applicationIds: SortedIds;
  readonly ownerApplications: Map<string, SortedIds>;
  /** owner → nameKey → application id */
  readonly ownerNames: Map<string, Map<string, string>>;
  /** issuer_id → issuer, as JSON would give it back (no undefined fields), like the Redis store's. */
  readonly issuers: Map<string, StoredIssuer>;
}

export function newMemoryState(): MemoryState {
  return {
    clients: new Map(),
    clientIds: new SortedIds(),
    applications: new Map(),
    applicationIds: new SortedIds(),
    ownerApplications: new Map(),
    ownerNames: new Map(),
    issuers: new Map(),
  };
}
