import { decodeJwt } from 'jose';

import { issuerUnavailable } from '../errors.js';
import { remoteFetch } from './fetch.js';
import type { ResolvedIssuersOptions } from './options.js';
import type { Issuer, IssuerEndpoints } from './types.js';

/** What a developer presents for a client of a third-party issuer: its secret, or a signed assertion. */
export type Credentials =
  | { readonly clientId: string; readonly clientSecret: string }
  | { readonly clientId: string; readonly clientAssertion: string };

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface ClientAuthentication {
  readonly headers?: Record<string, string>;
  readonly params: readonly [string, string][];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 6749 section 2.3.1: the id and the secret are form-urlencoded before they are joined for Basic. */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice('v='.length);
}

const secretPost = (clientId: string, secret: string): ClientAuthentication => ({
  params: [
    ['client_id', clientId],
    ['client_secret', secret],
  ],
});

function secretBasic(clientId: string, secret: string): ClientAuthentication {
  const basic = Buffer.from(`${formEncode(clientId)}:${formEncode(secret)}`).toString('base64');
  return { headers: { authorization: `Basic ${basic}` }, params: [] };
}

/**
 * The ways to send a secret, in the order tried: Basic unless the issuer says it takes only the form
 * (RFC 8414's default for the metadata left out is client_secret_basic), then the form when it takes
 * both — the method is the client's, registered at the issuer, and nothing here knows which it is.
 */
function secretAuthentications(metadata: IssuerEndpoints, clientId: string, secret: string): ClientAuthentication[] {
  const methods = metadata.token_endpoint_auth_methods_supported ?? [];
  const post = methods.includes('client_secret_post');
  if (post && !methods.includes('client_secret_basic')) return [secretPost(clientId, secret)];
  return post ? [secretBasic(clientId, secret), secretPost(clientId, secret)] : [secretBasic(clientId, secret)];
}

/**
 * An assertion is relayed only when it names the client being provided as its issuer and subject: the
 * issuer checks the signature, but it would vouch for whichever client signed, not for this one.
 */
function assertionNamesClient(assertion: string, clientId: string): boolean {
  try {
    const { iss, sub } = decodeJwt(assertion);
    return iss === clientId && sub === clientId;
  } catch {
    return false;
  }
}

/** Best effort, bounded by the timeout: a token left alive only lives until it expires. */
async function revoke(
  endpoint: string,
  token: string,
  auth: ClientAuthentication,
  options: ResolvedIssuersOptions,
): Promise<void> {
  const form = new URLSearchParams([['token', token], ['token_type_hint', 'access_token'], ...auth.params]);
  try {
    await remoteFetch(endpoint, { method: 'POST', headers: auth.headers, form }, options);
  } catch {
    // the proof stands whether or not the issuer took its token back
  }
}

/**
 * Proves that `credentials` belong to a client of `issuer` by a client_credentials grant at its token
 * endpoint, with the issuer's probe parameters. Resolves true when the issuer issued a token (which is
 * then revoked where it can be), false when it refused (4xx, or an assertion naming another client).
 * Throws `503` when it cannot tell (unreachable, timed out, a server error, 408 or 429, or an answer that
 * is neither a token nor a refusal) and `invalid_issuer` when the registered endpoint breaks the URL
 * policy or answers too much. No error carries the secret or the assertion.
 */
export async function proveAtIssuer(
  issuer: Issuer,
  credentials: Credentials,
  options: ResolvedIssuersOptions,
): Promise<boolean> {
  const { metadata, probe } = issuer;
  let attempts: ClientAuthentication[];
  if ('clientAssertion' in credentials) {
    if (!assertionNamesClient(credentials.clientAssertion, credentials.clientId)) return false;
    attempts = [
      {
        params: [
          ['client_assertion_type', ASSERTION_TYPE],
          ['client_assertion', credentials.clientAssertion],
          ['client_id', credentials.clientId],
        ],
      },
    ];
  } else {
    attempts = secretAuthentications(metadata, credentials.clientId, credentials.clientSecret);
  }

  for (const auth of attempts) {
    const form = new URLSearchParams([['grant_type', 'client_credentials'], ...auth.params]);
    if (probe?.scope !== undefined) form.set('scope', probe.scope);
    if (probe?.audience !== undefined) form.set('audience', probe.audience);
    if (probe?.resource !== undefined) form.set('resource', probe.resource);

    const { status, json } = await remoteFetch(
      metadata.token_endpoint,
      { method: 'POST', headers: auth.headers, form },
      options,
    );
    if (status === 200 && isObject(json) && typeof json.access_token === 'string') {
      // an assertion is single-use: relaying it again to revoke would be refused, and could count as a replay
      if (metadata.revocation_endpoint !== undefined && !('clientAssertion' in credentials)) {
        await revoke(metadata.revocation_endpoint, json.access_token, auth, options);
      }
      return true;
    }
    // 408 and 429 say "not now", not "wrong credentials"
    if (status < 400 || status >= 500 || status === 408 || status === 429) {
      throw issuerUnavailable(new Error(`the token endpoint answered HTTP ${status} without a token`));
    }
    // a refusal of one way to send the secret: the next way, if the issuer takes another
  }
  return false;
}
