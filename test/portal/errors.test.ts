import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { redisOrSkip, startRedis, type TestRedis } from '../support/redis.js';
import { chromiumOrSkip, launch, person, signIn } from './support/browser.js';
import { Audit, navigate, shown, textOf } from './support/pages.js';
import { ADMIN_ACCOUNT, startPortalServer, type PortalServer } from './support/server.js';

const CLIENT_ID = 'shop-svc';
const CLIENT_SECRET = 'shop-secret-from-elsewhere';
const ADMIN = { kind: 'admin', id: 'test' } as const;

async function createApplication(page: Page, name: string): Promise<string> {
  await page.getByRole('link', { name: 'My applications' }).click();
  await page.getByRole('button', { name: 'Create application' }).click();
  await page.getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.getByRole('heading', { name, level: 1 }).waitFor();
  return decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
}

async function provide(page: Page, keyType: string, secret: string) {
  await page.getByRole('region', { name: keyType }).getByRole('button', { name: 'Provide keys' }).click();
  await page.getByLabel('Client ID').fill(CLIENT_ID);
  await page.getByLabel('Client secret').fill(secret);
  return navigate(page, page.getByRole('button', { name: 'Save' }));
}

describe.runIf(chromiumOrSkip())('what the portal shows when the API says no', () => {
  let server: PortalServer;
  let browser: Browser;
  const audit = new Audit();

  beforeAll(async () => {
    // the client's own window (every caller's failures) is what an admin clears
    server = await startPortalServer({
      appkeys: { provideKeys: { enabled: true, attempts: { perCaller: 10, perClient: 3 } } },
    });
    await server.keys.registry(server.provider).registerClient(ADMIN, CLIENT_ID, {
      client_secret: CLIENT_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    });
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    expect(audit.violations).toEqual([]);
    await browser?.close();
    await server?.close();
  });

  it("shows application_name_taken's description when a name is taken", async () => {
    const { page, context } = await person(browser);
    await signIn(page, server.portal, 'carol');
    await createApplication(page, 'Shop');
    await page.getByRole('link', { name: 'My applications' }).click();
    await page.getByRole('button', { name: 'Create application' }).click();
    await page.getByLabel('Name').fill('shop');
    const response = await navigate(page, page.getByRole('button', { name: 'Create', exact: true }));
    expect(response.status()).toBe(409);
    await shown(page, 'alert', 'you already have an application with this name');
    expect(await page.getByLabel('Name').inputValue()).toBe('shop');
    await audit.page(page, 'error-name-taken');
    await context.close();
  });

  it(
    "shows invalid_client's description for a wrong secret, " + "then the throttle's 429, until an admin clears it",
    async () => {
      const { page, context } = await person(browser);
      await signIn(page, server.portal, 'dave');
      const app = await createApplication(page, 'Storefront');

      const wrong = await provide(page, 'PRODUCTION', 'not-the-secret');
      expect(wrong.status()).toBe(401);
      await shown(page, 'alert', 'client authentication failed');
      expect(await page.getByLabel('Client ID').inputValue()).toBe(CLIENT_ID);
      expect(await page.getByLabel('Client secret').inputValue()).toBe('');
      await audit.page(page, 'error-invalid-client');

      let throttled = wrong;
      for (let attempt = 0; attempt < 3 && throttled.status() !== 429; attempt += 1) {
        await page.getByLabel('Client secret').fill('still-not-the-secret');
        throttled = await navigate(page, page.getByRole('button', { name: 'Save' }));
      }
      expect(throttled.status()).toBe(429);
      expect(Number(throttled.headers()['retry-after'])).toBeGreaterThan(0);
      const alert = await shown(page, 'alert', 'too many failed attempts; try again later');
      expect(alert).toMatch(/Try again in \d+ minutes\./);
      await audit.page(page, 'error-throttled');

      const admin = await person(browser);
      await signIn(admin.page, server.portal, ADMIN_ACCOUNT);
      await admin.page.getByRole('link', { name: 'Admin console' }).click();
      await admin.page
        .getByRole('listitem')
        .filter({ hasText: CLIENT_ID })
        .getByRole('button', { name: 'Clear failed attempts' })
        .click();
      await shown(admin.page, 'status', `Cleared the failed attempts of ${CLIENT_ID}`);
      await admin.context.close();

      await page.getByLabel('Client secret').fill(CLIENT_SECRET);
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('region', { name: 'PRODUCTION' }).getByRole('button', { name: 'Unbind' }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/appkeys/portal/applications/${app}`);

      // Unbind says that the provided client is kept
      await page.getByRole('region', { name: 'PRODUCTION' }).getByRole('button', { name: 'Unbind' }).click();
      expect(await textOf(page.getByRole('dialog'))).toContain('kept');
      await audit.page(page, 'unbind-dialog');
      await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
      await shown(page, 'status', `The client ${CLIENT_ID} is kept`);
      await context.close();
    },
  );

  it('shows a generated secret once, and never again after a reload', async () => {
    const { page, context } = await person(browser);
    await signIn(page, server.portal, 'erin');
    await createApplication(page, 'Mobile app');
    const sandbox = page.getByRole('region', { name: 'SANDBOX' });
    await sandbox.getByRole('button', { name: 'Generate keys' }).click();
    expect(await page.getByLabel('Grant types').inputValue()).toBe('client_credentials');
    await audit.page(page, 'generate-keys');
    const generated = await navigate(page, page.getByRole('button', { name: 'Generate' }));
    expect(generated.headers()['cache-control']).toBe('no-store');
    const secret = await textOf(sandbox.locator('code[id^="secret-"]'));
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // the script shows Copy once it runs; it puts the secret on the clipboard and says so
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.issuer });
    await sandbox.getByRole('button', { name: 'Copy' }).click();
    await shown(page, 'status', 'Copied.');
    expect(
      await page.evaluate(() =>
        (
          globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
        ).navigator.clipboard.readText(),
      ),
    ).toBe(secret);
    expect(await sandbox.innerText()).toMatch(/shown this once/);
    expect(await sandbox.innerText()).toMatch(/Origin\s+generated/);
    await audit.page(page, 'secret-shown-once');

    const clientId = await textOf(sandbox.locator('dd code').first());
    expect((await server.clientToken(clientId, secret)).status).toBe(200);

    await page.reload();
    expect(await page.content()).not.toContain(secret);
    await shown(page, 'alert', 'shown once and is not shown again');
    await page.getByRole('link', { name: 'My applications' }).click();
    await page.getByRole('link', { name: 'Mobile app' }).click();
    expect(await page.content()).not.toContain(secret);

    // a regenerated secret too: once, in the answer to the confirmation
    await sandbox.getByRole('button', { name: 'Regenerate secret' }).click();
    await audit.page(page, 'regenerate-dialog');
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
    const rotated = await textOf(sandbox.locator('code[id^="secret-"]'));
    expect(rotated).not.toBe(secret);
    expect((await server.clientToken(clientId, secret)).status).toBe(401);
    expect((await server.clientToken(clientId, rotated)).status).toBe(200);
    await page.reload();
    expect(await page.content()).not.toContain(rotated);
    await context.close();
  });

  it("answers another owner's application, typed in the address bar, as not found", async () => {
    const owner = await person(browser);
    await signIn(owner.page, server.portal, 'frank');
    const app = await createApplication(owner.page, 'Private');
    await owner.context.close();

    const { page, context } = await person(browser);
    await signIn(page, server.portal, 'grace');
    const response = await page.goto(`${server.portal}applications/${encodeURIComponent(app)}`);
    expect(response?.status()).toBe(404);
    await shown(page, 'alert', 'no such application');
    expect(await page.content()).not.toContain('Private');
    await audit.page(page, 'error-not-found');
    await context.close();
  });

  it('signs out: the session ends, and its pages ask to sign in again', async () => {
    const { page, context } = await person(browser);
    await signIn(page, server.portal, 'heidi');
    const app = await createApplication(page, 'Short-lived');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await shown(page, 'status', 'You are signed out');
    await audit.page(page, 'signed-out');
    const response = await page.goto(`${server.portal}applications/${encodeURIComponent(app)}`);
    expect(response?.status()).toBe(401);
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    expect(await page.content()).not.toContain('Short-lived');
    await context.close();
  });
});

describe.runIf(chromiumOrSkip() && redisOrSkip())('what the portal shows when the store is down', () => {
  let redis: TestRedis;
  let server: PortalServer;
  let browser: Browser;

  beforeAll(async () => {
    redis = await startRedis();
    // the client's own window (every caller's failures) is what an admin clears
    server = await startPortalServer({ redis });
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await redis?.stop();
  });

  it("says to try again, with the answer's Retry-After", async () => {
    const { page, context } = await person(browser);
    await signIn(page, server.portal, 'ivan');
    await redis.kill();
    const response = await page.reload();
    expect(response?.status()).toBe(503);
    expect(response?.headers()['retry-after']).toBe('5');
    const alert = await shown(page, 'alert', 'try again');
    expect(alert).toContain('Try again in 5 seconds.');
    expect(await page.content()).not.toMatch(/at [\w.]+ \(|Error:/);
    const audit = new Audit();
    await audit.page(page, 'error-store-down');
    expect(audit.violations).toEqual([]);
    await context.close();
    await redis.restart();
  });
});
