import type {
  Access,
  AttemptLimits,
  BindRequest,
  BindingStore,
  CreateAndBindRequest,
  NewApplication,
} from '../../src/store.js';
import type { ClientMetadata, KeyType } from '../../src/types.js';

export const ADMIN: Access = { kind: 'admin' };
export const ownerAccess = (owner: string): Access => ({ kind: 'owner', owner });

/** What the conformance suite needs of a store under test: a fresh, empty store and a way to release it. */
export interface StoreUnderTest {
  readonly store: BindingStore;
  cleanup(): Promise<void>;
}

export const T0 = '2025-01-01T00:00:00.000Z';
export const T1 = '2025-01-02T00:00:00.000Z';
export const T2 = '2025-01-03T00:00:00.000Z';

/** Limits high enough never to get in the way of tests that are not about throttling. */
export const GENEROUS: AttemptLimits = { perCaller: 1000, perClient: 1000, windowMs: 600_000 };

/** Metadata with the shapes that trip up stores: empty arrays, nested empty objects, nulls, unicode. */
export function clientMetadata(clientId: string, extra: Record<string, unknown> = {}): ClientMetadata {
  return {
    client_id: clientId,
    client_secret: `secret-of-${clientId.slice(0, 16)}-0123456789abcdef0123456789abcdef`,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
    ...extra,
  };
}

export function newApplication(
  id: string,
  owner: string,
  name = `app ${id.slice(0, 32)}`,
  extra: Partial<NewApplication> = {},
): NewApplication {
  return {
    id,
    name,
    nameKey: name.toLowerCase(),
    description: '',
    owner,
    status: 'ACTIVE',
    created_at: T0,
    ...extra,
  };
}

export function bindRequest(
  applicationId: string,
  keyType: KeyType,
  clientId: string,
  extra: Partial<BindRequest> = {},
): BindRequest {
  return {
    applicationId,
    access: ADMIN,
    keyType,
    clientId,
    boundAt: T1,
    boundBy: 'admin:alice',
    caller: 'caller-1',
    limits: GENEROUS,
    nowMs: 1_000_000,
    ...extra,
  };
}

export function createAndBindRequest(
  applicationId: string,
  keyType: KeyType,
  metadata: ClientMetadata,
  extra: Partial<CreateAndBindRequest> = {},
): CreateAndBindRequest {
  return { applicationId, access: ADMIN, keyType, metadata, boundAt: T1, boundBy: 'owner:bob', ...extra };
}

/** Ids that must be stored and found as themselves: separators, braces, globs, spaces, unicode, size. */
export const HOSTILE_IDS: readonly string[] = [
  'a:b',
  '{tag}x',
  '}{',
  '*',
  'a?[b]',
  'with space',
  '%41',
  'A',
  '\\back\\slash',
  'ünïcödé',
  '\uFF21-fullwidth',
  '\u{1F600}-emoji',
  '"quoted"',
  'x'.repeat(10 * 1024),
];

/** Sorts as the bytes of the UTF-8 encoding compare, the order every store lists in. */
export function byteOrder(ids: readonly string[]): string[] {
  return [...ids].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}
