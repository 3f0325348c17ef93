/**
 * `--config FILE`: the server and every command run on the operator module's configuration — its
 * static clients, its extraClientMetadata, its Redis — and a module that is not right is refused with
 * the path of what is wrong.
 */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadOperatorConfig } from '../cli/config.js';
import {
  ADMIN_CLIENT_ID,
  ADMIN_CLIENT_SECRET,
  STATIC_SERVICE_ID,
  operatorModule,
  rawModule,
} from './fixtures/operator-module.js';
import { freePort } from '../support/ports.js';
import { runCliHere, type CliRun } from './support/cli.js';
import { redisOrSkip, startRedis, type TestRedis } from './support/redis.js';

const root = fileURLToPath(new URL('..', import.meta.url));

type Run = CliRun;

const secrets = new Set<string>([ADMIN_CLIENT_SECRET]);

/** The CLI in this process (support/cli.ts); nothing it prints may hold a secret. */
async function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const run = await runCliHere(args, { REDIS_URL: '', ...env });
  for (const secret of secrets)
    expect(run.stdout + run.stderr, `output of appkeys ${args.join(' ')}`).not.toContain(secret);
  return run;
}

let files = 0;
function clientsFile(entries: readonly Record<string, unknown>[]): string {
  files += 1;
  return rawModule(JSON.stringify(entries), `${files}.json`);
}

function serviceEntry(clientId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const secret = `${clientId}-secret-0123456789abcdef`;
  secrets.add(secret);
  return {
    client_id: clientId,
    client_secret: secret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    ...extra,
  };
}

describe.concurrent('an operator module that is not right', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['a module that is not there', '', /cannot load .*nope\.config\.mjs: no such file/],
    ['a module that does not parse', 'export default {', /cannot load .*raw-\d+\.mjs: .*(SyntaxError|syntax)/],
    [
      'no default export',
      'export const issuer = "https://id.example.com";',
      /config is missing: .* has no default export/,
    ],
    [
      'a default export that is not an object',
      'export default "https://id.example.com";',
      /config \(the default export of .*\) must be an object/,
    ],
    [
      'an unknown key',
      'export default { issuer: "https://id.example.com", redsi: {} };',
      /config\.redsi is not a key of the operator module \(known: issuer, configuration, appkeys, redis, portal\)/,
    ],
    ['no issuer', 'export default { configuration: {} };', /config\.issuer must be an http\(s\) URL/],
    [
      'a static client without an id',
      'export default { issuer: "https://id.example.com", ' +
        'configuration: { clients: [{ client_id: "a" }, { client_secret: "x" }] } };',
      /config\.configuration\.clients\[1\]\.client_id must be a non-empty string/,
    ],
    [
      'findAccount that is not a function',
      'export default { issuer: "https://id.example.com", configuration: { findAccount: "alice" } };',
      /config\.configuration\.findAccount must be a function/,
    ],
    [
      'a store in appkeys',
      'export default { issuer: "https://id.example.com", appkeys: { store: {} } };',
      /config\.appkeys\.store is not accepted: the store is built from config\.redis/,
    ],
    [
      'an appkeys option of the wrong type',
      'export default { issuer: "https://id.example.com", appkeys: { provideKeys: { enabled: "yes" } } };',
      /config\.appkeys\.provideKeys\.enabled must be a boolean/,
    ],
    [
      'two places for Redis',
      'export default { issuer: "https://id.example.com", ' +
        'redis: { url: "redis://127.0.0.1:6379", cluster: [{ host: "127.0.0.1", port: 7000 }] } };',
      /config\.redis must name exactly one of url, cluster, sentinels \(it names url and cluster\)/,
    ],
    [
      'a cluster node without a port',
      'export default { issuer: "https://id.example.com", redis: { cluster: [{ host: "127.0.0.1", port: "7000" }] } };',
      /config\.redis\.cluster\[0\]\.port must be a port number/,
    ],
    [
      "sentinels without the master's name",
      'export default { issuer: "https://id.example.com", ' +
        'redis: { sentinels: [{ host: "127.0.0.1", port: 26379 }] } };',
      /config\.redis\.name must be the master's name the sentinels monitor/,
    ],
    [
      "a URL that is not Redis's",
      'export default { issuer: "https://id.example.com", redis: { url: "http://127.0.0.1:6379" } };',
      /config\.redis\.url must be a redis:\/\/ or rediss:\/\/ URL/,
    ],
    [
      'a prefix Redis Cluster cannot use',
      'export default { issuer: "https://id.example.com", redis: { url: "redis://127.0.0.1:1", prefix: "a{b}" } };',
      /config\.redis\.prefix/,
    ],
  ];

  it.each(cases)('refuses %s with exit 2, naming what is wrong', async (_, source, message) => {
    const file = source === '' ? join(tmpdir(), 'appkeys-no-such-dir', 'nope.config.mjs') : rawModule(source);
    const { code, stderr, stdout } = await cli(['check', '--config', file]);
    expect(code, stderr).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stdout).toBe('');
  });

  it('refuses --issuer with --config, whose module names the issuer', async () => {
    const { code, stderr } = await cli([
      'serve',
      '--config',
      operatorModule(),
      '--issuer',
      'https://elsewhere.example.com',
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain("--issuer is the development server's");
  });

  it('refuses to serve a configuration that enables the development login when NODE_ENV=production', async () => {
    const file = operatorModule({ configuration: { features: { devInteractions: { enabled: true } } } });
    const { code, stdout, stderr } = await cli(['serve', '--port', '0', '--config', file], { NODE_ENV: 'production' });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/refusing to start: NODE_ENV=production/);
  });

  it('says how to name Redis when neither the module nor the environment does', async () => {
    const { code, stderr } = await cli(['clients', 'ls', '--config', operatorModule()]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/no Redis given: .*--config FILE whose module names redis/);
  });
});

describe.runIf(redisOrSkip())("commands on the operator's configuration", { timeout: 120_000 }, () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  /** A module whose redis is this test's server, under a fresh prefix of its own. */
  function deployment(extra: Record<string, unknown> = {}): { file: string; prefix: string } {
    const prefix = redis.namespace('operator');
    return { file: operatorModule({ redis: { url: redis.url, prefix }, ...extra }), prefix };
  }

  it(
    "refuses to import a client id of the module's static clients " + '(client_is_static) and imports the rest',
    async () => {
      const { file } = deployment();
      const imported = await cli([
        'clients',
        'import',
        clientsFile([serviceEntry(STATIC_SERVICE_ID), serviceEntry(ADMIN_CLIENT_ID), serviceEntry('corp-svc')]),
        '--config',
        file,
      ]);
      expect(imported.code, imported.stderr).toBe(1);
      expect(imported.stdout).toContain(`rejected  ${STATIC_SERVICE_ID} (entry 1): client_is_static`);
      expect(imported.stdout).toContain(`rejected  ${ADMIN_CLIENT_ID} (entry 2): client_is_static`);
      expect(imported.stdout).toContain('created   corp-svc');
      expect(imported.stdout).toContain('created 1, replaced 0, unchanged 0, rejected 2');

      // the development configuration has no such static client: the module is what refused it
      const development = await cli(
        ['clients', 'import', '--dry-run', clientsFile([serviceEntry(STATIC_SERVICE_ID)])],
        {
          REDIS_URL: redis.url,
        },
      );
      expect(development.stdout).toMatch(new RegExp(`would create +${STATIC_SERVICE_ID}\n`));
    },
  );

  it(
    "keeps the metadata the module's extraClientMetadata names, " + "and checks it with the module's validator",
    async () => {
      const { file, prefix } = deployment();
      const imported = await cli([
        'clients',
        'import',
        clientsFile([serviceEntry('tenant-svc', { tenant: 'acme' }), serviceEntry('bad-tenant-svc', { tenant: 42 })]),
        '--config',
        file,
      ]);
      expect(imported.stdout).toContain('created   tenant-svc');
      expect(imported.stdout).toMatch(
        /rejected {2}bad-tenant-svc \(entry 2\): invalid_client_metadata — tenant must be a non-empty string/,
      );

      const listed = await cli(['clients', 'ls', '--json', '--config', file]);
      expect(listed.code, listed.stderr).toBe(0);
      const clients = listed.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { client_id: string; tenant?: unknown });
      expect(clients).toEqual([expect.objectContaining({ client_id: 'tenant-svc', tenant: 'acme' })]);

      // without the module, the development configuration knows no `tenant` and drops it
      const dropped = await cli(
        ['clients', 'import', clientsFile([serviceEntry('tenant-svc-2', { tenant: 'acme' })]), '--prefix', prefix],
        { REDIS_URL: redis.url },
      );
      expect(dropped.code, dropped.stderr).toBe(0);
      const again = await cli(['clients', 'ls', '--json', '--prefix', prefix], { REDIS_URL: redis.url });
      const second = again.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { client_id: string; tenant?: unknown })
        .find((client) => client.client_id === 'tenant-svc-2');
      expect(second).toBeDefined();
      expect(second).not.toHaveProperty('tenant');
    },
  );

  it("runs every command on the module's redis and prefix; REDIS_URL wins over it", async () => {
    const { file, prefix } = deployment();
    expect((await cli(['clients', 'import', clientsFile([serviceEntry('svc-1')]), '--config', file])).code).toBe(0);
    const runs = await Promise.all([
      cli(['clients', 'ls', '--config', file]),
      cli(['bindings', 'show', 'svc-1', '--config', file]),
      cli(['clients', 'unthrottle', 'svc-1', '--config', file]),
      cli(['clients', 'hash-secrets', '--config', file]),
      cli(['check', '--config', file]),
    ]);
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    expect(runs[0]!.stdout).toMatch(/^svc-1 /m);
    expect(runs[1]!.stdout).toContain('client svc-1 is not bound');
    expect(runs[3]!.stdout).toContain('hashed 1');
    expect(runs[4]!.stdout).toContain('no problems found');

    const elsewhere = operatorModule({ redis: { url: `redis://127.0.0.1:${await freePort()}`, prefix } });
    const unreachable = await cli(['clients', 'ls', '--config', elsewhere]);
    expect(unreachable.code).toBe(3);
    const overridden = await cli(['clients', 'ls', '--config', elsewhere], { REDIS_URL: redis.url });
    expect(overridden.code, overridden.stderr).toBe(0);
    expect(overridden.stdout).toMatch(/^svc-1 /m);
  });

  it(
    "serve --config serves the module's provider: its admin client gets a token, the management API answers, " +
      'nothing is printed of it',
    async () => {
      const { file } = deployment({ portal: { enabled: true } });
      expect(
        (
          await cli([
            'clients',
            'import',
            clientsFile([serviceEntry('served-svc', { tenant: 'acme' })]),
            '--config',
            file,
          ])
        ).code,
      ).toBe(0);
      const port = await freePort();
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'cli/main.ts', 'serve', '--config', file, '--port', String(port)],
        {
          cwd: root,
          // production: refused only when the configuration enables the development login, which this one does not
          env: {
            ...process.env,
            NODE_ENV: 'production',
            REDIS_URL: '',
            ISSUER: `http://localhost:${port}`,
            LOG_LEVEL: 'warn',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      const until = Date.now() + 30_000;
      while (!stdout.includes('management API') && Date.now() < until && child.exitCode === null) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      try {
        expect(stdout, stderr).toContain(`appkeys server for http://localhost:${port}`);
        expect(stdout).toContain(`address: 127.0.0.1:${port}`);
        expect(stdout).toContain(`configuration: ${file}`);
        expect(stdout).toContain(`storage: Redis at ${redis.url}`);
        expect(stdout).not.toContain('development server');
        // the module's portal is served next to the API
        expect(stdout).toContain(`The portal: http://localhost:${port}/appkeys/portal/`);
        const portal = await fetch(`http://localhost:${port}/appkeys/portal/`, { redirect: 'manual' });
        expect(portal.status, await portal.text()).toBeLessThan(400);
        expect(portal.headers.get('content-security-policy')).toContain("default-src 'self'");

        const token = await fetch(`http://localhost:${port}/token`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${ADMIN_CLIENT_ID}:${ADMIN_CLIENT_SECRET}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'appkeys:admin' }),
        });
        expect(token.status).toBe(200);
        const { access_token: admin } = (await token.json()) as { access_token: string };
        const served = await fetch(`http://localhost:${port}/appkeys/clients/served-svc`, {
          headers: { authorization: `Bearer ${admin}` },
        });
        expect(served.status).toBe(200);
        expect(await served.json()).toMatchObject({ client_id: 'served-svc', tenant: 'acme' });
        const collision = await fetch(`http://localhost:${port}/appkeys/clients/${STATIC_SERVICE_ID}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
          body: JSON.stringify(serviceEntry(STATIC_SERVICE_ID)),
        });
        expect(collision.status).toBe(409);
        expect(await collision.json()).toMatchObject({ error: 'client_is_static' });
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
      for (const secret of secrets) expect(stdout + stderr).not.toContain(secret);
    },
  );
});

describe('the example operator module', () => {
  it('loads and passes every check, its Redis and keys from the environment', async () => {
    const example = fileURLToPath(new URL('../examples/appkeys.config.mjs', import.meta.url));
    const saved = { admin: process.env.APPKEYS_ADMIN_CLIENT_SECRET, cookies: process.env.COOKIE_KEYS };
    process.env.APPKEYS_ADMIN_CLIENT_SECRET = 'example-admin-secret-0123456789abcdef';
    process.env.COOKIE_KEYS = 'example-cookie-key-0123456789abcdef';
    let config;
    try {
      config = await loadOperatorConfig(example);
    } finally {
      for (const [name, value] of [
        ['APPKEYS_ADMIN_CLIENT_SECRET', saved.admin],
        ['COOKIE_KEYS', saved.cookies],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    expect(config.issuer).toMatch(/^https?:\/\//);
    expect(config.redis).toHaveProperty('url');
    expect(config.configuration.features?.devInteractions?.enabled).toBe(false);
    expect(typeof config.configuration.findAccount).toBe('function');
    expect(config.configuration.clients?.map((client) => client.scope)).toEqual(['appkeys:admin', 'openid appkeys']);
  });
});
