import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { chromiumOrSkip, launch, person, signIn } from './support/browser.js';
import { Audit, Documents, shown, textOf } from './support/pages.js';
import { ADMIN_ACCOUNT, startPortalServer, type PortalServer } from './support/server.js';

/** Another site: `localhost` is not the same site as `127.0.0.1`, where the portal is. */
async function startOtherSite(
  page: (portal: string) => string,
  portal: string,
): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(page(portal));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://localhost:${(server.address() as AddressInfo).port}/`, server };
}

async function applicationNames(page: Page, portal: string): Promise<string[]> {
  await page.goto(portal);
  await page.getByRole('heading', { name: 'My applications' }).waitFor();
  return page.locator('ul.items a.name').allInnerTexts();
}

describe.runIf(chromiumOrSkip())('portal security in a browser', () => {
  let server: PortalServer;
  let browser: Browser;
  let other: Awaited<ReturnType<typeof startOtherSite>>;
  let stolenToken = '';

  beforeAll(async () => {
    server = await startPortalServer();
    browser = await launch();
    // the attacker even knows the victim's form token: the post must fail on the cookie and the origin
    other = await startOtherSite(
      (portal) => `<!doctype html><html lang="en"><title>Win a prize</title>
      <form id="f" method="post" action="${portal}applications">
        <input name="csrf" value="${stolenToken}"><input name="name" value="Planted by another site">
      </form><script>document.getElementById('f').submit()</script></html>`,
      server.portal,
    );
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await new Promise<void>((resolve) => other?.server.close(() => resolve()));
  });

  it('changes nothing on a cross-site form post, nor on a post without the CSRF proof', async () => {
    const { page, context } = await person(browser);
    await signIn(page, server.portal, 'victim');
    stolenToken = (await page.locator('input[name="csrf"]').first().getAttribute('value')) ?? '';
    expect(stolenToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const answer = await page.goto(other.url);
    await page.waitForURL((url) => url.href.startsWith(server.portal));
    expect(answer?.status()).toBe(200);
    await shown(page, 'alert', 'did not come from a page of this portal');

    // same origin, the session's cookie sent, but no proof in the form
    await page.goto(server.portal);
    const status = await page.evaluate(async (url) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'name=Without+the+proof',
      });
      return response.status;
    }, `${server.portal}applications`);
    expect(status).toBe(403);

    expect(await applicationNames(page, server.portal)).toEqual([]);
    await context.close();
  });

  it('sends the CSP on every page, and keeps a secret out of every page after the one that shows it', async () => {
    const audit = new Audit();
    const developer = await person(browser);
    const admin = await person(browser);
    const pages = [new Documents(developer.context), new Documents(admin.context)];
    const { page } = developer;

    await signIn(page, server.portal, 'mallory');
    await page.getByRole('button', { name: 'Create application' }).click();
    await page.getByLabel('Name').fill('Reports');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const production = page.getByRole('region', { name: 'PRODUCTION' });
    await production.getByRole('button', { name: 'Generate keys' }).click();
    await page.getByRole('button', { name: 'Generate' }).click();
    const secret = await textOf(production.locator('code[id^="secret-"]'));
    const shownAt = pages[0]!.served.length;

    // everywhere one could look afterwards: the same page again, the application, the lists, the console
    await page.reload();
    await page.getByRole('link', { name: 'My applications' }).click();
    await page.getByRole('link', { name: 'Reports' }).click();
    await production.getByRole('button', { name: 'Unbind' }).click();
    await audit.page(page, 'unbind-generated-dialog');
    await page.goto(`${server.portal}no-such-page`);
    await signIn(admin.page, server.portal, ADMIN_ACCOUNT);
    await admin.page.getByRole('link', { name: 'Admin console' }).click();
    await admin.page.getByRole('link', { name: 'All applications' }).click();
    await audit.page(admin.page, 'admin-all-applications');
    await admin.page.getByRole('link', { name: 'Reports' }).click();
    await audit.page(admin.page, 'admin-application');
    await admin.page.getByRole('link', { name: 'Clients' }).click();
    await admin.page.getByRole('button', { name: 'Replace' }).first().click();
    await audit.page(admin.page, 'admin-replace-client');

    const [developerPages, adminPages] = await Promise.all(pages.map((d) => d.all()));
    const showing = developerPages!.filter((p) => p.html.includes(secret));
    expect(showing.map((p) => p.url)).toEqual([developerPages![shownAt - 1]!.url]);
    expect(developerPages!.slice(shownAt).some((p) => p.html.includes(secret))).toBe(false);
    expect(adminPages!.some((p) => p.html.includes(secret))).toBe(false);

    const portalPages = [...developerPages!, ...adminPages!].filter((p) => p.url.startsWith(server.portal));
    expect(portalPages.some((p) => p.status === 404)).toBe(true);
    for (const served of portalPages) {
      const csp = served.headers['content-security-policy'] ?? '';
      expect(csp, served.url).toContain("default-src 'self'");
      expect(csp, served.url).toContain("script-src 'self'");
      expect(csp, served.url).toContain("frame-ancestors 'none'");
      expect(csp, served.url).not.toContain('unsafe-inline');
      expect(served.html, served.url).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>|\sstyle=|<style/i);
    }
    expect(audit.violations).toEqual([]);
    await Promise.all([developer.context.close(), admin.context.close()]);
  });
});
