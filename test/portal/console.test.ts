import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { chromiumOrSkip, launch, person, screenshot, signIn } from './support/browser.js';
import { Audit, navigate, shown, textOf } from './support/pages.js';
import { ADMIN_ACCOUNT, startPortalServer, type PortalServer } from './support/server.js';

async function register(page: Page, clientId: string, secret: string, grants?: string, redirects?: string) {
  await page.getByRole('link', { name: 'Clients' }).click();
  await page.getByRole('button', { name: 'Register client' }).click();
  await page.getByLabel('Client ID').fill(clientId);
  await page.getByLabel('Client secret').fill(secret);
  if (grants !== undefined) await page.getByLabel('Grant types').fill(grants);
  if (redirects !== undefined) await page.getByLabel('Redirect URIs').fill(redirects);
  return navigate(page, page.getByRole('button', { name: 'Save' }));
}

describe.runIf(chromiumOrSkip())('the admin console and the developer pages beyond the seed', () => {
  let server: PortalServer;
  let browser: Browser;
  const audit = new Audit();

  beforeAll(async () => {
    server = await startPortalServer();
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    expect(audit.violations).toEqual([]);
    await browser?.close();
    await server?.close();
  });

  it('registers, refuses, replaces and deletes out-of-band clients', async () => {
    const { page, context } = await person(browser);
    await signIn(page, server.portal, ADMIN_ACCOUNT);
    await page.getByRole('link', { name: 'Admin console' }).click();

    const invalid = await register(page, 'web-app', 'web-secret', 'authorization_code', 'not a url');
    expect(invalid.status()).toBe(400);
    await shown(page, 'alert', /redirect_uris/);
    await audit.page(page, 'admin-register-invalid');

    expect(
      (
        await register(page, 'web-app', 'web-secret', 'authorization_code refresh_token', 'https://app.example/cb')
      ).status(),
    ).toBe(303);
    await shown(page, 'status', 'Registered web-app');
    const taken = await register(page, 'web-app', 'another');
    expect(taken.status()).toBe(409);
    await shown(page, 'alert', 'already registered');

    const static_ = await register(page, 'appkeys-portal', 'x');
    expect(static_.status()).toBe(409);
    await shown(page, 'alert', 'statically configured clients cannot be registered');

    await register(page, 'batch-job', 'first-secret');
    expect((await server.clientToken('batch-job', 'first-secret')).status).toBe(200);
    const item = page.getByRole('listitem').filter({ hasText: 'batch-job' });
    await item.getByRole('button', { name: 'Replace' }).click();
    expect(await page.getByLabel('Client ID').getAttribute('readonly')).not.toBeNull();
    expect(await page.getByLabel('Grant types').inputValue()).toBe('client_credentials');
    await page.getByLabel('Client secret').fill('second-secret');
    await page.getByRole('button', { name: 'Save' }).click();
    await shown(page, 'status', 'Replaced batch-job');
    expect((await server.clientToken('batch-job', 'first-secret')).status).toBe(401);
    expect((await server.clientToken('batch-job', 'second-secret')).status).toBe(200);

    // the confirmation as a page of its own, as browsers without the script get it
    await page.goto(`${server.portal}admin/clients/batch-job/delete`);
    await page.getByRole('heading', { name: 'Delete the client batch-job?' }).waitFor();
    await audit.page(page, 'admin-delete-client-page');
    await page.getByRole('link', { name: 'Cancel' }).click();

    await item.getByRole('button', { name: 'Delete' }).click();
    await audit.page(page, 'admin-delete-client-dialog');
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
    await shown(page, 'status', 'Deleted the client batch-job');
    expect(await item.count()).toBe(0);
    expect((await server.clientToken('batch-job', 'second-secret')).status).toBe(401);
    await context.close();
  });

  it('renames an application, and works without the script: confirmations are pages of their own', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    await signIn(page, server.portal, 'judy');
    await page.getByRole('button', { name: 'Create application' }).click();
    await page.getByLabel('Name').fill('Draft');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByLabel('Name').fill('Final');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'Final', level: 1 }).waitFor();

    await page.getByRole('region', { name: 'PRODUCTION' }).getByRole('button', { name: 'Generate keys' }).click();
    await page.getByRole('button', { name: 'Generate' }).click();
    expect(await textOf(page.locator('code[id^="secret-"]'))).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // without the script there is nothing for Copy to do, so it stays hidden; the secret is there to select
    expect(await page.getByRole('button', { name: 'Copy' }).count()).toBe(0);

    await page.getByRole('button', { name: 'Delete application' }).click();
    await page.getByRole('heading', { name: 'Delete Final?' }).waitFor();
    expect(await page.locator('main').innerText()).toMatch(/Generated clients are deleted/);
    // axe needs the script it injects, so this page is checked where scripts run (the admin's test)
    await screenshot(page, 'delete-confirmation-page');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await shown(page, 'status', 'Deleted Final. Deleted with it:');
    await context.close();
  });
});
