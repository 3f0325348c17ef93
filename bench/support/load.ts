import autocannon from 'autocannon';

import { isOpaqueTokenResponse, requestToken, TOKEN_REQUEST } from '../workload.js';

export interface LoadOptions {
  readonly connections: number;
  readonly durationSeconds: number;
}

/** One timed run of load against one server, with everything needed to tell whether it is valid. */
export interface LoadResult {
  /** Mean of autocannon's per-second samples of completed responses. */
  readonly requestsPerSecond: number;
  readonly completed: number;
  readonly ok: number;
  readonly non2xx: number;
  /** Completed responses whose body was not a token response (counted on top of non2xx for errors). */
  readonly mismatches: number;
  /** Connection errors, including timeouts. */
  readonly errors: number;
  readonly timeouts: number;
  /** Count per HTTP status, e.g. `{ "200": 31000, "401": 3 }`. */
  readonly statusCodes: Readonly<Record<string, number>>;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
}

/** Whether every request of a run succeeded; a run that fails any request measures the wrong thing. */
export function isValid(result: LoadResult): boolean {
  return result.ok > 0 && result.non2xx === 0 && result.mismatches === 0 && result.errors === 0
    && result.timeouts === 0 && result.ok === result.completed;
}

/** What went wrong in a run, for the printout: `401×12, 3 bad bodies, 2 connection errors`. */
export function describeFailures(result: LoadResult): string {
  const parts: string[] = [];
  const failedStatuses = Object.entries(result.statusCodes).filter(([code]) => !code.startsWith('2'));
  if (failedStatuses.length > 0) parts.push(`non-2xx ${failedStatuses.map(([code, n]) => `${code}×${n}`).join(' ')}`);
  // an error body never holds a token, so every non-2xx is a mismatch too: report only the rest
  const badSuccesses = result.mismatches - result.non2xx;
  if (badSuccesses > 0) parts.push(`${badSuccesses} 2xx responses without an opaque token`);
  if (result.errors > 0) parts.push(`${result.errors} connection errors (${result.timeouts} timeouts)`);
  if (result.ok === 0) parts.push('no successful response at all');
  return parts.join(', ');
}

/**
 * Sends token requests from `connections` keep-alive connections for `durationSeconds`, one request
 * in flight per connection (OAuth clients do not pipeline), checking every response body.
 */
export async function loadTokenEndpoint(baseUrl: string, options: LoadOptions): Promise<LoadResult> {
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    autocannon({
      url: new URL(TOKEN_REQUEST.path, baseUrl).href,
      method: TOKEN_REQUEST.method,
      headers: { ...TOKEN_REQUEST.headers },
      body: TOKEN_REQUEST.body,
      connections: options.connections,
      pipelining: 1,
      duration: options.durationSeconds,
      timeout: 10,
      verifyBody: isOpaqueTokenResponse,
    }, (err, res) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(res)));
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stats.count ?? 0;
  const completed = result.requests.total;
  return {
    requestsPerSecond: result.requests.average,
    completed,
    ok: result['2xx'],
    non2xx: result.non2xx,
    mismatches: result.mismatches,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
  };
}

export interface SequentialResult {
  readonly requests: number;
  readonly failed: number;
  readonly firstFailure: string | undefined;
}

/** Sends `count` token requests one after another (a countable batch), checking each. */
export async function sequentialTokenRequests(baseUrl: string, count: number): Promise<SequentialResult> {
  let failed = 0;
  let firstFailure: string | undefined;
  for (let i = 0; i < count; i += 1) {
    try {
      await requestToken(baseUrl);
    } catch (err) {
      failed += 1;
      firstFailure ??= (err as Error).message;
    }
  }
  return { requests: count, failed, firstFailure };
}
