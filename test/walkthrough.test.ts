import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freePort } from '../support/ports.js';
import { startScript, type ScriptProcess } from '../support/scripts.js';
import { redisOrSkip, startRedis, type TestRedis } from './support/redis.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The shell blocks of one of the README's walkthroughs (`walkthrough`, `issuers-walkthrough`), in order. */
function walkthroughBlocks(name: string): string[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = new RegExp(`<!-- ${name}:start -->([\\s\\S]*?)<!-- ${name}:end -->`).exec(readme)?.[1];
  if (!section) throw new Error(`README has no ${name} section`);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

/** Starts `npm start`'s server as a new user would, and reads the admin secret from its banner. */
async function startServer(
  env: NodeJS.ProcessEnv,
): Promise<{ child: ScriptProcess; base: string; adminSecret: string }> {
  const port = await freePort();
  const child = startScript('cli/main.ts', ['serve'], { env: { ...env, PORT: String(port) } });
  try {
    const adminSecret = await child.until((output) => /admin secret: (\S+)/.exec(output)?.[1], 20_000);
    return { child, base: `http://localhost:${port}`, adminSecret };
  } catch (err) {
    await child.stop('SIGKILL');
    throw err;
  }
}

/** Runs the blocks in one bash, printing a marker before each, and splits the output by block. */
async function runWalkthrough(env: NodeJS.ProcessEnv, name = 'walkthrough'): Promise<string[]> {
  const blocks = walkthroughBlocks(name);
  const script = ['set -euo pipefail', ...blocks.flatMap((block, i) => [`echo '@@block ${i}@@'`, block])].join('\n');
  const child = spawn('bash', ['-c', script], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`the walkthrough failed (exit ${code}):\n${stdout}\n${stderr}`);
  return stdout.split(/@@block \d+@@\n/).slice(1);
}

/** jq's pretty output: several JSON documents and plain lines, in order. */
function documents(output: string): unknown[] {
  const out: unknown[] = [];
  let pending = '';
  for (const line of output.split('\n')) {
    pending += `${line}\n`;
    try {
      out.push(JSON.parse(pending));
      pending = '';
    } catch {
      // a document continues on the next line
    }
  }
  return out;
}

function walkthroughOn(store: 'memory' | 'redis') {
  return () => {
    let redis: TestRedis | undefined;
    let server: Awaited<ReturnType<typeof startServer>>;

    beforeAll(async () => {
      if (store === 'redis') redis = await startRedis();
      server = await startServer(redis ? { REDIS_URL: redis.url } : { REDIS_URL: '' });
    }, 30_000);

    afterAll(async () => {
      await server?.child.stop();
      await redis?.stop();
    });

    it('registers a client out of band, binds it, and moves it to another application after a delete', async () => {
      const steps = (await runWalkthrough({ BASE: server.base, ADMIN_SECRET: server.adminSecret })).map(documents);
      expect(steps).toHaveLength(7);
      const [, registered, provided, introspected, afterDelete, rebound, generated] = steps;

      expect(registered).toEqual([expect.objectContaining({ client_id: 'corp-billing-svc', binding: null })]);
      expect(JSON.stringify(registered)).not.toContain('secret-issued-by-the-corporate-idp');

      const binding = provided![0] as { application_id: string };
      expect(binding).toMatchObject({
        client_id: 'corp-billing-svc',
        key_type: 'PRODUCTION',
        origin: 'provided',
        bound_by: 'alice',
      });
      expect(introspected).toEqual([
        { active: true, client_id: 'corp-billing-svc', application_id: binding.application_id, key_type: 'PRODUCTION' },
      ]);

      expect(afterDelete).toEqual([204, { active: false }, { client_id: 'corp-billing-svc', binding: null }]);

      const bobBinding = rebound![0] as { application_id: string };
      expect(bobBinding).toMatchObject({
        client_id: 'corp-billing-svc',
        key_type: 'SANDBOX',
        origin: 'provided',
        bound_by: 'bob',
      });
      expect(bobBinding.application_id).not.toBe(binding.application_id);
      expect(rebound![1]).toEqual({ active: true, application_id: bobBinding.application_id, key_type: 'SANDBOX' });

      expect(generated).toEqual([
        { client_id: expect.any(String), origin: 'generated', client_secret: expect.any(String) },
      ]);
    }, 60_000);
  };
}

/** Starts `npm run example-idp` as a new user would. */
async function startExampleIdp(): Promise<{ child: ScriptProcess; issuer: string }> {
  const port = await freePort();
  const child = startScript('examples/third-party-idp.ts', [], { env: { PORT: String(port) } });
  try {
    const issuer = await child.until((output) => /third-party issuer at (\S+),/.exec(output)?.[1], 20_000);
    return { child, issuer };
  } catch (err) {
    await child.stop('SIGKILL');
    throw err;
  }
}

function issuersWalkthroughOn(store: 'memory' | 'redis') {
  return () => {
    let redis: TestRedis | undefined;
    let server: Awaited<ReturnType<typeof startServer>>;
    let idp: Awaited<ReturnType<typeof startExampleIdp>>;

    beforeAll(async () => {
      if (store === 'redis') redis = await startRedis();
      [server, idp] = await Promise.all([
        startServer(redis ? { REDIS_URL: redis.url } : { REDIS_URL: '' }),
        startExampleIdp(),
      ]);
    }, 30_000);

    afterAll(async () => {
      await Promise.all([server?.child.stop(), idp?.child.stop()]);
      await redis?.stop();
    });

    it("registers the partner's server, binds its client proven there, and resolves its token", async () => {
      const env = { BASE: server.base, ADMIN_SECRET: server.adminSecret, IDP: idp.issuer };
      const steps = (await runWalkthrough(env, 'issuers-walkthrough')).map(documents);
      expect(steps).toHaveLength(6);
      const [, registered, provided, refused, resolved, removed] = steps;

      expect(registered).toEqual([
        {
          issuer_id: 'partner',
          issuer: idp.issuer,
          verification: 'client_credentials',
          token_endpoint: `${idp.issuer}/token`,
        },
      ]);
      const binding = provided![0] as { application_id: string };
      expect(binding).toMatchObject({
        client_id: 'partner-reporting',
        key_type: 'PRODUCTION',
        origin: 'provided',
        bound_by: 'carol',
        issuer_id: 'partner',
        issuer: idp.issuer,
        verification: 'client_credentials',
      });
      expect(JSON.stringify(steps)).not.toContain('secret-issued-by-the-partner-idp');
      expect(refused).toEqual([{ error: 'invalid_client', error_description: expect.any(String) }]);
      expect(resolved).toEqual([
        {
          application_id: binding.application_id,
          key_type: 'PRODUCTION',
          status: 'ACTIVE',
          owner: 'carol',
          client_id: 'partner-reporting',
          issuer_id: 'partner',
          issuer: idp.issuer,
        },
        { application_id: binding.application_id, key_type: 'PRODUCTION', status: 'ACTIVE' },
      ]);
      expect(removed).toEqual([{ error: 'issuer_in_use', error_description: expect.any(String) }, 204, 204]);
    }, 60_000);
  };
}

describe('README walkthrough against npm start, in memory', walkthroughOn('memory'));
describe('README third-party issuers walkthrough, in memory', issuersWalkthroughOn('memory'));
describe.runIf(redisOrSkip())('README third-party issuers walkthrough, on Redis', issuersWalkthroughOn('redis'));
describe.runIf(redisOrSkip())('README walkthrough against npm start, on Redis', walkthroughOn('redis'));
