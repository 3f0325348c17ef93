import autocannon from 'autocannon';

import { isOpaqueTokenResponse, requestToken, TOKEN_REQUEST } from '../workload.js';

export interface LoadOptions {
  readonly connections: number;
  readonly durationSeconds: number;
}

/** One timed run of load against one server, with everything needed to tell whether it is valid. */
export interface LoadResult {
  /** Mean of autocannon's per-second samples of completed responses (duration runs); ok / elapsed otherwise. */
  readonly requestsPerSecond: number;
  readonly completed: number;
  /** Responses with the expected status whose body passed the check. */
  readonly ok: number;
  /** Responses with another status than the expected one. */
  readonly unexpectedStatus: number;
  /** Completed responses whose body failed the check (counted on top of unexpected statuses for errors). */
  readonly mismatches: number;
  /** Connection errors, including timeouts. */
  readonly errors: number;
  readonly timeouts: number;
  /** Count per HTTP status, e.g. `{ "200": 31000, "401": 3 }`. */
  readonly statusCodes: Readonly<Record<string, number>>;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly elapsedSeconds: number;
}

/** Whether every request of a run succeeded; a run that fails any request measures the wrong thing. */
export function isValid(result: LoadResult): boolean {
  return (
    result.ok > 0 &&
    result.unexpectedStatus === 0 &&
    result.mismatches === 0 &&
    result.errors === 0 &&
    result.timeouts === 0 &&
    result.ok === result.completed
  );
}

/** What went wrong in a run, for the printout: `401×12, 3 bad bodies, 2 connection errors`. */
export function describeFailures(result: LoadResult, expectedStatus = 200): string {
  const parts: string[] = [];
  const failedStatuses = Object.entries(result.statusCodes).filter(([code]) => code !== String(expectedStatus));
  if (failedStatuses.length > 0) parts.push(`status ${failedStatuses.map(([code, n]) => `${code}×${n}`).join(' ')}`);
  // an error body never passes the check, so every unexpected status is a mismatch too: report only the rest
  const badSuccesses = result.mismatches - result.unexpectedStatus;
  if (badSuccesses > 0) parts.push(`${badSuccesses} ${expectedStatus} responses with an unexpected body`);
  if (result.errors > 0) parts.push(`${result.errors} connection errors (${result.timeouts} timeouts)`);
  if (result.ok === 0) parts.push('no successful response at all');
  return parts.join(', ');
}

/** One request as autocannon builds it; `setupRequest` may rewrite it before every send. */
export interface LoadRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Called before each request is sent (once per request, plus once per connection at start). */
  readonly setupRequest?: (request: autocannon.Request) => autocannon.Request;
}

export interface LoadSpec {
  readonly request: LoadRequest;
  readonly connections: number;
  /** Either a duration, or an exact number of requests (shared out over the connections). */
  readonly durationSeconds?: number;
  readonly amount?: number;
  readonly expectedStatus: number;
  readonly verifyBody: (body: string | Buffer | undefined) => boolean;
}

/**
 * Sends requests from `connections` keep-alive connections, one in flight per connection (OAuth
 * clients and portals do not pipeline), checking every status and body.
 */
export async function runLoad(baseUrl: string, spec: LoadSpec): Promise<LoadResult> {
  const { request } = spec;
  const started = process.hrtime.bigint();
  let lastResponse = started;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: new URL(request.path, baseUrl).href,
        connections: spec.connections,
        pipelining: 1,
        timeout: 10,
        ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: spec.durationSeconds ?? 10 }),
        requests: [
          {
            method: request.method,
            path: request.path,
            headers: { ...request.headers },
            ...(request.body !== undefined && { body: request.body }),
            ...(request.setupRequest && { setupRequest: request.setupRequest }),
          },
        ],
        verifyBody: spec.verifyBody,
      },
      (err, res) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(res)),
    );
    // autocannon notices the end only at its next one-second tick: time a fixed amount to its last response
    instance.on('response', () => {
      lastResponse = process.hrtime.bigint();
    });
  });
  const elapsedSeconds = Number((spec.amount !== undefined ? lastResponse : process.hrtime.bigint()) - started) / 1e9;
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stats.count ?? 0;
  const completed = result.requests.total;
  const expected = statusCodes[String(spec.expectedStatus)] ?? 0;
  const unexpectedStatus = completed - expected;
  // autocannon counts a failed body check as a mismatch, whatever the status
  const ok = Math.max(0, expected - Math.max(0, result.mismatches - unexpectedStatus));
  return {
    // a fixed amount ends mid-second: the per-second samples would undercount the last one
    requestsPerSecond: spec.amount !== undefined ? ok / elapsedSeconds : result.requests.average,
    completed,
    ok,
    unexpectedStatus,
    mismatches: result.mismatches,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    elapsedSeconds,
  };
}

/** Token requests of the bench client for `durationSeconds`. */
export async function loadTokenEndpoint(baseUrl: string, options: LoadOptions): Promise<LoadResult> {
  return runLoad(baseUrl, {
    request: {
      method: TOKEN_REQUEST.method,
      path: TOKEN_REQUEST.path,
      headers: TOKEN_REQUEST.headers,
      body: TOKEN_REQUEST.body,
    },
    connections: options.connections,
    durationSeconds: options.durationSeconds,
    expectedStatus: 200,
    verifyBody: (body) => isOpaqueTokenResponse(body),
  });
}

export interface SequentialResult {
  readonly requests: number;
  readonly failed: number;
  readonly firstFailure: string | undefined;
}

/** Runs `count` requests one after another (a countable batch), each checked by `send`. */
export async function sequential(count: number, send: (index: number) => Promise<void>): Promise<SequentialResult> {
  let failed = 0;
  let firstFailure: string | undefined;
  for (let i = 0; i < count; i += 1) {
    try {
      await send(i);
    } catch (err) {
      failed += 1;
      firstFailure ??= (err as Error).message;
    }
  }
  return { requests: count, failed, firstFailure };
}

/** Sends `count` token requests one after another, checking each. */
export async function sequentialTokenRequests(baseUrl: string, count: number): Promise<SequentialResult> {
  return sequential(count, async () => {
    await requestToken(baseUrl);
  });
}
