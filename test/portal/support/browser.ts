import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's chromium: browser downloads are not possible here, so the suite drives the packaged one. */
export const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const SCREENSHOTS = fileURLToPath(new URL('../screenshots/', import.meta.url));

/**
 * Whether the browser suites run here. Without chromium they skip loudly; where Redis is required
 * (APPKEYS_REQUIRE_REDIS=1, as CI sets) or in CI, a missing browser is a failure instead.
 */
export function chromiumOrSkip(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `${CHROMIUM} not found (apt-get install chromium): the portal's browser tests cannot run`;
  if (process.env.APPKEYS_REQUIRE_REDIS === '1' || process.env.CI) throw new Error(message);
  process.stderr.write(`\n!!!!!!!! SKIPPING portal browser suites: ${message} !!!!!!!!\n\n`);
  return false;
}

/** Playwright makes a fresh, temporary profile (user-data-dir) for every launch and removes it after. */
export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}

/** One person's browser: own cookies, a phone-width screen when asked. */
export async function person(
  browser: Browser,
  { phone = false } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(
    phone
      ? { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true }
      : { viewport: { width: 1100, height: 800 } },
  );
  // a step that cannot happen fails within seconds, naming the step
  context.setDefaultTimeout(15_000);
  return { context, page: await context.newPage() };
}

/** Signs in through the provider's development login (any name, any password) and its consent page. */
export async function signIn(page: Page, portal: string, account: string): Promise<void> {
  await page.goto(portal);
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.getByPlaceholder('Enter any login').fill(account);
  await page.getByPlaceholder('and password').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  // consent is asked the first time this account signs in to the portal
  const landed = page.getByRole('heading', { name: 'My applications' });
  const consent = page.getByRole('button', { name: 'Continue' });
  await expect
    .poll(async () => (await landed.count()) + (await consent.count()), { timeout: 10_000 })
    .toBeGreaterThan(0);
  if (await consent.count()) await consent.click();
  await landed.waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: ReadonlyArray<{ readonly target: unknown }>;
}

/**
 * axe-core's serious and critical violations on the page as it is now. axe is evaluated through the
 * DevTools protocol, which the page's CSP does not govern, so the page keeps its own policy.
 */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    // evaluated in the page; the project's types know no DOM
    const view = globalThis as unknown as {
      document: unknown;
      axe: { run(context: unknown): Promise<{ violations: AxeViolation[] }> };
    };
    return (await view.axe.run(view.document)).violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}
