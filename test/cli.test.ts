import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StoreKeys } from '../adapters/redis/keys.js';
import { BINDING_FIELD, CLIENT_FIELDS, decodeBinding, encodeBinding } from '../adapters/redis/layout.js';
import { jsonLine, printable } from '../cli/output.js';
import { progressBar } from '../cli/progress.js';
import { redisStore } from '../adapters/redis/store.js';
import { appKeys } from '../src/app-keys.js';
import type { Registry } from '../src/registry.js';
import type { Actor } from '../src/types.js';
import { baseConfiguration, buildProvider } from './support/provider.js';
import { runCliHere, type CliRun } from './support/cli.js';
import { redisOrSkip, startRedis, type TestRedis } from './support/redis.js';
import { freePort } from '../support/ports.js';
import { startScript } from '../support/scripts.js';
const ADMIN: Actor = { kind: 'admin', id: 'test' };

/** Every secret a test hands the CLI: none may appear in anything it prints. */
const secrets = new Set<string>();

function secret(label: string): string {
  const value = `${label}-secret-${Math.random().toString(36).slice(2)}-0123456789`;
  secrets.add(value);
  return value;
}

/**
 * Runs the CLI in this process (without Redis unless `env` names one), and checks that no secret was
 * printed. A few tests below run it as a real process too.
 */
async function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const run = await runCliHere(args, { REDIS_URL: '', ...env });
  for (const value of secrets) {
    expect(run.stdout, `stdout of appkeys ${args.join(' ')}`).not.toContain(value);
    expect(run.stderr, `stderr of appkeys ${args.join(' ')}`).not.toContain(value);
  }
  return run;
}

const tmp = mkdtempSync(join(tmpdir(), 'appkeys-cli-'));
let fileCount = 0;

function jsonFile(content: unknown): string {
  fileCount += 1;
  const path = join(tmp, `clients-${fileCount}.json`);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

function serviceEntry(clientId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    client_id: clientId,
    client_secret: secret(clientId),
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    ...extra,
  };
}

describe.concurrent('appkeys --help', { timeout: 60_000 }, () => {
  const cases: Array<[string[], string[]]> = [
    [[], ['serve', 'clients import', 'clients ls', 'bindings show', 'check', '--config', '--prefix', '--redis-url']],
    [['serve'], ['--config', '--port', '--host', '--metrics-port', '--issuer', '--redis-url', '--prefix']],
    [['clients'], ['import', 'ls', 'unthrottle']],
    [
      ['clients', 'unthrottle'],
      ['CLIENT_ID', '--config', '--prefix', '--redis-url'],
    ],
    [
      ['clients', 'import'],
      ['FILE', '--dry-run', '--config', '--prefix', '--redis-url'],
    ],
    [
      ['clients', 'ls'],
      ['--limit', '--json', '--config', '--prefix', '--redis-url'],
    ],
    [
      ['bindings', 'show'],
      ['CLIENT_ID', '--json', '--config', '--prefix', '--redis-url'],
    ],
    [['check'], ['--repair', '--config', '--prefix', '--redis-url']],
  ];

  it.each(cases)('appkeys %j --help exits 0 and names its flags and exit codes', async (words, mentions) => {
    const { code, stdout } = await cli([...words, '--help']);
    expect(code).toBe(0);
    for (const mention of mentions) expect(stdout).toContain(mention);
    if (words.length !== 1 || words[0] !== 'clients') {
      expect(stdout).toMatch(/Exit codes:/);
      expect(stdout).toMatch(/2 {2}usage error/);
      expect(stdout).toMatch(/3 {2}Redis unreachable/);
    }
  });

  it('answers `appkeys help clients import` like --help', async () => {
    const { code, stdout } = await cli(['help', 'clients', 'import']);
    expect(code).toBe(0);
    expect(stdout).toContain('--dry-run');
  });
});

/** Stored text an account id or a corrupted record could carry: a title change, a screen wipe, C1 CSI, RLO. */
const HOSTILE = '\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e';
/** Characters that act on a terminal or reorder text; a printed line may end in \n, nothing else. */
const RAW_CONTROL =
  // eslint-disable-next-line no-control-regex -- finding raw control characters is its purpose
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

describe('printable text', () => {
  it.each([
    ['plain-id_0.9', 'plain-id_0.9'],
    ['Überweisung 漢字 ✓', 'Überweisung 漢字 ✓'],
    [HOSTILE, '\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202e'],
    ['a\nb\tc\rd\u0000', 'a\\nb\\tc\\rd\\x00'],
    ['del\u007f c1\u0085 \u200f\u2028\u2066x\u2069', 'del\\x7f c1\\x85 \\u200f\\u2028\\u2066x\\u2069'],
  ])('shows %j as %j', (raw, shown) => {
    expect(printable(raw)).toBe(shown);
    expect(printable(raw)).not.toMatch(RAW_CONTROL);
  });

  it('keeps JSON lines exact while no control character stays raw', () => {
    const value = { owner: HOSTILE, nested: [`x\u0085${HOSTILE}`], [`key${HOSTILE}`]: 1 };
    const line = jsonLine(value);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toMatch(RAW_CONTROL);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(line)).toEqual(value);
  });
});

describe('the progress bar', () => {
  it('draws on a terminal and clears its line when done', () => {
    const written: string[] = [];
    const bar = progressBar({ isTTY: true, columns: 80, write: (text: string) => written.push(text) }, 'importing', 4);
    for (let i = 0; i < 4; i += 1) bar.tick();
    bar.done();
    expect(written[0]).toMatch(/importing \[-+\] 0\/4$/);
    expect(written).toContainEqual(expect.stringMatching(/importing \[#+\] 4\/4$/));
    expect(written.at(-1)).toBe('\r\x1b[2K');
  });

  it('writes nothing when standard error is not a terminal', () => {
    const written: string[] = [];
    const bar = progressBar({ isTTY: false, write: (text: string) => written.push(text) }, 'importing', 4);
    bar.tick();
    bar.done();
    expect(written).toEqual([]);
  });
});

describe.concurrent('appkeys usage errors', { timeout: 60_000 }, () => {
  it('exits 2 on an unknown command, an unknown flag, a missing argument or a bad value', async () => {
    const runs = await Promise.all([
      cli(['bogus']),
      cli(['clients']),
      cli(['clients', 'ls', '--frobnicate'], { REDIS_URL: 'redis://127.0.0.1:1' }),
      cli(['clients', 'import'], { REDIS_URL: 'redis://127.0.0.1:1' }),
      cli(['clients', 'ls', '--limit', 'many'], { REDIS_URL: 'redis://127.0.0.1:1' }),
      cli(['check', '--prefix', 'bad{prefix}'], { REDIS_URL: 'redis://127.0.0.1:1' }),
      cli(['serve', '--port', 'eighty']),
      cli(['serve', '--host', 'no such host!']),
    ]);
    for (const run of runs) expect(run.code, run.stderr).toBe(2);
    expect(runs[0]!.stderr).toContain('unknown command: bogus');
    expect(runs[2]!.stderr).toContain('--frobnicate');
    expect(runs[3]!.stderr).toContain('missing FILE');
    expect(runs[4]!.stderr).toContain('--limit must be a positive integer');
    expect(runs[5]!.stderr).toContain('--prefix');
    expect(runs[6]!.stderr).toContain('--port must be a port number');
    expect(runs[7]!.stderr).toContain('--host must be an IP address or a host name');
  });

  it('exits 2 with a clear message when no Redis is given', async () => {
    const { code, stderr } = await cli(['check']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/set REDIS_URL or pass --redis-url/);
  });

  it('exits 2 when the import file is missing or not a JSON array, without quoting it', async () => {
    const notJson = join(tmp, 'broken.json');
    const hidden = secret('broken');
    writeFileSync(notJson, `[{"client_id": "x", "client_secret": "${hidden}",}]`);
    const [missing, broken, notArray] = await Promise.all([
      cli(['clients', 'import', join(tmp, 'nope.json')], { REDIS_URL: 'redis://127.0.0.1:1' }),
      cli(['clients', 'import', notJson], { REDIS_URL: 'redis://127.0.0.1:1' }),
      cli(['clients', 'import', jsonFile({ client_id: 'x' })], { REDIS_URL: 'redis://127.0.0.1:1' }),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/is not valid JSON at line 1, column \d+/);
    expect(notArray.code).toBe(2);
    expect(notArray.stderr).toContain('must hold a JSON array');
  });
});

// each case runs the CLI several times, each a fresh node process loading the provider: slow on a busy machine
describe.runIf(redisOrSkip())('appkeys against Redis', { timeout: 120_000 }, () => {
  let redis: TestRedis;
  let raw: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    raw = redis.client();
  });
  afterAll(async () => {
    await redis.stop();
  });

  /** A fresh keyspace, the CLI's arguments for it, and a registry on it for arranging data in-process. */
  function namespace(): {
    prefix: string;
    keys: StoreKeys;
    env: NodeJS.ProcessEnv;
    registry: Registry;
    run: (...args: string[]) => Promise<CliRun>;
  } {
    const prefix = redis.namespace('cli');
    const keys = appKeys({ store: redisStore({ client: redis.client(), prefix }), provideKeys: { enabled: true } });
    const registry = keys.registry(buildProvider(keys.configuration(baseConfiguration())));
    const env = { REDIS_URL: redis.url };
    return {
      prefix,
      keys: new StoreKeys(prefix),
      env,
      registry,
      run: (...args) => cli([...args, '--prefix', prefix], env),
    };
  }

  /** Every key of a prefix with its DUMP, to prove a command wrote nothing. */
  /**
   * Every key's type, content and TTL. Not DUMP: a large hash's DUMP follows its hash table's order,
   * which incremental rehashing changes even on reads.
   */
  async function snapshot(prefix: string): Promise<Map<string, string>> {
    const keys = (await raw.keys(`{${prefix}}*`)).sort();
    const contents = new Map<string, string>();
    for (const key of keys) {
      const type = await raw.type(key);
      let content: unknown;
      if (type === 'hash') content = Object.entries(await raw.hgetall(key)).sort();
      else if (type === 'zset') content = await raw.zrange(key, 0, -1, 'WITHSCORES');
      else if (type === 'set') content = (await raw.smembers(key)).sort();
      else if (type === 'string') content = await raw.get(key);
      else content = type;
      contents.set(key, JSON.stringify({ type, content, ttl: await raw.pttl(key) }));
    }
    return contents;
  }

  describe('clients import', () => {
    it(
      'creates, then leaves unchanged clients untouched, replaces a modified one and rejects an ' +
        'invalid one with its reason',
      async () => {
        const { prefix, keys, run } = namespace();
        const alpha = serviceEntry('svc-alpha');
        const beta = serviceEntry('svc-beta', { client_name: 'Beta' });

        const first = await run('clients', 'import', jsonFile([alpha, beta]));
        expect(first.code, first.stderr).toBe(0);
        expect(first.stdout).toMatch(/^created\s+svc-alpha$/m);
        expect(first.stdout).toMatch(/^created\s+svc-beta$/m);
        expect(first.stdout).toContain('created 2, replaced 0, unchanged 0, rejected 0');
        expect(first.stderr).toBe('');
        expect(await raw.hget(keys.client('svc-alpha'), 'rev')).toBe('1');
        expect(await raw.zrange(keys.clients, 0, -1)).toEqual(['svc-alpha', 'svc-beta']);

        const before = await snapshot(prefix);
        const again = await run('clients', 'import', jsonFile([alpha, beta]));
        expect(again.code).toBe(0);
        expect(again.stdout.trim()).toBe('created 0, replaced 0, unchanged 2, rejected 0');
        expect(await snapshot(prefix)).toEqual(before);

        const changed = await run(
          'clients',
          'import',
          jsonFile([
            alpha,
            { ...beta, client_name: 'Beta, renamed' },
            serviceEntry('web-gamma', {
              grant_types: ['authorization_code'],
              response_types: ['code'],
              redirect_uris: ['not a uri'],
            }),
            serviceEntry('svc-delta', { scope: 'no-such-scope' }),
          ]),
        );
        expect(changed.code).toBe(1);
        expect(changed.stdout).toMatch(/^replaced\s+svc-beta$/m);
        expect(changed.stdout).toMatch(/^rejected\s+web-gamma \(entry 3\): invalid_redirect_uri — redirect_uris/m);
        expect(changed.stdout).toMatch(
          /^rejected\s+svc-delta \(entry 4\): invalid_client_metadata — scope must only contain/m,
        );
        expect(changed.stdout).toContain('created 0, replaced 1, unchanged 1, rejected 2');
        expect(await raw.hget(keys.client('svc-beta'), 'rev')).toBe('2');
        expect(await raw.hget(keys.client('svc-alpha'), 'rev')).toBe('1');
        expect(await raw.exists(keys.client('web-gamma'), keys.client('svc-delta'))).toBe(0);
      },
    );

    it('keeps the binding of a client it replaces', async () => {
      const { keys, registry, run } = namespace();
      const entry = serviceEntry('svc-bound');
      expect((await run('clients', 'import', jsonFile([entry]))).code).toBe(0);
      const app = await registry.createApplication(ADMIN, { name: 'Bound app', owner: 'alice' });
      await registry.provideKeys(ADMIN, app.id, 'PRODUCTION', {
        client_id: 'svc-bound',
        client_secret: entry.client_secret,
      });

      const replaced = await run('clients', 'import', jsonFile([{ ...entry, client_name: 'now named' }]));
      expect(replaced.stdout).toContain('created 0, replaced 1, unchanged 0, rejected 0');
      expect(decodeBinding((await raw.hget(keys.client('svc-bound'), BINDING_FIELD))!)).toMatchObject({
        app: app.id,
        key_type: 'PRODUCTION',
      });
    });

    it('rejects static clients, repeated ids and entries without a client_id, importing the rest', async () => {
      const { keys, run } = namespace();
      const result = await run(
        'clients',
        'import',
        jsonFile([
          serviceEntry('svc-one'),
          serviceEntry('appkeys-admin'),
          serviceEntry('svc-one', { client_name: 'again' }),
          { client_secret: secret('anonymous') },
          'not an object',
        ]),
      );
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/rejected\s+appkeys-admin \(entry 2\): client_is_static/);
      expect(result.stdout).toMatch(
        /rejected\s+svc-one \(entry 3\): invalid_request — client_id appears more than once in the file \(first at entry 1\)/,
      );
      expect(result.stdout).toMatch(/rejected\s+\(no client_id\) \(entry 4\): invalid_request — client_id is missing/);
      expect(result.stdout).toMatch(/\(entry 5\): invalid_request — the entry is not a JSON object/);
      expect(result.stdout).toContain('created 1, replaced 0, unchanged 0, rejected 4');
      expect(await raw.zrange(keys.clients, 0, -1)).toEqual(['svc-one']);
    });

    it('--dry-run reports what would change and writes nothing', async () => {
      const { prefix, run } = namespace();
      const kept = serviceEntry('svc-kept');
      const edited = serviceEntry('svc-edited');
      expect((await run('clients', 'import', jsonFile([kept, edited]))).code).toBe(0);

      const before = await snapshot(prefix);
      const keysBefore = await raw.keys(`{${prefix}}*`);
      const dry = await run(
        'clients',
        'import',
        '--dry-run',
        jsonFile([
          kept,
          { ...edited, client_name: 'edited' },
          serviceEntry('svc-new'),
          serviceEntry('svc-bad', { token_endpoint_auth_method: 'no-such-method' }),
        ]),
      );
      expect(dry.code).toBe(1);
      expect(dry.stdout).toMatch(/^would create\s+svc-new$/m);
      expect(dry.stdout).toMatch(/^would replace\s+svc-edited$/m);
      expect(dry.stdout).toMatch(/^would reject\s+svc-bad \(entry 4\): invalid_client_metadata/m);
      expect(dry.stdout).toContain('dry run, nothing written: created 1, replaced 1, unchanged 1, rejected 1');
      expect((await raw.keys(`{${prefix}}*`)).sort()).toEqual(keysBefore.sort());
      expect(await snapshot(prefix)).toEqual(before);
    });

    it('reads the file from standard input with -', async () => {
      const { prefix } = namespace();
      const entry = serviceEntry('svc-stdin');
      const child = startScript('cli/main.ts', ['clients', 'import', '-', '--prefix', prefix], {
        env: { REDIS_URL: redis.url },
      });
      child.stdin?.end(JSON.stringify([entry]));
      expect(await child.exited).toBe(0);
      expect(child.stdout()).toContain('created 1, replaced 0, unchanged 0, rejected 0');
    });
  });

  describe('clients ls and bindings show', () => {
    it('lists every client with its binding, as a table or JSON lines, and shows one binding', async () => {
      const { registry, run } = namespace();
      const provided = serviceEntry('svc-provided');
      const plain = serviceEntry('svc-plain');
      expect((await run('clients', 'import', jsonFile([provided, plain]))).code).toBe(0);
      const app = await registry.createApplication(ADMIN, { name: 'Billing', owner: 'alice' });
      await registry.provideKeys(ADMIN, app.id, 'SANDBOX', {
        client_id: 'svc-provided',
        client_secret: provided.client_secret,
      });
      const generated = await registry.generateKeys(ADMIN, app.id, 'PRODUCTION', {});
      secrets.add(generated.client_secret);

      // read-only: run them side by side
      const [table, json, limited, bound, boundJson, unbound, missing] = await Promise.all([
        run('clients', 'ls'),
        run('clients', 'ls', '--json'),
        run('clients', 'ls', '--json', '--limit', '2'),
        run('bindings', 'show', 'svc-provided'),
        run('bindings', 'show', 'svc-provided', '--json'),
        run('bindings', 'show', 'svc-plain'),
        run('bindings', 'show', 'svc-missing'),
      ]);
      expect(table.code).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^CLIENT_ID\s+GRANT_TYPES\s+BINDING$/);
      expect(lines).toHaveLength(4);
      expect(table.stdout).toMatch(new RegExp(`^svc-provided\\s+client_credentials\\s+${app.id} SANDBOX$`, 'm'));
      expect(table.stdout).toMatch(/^svc-plain\s+client_credentials\s+-$/m);
      expect(table.stdout).toMatch(
        new RegExp(`^${generated.client_id}\\s+client_credentials\\s+${app.id} PRODUCTION$`, 'm'),
      );

      const rows = json.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { client_id: string; binding: unknown });
      expect(rows.map((row) => row.client_id).sort()).toEqual(
        [generated.client_id, 'svc-plain', 'svc-provided'].sort(),
      );
      expect(rows.find((row) => row.client_id === 'svc-plain')!.binding).toBeNull();
      expect(json.stdout).not.toContain('"client_secret"');

      expect(limited.stdout.trim().split('\n')).toHaveLength(2);

      expect(bound.code).toBe(0);
      expect(bound.stdout).toMatch(new RegExp(`^application\\s+${app.id} \\("Billing", owner alice, ACTIVE\\)$`, 'm'));
      expect(bound.stdout).toMatch(/^key_type\s+SANDBOX$/m);
      expect(bound.stdout).toMatch(/^origin\s+provided$/m);

      expect(JSON.parse(boundJson.stdout)).toMatchObject({
        client_id: 'svc-provided',
        binding: { application_id: app.id, key_type: 'SANDBOX', origin: 'provided' },
        application: { id: app.id, name: 'Billing', owner: 'alice', status: 'ACTIVE' },
      });

      expect(unbound.code).toBe(0);
      expect(unbound.stdout).toBe('client svc-plain is not bound\n');

      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('no such client: svc-missing');
    });

    it('prints stored text with its control characters escaped, as text and as JSON', async () => {
      const { keys, registry, run } = namespace();
      // an owner's account id is stored as given; it becomes the application's owner and the binding's bound_by
      const owner: Actor = { kind: 'owner', id: `mallory${HOSTILE}` };
      const entry = serviceEntry('svc-hostile', { client_name: `Billing\u009b31m\u202e` });
      const rewritten = serviceEntry('svc-raw');
      expect((await run('clients', 'import', jsonFile([entry, rewritten]))).code).toBe(0);
      const app = await registry.createApplication(owner, { name: 'Invoices\u009b31m\u202e' });
      await registry.provideKeys(owner, app.id, 'PRODUCTION', {
        client_id: 'svc-hostile',
        client_secret: entry.client_secret,
      });
      // a record another tool (or an incident) wrote: its metadata and binding hold anything
      await raw.hset(
        keys.client('svc-raw'),
        'metadata',
        JSON.stringify({
          client_id: `svc-raw${HOSTILE}`,
          grant_types: [`client_credentials${HOSTILE}`],
          client_name: HOSTILE,
        }),
        BINDING_FIELD,
        encodeBinding({
          app: `app${HOSTILE}`,
          key_type: `SANDBOX${HOSTILE}`,
          origin: 'provided',
          bound_by: owner.id,
          bound_at: HOSTILE,
          status: 'ACTIVE',
        }),
      );

      const [table, json, show, showJson, showRaw, check, rejected, missing] = await Promise.all([
        run('clients', 'ls'),
        run('clients', 'ls', '--json'),
        run('bindings', 'show', 'svc-hostile'),
        run('bindings', 'show', 'svc-hostile', '--json'),
        run('bindings', 'show', 'svc-raw'),
        run('check'),
        run('clients', 'import', '--dry-run', jsonFile([serviceEntry(`svc-bad${HOSTILE}`)])),
        run('bindings', 'show', `svc-missing${HOSTILE}`),
      ]);
      for (const [label, result] of Object.entries({
        table,
        json,
        show,
        showJson,
        showRaw,
        check,
        rejected,
        missing,
      })) {
        expect.soft(result.stdout, `stdout of ${label}`).not.toMatch(RAW_CONTROL);
        expect.soft(result.stderr, `stderr of ${label}`).not.toMatch(RAW_CONTROL);
      }

      const escaped = '\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202e';
      expect(table.stdout).toContain(
        `svc-raw${escaped}  client_credentials${escaped}  app${escaped} SANDBOX${escaped}`,
      );
      expect(show.stdout).toMatch(
        new RegExp(`^application\\s+${app.id} \\("Invoices\\\\u009b31m\\\\u202e", owner mallory\\\\x1b`, 'm'),
      );
      expect(show.stdout).toContain(`bound_by     mallory${escaped}\n`);
      expect(showRaw.stdout).toContain(`application  app${escaped} (its record is missing`);
      expect(showRaw.stdout).toContain(`bound_by     mallory${escaped}\n`);
      expect(check.code).toBe(1);
      expect(check.stdout).toContain(`says it is bound to app${escaped} SANDBOX${escaped}`);
      expect(rejected.stdout).toMatch(
        /^would reject\s+"svc-bad\\u001b\]0;pwned\\u0007\\u001b\[2J\\u009b31m\\u202e" \(entry 1\): invalid_request/m,
      );
      expect(missing.code).not.toBe(0);

      // JSON keeps every value exact: the escapes are JSON's own
      const listed = json.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { client_id: string; client_name?: string; grant_types: string[] });
      expect(listed.find((client) => client.client_id === 'svc-hostile')!.client_name).toBe('Billing\u009b31m\u202e');
      expect(listed.find((client) => client.client_id === `svc-raw${HOSTILE}`)!.grant_types).toEqual([
        `client_credentials${HOSTILE}`,
      ]);
      expect(JSON.parse(showJson.stdout)).toMatchObject({
        binding: { bound_by: owner.id },
        application: { owner: owner.id, name: 'Invoices\u009b31m\u202e' },
      });
    });

    it('pages through more clients than one page holds', async () => {
      const { run } = namespace();
      const many = Array.from({ length: 130 }, (_, i) => serviceEntry(`svc-${String(i).padStart(3, '0')}`));
      expect((await run('clients', 'import', jsonFile(many))).stdout).toContain('created 130,');
      const listed = await run('clients', 'ls');
      expect(listed.stdout.trimEnd().split('\n')).toHaveLength(131);
      expect(listed.stdout).toMatch(/^svc-129\s/m);
    });
  });

  describe('clients unthrottle', () => {
    it("forgets a client's failures from every caller and keeps each caller's own", async () => {
      const { prefix, keys, run } = namespace();
      const limits = { perCaller: 5, perClient: 50, windowMs: 600_000 };
      const store = redisStore({ client: raw, prefix });
      for (const caller of ['owner:m1', 'owner:m2'])
        await store.recordFailedAttempt({ caller, clientId: 'svc-locked' }, limits, Date.now());
      expect(await raw.exists(keys.clientAttempts('svc-locked'))).toBe(1);

      const cleared = await run('clients', 'unthrottle', 'svc-locked');
      expect(cleared.code, cleared.stderr).toBe(0);
      expect(cleared.stdout).toContain('cleared the failed provide-keys attempts counted against svc-locked');
      expect(await raw.exists(keys.clientAttempts('svc-locked'))).toBe(0);
      expect(await raw.exists(keys.callerAttempts('owner:m1', 'svc-locked'))).toBe(1);

      const again = await run('clients', 'unthrottle', 'svc-locked');
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('no failed provide-keys attempts were counted against svc-locked');
      expect((await run('clients', 'unthrottle', 'x'.repeat(600))).code).toBe(2);
    });
  });

  describe('check', () => {
    it('exits 0 on a healthy store, 1 on a corrupted one, and --repair mends it', async () => {
      const { keys, registry, run } = namespace();
      const entries = ['svc-a', 'svc-b', 'svc-c', 'svc-d', 'svc-e'].map((id) => serviceEntry(id));
      expect((await run('clients', 'import', jsonFile(entries))).code).toBe(0);
      const secretOf = (id: string) => entries.find((entry) => entry.client_id === id)!.client_secret;
      const alice = await registry.createApplication(ADMIN, { name: 'Alice app', owner: 'alice' });
      const bob = await registry.createApplication(ADMIN, { name: 'Bob app', owner: 'bob' });
      await registry.provideKeys(ADMIN, alice.id, 'PRODUCTION', {
        client_id: 'svc-a',
        client_secret: secretOf('svc-a'),
      });
      await registry.provideKeys(ADMIN, alice.id, 'SANDBOX', { client_id: 'svc-b', client_secret: secretOf('svc-b') });
      await registry.provideKeys(ADMIN, bob.id, 'PRODUCTION', { client_id: 'svc-c', client_secret: secretOf('svc-c') });

      const healthy = await run('check');
      expect(healthy.code).toBe(0);
      expect(healthy.stdout).toBe('no problems found\n');

      const bindingOf = async (clientId: string) =>
        decodeBinding((await raw.hget(keys.client(clientId), BINDING_FIELD))!);
      // the corruptions: each a raw command an incident (or a bug) could have left behind
      await raw.hdel(keys.client('svc-a'), BINDING_FIELD); // client lost its reverse index
      await raw.del(keys.ownerApplications('bob')); // owner index gone
      await raw.zrem(keys.clients, 'svc-d'); // client missing from the clients index
      await raw.hset(
        keys.client('svc-b'),
        BINDING_FIELD,
        encodeBinding({ ...(await bindingOf('svc-b'))!, status: 'BLOCKED' }),
      ); // status mirror wrong
      await raw.hset(keys.application(bob.id), 'key:SANDBOX', 'svc-ghost'); // names a missing client
      await raw.hset(
        keys.client('svc-e'),
        BINDING_FIELD,
        encodeBinding({
          app: 'app_gone',
          key_type: 'PRODUCTION',
          origin: 'provided',
          bound_at: '2025-01-01T00:00:00.000Z',
          bound_by: 'admin',
          status: 'ACTIVE',
          tokens_since: '2025-01-01T00:00:00.000Z',
        }),
      );
      await raw.zadd(keys.clients, 0, 'svc-ghost'); // index names nothing
      await raw.hset(keys.ownerNames('alice'), 'stale name', 'app_gone'); // name index names nothing

      const broken = await run('check');
      expect(broken.code).toBe(1);
      expect(broken.stdout).toMatch(/^problem: .*svc-a/m);
      expect(broken.stdout).toContain(`problem: application ${bob.id} missing from its owner's index`);
      expect(broken.stdout).toContain('problem: client svc-d missing from the clients index');
      expect(broken.stdout).toContain('problem: client svc-b mirrors status BLOCKED');
      expect(broken.stdout).toContain(
        `problem: application ${bob.id} SANDBOX is bound to client svc-ghost, which does not exist`,
      );
      expect(broken.stdout).toContain(
        'problem: client svc-e says it is bound to app_gone PRODUCTION, which does not name it',
      );
      expect(broken.stdout).toContain('problem: clients index names missing client svc-ghost');
      expect(broken.stdout).toMatch(/problem: name index .* maps a name to application app_gone/);
      expect(broken.stdout).toMatch(/\d+ problems found/);

      const repaired = await run('check', '--repair');
      expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
      expect(repaired.stdout).toContain(`fixed: bound client svc-a to application ${alice.id} PRODUCTION`);
      expect(repaired.stdout).toContain(`fixed: added application ${bob.id} to owner bob's index`);
      expect(repaired.stdout).toContain('fixed: added client svc-d to the clients index');
      expect(repaired.stdout).toContain(
        `fixed: client svc-b now mirrors status ACTIVE of application ${alice.id} (was BLOCKED)`,
      );
      expect(repaired.stdout).toContain(
        `fixed: removed application ${bob.id}'s SANDBOX binding: client svc-ghost does not exist`,
      );
      expect(repaired.stdout).toContain(
        'fixed: unbound client svc-e (kept it): application app_gone PRODUCTION does not name it',
      );
      expect(repaired.stdout).toContain('fixed: removed client svc-ghost from the clients index: no such client');
      expect(repaired.stdout).toMatch(
        /fixed: removed a name from name index .*: it named application app_gone, which does not exist/,
      );
      expect(repaired.stdout).toContain('after repair: no problems found');

      expect(await bindingOf('svc-a')).toMatchObject({
        app: alice.id,
        key_type: 'PRODUCTION',
        origin: 'provided',
        status: 'ACTIVE',
      });
      expect((await bindingOf('svc-b'))?.status).toBe('ACTIVE');
      // the client is kept with its own fields only, as unbinding leaves it
      expect(Object.keys(await raw.hgetall(keys.client('svc-e'))).sort()).toEqual([...CLIENT_FIELDS].sort());
      // binding changes never touch a client's revision
      expect(await raw.hget(keys.client('svc-a'), 'rev')).toBe('1');

      const after = await run('check');
      expect(after.code).toBe(0);
      expect(after.stdout).toBe('no problems found\n');
    });

    it("drops an application's claim on a client bound both ways elsewhere", async () => {
      const { keys, registry, run } = namespace();
      const entry = serviceEntry('svc-contested');
      expect((await run('clients', 'import', jsonFile([entry]))).code).toBe(0);
      const holder = await registry.createApplication(ADMIN, { name: 'Holder', owner: 'carol' });
      const claimant = await registry.createApplication(ADMIN, { name: 'Claimant', owner: 'dave' });
      await registry.provideKeys(ADMIN, holder.id, 'PRODUCTION', {
        client_id: 'svc-contested',
        client_secret: entry.client_secret,
      });
      await raw.hset(keys.application(claimant.id), 'key:SANDBOX', 'svc-contested');

      const repaired = await run('check', '--repair');
      expect(repaired.code).toBe(0);
      expect(repaired.stdout).toContain(
        `fixed: removed application ${claimant.id}'s SANDBOX binding: client svc-contested is bound to application ` +
          `${holder.id} PRODUCTION, which names it`,
      );
      expect(await raw.hget(keys.application(holder.id), 'key:PRODUCTION')).toBe('svc-contested');
      expect(await raw.hexists(keys.application(claimant.id), 'key:SANDBOX')).toBe(0);
    });

    it('reports what it cannot derive and exits 1', async () => {
      const { keys, registry, run } = namespace();
      const first = await registry.createApplication(ADMIN, { name: 'Twin', owner: 'erin' });
      const second = await registry.createApplication(ADMIN, { name: 'Other', owner: 'erin' });
      // two applications of one owner under one name: which keeps it is a person's decision
      await raw.hset(keys.application(second.id), 'name', 'Twin', 'name_key', 'twin');

      const repaired = await run('check', '--repair');
      expect(repaired.code).toBe(1);
      expect(repaired.stdout).toContain(
        `cannot fix: application ${second.id} has the same name as application ${first.id} of owner erin`,
      );
      expect(repaired.stdout).toMatch(/after repair: \d+ problems? found/);
    });
  });

  describe('serve', () => {
    it(
      'prints the npm start banner, saying it is the development server, serves, ' + 'and stops on SIGTERM with exit 0',
      async () => {
        const [port, metricsPort] = [await freePort(), await freePort()];
        const prefix = redis.namespace('serve');
        const adminSecret = secret('serve-admin');
        const child = startScript(
          'cli/main.ts',
          [
            'serve',
            '--port',
            String(port),
            '--host',
            '127.0.0.1',
            '--metrics-port',
            String(metricsPort),
            '--prefix',
            prefix,
          ],
          { env: { REDIS_URL: redis.url, PORT: '1', HOST: '192.0.2.1', APPKEYS_ADMIN_CLIENT_SECRET: adminSecret } },
        );
        try {
          await child.until((output) => output.includes('management API') || undefined, 20_000);
          const stdout = child.stdout();
          expect(stdout).toContain(`appkeys server listening on http://localhost:${port}`);
          expect(stdout).toContain(
            'development server: the development login signs anyone in as any account; ' +
              'pass --config FILE to run your configuration',
          );
          expect(stdout).toContain(`address: 127.0.0.1:${port} (this machine only`);
          expect(stdout).toContain('storage: Redis at');
          expect(stdout).toContain('admin secret: from APPKEYS_ADMIN_CLIENT_SECRET (not shown)');
          expect(child.output()).not.toContain(adminSecret);
          const discovery = await fetch(`http://localhost:${port}/.well-known/openid-configuration`);
          expect(discovery.status).toBe(200);
          const openapi = await fetch(`http://localhost:${port}/appkeys/openapi.json`);
          expect(openapi.status).toBe(200);
          expect(stdout).toContain(`Metrics: http://127.0.0.1:${metricsPort}/metrics`);
          expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(200);
          expect((await fetch(`http://localhost:${port}/metrics`)).status).toBe(404);
        } finally {
          await child.stop('SIGTERM', 10_000);
        }
        expect(await child.exited).toBe(0);
        expect(child.stdout()).toContain('SIGTERM: shutting down');
      },
    );
  });

  describe('when Redis is unreachable', () => {
    it('exits 3 with the address it tried', async () => {
      const url = `redis://127.0.0.1:${await freePort()}`;
      const runs = await Promise.all([
        cli(['check'], { REDIS_URL: url }),
        cli(['clients', 'ls'], { REDIS_URL: url }),
        cli(['clients', 'import', jsonFile([serviceEntry('svc-x')])], { REDIS_URL: url }),
        cli(['bindings', 'show', 'svc-x', '--redis-url', url]),
        cli(['serve', '--port', '0', '--redis-url', url]),
      ]);
      for (const run of runs) {
        expect(run.code, run.stderr).toBe(3);
        expect(run.stderr).toContain(`cannot reach Redis at ${url}`);
        expect(run.stderr).toContain('ECONNREFUSED');
      }
    });

    it('never prints a password in the Redis URL', async () => {
      const url = `redis://user:hunter2-password@127.0.0.1:${await freePort()}`;
      const { code, stderr } = await cli(['check', '--redis-url', url]);
      expect(code).toBe(3);
      expect(stderr).not.toContain('hunter2-password');
      expect(stderr).toContain('//***@127.0.0.1');
    });
  });
});
