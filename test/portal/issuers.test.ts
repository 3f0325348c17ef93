/**
 * Third-party issuers by clicking: the admin registers one (a second real oidc-provider), a developer
 * provides the keys of a client created there, and the application's page says where that client lives.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Registry } from '../../src/registry.js';
import { startIdp, type Idp } from '../support/idp.js';
import { chromiumOrSkip, launch, person, signIn } from './support/browser.js';
import { Audit, navigate, shown, textOf } from './support/pages.js';
import { ADMIN_ACCOUNT, startPortalServer, type PortalServer } from './support/server.js';

async function registerIssuer(page: Page, issuerId: string, url: string, verification = 'client_credentials') {
  await page.getByLabel('Issuer ID').fill(issuerId);
  await page.getByLabel('Issuer URL').fill(url);
  await page.getByLabel('Verification').selectOption(verification);
  return navigate(page, page.getByRole('button', { name: 'Register' }));
}

describe.runIf(chromiumOrSkip())('third-party issuers in the portal', () => {
  let idp: Idp;
  let openIdp: Idp;
  let server: PortalServer;
  let registry: Registry;
  let browser: Browser;
  const audit = new Audit();

  beforeAll(async () => {
    [idp, openIdp] = await Promise.all([startIdp(), startIdp()]);
    server = await startPortalServer({ appkeys: { issuers: { allowHttpLoopback: true } } });
    registry = server.keys.registry(server.provider);
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    expect(audit.violations).toEqual([]);
    await browser?.close();
    await server?.close();
    await Promise.all([idp?.close(), openIdp?.close()]);
  });

  it('lets the admin register an issuer from its metadata, list it, and delete it unless it is in use', async () => {
    const { page, context } = await person(browser);
    await signIn(page, server.portal, ADMIN_ACCOUNT);
    await page.getByRole('link', { name: 'Admin console' }).click();
    await page.getByRole('link', { name: 'Issuers' }).click();
    await page.getByRole('heading', { name: 'Issuers', level: 1 }).waitFor();
    await audit.page(page, 'admin-issuers-empty');

    expect((await registerIssuer(page, 'partner', idp.issuer)).status()).toBe(303);
    await shown(page, 'status', `Registered the issuer partner (${idp.issuer})`);
    const item = page.getByRole('listitem').filter({ hasText: 'partner' });
    expect(await textOf(item)).toMatch(new RegExp(`Token endpoint\\s+${idp.issuer}/token`));
    expect(await textOf(item)).toContain('client_credentials');
    await audit.page(page, 'admin-issuers');

    const taken = await registerIssuer(page, 'partner2', idp.issuer);
    expect(taken.status()).toBe(409);
    await shown(page, 'alert', 'another issuer_id is registered for this issuer');
    // the form comes back as it was sent
    expect(await page.getByLabel('Issuer ID').inputValue()).toBe('partner2');
    await audit.page(page, 'admin-issuers-refused');
    const unreachable = await registerIssuer(page, 'nobody', 'https://127.0.0.1:9/');
    expect(unreachable.status()).toBeGreaterThanOrEqual(400);
    await shown(page, 'alert', /could not be reached|must use/);

    // in use: a developer's application is bound to a client of it
    const app = await registry.createApplication({ kind: 'owner', id: 'dora' }, { name: 'Reports' });
    await registry.provideKeys({ kind: 'owner', id: 'dora' }, app.id, 'PRODUCTION', {
      issuer_id: 'partner',
      client_id: idp.secretClient.client_id,
      client_secret: idp.secretClient.client_secret,
    });
    await item.getByRole('button', { name: 'Delete' }).click();
    await audit.page(page, 'admin-delete-issuer-dialog');
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
    await shown(page, 'alert', 'clients of this issuer are bound to applications; unbind them first');
    await registry.deleteApplication({ kind: 'owner', id: 'dora' }, app.id);

    await page.goto(`${server.portal}admin/issuers`);
    await page.getByRole('listitem').filter({ hasText: 'partner' }).getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
    await shown(page, 'status', 'Deleted the issuer partner');
    expect(await page.getByRole('listitem').filter({ hasText: 'partner' }).count()).toBe(0);
    await context.close();
  });

  it("lets a developer provide the keys of an issuer's client, and shows the issuer on the application", async () => {
    const admin = { kind: 'admin', id: ADMIN_ACCOUNT } as const;
    await registry.issuers.register(admin, 'corp', { issuer: idp.issuer });
    await registry.issuers.register(admin, 'open', { issuer: openIdp.issuer, verification: 'none' });
    const { page, context } = await person(browser);
    await signIn(page, server.portal, 'erin');
    await page.getByRole('button', { name: 'Create application' }).click();
    await page.getByLabel('Name').fill('Partner reports');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { name: 'Partner reports', level: 1 }).waitFor();

    const production = page.getByRole('region', { name: 'PRODUCTION' });
    await production.getByRole('button', { name: 'Provide keys' }).click();
    const issuer = page.getByLabel('Issuer');
    const secret = page.getByLabel('Client secret');
    expect(await issuer.inputValue()).toBe('');
    expect(await secret.evaluate((input) => (input as unknown as { required: boolean }).required)).toBe(true);
    await issuer.selectOption('open');
    expect(await secret.evaluate((input) => (input as unknown as { required: boolean }).required)).toBe(false);
    await issuer.selectOption('corp');
    await audit.page(page, 'provide-keys-issuer');

    await page.getByLabel('Client ID').fill(idp.secretClient.client_id);
    await secret.fill('not-the-secret');
    expect((await navigate(page, page.getByRole('button', { name: 'Save' }))).status()).toBe(401);
    await page.getByRole('alert').waitFor();
    expect(await page.getByLabel('Issuer').inputValue()).toBe('corp');
    await audit.page(page, 'provide-keys-issuer-refused');

    await page.getByLabel('Client secret').fill(idp.secretClient.client_secret);
    await page.getByRole('button', { name: 'Save' }).click();
    await shown(page, 'status', `The client ${idp.secretClient.client_id} of corp is now the PRODUCTION keys`);
    expect(await textOf(production)).toMatch(
      new RegExp(
        `Client ID\\s+${idp.secretClient.client_id}\\s+Issuer\\s+${idp.issuer} \\(corp\\)\\s+Origin\\s+provided`,
      ),
    );
    await audit.page(page, 'application-issuer-bound');

    // an unverified issuer's client: bound on its id alone, and the page says so
    const sandbox = page.getByRole('region', { name: 'SANDBOX' });
    await sandbox.getByRole('button', { name: 'Provide keys' }).click();
    await page.getByLabel('Issuer').selectOption('open');
    await page.getByLabel('Client ID').fill('reporting-job');
    await page.getByRole('button', { name: 'Save' }).click();
    await shown(page, 'status', 'The client reporting-job of open is now the SANDBOX keys');
    expect(await textOf(sandbox)).toMatch(/Issuer\s+\S+ \(open\)\s+Verification\s+none: bound without a proof/);

    await sandbox.getByRole('button', { name: 'Unbind' }).click();
    expect(await textOf(page.getByRole('dialog'))).toContain('lives at its issuer');
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
    await shown(page, 'status', 'Unbound. The client reporting-job is kept');
    await context.close();
  });
});
