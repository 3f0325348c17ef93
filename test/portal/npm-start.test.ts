import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freePort } from '../../support/ports.js';
import { chromiumOrSkip, launch, person, signIn } from './support/browser.js';
import { shown, textOf } from './support/pages.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** `npm start` as a new user runs it, and the portal address its banner prints. */
async function npmStart(): Promise<{ child: ChildProcess; portal: string }> {
  const port = await freePort();
  // its own process group, so that npm and the server it starts stop together
  const child = spawn('npm', ['start'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), REDIS_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    const portal = /The portal: (\S+)/.exec(output)?.[1];
    if (portal) return { child, portal };
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  process.kill(-child.pid!, 'SIGKILL');
  throw new Error(`npm start did not print the portal's address:\n${output}`);
}

describe.runIf(chromiumOrSkip())('npm start, then the printed address, by clicking', () => {
  let server: Awaited<ReturnType<typeof npmStart>>;
  let browser: Browser;

  beforeAll(async () => {
    server = await npmStart();
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (server?.child.pid) process.kill(-server.child.pid, 'SIGTERM');
  });

  it('lets the admin register a client and a developer provide its keys', async () => {
    expect(server.portal).toMatch(/^http:\/\/localhost:\d+\/appkeys\/portal\/$/);
    const admin = await person(browser);
    await signIn(admin.page, server.portal, 'admin');
    await admin.page.getByRole('link', { name: 'Admin console' }).click();
    await admin.page.getByRole('button', { name: 'Register client' }).click();
    await admin.page.getByLabel('Client ID').fill('corp-billing-svc');
    await admin.page.getByLabel('Client secret').fill('secret-issued-by-the-corporate-idp');
    await admin.page.getByRole('button', { name: 'Save' }).click();
    await shown(admin.page, 'status', 'Registered corp-billing-svc');

    const alice = await person(browser);
    await signIn(alice.page, server.portal, 'alice');
    expect(await alice.page.getByRole('link', { name: 'Admin console' }).count()).toBe(0);
    await alice.page.getByRole('button', { name: 'Create application' }).click();
    await alice.page.getByLabel('Name').fill('Billing dashboard');
    await alice.page.getByRole('button', { name: 'Create', exact: true }).click();
    await alice.page.getByRole('region', { name: 'PRODUCTION' }).getByRole('button', { name: 'Provide keys' }).click();
    await alice.page.getByLabel('Client ID').fill('corp-billing-svc');
    await alice.page.getByLabel('Client secret').fill('secret-issued-by-the-corporate-idp');
    await alice.page.getByRole('button', { name: 'Save' }).click();
    const production = alice.page.getByRole('region', { name: 'PRODUCTION' });
    expect(await textOf(production)).toMatch(/Client ID\s+corp-billing-svc\s+Origin\s+provided/);
    expect(await textOf(production.locator('pre'))).toMatch(
      /^curl .* -d grant_type=client_credentials 'http:\/\/localhost:\d+\/token'$/,
    );
    await Promise.all([admin.context.close(), alice.context.close()]);
  });
});
