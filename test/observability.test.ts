/**
 * cli/server/observability.ts, wired into the server `appkeys serve` runs: Prometheus metrics at /metrics on a
 * listener of their own that count what happened, a timed store, and one JSON log line per appkeys event — with
 * no secret in any log line or metric.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger, observability } from '../cli/server/observability.js';
import { ownerToken } from '../examples/owner-token.js';
import { startStandalone, type RunningServer } from '../cli/server/standalone.js';
import { startAppKeys, type AppKeysHarness } from './support/appkeys.js';
import { basicAuth } from '../support/http.js';

type Json = Record<string, unknown>;

/** A pino destination that keeps every line. */
function capture(): { lines: string[]; write(line: string): void } {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition. */
function parseMetrics(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample: ${line}`);
      const labels: Record<string, string> = {};
      for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
        labels[pair[1]!] = pair[2]!;
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

/** The value of the one sample with this name and exactly these labels; undefined when absent. */
function sample(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([key, value]) => s.labels[key] === value),
  );
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} is ambiguous`);
  return found[0]?.value;
}

describe("the standalone server's metrics and logs", () => {
  const ADMIN_SECRET = 'standalone-admin-secret-0123456789abcdef';
  const CORP_SECRET = 'corp-secret-issued-elsewhere-0123456789';
  const WRONG = Array.from({ length: 6 }, (_, i) => `wrong-secret-attempt-${i}-0123456789`);
  const log = capture();
  const secrets: string[] = [ADMIN_SECRET, CORP_SECRET, ...WRONG];
  let running: RunningServer;
  let metricsText = '';
  let samples: Sample[] = [];

  beforeAll(async () => {
    running = await startStandalone({
      port: 0,
      adminClientId: 'appkeys-admin',
      adminClientSecret: ADMIN_SECRET,
      log: { level: 'info', destination: log },
      metrics: { port: 0 },
    });
    const api = request(running.url);
    const token = async (id: string, secret: string, scope?: string) => {
      const response = await api
        .post('/token')
        .set('Authorization', basicAuth(id, secret))
        .type('form')
        .send({ grant_type: 'client_credentials', ...(scope && { scope }) });
      expect(response.status, response.text).toBe(200);
      return (response.body as { access_token: string }).access_token;
    };
    const as = (bearer: string) => ({ Authorization: `Bearer ${bearer}` });

    const admin = await token('appkeys-admin', ADMIN_SECRET, 'appkeys:admin');
    const alice = await ownerToken(running.url, 'alice');
    const bob = await ownerToken(running.url, 'bob');
    secrets.push(admin, alice, bob);

    expect(
      (
        await api
          .put('/appkeys/clients/corp-svc')
          .set(as(admin))
          .send({
            client_secret: CORP_SECRET,
            grant_types: ['client_credentials'],
            response_types: [],
            redirect_uris: [],
          })
      ).status,
    ).toBe(201);
    const appA = (await api.post('/appkeys/applications').set(as(alice)).send({ name: 'Billing' })).body as {
      id: string;
    };
    const appB = (await api.post('/appkeys/applications').set(as(bob)).send({ name: 'Guesswork' })).body as {
      id: string;
    };

    // five wrong secrets are refused, the sixth is throttled
    for (const [index, wrong] of WRONG.entries()) {
      const failed = await api
        .put(`/appkeys/applications/${appB.id}/keys/PRODUCTION`)
        .set(as(bob))
        .send({ client_id: 'corp-svc', client_secret: wrong });
      expect(failed.status).toBe(index < 5 ? 401 : 429);
    }

    expect(
      (
        await api
          .put(`/appkeys/applications/${appA.id}/keys/PRODUCTION`)
          .set(as(alice))
          .send({ client_id: 'corp-svc', client_secret: CORP_SECRET })
      ).status,
    ).toBe(201);
    const generated = await api.post(`/appkeys/applications/${appA.id}/keys/SANDBOX`).set(as(alice)).send({});
    expect(generated.status).toBe(201);
    const { client_id: generatedId, client_secret: firstSecret } = generated.body as {
      client_id: string;
      client_secret: string;
    };
    const rotated = await api.post(`/appkeys/applications/${appA.id}/keys/SANDBOX/secret`).set(as(alice));
    const newSecret = (rotated.body as { client_secret: string }).client_secret;
    secrets.push(firstSecret, newSecret);

    secrets.push(await token('corp-svc', CORP_SECRET), await token(generatedId, newSecret));

    expect((await api.delete(`/appkeys/applications/${appA.id}/keys/PRODUCTION`).set(as(alice))).status).toBe(204);
    expect((await api.delete(`/appkeys/applications/${appA.id}`).set(as(alice))).status).toBe(204);

    expect((await api.get('/metrics')).status).toBe(404);
    const scraped = await fetch(running.metricsUrl!);
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain/);
    metricsText = await scraped.text();
    samples = parseMetrics(metricsText);
  });
  afterAll(async () => {
    await running?.close();
  });

  it('counts bindings by origin and key type, and removals by origin and reason', () => {
    expect(sample(samples, 'appkeys_bindings_created_total', { origin: 'provided', key_type: 'PRODUCTION' })).toBe(1);
    expect(sample(samples, 'appkeys_bindings_created_total', { origin: 'generated', key_type: 'SANDBOX' })).toBe(1);
    expect(
      sample(samples, 'appkeys_bindings_created_total', { origin: 'provided', key_type: 'SANDBOX' }),
    ).toBeUndefined();
    expect(sample(samples, 'appkeys_bindings_removed_total', { origin: 'provided', reason: 'unbound' })).toBe(1);
    expect(
      sample(samples, 'appkeys_bindings_removed_total', { origin: 'generated', reason: 'application_deleted' }),
    ).toBe(1);
  });

  it('counts failed provide-keys attempts, throttles, and applications created and deleted', () => {
    expect(sample(samples, 'appkeys_provide_keys_failures_total', { throttled: 'false' })).toBe(5);
    expect(sample(samples, 'appkeys_provide_keys_failures_total', { throttled: 'true' })).toBe(1);
    expect(sample(samples, 'appkeys_throttled_requests_total')).toBe(1);
    expect(sample(samples, 'appkeys_applications_created_total')).toBe(2);
    expect(sample(samples, 'appkeys_applications_deleted_total')).toBe(1);
  });

  it('times every store call by method and outcome', () => {
    const count = (method: string) =>
      sample(samples, 'appkeys_store_call_duration_seconds_count', { method, outcome: 'ok' });
    // every attempt asks first (bob's six, alice's one); the sixth is throttled then, so not recorded
    expect(count('attemptWait')).toBe(7);
    expect(count('recordFailedAttempt')).toBe(5);
    expect(count('createApplication')).toBe(2);
    expect(count('putClient')).toBe(1);
    expect(count('bind')).toBe(1);
    expect(count('createAndBind')).toBe(1);
    expect(count('unbind')).toBe(1);
    expect(count('deleteApplication')).toBe(1);
    // the provider's client lookups go through the store too
    expect(count('getClient')).toBeGreaterThan(0);
    const buckets = samples.filter(
      (s) => s.name === 'appkeys_store_call_duration_seconds_bucket' && s.labels.method === 'bind',
    );
    expect(buckets.find((s) => s.labels.le === '+Inf')?.value).toBe(1);
    expect(
      sample(samples, 'appkeys_store_call_duration_seconds_sum', { method: 'bind', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(0);
  });

  it('counts HTTP requests by method, route template and status class', () => {
    const keysRoute = '/appkeys/applications/:app_id/keys/:key_type';
    expect(sample(samples, 'http_requests_total', { method: 'PUT', route: keysRoute, status_class: '4xx' })).toBe(6);
    expect(sample(samples, 'http_requests_total', { method: 'PUT', route: keysRoute, status_class: '2xx' })).toBe(1);
    expect(
      sample(samples, 'http_requests_total', {
        method: 'DELETE',
        route: '/appkeys/applications/:app_id',
        status_class: '2xx',
      }),
    ).toBe(1);
    // admin, two owners' code exchanges, and the two bound clients
    expect(sample(samples, 'http_requests_total', { method: 'POST', route: '/token', status_class: '2xx' })).toBe(5);
    // no label carries an id: routes are templates
    expect(
      samples
        .filter((s) => s.name === 'http_requests_total')
        .every((s) => !/[A-Za-z0-9_-]{20,}/.test(s.labels.route ?? '')),
    ).toBe(true);
  });

  it('logs one JSON line per appkeys event, in order, with who and what', () => {
    const entries = log.lines.map((line) => JSON.parse(line) as Json);
    const events = entries.filter(
      (entry) => typeof entry.event === 'string' && (entry.event as string).startsWith('appkeys.'),
    );
    expect(events.map((entry) => entry.event)).toEqual([
      'appkeys.client.registered',
      'appkeys.application.created',
      'appkeys.application.created',
      ...Array(6).fill('appkeys.provide_keys.failed'),
      'appkeys.binding.created',
      'appkeys.binding.created',
      'appkeys.client.secret_rotated',
      'appkeys.binding.removed',
      'appkeys.binding.removed',
      'appkeys.application.deleted',
    ]);
    for (const entry of events) {
      expect(entry.actor).toMatchObject({ kind: expect.stringMatching(/^(owner|admin)$/), id: expect.any(String) });
      expect(entry.at).toEqual(expect.any(String));
      expect(entry.msg).toBe(entry.event);
    }
    expect(events[0]).toMatchObject({ client_id: 'corp-svc', actor: { kind: 'admin' } });
    expect(events[3]).toMatchObject({
      level: 40,
      client_id: 'corp-svc',
      key_type: 'PRODUCTION',
      throttled: false,
      actor: { kind: 'owner', id: 'bob' },
    });
    expect(events[8]).toMatchObject({ throttled: true });
    expect(events[9]).toMatchObject({ level: 30, origin: 'provided', client_id: 'corp-svc', actor: { id: 'alice' } });
  });

  it('shows no secret in any log line or metric', () => {
    expect(log.lines.length).toBeGreaterThan(0);
    const texts = [...log.lines, metricsText];
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(15);
      for (const text of texts) expect(text.includes(secret), `a secret in: ${text.slice(0, 200)}`).toBe(false);
    }
  });
});

describe('server error logs', () => {
  const log = capture();
  let harness: AppKeysHarness;
  const BODY_SECRET = 'a-secret-in-the-request-body-0123456789';

  beforeAll(async () => {
    harness = await startAppKeys(
      {
        // a portal whose session store is down
        authenticate: async () => {
          throw new Error('portal session store unreachable');
        },
      },
      {
        clients: [
          {
            client_id: 'svc',
            client_secret: BODY_SECRET,
            token_endpoint_auth_method: 'client_secret_post',
            grant_types: ['client_credentials'],
            response_types: [],
            redirect_uris: [],
          },
        ],
        // a claims backend that fails while a token is being issued
        extraTokenClaims: () => {
          throw new TypeError('claims backend unreachable');
        },
      },
    );
    observability({ destination: log }).attach(harness.provider);
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('logs an appkeys server error with its name and message and where, never the request body', async () => {
    const response = await request(harness.server)
      .put('/appkeys/clients/x?note=1')
      .send({ client_secret: BODY_SECRET });
    expect(response.status).toBe(500);
    const lines = log.lines
      .map((line) => JSON.parse(line) as Json)
      .filter((entry) => entry.event === 'appkeys.server_error');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 50,
      error: { name: 'Error', message: 'portal session store unreachable' },
      method: 'PUT',
      path: '/appkeys/clients/x',
    });
    expect(lines[0]).not.toHaveProperty('stack');
    expect(log.lines.join('\n')).not.toContain(BODY_SECRET);
  });

  it("logs the provider's own server errors the same way", async () => {
    const response = await request(harness.server)
      .post('/token')
      .type('form')
      .send({ grant_type: 'client_credentials', client_id: 'svc', client_secret: BODY_SECRET });
    expect(response.status).toBe(500);
    const lines = log.lines.map((line) => JSON.parse(line) as Json).filter((entry) => entry.event === 'server_error');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 50,
      error: { name: 'TypeError', message: 'claims backend unreachable' },
      method: 'POST',
      path: '/token',
    });
    expect(log.lines.join('\n')).not.toContain(BODY_SECRET);
  });
});

describe('the logger', () => {
  it('redacts secrets and credentials wherever a line would carry them', () => {
    const log = capture();
    createLogger({ level: 'info', destination: log }).info(
      {
        client_secret: 'top-level-secret',
        client: { client_secret: 'nested-secret' },
        authorization: 'Bearer a-token',
        headers: { authorization: 'Basic credentials' },
        password: 'hunter2',
        user: { password: 'hunter3' },
        client_id: 'shown',
      },
      'redaction',
    );
    const [line] = log.lines;
    for (const hidden of ['top-level-secret', 'nested-secret', 'a-token', 'credentials', 'hunter2', 'hunter3'])
      expect(line).not.toContain(hidden);
    expect(JSON.parse(line!)).toMatchObject({
      client_secret: '[redacted]',
      client: { client_secret: '[redacted]' },
      client_id: 'shown',
    });
  });

  it('takes its level from LOG_LEVEL, info by default', () => {
    const previous = process.env.LOG_LEVEL;
    try {
      delete process.env.LOG_LEVEL;
      const byDefault = capture();
      const logger = createLogger({ destination: byDefault });
      logger.debug('hidden');
      logger.info('shown');
      expect(byDefault.lines.map((line) => (JSON.parse(line) as Json).msg)).toEqual(['shown']);

      process.env.LOG_LEVEL = 'warn';
      const quiet = capture();
      const warnOnly = createLogger({ destination: quiet });
      warnOnly.info('hidden');
      warnOnly.warn('shown');
      expect(quiet.lines.map((line) => (JSON.parse(line) as Json).msg)).toEqual(['shown']);
    } finally {
      if (previous === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = previous;
    }
  });
});
