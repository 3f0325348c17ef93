import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { RedisClient } from '../../adapters/redis/client.js';
import { redisAdapter, redisStore } from '../../adapters/redis/index.js';
import { command, redisToolsOrSkip, startCluster, type TestCluster } from '../support/cluster.js';
import type { Backend } from '../support/backends.js';
import { oobMetadata, Subject } from '../support/subject.js';

/** The store and every provider model on one cluster client, under a fresh prefix each. */
function clusterBackend(name: string, client: () => RedisClient, namespace: () => string): Backend {
  return {
    name,
    async open() {
      const prefix = namespace();
      return {
        store: redisStore({ client: client(), prefix: `${prefix}appkeys:` }),
        adapter: redisAdapter({ client: client(), prefix: `${prefix}oidc:` }),
        async cleanup() {},
      };
    },
  };
}

const CLIENT_ID = 'corp-billing-svc';
const CLIENT_SECRET = 'secret-issued-by-the-corporate-idp';

describe.runIf(redisToolsOrSkip())('appkeys end to end on a 3-master Redis Cluster', () => {
  let cluster: TestCluster;
  const clients: Partial<Record<'ioredis' | 'node-redis', RedisClient>> = {};
  beforeAll(async () => {
    cluster = await startCluster(3);
    clients.ioredis = await cluster.ioredis();
    clients['node-redis'] = await cluster.nodeRedis();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  describe.each(['ioredis', 'node-redis'] as const)('with the %s cluster client', (kind) => {
    let t: Subject | undefined;
    afterEach(async () => {
      const subject = t;
      t = undefined;
      await subject?.finish();
    });

    it('provides keys, issues a client_credentials token that carries the binding, and introspects it', async () => {
      const prefixes: string[] = [];
      const backend = clusterBackend(
        kind,
        () => clients[kind]!,
        () => {
          const prefix = cluster.namespace('e2e');
          prefixes.push(prefix);
          return prefix;
        },
      );
      t = await Subject.start(backend);

      const registered = await t.put(
        `/appkeys/clients/${CLIENT_ID}`,
        await t.admin(),
        oobMetadata(t.secret(CLIENT_SECRET)),
      );
      expect(registered.status, registered.text).toBe(201);
      const alice = await t.owner('alice');
      const appId = await t.application(alice, 'Billing dashboard');
      const provided = await t.put(`/appkeys/applications/${appId}/keys/PRODUCTION`, alice, {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
      });
      expect(provided.status, provided.text).toBe(201);
      expect(provided.body).toMatchObject({ application_id: appId, client_id: CLIENT_ID, origin: 'provided' });

      const token = await t.accessToken(CLIENT_ID, CLIENT_SECRET, { scope: 'api:read' });
      expect(await t.introspect(token)).toMatchObject({
        active: true,
        client_id: CLIENT_ID,
        application_id: appId,
        key_type: 'PRODUCTION',
      });

      expect((await t.delete(`/appkeys/applications/${appId}`, alice)).status).toBe(204);
      expect((await t.introspect(token)).active).toBe(false);
      t.expectNoSecretLeaked();

      // the store wholly in one slot (its scripts are atomic); the provider's models each in their own
      const [prefix] = prefixes;
      const keysMatching = async (pattern: string) => {
        const keys: string[] = [];
        for (const port of cluster.ports) {
          const [, found] = (await command(port, 'SCAN', '0', 'MATCH', pattern, 'COUNT', 100_000)) as [
            string,
            string[],
          ];
          keys.push(...found);
        }
        return keys;
      };
      const slotsOf = async (keys: string[]) =>
        new Set(await Promise.all(keys.map((key) => command(cluster.ports[0]!, 'CLUSTER', 'KEYSLOT', key))));
      const storeKeys = await keysMatching(`{${prefix}appkeys:}*`);
      expect(storeKeys.length).toBeGreaterThanOrEqual(2);
      expect((await slotsOf(storeKeys)).size, storeKeys.join(', ')).toBe(1);
      const providerKeys = await keysMatching(`${prefix}oidc:*`);
      expect(providerKeys.length).toBeGreaterThanOrEqual(2);
      expect((await slotsOf(providerKeys)).size, providerKeys.join(', ')).toBeGreaterThan(1);
    });
  });
});
