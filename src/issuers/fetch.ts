import { invalidIssuer, issuerUnavailable } from '../errors.js';
import type { ResolvedIssuersOptions } from './options.js';

export interface RemoteRequest {
  readonly method: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  /** Sent as application/x-www-form-urlencoded. */
  readonly form?: URLSearchParams;
}

export interface RemoteResponse {
  readonly status: number;
  /** The parsed body, or undefined when it is empty or not JSON. */
  readonly json: unknown;
}

const MAX_ECHOED = 200;

/** A remote value quoted in an error description: an admin reads it, so it is kept short. */
export function quote(value: string): string {
  return JSON.stringify(value.length > MAX_ECHOED ? `${value.slice(0, MAX_ECHOED)}…` : value);
}

function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  // the URL parser has rewritten every IPv4 spelling (127.1, 0x7f.0.0.1, …) to four decimal octets
  return /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * The URL policy of every remote call, checked before any connection: https only (http only for a
 * loopback literal when `allowHttpLoopback`), no user name or password, no fragment. Throws
 * `invalid_issuer` naming `name` and the rule broken.
 */
export function checkRemoteUrl(url: string, options: ResolvedIssuersOptions, name = 'the URL'): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidIssuer(`${name} is not an absolute URL`);
  }
  // checked first, and the URL not echoed, since a password would otherwise reach the answer
  if (parsed.username !== '' || parsed.password !== '') {
    throw invalidIssuer(`${name} must not carry a user name or password`);
  }
  if (parsed.hash !== '' || url.includes('#')) throw invalidIssuer(`${name} ${quote(url)} must not have a fragment`);
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:' && options.allowHttpLoopback) {
    if (isLoopbackHost(parsed.hostname)) return parsed;
    throw invalidIssuer(`${name} ${quote(url)} must use https (http is allowed for loopback hosts only)`);
  }
  throw invalidIssuer(`${name} ${quote(url)} must use https`);
}

/** Thrown inside `readBody` only, so that the size limit is told apart from a broken stream. */
class TooLarge extends Error {}

async function readBody(response: Response, limit: number): Promise<Buffer> {
  if (response.body === null) return Buffer.alloc(0);
  if (Number(response.headers.get('content-length')) > limit) {
    void response.body.cancel().catch(() => undefined);
    throw new TooLarge();
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks);
    size += value.byteLength;
    if (size > limit) {
      // not awaited: cancelling drops the connection, and nothing more is wanted from it
      void reader.cancel().catch(() => undefined);
      throw new TooLarge();
    }
    chunks.push(value);
  }
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Every call to a third-party issuer goes through here. The URL policy is checked first; redirects are
 * never followed (the caller sees the 3xx), so that an issuer cannot send the server to a host its
 * metadata was not checked against; one timeout bounds the connection, the headers and the body, read
 * as a stream and cut off at `maxResponseBytes`. Unreachable, timed out or cut → `503`
 * (`issuerUnavailable`), too large → `invalid_issuer`. Nothing of the request (a secret in a header or
 * the form) is put in an error.
 */
export async function remoteFetch(
  url: string,
  init: RemoteRequest,
  options: ResolvedIssuersOptions,
): Promise<RemoteResponse> {
  const target = checkRemoteUrl(url, options);
  const signal = AbortSignal.timeout(options.timeoutMs);
  const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
  if (init.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  try {
    const response = await fetch(target.href, {
      method: init.method,
      headers,
      body: init.form?.toString(),
      redirect: 'manual',
      signal,
    });
    const body = await readBody(response, options.maxResponseBytes);
    return { status: response.status, json: parseJson(body) };
  } catch (err) {
    if (err instanceof TooLarge) {
      throw invalidIssuer(`${quote(target.href)} answered with more than ${options.maxResponseBytes} bytes`);
    }
    throw issuerUnavailable(err);
  }
}
