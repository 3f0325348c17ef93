import { html, type Html } from '../html.js';
import { alertBox, layout, type View } from './layout.js';

const TITLES: Readonly<Record<number, string>> = {
  400: 'That did not work',
  401: 'Sign in',
  403: 'Not allowed',
  404: 'Not found',
  409: 'That did not work',
  413: 'Too large',
  415: 'Not accepted',
  429: 'Too many attempts',
  503: 'Try again',
};

/** A failure as a page: the server's own description in the alert, never anything internal. */
export function errorPage(view: View, status: number, description: string, retryAfter?: number): Html {
  const title = TITLES[status] ?? 'Something went wrong';
  const home = view.account
    ? html`<a href="${view.base}/">Back to my applications</a>`
    : html`<a href="${view.base}/signin">Sign in</a>`;
  return layout(
    view,
    title,
    html`<h1>${title}</h1>
      ${alertBox({ text: description, ...(retryAfter !== undefined && { retryAfter }) })}
      <p>${home}</p>`,
  );
}
