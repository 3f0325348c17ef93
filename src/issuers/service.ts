import type Provider from 'oidc-provider';

import * as err from '../errors.js';
import { emit } from '../events.js';
import type { BindingStore } from '../store.js';
import type { Actor } from '../types.js';
import * as validate from '../validate.js';
import { discoverIssuer, normalizeIssuerUrl } from './discovery.js';
import type { ResolvedIssuersOptions } from './options.js';
import { proveAtIssuer, type Credentials } from './prove.js';
import { externalClientRef } from './ref.js';
import { IssuerKeySets, unverifiedIssuerOf } from './tokens.js';
import { VERIFICATIONS, type Issuer, type Probe, type Verification } from './types.js';

/** What a gateway learns about a client: the application it is bound to, and whether that may be used. */
export interface Resolution {
  readonly application_id: string;
  readonly key_type: string;
  readonly status: string;
  /** `null` for an application an admin created for no account. */
  readonly owner: string | null;
  readonly client_id: string;
  readonly issuer_id?: string;
  readonly issuer?: string;
}

/** How a developer proves they hold a client of an issuer: its secret, a signed assertion, or nothing. */
export type ExternalProof =
  | { readonly kind: 'secret'; readonly secret: string }
  | { readonly kind: 'assertion'; readonly assertion: string }
  | { readonly kind: 'none' };

const PROBE_FIELDS = ['scope', 'audience', 'resource'] as const;
const PROBE_VALUE_MAX = 1024;

function now(): string {
  return new Date().toISOString();
}

function verificationOf(value: unknown): Verification {
  if (value === undefined) return 'client_credentials';
  if (typeof value !== 'string' || !(VERIFICATIONS as readonly string[]).includes(value)) {
    throw err.invalidRequest(`verification must be one of ${VERIFICATIONS.join(', ')}`);
  }
  return value as Verification;
}

function probeOf(value: unknown): Probe | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw err.invalidRequest('probe must be an object');
  const input = value as Record<string, unknown>;
  validate.onlyFields(input, PROBE_FIELDS);
  const probe: Record<string, string> = {};
  for (const field of PROBE_FIELDS) {
    if (input[field] === undefined) continue;
    probe[field] = validate.text(input[field], `probe.${field}`, PROBE_VALUE_MAX);
  }
  return Object.keys(probe).length ? (probe as Probe) : undefined;
}

/**
 * Third-party issuers: the admin's list of them, proving possession of their clients, and resolving
 * their clients and tokens to applications for gateways. Binding rules stay in the registry and the
 * store; this holds what is particular to talking to another OAuth server.
 */
export class IssuerService {
  readonly #store: BindingStore;
  readonly #provider: Provider;
  readonly #options: ResolvedIssuersOptions;
  readonly #keys: IssuerKeySets;

  constructor(store: BindingStore, provider: Provider, options: ResolvedIssuersOptions) {
    this.#store = store;
    this.#provider = provider;
    this.#options = options;
    this.#keys = new IssuerKeySets(options);
  }

  // ---- the admin's list ------------------------------------------------------------------------

  /**
   * Registers or replaces an issuer: its metadata is read from the issuer itself, so what is kept is
   * what the issuer states, and a mistyped URL fails here rather than at the first provide keys.
   */
  async register(
    actor: Actor,
    issuerIdInput: string,
    input: Record<string, unknown>,
  ): Promise<{ outcome: 'created' | 'replaced' | 'unchanged'; issuer: Issuer }> {
    const issuerId = validate.issuerId(issuerIdInput);
    validate.onlyFields(input, ['issuer', 'verification', 'probe']);
    const url = normalizeIssuerUrl(input.issuer);
    const verification = verificationOf(input.verification);
    const probe = probeOf(input.probe);
    const metadata = await discoverIssuer(url, this.#options);
    const at = now();
    const record: Issuer = {
      issuer_id: issuerId,
      issuer: url,
      verification,
      ...(probe && { probe }),
      metadata,
      created_at: at,
      updated_at: at,
    };
    const outcome = await this.#store.putIssuer(record);
    if (outcome === 'issuer_taken') throw err.issuerTaken();
    if (outcome === 'bound') {
      throw err.issuerInUse(
        "clients of this issuer are bound: its issuer URL and verification can't change until they are unbound",
      );
    }
    this.#keys.forget(issuerId);
    if (outcome !== 'unchanged') {
      emit(this.#provider, 'appkeys.issuer.registered', actor, {
        issuer_id: issuerId,
        issuer: url,
        verification,
        replaced: outcome === 'replaced',
      });
    }
    return { outcome, issuer: (await this.#store.getIssuer(issuerId)) ?? record };
  }

  async get(issuerIdInput: string): Promise<Issuer> {
    const issuer = await this.#store.getIssuer(validate.issuerId(issuerIdInput));
    if (!issuer) throw err.issuerNotFound();
    return issuer;
  }

  list(): Promise<Issuer[]> {
    return this.#store.listIssuers();
  }

  async delete(actor: Actor, issuerIdInput: string): Promise<void> {
    const issuerId = validate.issuerId(issuerIdInput);
    const outcome = await this.#store.deleteIssuer(issuerId);
    if (outcome === 'not_found') throw err.issuerNotFound();
    if (outcome === 'bound') throw err.issuerInUse();
    this.#keys.forget(issuerId);
    emit(this.#provider, 'appkeys.issuer.deleted', actor, { issuer_id: issuerId });
  }

  // ---- provide keys ----------------------------------------------------------------------------

  /** The issuer a provide-keys request names, with the proof it must carry checked against its mode. */
  async issuerForProof(issuerIdInput: unknown, proof: ExternalProof): Promise<Issuer> {
    const issuer = await this.#store.getIssuer(validate.issuerId(issuerIdInput));
    if (!issuer) throw err.issuerNotFound();
    if (issuer.verification === 'none' && proof.kind !== 'none') {
      throw err.invalidRequest(
        'this issuer is registered without verification: send issuer_id and client_id only, no secret',
      );
    }
    if (issuer.verification !== 'none' && proof.kind === 'none') {
      throw err.invalidRequest('client_secret or client_assertion is required');
    }
    return issuer;
  }

  /**
   * Whether the issuer itself accepts the proof, by a client_credentials grant at its token endpoint.
   * Rejects with 503 when the issuer cannot answer: that is no failed attempt of the caller's.
   */
  proves(issuer: Issuer, clientId: string, proof: ExternalProof): Promise<boolean> {
    if (issuer.verification === 'none') return Promise.resolve(true);
    if (proof.kind === 'none') return Promise.resolve(false);
    const credentials: Credentials =
      proof.kind === 'secret'
        ? { clientId, clientSecret: proof.secret }
        : { clientId, clientAssertion: proof.assertion };
    return proveAtIssuer(issuer, credentials, this.#options);
  }

  // ---- resolution for gateways -----------------------------------------------------------------

  /**
   * The binding of a client: of this provider (`iss` omitted, or this provider's issuer) or of a
   * registered issuer, found by its issuer URL.
   */
  async lookup(iss: unknown, clientIdInput: unknown): Promise<Resolution> {
    const clientId = validate.clientId(clientIdInput);
    // this provider's own issuer names its own clients, as an omitted `iss` does
    if (iss === undefined || iss === this.#provider.issuer) return this.#resolution(clientId, clientId, undefined);
    if (typeof iss !== 'string' || iss.length === 0 || iss.length > 2048) {
      throw err.invalidRequest('iss must be an issuer URL');
    }
    const issuer = await this.#byUrl(iss);
    if (!issuer) throw err.issuerNotFound();
    return this.#resolution(externalClientRef(issuer.issuer_id, clientId), clientId, issuer);
  }

  /**
   * The binding of the client a JWT access token of a registered issuer names, once its signature,
   * issuer and lifetime are verified against that issuer's published keys. `input` is the request body, `{token}`.
   */
  async resolve(input: Record<string, unknown>): Promise<Resolution> {
    validate.onlyFields(input, ['token']);
    const tokenInput = input.token;
    if (typeof tokenInput !== 'string' || tokenInput.length === 0 || tokenInput.length > validate.JWT_MAX) {
      throw err.invalidRequest(`token must be a string of 1–${validate.JWT_MAX} characters`);
    }
    const iss = unverifiedIssuerOf(tokenInput);
    if (iss === undefined) throw err.unresolvableToken('malformed_token', 'the token is not a JWT with an iss claim');
    const issuer = await this.#byUrl(iss);
    if (!issuer) throw err.unresolvableToken('unknown_issuer', 'the token was issued by no registered issuer');
    const payload = await this.#keys.verify(issuer, tokenInput);
    const named = typeof payload.client_id === 'string' ? payload.client_id : payload.azp;
    if (typeof named !== 'string' || named.length === 0) {
      throw err.unresolvableToken('no_client', 'the token names no client (client_id or azp)');
    }
    const clientId = validate.clientId(named, 'the client_id of the token');
    return this.#resolution(externalClientRef(issuer.issuer_id, clientId), clientId, issuer);
  }

  async #byUrl(iss: string): Promise<Issuer | undefined> {
    return (await this.#store.listIssuers()).find((issuer) => issuer.issuer === iss);
  }

  async #resolution(storeClientId: string, clientId: string, issuer: Issuer | undefined): Promise<Resolution> {
    const stored = await this.#store.getClient(storeClientId);
    const binding = stored?.binding;
    if (!binding) throw err.clientNotBound();
    const application = await this.#store.getApplication(binding.application_id);
    // unbound between the two reads: the client is no longer bound
    if (!application) throw err.clientNotBound();
    return {
      application_id: binding.application_id,
      key_type: binding.key_type,
      status: application.status,
      owner: application.owner === '' ? null : application.owner,
      client_id: clientId,
      ...(issuer && { issuer_id: issuer.issuer_id, issuer: issuer.issuer }),
    };
  }
}
