import { SCRIPT_FILE, STYLESHEET } from '../assets.js';
import { CSRF_FIELD } from '../csrf.js';
import { html, type Html, type Interpolation } from '../html.js';
import type { SignedIn } from '../sessions.js';

/** What went wrong, as a page tells it. */
export interface Problem {
  /** The server's `error_description`. */
  readonly text: string;
  /** Seconds, when the answer said when to try again. */
  readonly retryAfter?: number;
}

/** What every page knows of the request it answers. */
export interface View {
  /** The portal's base path, e.g. `/appkeys/portal`; every link is built on it. */
  readonly base: string;
  /** The session's change token, when there is a session. */
  readonly csrf: string | undefined;
  readonly account: SignedIn | undefined;
  /** A message left by the previous change, shown once. */
  readonly notice: string | undefined;
}

export function csrfField(view: View): Html {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${view.csrf ?? ''}" />`;
}

/** `Retry-After` as a reader counts: seconds, or whole minutes (rounded up) from two minutes on. */
function waitText(seconds: number): string {
  if (seconds < 120) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

/**
 * An error for the reader, in the element that assistive technology announces at once: the server's
 * own description, and when to try again if the answer said (`Retry-After`).
 */
export function alertBox(problem: Problem | undefined): Html {
  if (!problem) return html``;
  const { text, retryAfter } = problem;
  const retry = retryAfter === undefined ? '' : html`<p>Try again in ${waitText(retryAfter)}.</p>`;
  return html`<div role="alert">
    <p>${text}</p>
    ${retry}
  </div>`;
}

/** A button that leads to a page (a form with `GET`), so it is a button to every reader, script or not. */
export function buttonTo(action: string, label: string, { secondary = false } = {}): Html {
  return html`<form method="get" action="${action}">
    <button type="submit" ${secondary ? html` class="secondary"` : ''}>${label}</button>
  </form>`;
}

export interface Confirmation {
  /** Unique in the page. */
  readonly id: string;
  readonly title: string;
  readonly body: Html;
  /** Where `Confirm` posts. */
  readonly action: string;
  /** Where the same confirmation is a page of its own, for browsers without the script. */
  readonly page: string;
  /** The button that opens it. */
  readonly label: string;
  readonly danger?: boolean;
  readonly fields?: Html;
}

function confirmForm(view: View, c: Confirmation, cancel: Html): Html {
  return html`<form method="post" action="${c.action}">
    ${csrfField(view)}${c.fields}
    <div class="actions"><button type="submit" ${c.danger ? html` class="danger"` : ''}>Confirm</button>${cancel}</div>
  </form>`;
}

/**
 * The button that asks for a confirmation, and the dialog it opens. Without the script the button
 * leads to the confirmation page; with it, the same form opens in the dialog.
 */
export function confirmButton(view: View, c: Confirmation): Html {
  const cancel = html`<button type="submit" class="secondary" formmethod="dialog" formnovalidate autofocus>
    Cancel
  </button>`;
  return html`<form method="get" action="${c.page}" data-dialog="${c.id}">
      <button type="submit" ${c.danger ? html` class="danger"` : ''}>${c.label}</button>
    </form>
    <dialog id="${c.id}" aria-labelledby="${c.id}-title">
      <h2 id="${c.id}-title">${c.title}</h2>
      ${c.body}${confirmForm(view, c, cancel)}
    </dialog>`;
}

/** The confirmation as a page of its own. */
export function confirmPage(view: View, c: Confirmation, back: string): Html {
  const cancel = html`<a class="button secondary" href="${back}">Cancel</a>`;
  return layout(
    view,
    c.title,
    html`<h1>${c.title}</h1>
      ${c.body}${confirmForm(view, c, cancel)}`,
  );
}

export function time(iso: string): Html {
  const shown = /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : iso;
  return html`<time datetime="${iso}">${shown}</time>`;
}

function navigation(view: View): Html {
  const { base, account } = view;
  if (!account) {
    return html`<nav aria-label="Portal"><a class="brand" href="${base}/">API keys</a></nav>`;
  }
  return html`<nav aria-label="Portal">
    <a class="brand" href="${base}/">API keys</a>
    <a href="${base}/">My applications</a>${account.admin ? html`<a href="${base}/admin">Admin console</a>` : ''}
    <span class="who">Signed in as <strong>${account.accountId}</strong></span>
    <form method="post" action="${base}/signout">
      ${csrfField(view)}<button type="submit" class="secondary">Sign out</button>
    </form>
  </nav>`;
}

/** The page around every body: one stylesheet, one deferred script, both from the portal itself. */
export function layout(view: View, title: string, body: Interpolation): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · API keys</title>
        <link rel="stylesheet" href="${view.base}/assets/${STYLESHEET.name}" />
        <script src="${view.base}/assets/${SCRIPT_FILE.name}" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>${navigation(view)}</header>
        <main id="main">
          ${view.notice ? html`<div role="status" class="notice"><p>${view.notice}</p></div>` : ''} ${body}
        </main>
      </body>
    </html> `;
}
