import type request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { redisStore } from '../adapters/redis/store.js';
import { externalClientRef } from '../src/issuers/ref.js';
import { MAX_LIMIT } from '../src/pagination.js';
import { redisOrSkip, startRedis, type TestRedis } from './support/redis.js';
import { redisBackend } from './support/backends.js';
import { bindRequest, newApplication } from './support/store-cases.js';
import { storedIssuer } from './support/store-conformance-issuers.js';
import { type Subject, subjectsPerTest } from './support/subject.js';
import { prng as random } from './support/prng.js';

/**
 * Concurrent requests through HTTP against one Redis store: whatever interleaving the server picks,
 * a client is bound at most once, a key type holds at most one client, and verify() finds the
 * keyspace whole.
 */

const APPS = '/appkeys/applications';
const CLIENTS = '/appkeys/clients';
const appPath = (id: string) => `${APPS}/${id}`;
const keysPath = (id: string, keyType: string) => `${APPS}/${id}/keys/${keyType}`;
const secretOf = (clientId: string) => `secret-of-${clientId}-0123456789abcdef0123456789`;

interface Binding {
  application_id: string;
  key_type: string;
  client_id: string;
  origin: string;
}
interface ApplicationBody {
  id: string;
  keys: Record<string, Binding>;
}
interface ClientBody {
  client_id: string;
  binding: Binding | null;
}

function statusCounts(responses: readonly request.Response[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const response of responses) {
    const key = `${response.status}${response.body?.error ? ` ${response.body.error}` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe.runIf(redisOrSkip())('concurrent changes on the Redis store', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const start = subjectsPerTest(
    redisBackend(() => redis, 'races'),
    { expectNoLeaks: true },
  );

  async function adminApplication(s: Subject, owner: string, name: string): Promise<string> {
    const created = await s.post(APPS, await s.admin(), { name, owner });
    expect(created.status, created.text).toBe(201);
    return created.body.id as string;
  }

  async function everything<T>(s: Subject, path: string): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await s.get(`${path}?limit=${MAX_LIMIT}${cursor ? `&cursor=${cursor}` : ''}`, await s.admin());
      expect(page.status, page.text).toBe(200);
      items.push(...(page.body.items as T[]));
      cursor = page.body.next_cursor;
    } while (cursor);
    return items;
  }

  /** Applications and clients, as the API shows them, agree, and no client is bound twice. */
  async function expectConsistentBindings(s: Subject, providedClients: ReadonlySet<string>): Promise<void> {
    const applications = await everything<ApplicationBody>(s, APPS);
    const clients = new Map((await everything<ClientBody>(s, CLIENTS)).map((client) => [client.client_id, client]));
    const holders = new Map<string, string[]>();
    for (const application of applications) {
      for (const [keyType, binding] of Object.entries(application.keys)) {
        expect(binding).toMatchObject({ application_id: application.id, key_type: keyType });
        holders.set(binding.client_id, [...(holders.get(binding.client_id) ?? []), `${application.id}/${keyType}`]);
        expect(clients.get(binding.client_id)?.binding, `client of ${application.id}/${keyType}`).toEqual(binding);
      }
    }
    for (const [clientId, held] of holders) expect(held, `client ${clientId} is bound more than once`).toHaveLength(1);
    for (const client of clients.values()) {
      if (client.binding) {
        expect(
          holders.get(client.client_id),
          `client ${client.client_id} names a binding no application holds`,
        ).toEqual([`${client.binding.application_id}/${client.binding.key_type}`]);
      } else {
        // a generated client lives exactly as long as its binding
        expect(providedClients.has(client.client_id), `unbound client ${client.client_id} was not provided`).toBe(true);
      }
    }
  }

  it('binds one client to exactly one of forty applications providing it at once', async () => {
    const t = await start();
    await t.registerClient('contested', secretOf('contested'));
    const appIds = await Promise.all(
      Array.from({ length: 40 }, (_, i) => adminApplication(t!, `owner-${i}`, `App ${i}`)),
    );
    const admin = await t.admin();

    const responses = await Promise.all(
      appIds.map((appId) =>
        t!.put(keysPath(appId, 'PRODUCTION'), admin, { client_id: 'contested', client_secret: secretOf('contested') }),
      ),
    );

    expect(statusCounts(responses)).toEqual({ '201': 1, '409 client_already_bound': 39 });
    const winner = appIds[responses.findIndex((response) => response.status === 201)]!;
    const client = await t.get(`${CLIENTS}/contested`, admin);
    expect(client.body.binding).toMatchObject({ application_id: winner, key_type: 'PRODUCTION' });
    await expectConsistentBindings(t, new Set(['contested']));
    expect(t.eventsNamed('appkeys.binding.created')).toHaveLength(1);
  });

  // on the store itself: providing an external client's keys over HTTP is the registry's, not this race's
  it('binds one client of a third-party issuer to exactly one of forty applications raced at once', async () => {
    const prefix = redis.namespace('races-external');
    // four connections, as four processes would have, so that the binds meet only at the server
    const stores = Array.from({ length: 4 }, () => redisStore({ client: redis.client(), prefix }));
    const store = stores[0]!;
    try {
      expect(await store.putIssuer(storedIssuer('acme'))).toBe('created');
      const appIds = Array.from({ length: 40 }, (_, i) => `app-${String(i).padStart(2, '0')}`);
      for (const [i, appId] of appIds.entries()) {
        expect(await store.createApplication(newApplication(appId, `owner-${i}`))).toBe('created');
      }
      const clientId = externalClientRef('acme', 'contested');

      const results = await Promise.all(
        appIds.map((appId, i) =>
          stores[i % stores.length]!.bind(bindRequest(appId, 'PRODUCTION', clientId, { issuerId: 'acme' })),
        ),
      );

      const outcomes: Record<string, number> = {};
      for (const { outcome } of results) outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      expect(outcomes).toEqual({ created: 1, client_already_bound: 39 });
      const winner = appIds[results.findIndex((result) => result.outcome === 'created')];
      expect(await store.getClient(clientId)).toMatchObject({
        metadata: { client_id: clientId },
        binding: { application_id: winner, key_type: 'PRODUCTION', origin: 'provided' },
        revision: 1,
      });
      expect((await store.listClients(undefined, 100)).map((client) => client.metadata.client_id)).toEqual([clientId]);
      const bound = (await store.listApplications({ kind: 'admin' }, undefined, 100)).filter(
        (application) => application.bindings.length > 0,
      );
      expect(bound.map((application) => application.id)).toEqual([winner]);
      expect(await store.verify()).toEqual({ ok: true, problems: [] });
    } finally {
      await Promise.all(stores.map((each) => each.close()));
    }
  });

  it('binds one client to one key type when one client is provided to both key types at once', async () => {
    const t = await start();
    const admin = await t.admin();
    const rounds = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const clientId = `both-${i}`;
        await t!.registerClient(clientId, secretOf(clientId));
        const appId = await adminApplication(t!, `owner-${i}`, 'App');
        return Promise.all(
          ['PRODUCTION', 'SANDBOX'].map((keyType) =>
            t!.put(keysPath(appId, keyType), admin, { client_id: clientId, client_secret: secretOf(clientId) }),
          ),
        );
      }),
    );
    for (const responses of rounds)
      expect(statusCounts(responses)).toEqual({ '201': 1, '409 client_already_bound': 1 });
    await expectConsistentBindings(t, new Set(Array.from({ length: 10 }, (_, i) => `both-${i}`)));
  });

  it('gives a key type exactly one of two clients provided to it at once', async () => {
    const t = await start();
    const admin = await t.admin();
    const rounds = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const clients = [`first-${i}`, `second-${i}`];
        for (const clientId of clients) await t!.registerClient(clientId, secretOf(clientId));
        const appId = await adminApplication(t!, `owner-${i}`, 'App');
        const responses = await Promise.all(
          clients.map((clientId) =>
            t!.put(keysPath(appId, 'SANDBOX'), admin, { client_id: clientId, client_secret: secretOf(clientId) }),
          ),
        );
        return { appId, clients, responses };
      }),
    );
    for (const { appId, clients, responses } of rounds) {
      expect(statusCounts(responses)).toEqual({ '201': 1, '409 key_type_already_bound': 1 });
      const winner = clients[responses.findIndex((response) => response.status === 201)];
      expect((await t.get(keysPath(appId, 'SANDBOX'), admin)).body.client_id).toBe(winner);
    }
    await expectConsistentBindings(t, new Set(rounds.flatMap((round) => round.clients)));
  });

  it('keeps every invariant through a storm of provides, unbinds, deletions and re-creations', async () => {
    const t = await start({ provideKeys: { enabled: true, attempts: { perCaller: 10_000, perClient: 10_000 } } });
    const s = t;
    const next = random(20250101);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const admin = await s.admin();
    const owners = ['owner-0', 'owner-1', 'owner-2', 'owner-3'];
    const ownerTokens = new Map(await Promise.all(owners.map(async (owner) => [owner, await s.owner(owner)] as const)));
    const provided = Array.from({ length: 8 }, (_, i) => `oob-${i}`);
    for (const clientId of provided) await s.registerClient(clientId, secretOf(clientId));
    s.secret('wrong-secret-for-the-storm-0123456789');

    // eight slots, each an application name of one owner; a slot's application may be deleted and re-created
    const slots = Array.from({ length: 8 }, (_, i) => ({
      owner: owners[i % owners.length]!,
      name: `slot-${i}`,
      ids: [] as string[],
    }));
    for (const slot of slots) slot.ids.push(await adminApplication(s, slot.owner, slot.name));

    type Op = {
      describe: string;
      allowed: readonly number[];
      send(): Promise<request.Response>;
      after?(response: request.Response): void;
    };
    const operation = (): Op => {
      const slot = pick(slots);
      const appId = next() < 0.75 ? slot.ids.at(-1)! : pick(slot.ids);
      const keyType = pick(['PRODUCTION', 'SANDBOX']);
      const clientId = pick(provided);
      const token = next() < 0.5 ? admin : ownerTokens.get(slot.owner)!;
      const roll = next();
      if (roll < 0.35) {
        const secret = next() < 0.1 ? 'wrong-secret-for-the-storm-0123456789' : secretOf(clientId);
        return {
          describe: `provide ${clientId} to ${appId}/${keyType}`,
          allowed: [200, 201, 401, 404, 409],
          send: () => s.put(keysPath(appId, keyType), token, { client_id: clientId, client_secret: secret }),
        };
      }
      if (roll < 0.45) {
        return {
          describe: `generate ${appId}/${keyType}`,
          allowed: [201, 404, 409],
          send: () => s.post(keysPath(appId, keyType), token, {}),
        };
      }
      if (roll < 0.6) {
        return {
          describe: `unbind ${appId}/${keyType}`,
          allowed: [204, 404],
          send: () => s.delete(keysPath(appId, keyType), token),
        };
      }
      if (roll < 0.65) {
        return {
          describe: `rotate ${appId}/${keyType}`,
          allowed: [200, 404, 409],
          send: () => s.post(`${keysPath(appId, keyType)}/secret`, token),
        };
      }
      if (roll < 0.75) {
        return { describe: `delete ${appId}`, allowed: [204, 404], send: () => s.delete(appPath(appId), token) };
      }
      if (roll < 0.87) {
        return {
          describe: `re-create ${slot.name} of ${slot.owner}`,
          allowed: [201, 409],
          send: () => s.post(APPS, admin, { name: slot.name, owner: slot.owner }),
          after(response) {
            if (response.status === 201) slot.ids.push(response.body.id as string);
          },
        };
      }
      if (roll < 0.93) {
        return {
          describe: `force-delete ${clientId}`,
          allowed: [204, 404],
          send: () => s.delete(`${CLIENTS}/${clientId}?force=true`, admin),
        };
      }
      return {
        describe: `register ${clientId}`,
        allowed: [200, 201],
        send: () =>
          s.put(`${CLIENTS}/${clientId}`, admin, {
            client_secret: secretOf(clientId),
            grant_types: ['client_credentials'],
            response_types: [],
            redirect_uris: [],
          }),
      };
    };

    const outcomes: Record<string, number> = {};
    for (let wave = 0; wave < 5; wave += 1) {
      const ops = Array.from({ length: 40 }, operation);
      const responses = await Promise.all(ops.map((op) => op.send()));
      ops.forEach((op, i) => {
        const response = responses[i]!;
        expect(op.allowed, `${op.describe} answered ${response.status} ${response.text}`).toContain(response.status);
        op.after?.(response);
        const key = `${response.status}${response.body?.error ? ` ${response.body.error}` : ''}`;
        outcomes[key] = (outcomes[key] ?? 0) + 1;
      });
      expect(await s.harness.keys.store.verify()).toEqual({ ok: true, problems: [] });
    }

    // the storm did real work, not 200 refusals
    expect(outcomes['201'] ?? 0).toBeGreaterThan(10);
    expect(outcomes['204'] ?? 0).toBeGreaterThan(10);
    await expectConsistentBindings(s, new Set(provided));
  });
});
