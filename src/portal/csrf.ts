import { timingSafeEqual } from 'node:crypto';

import type { Context } from 'koa';

import { AppKeysError } from '../errors.js';
import type { FormFields } from './form.js';
import type { Session } from './sessions.js';

export const CSRF_FIELD = 'csrf';

const refused = () =>
  new AppKeysError(
    403,
    'invalid_request',
    'this form did not come from a page of this portal, or it has expired; go back, reload the page and try again',
  );

/**
 * A change is made only by a form of this portal: the browser must not name another site as the
 * request's origin (`Origin`, `Sec-Fetch-Site`), and the form must carry this session's token. The
 * SameSite cookie already keeps other sites' posts sessionless; the token covers browsers and paths
 * where it does not (a sibling subdomain, an old browser).
 */
export function checkChange(ctx: Context, origin: string, session: Session | undefined, form: FormFields): Session {
  const from = ctx.get('origin');
  if (from !== '' && from !== origin) throw refused();
  const site = ctx.get('sec-fetch-site');
  // 'none': the browser itself, as when a page that answered a post is reloaded
  if (site !== '' && site !== 'same-origin' && site !== 'none') throw refused();
  if (!session) throw refused();
  const given = Buffer.from(form.text(CSRF_FIELD));
  const expected = Buffer.from(session.data.csrf);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw refused();
  return session;
}
