/**
 * `--config` with a module whose `redis` names Cluster nodes or Sentinels: the commands reach the
 * store through them, as `appkeys serve` would.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { STATIC_SERVICE_ID, operatorModule, rawModule } from '../fixtures/operator-module.js';
import { redisToolsOrSkip, startCluster, type TestCluster } from '../support/cluster.js';
import { runCliHere, type CliRun } from '../support/cli.js';
import { MASTER_NAME, startSentinel, type TestSentinel } from '../support/sentinel.js';

/** The CLI in this process (support/cli.ts), with no REDIS_URL: the module names the Redis. */
function cli(args: readonly string[]): Promise<CliRun> {
  return runCliHere(args, { REDIS_URL: '' });
}

const entry = (clientId: string, extra: Record<string, unknown> = {}) => ({
  client_id: clientId,
  client_secret: `${clientId}-secret-0123456789abcdef`,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  ...extra,
});

/** Imports through the module, then reads back, lists, shows and checks through it. */
async function commandsOn(file: string): Promise<void> {
  const clients = rawModule(JSON.stringify([entry('corp-svc', { tenant: 'acme' }), entry(STATIC_SERVICE_ID)]), 'json');
  const imported = await cli(['clients', 'import', clients, '--config', file]);
  expect(imported.stdout, imported.stderr).toContain('created   corp-svc');
  expect(imported.stdout).toContain(`rejected  ${STATIC_SERVICE_ID} (entry 2): client_is_static`);

  const listed = await cli(['clients', 'ls', '--json', '--config', file]);
  expect(listed.code, listed.stderr).toBe(0);
  expect(
    listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown),
  ).toEqual([expect.objectContaining({ client_id: 'corp-svc', tenant: 'acme' })]);

  const shown = await cli(['bindings', 'show', 'corp-svc', '--config', file]);
  expect(shown.stdout, shown.stderr).toContain('client corp-svc is not bound');
  const checked = await cli(['check', '--config', file]);
  expect(checked.code, checked.stderr).toBe(0);
  expect(checked.stdout).toContain('no problems found');
}

describe.runIf(redisToolsOrSkip())('appkeys commands with --config', () => {
  describe('on a Redis Cluster the module names', () => {
    let cluster: TestCluster;
    beforeAll(async () => {
      cluster = await startCluster(3);
    }, 60_000);
    afterAll(async () => {
      await cluster?.stop();
    });

    it("import, list, show and check through the cluster's nodes", async () => {
      await commandsOn(
        operatorModule({
          redis: {
            cluster: cluster.ports.map((port) => ({ host: '127.0.0.1', port })),
            prefix: cluster.namespace('cli'),
          },
        }),
      );
    });
  });

  describe("on a master the module's Sentinels name", () => {
    let sentinel: TestSentinel;
    beforeAll(async () => {
      sentinel = await startSentinel({ replicas: 1, sentinels: 1 });
    }, 60_000);
    afterAll(async () => {
      await sentinel?.stop();
    });

    it('import, list, show and check through the sentinels', async () => {
      await commandsOn(
        operatorModule({
          redis: {
            sentinels: sentinel.sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
            name: MASTER_NAME,
            prefix: `test:cli:${Date.now()}:`,
          },
        }),
      );
    });

    it('names the master and the sentinels it could not reach', async () => {
      const { code, stderr } = await cli([
        'check',
        '--config',
        operatorModule({
          redis: {
            sentinels: sentinel.sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
            name: 'no-such-master',
          },
        }),
      ]);
      expect(code).toBe(3);
      expect(stderr).toContain(
        `cannot reach Redis master "no-such-master" through Sentinels at 127.0.0.1:${sentinel.sentinelPorts[0]}`,
      );
    });
  });
});
