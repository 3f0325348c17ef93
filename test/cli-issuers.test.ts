/**
 * `appkeys issuers ls|add|rm` and `appkeys bindings show --issuer`: third-party issuers from the command
 * line, against a real Redis and a second real oidc-provider playing the issuer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { redisStore } from '../adapters/redis/store.js';
import { appKeys } from '../src/app-keys.js';
import type { Registry } from '../src/registry.js';
import type { Actor } from '../src/types.js';
import { freePort } from '../support/ports.js';
import { operatorModule } from './fixtures/operator-module.js';
import { runCliHere, type CliRun } from './support/cli.js';
import { startIdp, type Idp } from './support/idp.js';
import { baseConfiguration, buildProvider } from './support/provider.js';
import { redisOrSkip, startRedis, type TestRedis } from './support/redis.js';

const ADMIN: Actor = { kind: 'admin', id: 'test' };

/** The CLI in this process; nothing it prints may hold one of the issuer's client secrets. */
async function cli(secrets: readonly string[], args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const run = await runCliHere(args, { REDIS_URL: '', ...env });
  for (const secret of secrets)
    expect(run.stdout + run.stderr, `output of appkeys ${args.join(' ')}`).not.toContain(secret);
  return run;
}

describe.concurrent('appkeys issuers --help', () => {
  it.each([
    [['issuers'], ['ls', 'add', 'rm']],
    [
      ['issuers', 'add'],
      ['ISSUER_ID', 'ISSUER_URL', '--verification', '--probe-scope', '--probe-audience', '--json'],
    ],
    [
      ['issuers', 'rm'],
      ['ISSUER_ID', 'clients of it are bound'],
    ],
    [['bindings', 'show'], ['--issuer ISSUER_ID']],
  ])('appkeys %j --help names its arguments and flags', async (words, mentions) => {
    const { code, stdout } = await cli([], [...words, '--help'], {});
    expect(code).toBe(0);
    for (const mention of mentions) expect(stdout).toContain(mention);
  });
});

describe.runIf(redisOrSkip())('appkeys issuers against Redis', { timeout: 120_000 }, () => {
  let redis: TestRedis;
  let idp: Idp;
  let otherIdp: Idp;

  beforeAll(async () => {
    [redis, idp, otherIdp] = await Promise.all([startRedis(), startIdp(), startIdp()]);
  });
  afterAll(async () => {
    await Promise.all([redis?.stop(), idp?.close(), otherIdp?.close()]);
  });

  /** A fresh keyspace, the CLI on it, and a registry on it (allowing the http IdP) for arranging data. */
  function namespace(): { registry: Registry; run: (...args: string[]) => Promise<CliRun> } {
    const prefix = redis.namespace('cli-issuers');
    const keys = appKeys({
      store: redisStore({ client: redis.client(), prefix }),
      provideKeys: { enabled: true },
      issuers: { allowHttpLoopback: true },
    });
    const registry = keys.registry(buildProvider(keys.configuration(baseConfiguration())));
    const secrets = [idp.secretClient.client_secret, otherIdp.secretClient.client_secret];
    return { registry, run: (...args) => cli(secrets, [...args, '--prefix', prefix], { REDIS_URL: redis.url }) };
  }

  it('adds, lists and removes issuers, with created / unchanged / replaced and each refusal', async () => {
    const { run } = namespace();
    const empty = await run('issuers', 'ls');
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(/^ISSUER_ID\s+ISSUER\s+VERIFICATION\s+TOKEN_ENDPOINT\n$/);
    expect(empty.stderr).toBe('no issuers registered\n');

    const created = await run('issuers', 'add', 'corp', idp.issuer);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^created issuer corp\n/);
    expect(created.stdout).toContain(`issuer          ${idp.issuer}\n`);
    expect(created.stdout).toContain('verification    client_credentials\n');
    expect(created.stdout).toContain(`token_endpoint  ${idp.issuer}/token\n`);
    expect((await run('issuers', 'add', 'corp', idp.issuer)).stdout).toMatch(/^unchanged issuer corp\n/);
    const replaced = await run('issuers', 'add', 'corp', idp.issuer, '--probe-scope', 'api', '--json');
    expect(JSON.parse(replaced.stdout)).toMatchObject({
      outcome: 'replaced',
      issuer: { issuer_id: 'corp', issuer: idp.issuer, probe: { scope: 'api' } },
    });
    const again = await run('issuers', 'add', 'corp', idp.issuer, '--probe-scope', 'api');
    expect(again.stdout).toMatch(/^unchanged issuer corp\n/);
    expect(again.stdout).toContain('probe           scope=api\n');
    const open = await run('issuers', 'add', 'open', otherIdp.issuer, '--verification', 'none');
    expect(open.stdout).toMatch(/^created issuer open\n/);

    const [taken, badId, badMode, noUrl] = await Promise.all([
      run('issuers', 'add', 'corp2', idp.issuer),
      run('issuers', 'add', 'bad id!', idp.issuer),
      run('issuers', 'add', 'x', idp.issuer, '--verification', 'maybe'),
      run('issuers', 'add', 'x'),
    ]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toBe('appkeys: issuer corp2: another issuer_id is registered for this issuer\n');
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('ISSUER_ID must be 1–64 characters');
    expect(badMode.code).toBe(2);
    expect(badMode.stderr).toContain('--verification must be one of client_credentials, none');
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain('missing ISSUER_URL');

    const [table, json] = await Promise.all([run('issuers', 'ls'), run('issuers', 'ls', '--json')]);
    expect(table.stdout).toMatch(
      new RegExp(`^corp\\s+${idp.issuer}\\s+client_credentials\\s+${idp.issuer}/token$`, 'm'),
    );
    expect(table.stdout).toMatch(new RegExp(`^open\\s+${otherIdp.issuer}\\s+none\\s+${otherIdp.issuer}/token$`, 'm'));
    const rows = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { issuer_id: string; metadata: { token_endpoint: string } });
    expect(rows.map((row) => row.issuer_id)).toEqual(['corp', 'open']);
    expect(rows[0]!.metadata.token_endpoint).toBe(`${idp.issuer}/token`);

    expect((await run('issuers', 'rm', 'open')).stdout).toBe('removed issuer open\n');
    const gone = await run('issuers', 'rm', 'open');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('appkeys: no such issuer: open\n');
  });

  it("shows the binding of an issuer's client with --issuer, and keeps a bound issuer", async () => {
    const { registry, run } = namespace();
    expect((await run('issuers', 'add', 'corp', idp.issuer)).code).toBe(0);
    const { client_id: clientId, client_secret: clientSecret } = idp.secretClient;
    const app = await registry.createApplication(ADMIN, { name: 'Partner reports', owner: 'carol' });
    await registry.provideKeys(ADMIN, app.id, 'PRODUCTION', {
      issuer_id: 'corp',
      client_id: clientId,
      client_secret: clientSecret,
    });

    const [shown, json, unbound, noIssuer, local] = await Promise.all([
      run('bindings', 'show', clientId, '--issuer', 'corp'),
      run('bindings', 'show', clientId, '--issuer', 'corp', '--json'),
      run('bindings', 'show', 'someone-else', '--issuer', 'corp'),
      run('bindings', 'show', clientId, '--issuer', 'nope'),
      run('bindings', 'show', clientId),
    ]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`client_id    ${clientId}\nissuer_id    corp\nissuer       ${idp.issuer}\n`);
    expect(shown.stdout).toMatch(
      new RegExp(`^application\\s+${app.id} \\("Partner reports", owner carol, ACTIVE\\)$`, 'm'),
    );
    expect(shown.stdout).toMatch(/^origin\s+provided$/m);
    expect(JSON.parse(json.stdout)).toMatchObject({
      client_id: clientId,
      issuer_id: 'corp',
      issuer: idp.issuer,
      binding: { application_id: app.id, key_type: 'PRODUCTION', issuer_id: 'corp', issuer: idp.issuer },
      application: { id: app.id, owner: 'carol' },
    });
    expect(unbound.code).toBe(0);
    expect(unbound.stdout).toBe('client someone-else of issuer corp is not bound\n');
    expect(noIssuer.code).toBe(1);
    expect(noIssuer.stderr).toBe('appkeys: no such issuer: nope\n');
    // the issuer's client is not one of this provider's
    expect(local.code).toBe(1);
    expect(local.stderr).toContain(`no such client: ${clientId}`);

    const inUse = await run('issuers', 'rm', 'corp');
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain('appkeys: issuer corp: clients of this issuer are bound to applications');
    const moved = await run('issuers', 'add', 'corp', otherIdp.issuer);
    expect(moved.code).toBe(1);
    expect(moved.stderr).toContain("its issuer URL and verification can't change");

    await registry.unbind(ADMIN, app.id, 'PRODUCTION');
    expect((await run('bindings', 'show', clientId, '--issuer', 'corp')).stdout).toContain('is not bound');
    expect((await run('issuers', 'rm', 'corp')).code).toBe(0);
  });

  it("allows http issuers only as the server would: the operator module's issuers option", async () => {
    const { run } = namespace();
    const strict = operatorModule({ appkeys: { provideKeys: { enabled: true } } });
    const loose = operatorModule({ appkeys: { provideKeys: { enabled: true }, issuers: { allowHttpLoopback: true } } });
    const refused = await run('issuers', 'add', 'corp', idp.issuer, '--config', strict);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^appkeys: issuer corp: issuer ".*" must use https\n$/);
    expect((await run('issuers', 'add', 'corp', idp.issuer, '--config', loose)).code).toBe(0);
  });

  it('tells an issuer that does not answer from a Redis that does not', async () => {
    const { run } = namespace();
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const silent = await run('issuers', 'add', 'corp', nobody);
    expect(silent.code).toBe(1);
    expect(silent.stderr).toBe('appkeys: issuer corp: the issuer could not be reached; try again shortly\n');

    const url = `redis://127.0.0.1:${await freePort()}`;
    const runs = await Promise.all([
      runCliHere(['issuers', 'ls'], { REDIS_URL: url }),
      runCliHere(['issuers', 'add', 'corp', idp.issuer], { REDIS_URL: url }),
      runCliHere(['bindings', 'show', 'x', '--issuer', 'corp'], { REDIS_URL: url }),
    ]);
    for (const unreachable of runs) {
      expect(unreachable.code, unreachable.stderr).toBe(3);
      expect(unreachable.stderr).toContain(`cannot reach Redis at ${url}`);
    }
  });
});
