import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { redisOrSkip, startRedis, type TestRedis } from '../support/redis.js';
import { chromiumOrSkip, launch, person, SCREENSHOTS, signIn } from './support/browser.js';
import { Audit, Documents, overflowsSideways, shown, textOf } from './support/pages.js';
import { ADMIN_ACCOUNT, startPortalServer, type PortalServer } from './support/server.js';

const CLIENT_ID = 'corp-billing-svc';
const CLIENT_SECRET = 'secret-issued-by-the-corporate-idp';

/** The Management Console step: the admin registers a client created elsewhere, keeping its keys. */
async function registerClient(page: Page, audit: Audit, prefix: string): Promise<void> {
  await page.getByRole('link', { name: 'Admin console' }).click();
  await page.getByRole('heading', { name: 'Clients' }).waitFor();
  await audit.page(page, `${prefix}admin-clients-empty`);
  await page.getByRole('button', { name: 'Register client' }).click();
  await page.getByLabel('Client ID').fill(CLIENT_ID);
  await page.getByLabel('Client secret').fill(CLIENT_SECRET);
  expect(await page.getByLabel('Grant types').inputValue()).toBe('client_credentials');
  expect(await page.getByLabel('Redirect URIs').inputValue()).toBe('');
  await audit.page(page, `${prefix}admin-register-client`);
  await page.getByRole('button', { name: 'Save' }).click();
  await shown(page, 'status', `Registered ${CLIENT_ID}`);
  expect(await textOf(page.getByRole('listitem').filter({ hasText: CLIENT_ID }))).toContain('not bound');
  await audit.page(page, `${prefix}admin-clients`);
}

/** "My Applications" → create one → the application's page, whose id the address bar shows. */
async function createApplication(
  page: Page,
  audit: Audit,
  name: string,
  description: string,
  prefix: string,
): Promise<string> {
  await page.getByRole('button', { name: 'Create application' }).click();
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Description').fill(description);
  await audit.page(page, `${prefix}create-application`);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.getByRole('heading', { name, level: 1 }).waitFor();
  return decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
}

/** "Provide Keys": paste the consumer key and secret, Save. */
async function provideKeys(page: Page, audit: Audit, keyType: string, prefix: string): Promise<void> {
  await page.getByRole('region', { name: keyType }).getByRole('button', { name: 'Provide keys' }).click();
  await page.getByLabel('Client ID').fill(CLIENT_ID);
  await page.getByLabel('Client secret').fill(CLIENT_SECRET);
  await audit.page(page, `${prefix}provide-keys`);
  await page.getByRole('button', { name: 'Save' }).click();
  const region = page.getByRole('region', { name: keyType });
  await region.getByRole('button', { name: 'Unbind' }).waitFor();
  expect(await region.innerText()).toMatch(new RegExp(`Client ID\\s+${CLIENT_ID}\\s+Origin\\s+provided`));
}

/** The README's picture (docs/portal.png is a copy of it): a bound application, small. */
async function readmeShot(page: Page): Promise<void> {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 760, height: 640 });
  await page.screenshot({ path: `${SCREENSHOTS}readme.png` });
  if (size) await page.setViewportSize(size);
}

function seedFlowOn(backend: 'memory' | 'redis') {
  return () => {
    let redis: TestRedis | undefined;
    let server: PortalServer;
    let browser: Browser;

    beforeAll(async () => {
      if (backend === 'redis') redis = await startRedis();
      server = await startPortalServer(redis ? { redis } : {});
      browser = await launch();
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await server?.close();
      await redis?.stop();
    });

    it(
      'registers a client, binds it by clicking, ' + 'keeps it when the application is deleted, and binds it again',
      async () => {
        const audit = new Audit();
        const prefix = `${backend}-`;
        const admin = await person(browser);
        const alice = await person(browser);
        // the second developer uses a phone
        const bob = await person(browser, { phone: true });
        const documents = [admin, alice, bob].map(({ context }) => new Documents(context));

        await alice.page.goto(server.portal);
        await audit.page(alice.page, `${prefix}signed-out`);

        await signIn(admin.page, server.portal, ADMIN_ACCOUNT);
        await registerClient(admin.page, audit, prefix);

        await signIn(alice.page, server.portal, 'alice');
        await audit.page(alice.page, `${prefix}my-applications-empty`);
        const aliceApp = await createApplication(
          alice.page,
          audit,
          'Billing dashboard',
          'Invoices and payments, for the finance team',
          prefix,
        );
        await audit.page(alice.page, `${prefix}application-new`);
        await provideKeys(alice.page, audit, 'PRODUCTION', prefix);
        await audit.page(alice.page, `${prefix}application-bound`);
        if (backend === 'memory') await readmeShot(alice.page);

        const token = await server.clientToken(CLIENT_ID, CLIENT_SECRET);
        expect(token.status).toBe(200);
        const accessToken = String(token.body.access_token);
        expect(await server.introspect(CLIENT_ID, CLIENT_SECRET, accessToken)).toMatchObject({
          active: true,
          client_id: CLIENT_ID,
          application_id: aliceApp,
          key_type: 'PRODUCTION',
        });

        await admin.page.reload();
        const listed = admin.page.getByRole('listitem').filter({ hasText: CLIENT_ID });
        expect(await textOf(listed)).toContain(aliceApp);
        expect(await textOf(listed)).toContain('PRODUCTION');

        await alice.page.getByRole('button', { name: 'Delete application' }).click();
        const dialog = alice.page.getByRole('dialog');
        expect(await textOf(dialog)).toMatch(/Provided clients are kept/);
        await audit.page(alice.page, `${prefix}delete-application-dialog`);
        await dialog.getByRole('button', { name: 'Confirm' }).click();
        await alice.page.getByRole('heading', { name: 'My applications' }).waitFor();
        await shown(alice.page, 'status', `Kept, and free to be bound again: ${CLIENT_ID}`);
        expect(await alice.page.getByRole('link', { name: 'Billing dashboard' }).count()).toBe(0);

        // the client is kept: it still gets tokens, the old binding's no longer count
        expect(await server.introspect(CLIENT_ID, CLIENT_SECRET, accessToken)).toMatchObject({ active: false });
        await admin.page.reload();
        expect(await textOf(admin.page.getByRole('listitem').filter({ hasText: CLIENT_ID }))).toContain('not bound');

        await signIn(bob.page, server.portal, 'bob');
        const bobApp = await createApplication(
          bob.page,
          audit,
          'Invoices',
          'Sends invoices to customers',
          `${prefix}phone-`,
        );
        await provideKeys(bob.page, audit, 'SANDBOX', `${prefix}phone-`);
        await audit.page(bob.page, `${prefix}phone-application-bound`);
        expect(await overflowsSideways(bob.page)).toBe(false);
        const again = await server.clientToken(CLIENT_ID, CLIENT_SECRET);
        expect(await server.introspect(CLIENT_ID, CLIENT_SECRET, String(again.body.access_token))).toMatchObject({
          active: true,
          application_id: bobApp,
          key_type: 'SANDBOX',
        });

        // the admin blocks Bob's application from the console, and lifts the block
        await admin.page.getByRole('link', { name: 'All applications' }).click();
        await admin.page.getByRole('link', { name: 'Invoices' }).click();
        await admin.page.getByRole('button', { name: 'Block' }).click();
        await audit.page(admin.page, `${prefix}admin-block-dialog`);
        await admin.page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
        await shown(admin.page, 'status', 'Blocked Invoices');
        expect((await server.clientToken(CLIENT_ID, CLIENT_SECRET)).body.error).toBe('invalid_client');
        await audit.page(admin.page, `${prefix}admin-application-blocked`);
        await bob.page.reload();
        expect(
          await bob.page.getByRole('region', { name: 'SANDBOX' }).getByRole('button', { name: 'Unbind' }).count(),
        ).toBe(0);
        await admin.page.getByRole('button', { name: 'Unblock' }).click();
        await shown(admin.page, 'status', 'Unblocked Invoices');
        expect((await server.clientToken(CLIENT_ID, CLIENT_SECRET)).status).toBe(200);

        const served = (await Promise.all(documents.map((d) => d.all())))
          .flat()
          .filter((d) => d.url.startsWith(server.portal));
        expect(served.length).toBeGreaterThan(20);
        for (const page of served)
          expect(page.headers['content-security-policy'], page.url).toContain("default-src 'self'");
        expect(audit.violations).toEqual([]);
        await Promise.all([admin, alice, bob].map(({ context }) => context.close()));
      },
      180_000,
    );
  };
}

describe.runIf(chromiumOrSkip())('the seed flow by clicking, in memory', seedFlowOn('memory'));
describe.runIf(chromiumOrSkip() && redisOrSkip())('the seed flow by clicking, on Redis', seedFlowOn('redis'));
