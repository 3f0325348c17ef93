import { invalidIssuer, issuerUnavailable } from '../errors.js';
import { checkRemoteUrl, quote, remoteFetch } from './fetch.js';
import type { ResolvedIssuersOptions } from './options.js';
import type { IssuerEndpoints } from './types.js';

const MAX_ISSUER_LENGTH = 2048;
const ENDPOINTS = ['token_endpoint', 'jwks_uri', 'revocation_endpoint', 'introspection_endpoint'] as const;
type EndpointName = (typeof ENDPOINTS)[number];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks an issuer identifier as an admin gives it and returns it unchanged: metadata must name the
 * issuer by the very same string (RFC 8414 section 3.3, OpenID Discovery 4.3), so it is never rewritten,
 * and what the URL parser would silently drop or rewrite (spaces, control characters) is refused instead.
 */
export function normalizeIssuerUrl(input: unknown): string {
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_ISSUER_LENGTH) {
    throw invalidIssuer(`issuer must be an absolute https URL of at most ${MAX_ISSUER_LENGTH} characters`);
  }
  // printable ASCII and non-ASCII only: spaces and control characters are the ones the parser drops
  if (/[^\u0021-\u007e\u0080-\u{10ffff}]/u.test(input))
    throw invalidIssuer('issuer must not contain spaces or control characters');
  let parsed: URL;
  try {
    parsed = new URL(input);
  } catch {
    throw invalidIssuer('issuer must be an absolute https URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw invalidIssuer('issuer must be an absolute https URL');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw invalidIssuer('issuer must not carry a user name or password');
  }
  if (parsed.search !== '' || input.includes('?')) throw invalidIssuer('issuer must not have a query');
  if (parsed.hash !== '' || input.includes('#')) throw invalidIssuer('issuer must not have a fragment');
  return input;
}

/** RFC 8414 section 3.1 inserts the well-known part before the issuer's path; OpenID appends it. */
function metadataUrls(issuer: URL): readonly [string, string] {
  const path = issuer.pathname.replace(/\/$/u, '');
  return [
    `${issuer.origin}/.well-known/oauth-authorization-server${path}`,
    `${issuer.origin}${path}/.well-known/openid-configuration`,
  ];
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function effectivePort(url: URL): string {
  if (url.port !== '') return url.port;
  return url.protocol === 'https:' ? '443' : '80';
}

function sameHost(a: URL, b: URL): boolean {
  return a.hostname === b.hostname && effectivePort(a) === effectivePort(b);
}

/**
 * The endpoints the server keeps, each checked before it is ever contacted: the URL policy, and the
 * issuer's own host and port, so that metadata cannot point the server (and a client's secret) at
 * another host.
 */
function endpointsOf(
  metadata: Record<string, unknown>,
  issuer: string,
  issuerUrl: URL,
  options: ResolvedIssuersOptions,
): IssuerEndpoints {
  if (metadata.issuer !== issuer) {
    if (typeof metadata.issuer !== 'string') {
      throw invalidIssuer(`the metadata names no issuer; expected ${quote(issuer)}`);
    }
    throw invalidIssuer(`the metadata names issuer ${quote(metadata.issuer)}, not ${quote(issuer)}`);
  }
  const kept: Partial<Record<EndpointName, string>> = {};
  for (const name of ENDPOINTS) {
    const value = metadata[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw invalidIssuer(`${name} in the metadata is not a string`);
    const url = checkRemoteUrl(value, options, name);
    if (!sameHost(url, issuerUrl)) {
      throw invalidIssuer(`${name} ${quote(value)} is not on the issuer's host ${issuerUrl.host}`);
    }
    kept[name] = value;
  }
  const { token_endpoint: tokenEndpoint, ...others } = kept;
  if (tokenEndpoint === undefined) throw invalidIssuer('the metadata names no token_endpoint');
  const methods = metadata.token_endpoint_auth_methods_supported;
  return {
    token_endpoint: tokenEndpoint,
    ...others,
    ...(isStringArray(methods) && { token_endpoint_auth_methods_supported: [...methods] }),
  };
}

/**
 * Fetches an issuer's metadata, RFC 8414 first, then OpenID Discovery when the first answers anything
 * but a JSON object with 200, and returns the endpoints kept. `invalid_issuer` says what was wrong;
 * `503` when the issuer cannot be reached (the second URL, on the same host, is then not tried) or
 * answered a server error and nothing usable.
 */
export async function discoverIssuer(issuerUrl: string, options: ResolvedIssuersOptions): Promise<IssuerEndpoints> {
  const issuer = normalizeIssuerUrl(issuerUrl);
  const parsed = checkRemoteUrl(issuer, options, 'issuer');
  const answers: string[] = [];
  let serverError = false;
  for (const url of metadataUrls(parsed)) {
    const { status, json } = await remoteFetch(url, { method: 'GET' }, options);
    if (status === 200 && isObject(json)) return endpointsOf(json, issuer, parsed, options);
    serverError ||= status >= 500;
    const why = status === 200 ? ' without a JSON object' : status >= 300 && status < 400 ? ' (not followed)' : '';
    answers.push(`${url} answered HTTP ${status}${why}`);
  }
  if (serverError) throw issuerUnavailable();
  throw invalidIssuer(`no usable metadata: ${answers.join('; ')}`);
}
