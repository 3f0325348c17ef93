export { appKeys, AppKeys } from './app-keys.js';
export type { AppKeysOptions, IssuersOptions, ResolvedOptions } from './options.js';
export type { ResolvedSecretsOptions, SecretsOptions } from './secrets/options.js';
export type { SecretsAtRest } from './secrets/at-rest.js';
export type { VerificationCacheLimits } from './secrets/cache.js';
export type {
  Access,
  ApplicationChange,
  AttemptKey,
  AttemptLimits,
  BindingStore,
  BindRequest,
  BindResult,
  CreateAndBindRequest,
  DeleteApplicationResult,
  DeleteClientResult,
  NewApplication,
  ReplaceOptions,
  StoredApplication,
  StoredBinding,
  StoredClient,
  UnbindResult,
} from './store.js';
export type { Issuer, IssuerEndpoints, Probe, StoredIssuer, Verification } from './issuers/types.js';
export type { ResolvedIssuersOptions } from './issuers/options.js';
export type { ExternalProof, IssuerService, Resolution } from './issuers/service.js';
export type { AppKeysEvent, AppKeysEventPayload } from './events.js';
export { AppKeysError } from './errors.js';
export { BINDING_PROPERTY } from './client-record.js';
export {
  Registry,
  type ClientView,
  type GeneratedKeys,
  type ProvideKeysRequest,
  type RegisterOutcome,
} from './registry.js';
export * from './types.js';
export type { PortalOptions, ResolvedPortalOptions } from './portal/options.js';
export type { PendingSignIn, PortalSessionData, PortalSessionStore, SignedIn } from './portal/sessions.js';
