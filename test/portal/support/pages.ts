import type { BrowserContext, Locator, Page, Response } from 'playwright-core';

import { accessibilityViolations, screenshot } from './browser.js';

/** A page the browser was served: what the tests check of every one. */
export interface Served {
  readonly url: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The body; empty for a redirect. */
  html: string;
}

/** Every document (HTML page) a browser context is served, in the order it was served. */
export class Documents {
  readonly served: Served[] = [];
  readonly #reading: Promise<void>[] = [];

  constructor(context: BrowserContext) {
    context.on('response', (response) => {
      if (response.request().resourceType() !== 'document') return;
      const entry: Served = { url: response.url(), status: response.status(), headers: response.headers(), html: '' };
      this.served.push(entry);
      if (response.status() >= 300 && response.status() < 400) return;
      this.#reading.push(
        response.text().then(
          (html) => {
            entry.html = html;
          },
          () => {},
        ),
      );
    });
  }

  /** Every body read. */
  async all(): Promise<Served[]> {
    await Promise.all(this.#reading);
    return this.served;
  }
}

/**
 * What a page is checked for wherever the suite stops on it: a screenshot, and axe's serious and
 * critical violations collected (so one run reports every page's, not just the first).
 */
export class Audit {
  readonly violations: string[] = [];
  readonly pages = new Set<string>();

  async page(page: Page, name: string): Promise<void> {
    await screenshot(page, name);
    this.pages.add(name);
    for (const violation of await accessibilityViolations(page)) this.violations.push(`${name}: ${violation}`);
  }
}

/** The text of an element once it is there. */
export async function textOf(locator: Locator): Promise<string> {
  await locator.first().waitFor();
  return locator.first().innerText();
}

/** Whether the page is wider than its screen (a phone has to scroll sideways). */
export async function overflowsSideways(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    // evaluated in the page; the project's types know no DOM
    const view = globalThis as unknown as {
      innerWidth: number;
      document: { documentElement: { scrollWidth: number } };
    };
    return view.document.documentElement.scrollWidth > view.innerWidth;
  });
}

/** Clicks what submits a form or follows a link, and answers the document the browser got back. */
export async function navigate(page: Page, action: Locator): Promise<Response> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().resourceType() === 'document' && r.request().frame() === page.mainFrame()),
    action.click(),
  ]);
  return response;
}

/**
 * The text of the first `alert` or `status` element that shows `text` (case-sensitive), once there is
 * one: right after a click the previous page, with an alert or a notice of its own, may still be shown.
 */
export async function shown(page: Page, role: 'alert' | 'status', text: string | RegExp): Promise<string> {
  const pattern = typeof text === 'string' ? new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : text;
  const found = page.getByRole(role).filter({ hasText: pattern }).first();
  await found.waitFor();
  return found.innerText();
}
