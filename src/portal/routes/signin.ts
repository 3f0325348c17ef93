import { timingSafeEqual } from 'node:crypto';

import { html } from '../html.js';
import { signInPage } from '../pages/applications.js';
import { layout } from '../pages/layout.js';
import type { PortalRequest } from '../request.js';
import { token } from '../sessions.js';
import { authorizationUrl, redeem } from '../signin.js';
import { handle, type PortalRouter } from './router.js';

function single(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A place inside the portal to come back to; anything else (another site, `//host`) is the home page. */
function returnPath(r: PortalRequest, value: string | undefined): string {
  const home = `${r.base}/`;
  if (!value || !value.startsWith(home) || /[\\\s]|\/\//.test(value.slice(1))) return home;
  return value;
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

const expired = { text: 'this sign-in has expired, or was started in another browser or tab; sign in again' };

export function signInRoutes(router: PortalRouter): void {
  router.get(
    '/signin',
    handle(async (r) => {
      const pending = {
        state: token(),
        verifier: token(),
        nonce: token(),
        returnTo: returnPath(r, single(r.ctx.query.return_to)),
      };
      await r.deps.sessions.startSignIn(r.ctx, r.cookie, pending);
      r.redirect(authorizationUrl(r.deps.provider, r.deps.portal, r.redirectUri, pending));
    }),
  );

  router.get(
    '/callback',
    handle(async (r) => {
      const { query } = r.ctx;
      const pending = r.session?.data.signIn;
      const state = single(query.state);
      if (!r.session || !pending || state === undefined || !sameText(state, pending.state)) {
        r.show(400, signInPage(r.view, undefined, expired));
        return;
      }
      const error = single(query.error);
      const code = single(query.code);
      if (error !== undefined || code === undefined) {
        const description = single(query.error_description) ?? error ?? 'the provider answered without a code';
        r.show(400, signInPage(r.view, undefined, { text: `the sign-in was not completed: ${description}` }));
        return;
      }
      const account = await redeem(r.deps.provider, r.deps.portal, r.redirectUri, code, pending.verifier);
      await r.deps.sessions.signIn(r.ctx, r.cookie, r.session, account);
      r.redirect(pending.returnTo);
    }),
  );

  router.post(
    '/signout',
    handle(async (r) => {
      await r.change();
      await r.deps.sessions.end(r.ctx, r.cookie, r.session);
      r.redirect(`${r.base}/signed-out`);
    }),
  );

  router.get(
    '/signed-out',
    handle(async (r) => {
      r.show(
        200,
        layout(
          { ...r.view, account: undefined },
          'Signed out',
          html`<h1>Signed out</h1>
            <div role="status" class="notice"><p>You are signed out of the portal.</p></div>
            <p><a class="button" href="${r.base}/signin">Sign in</a></p>`,
        ),
      );
    }),
  );
}
