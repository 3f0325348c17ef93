import type { Context } from 'koa';
import type Provider from 'oidc-provider';

import { AppKeysError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import type { Registry } from '../registry.js';
import type { Actor } from '../types.js';
import { checkChange } from './csrf.js';
import { readForm, type FormFields } from './form.js';
import type { Html } from './html.js';
import type { ResolvedPortalOptions } from './options.js';
import { errorPage } from './pages/errors.js';
import type { Problem, View } from './pages/layout.js';
import { token, type CookieSettings, type Session, type Sessions, type SignedIn } from './sessions.js';

/** What every handler shares: the provider, the registry, the options, the sessions. */
export interface PortalDeps {
  readonly provider: Provider;
  readonly registry: Registry;
  readonly options: ResolvedOptions;
  readonly portal: ResolvedPortalOptions;
  readonly sessions: Sessions;
  /** Where the portal is, below the mount path: `<prefix>/portal`. */
  readonly root: string;
  /** The issuer's origin: the portal's, and the only one its forms may come from. */
  readonly origin: string;
}

/** A failure the reader can act on, from an error: exposed ones say what, anything else says nothing. */
export function problemOf(error: unknown): { status: number; problem: Problem } | undefined {
  if (!(error instanceof AppKeysError) || !error.expose) return undefined;
  return {
    status: error.status,
    problem: { text: error.error_description, ...(error.retryAfter !== undefined && { retryAfter: error.retryAfter }) },
  };
}

/**
 * The part of the path a mounting app (koa-mount) took off, so links keep it: the request's original
 * path minus the path this app sees.
 */
function mountPath(ctx: Context): string {
  const original = ctx.originalUrl.split('?')[0] ?? '';
  return original.endsWith(ctx.path) ? original.slice(0, original.length - ctx.path.length) : '';
}

/** One request to the portal: its session, its view, and the ways it is answered. */
export class PortalRequest {
  readonly ctx: Context;
  readonly deps: PortalDeps;
  /** The portal's base path as the browser sees it. */
  readonly base: string;
  readonly cookie: CookieSettings;
  session: Session | undefined;
  #notice: string | undefined;

  constructor(ctx: Context, deps: PortalDeps, session: Session | undefined) {
    this.ctx = ctx;
    this.deps = deps;
    this.base = `${mountPath(ctx)}${deps.root}`;
    this.cookie = { path: this.base, secure: deps.origin.startsWith('https:') };
    this.session = session;
  }

  get account(): SignedIn | undefined {
    return this.session?.data.account;
  }

  get redirectUri(): string {
    return `${this.deps.origin}${this.base}/callback`;
  }

  /** The provider's public token endpoint, as a client outside uses it. */
  get tokenEndpoint(): string {
    return this.deps.provider.urlFor('token');
  }

  get view(): View {
    return { base: this.base, csrf: this.session?.data.csrf, account: this.account, notice: this.#notice };
  }

  /** Takes the notice a previous change left, to be shown on this page. */
  async takeNotice(): Promise<void> {
    const notice = this.session?.takeNotice();
    if (notice !== undefined && this.session) {
      this.#notice = notice;
      await this.deps.sessions.save(this.session);
    }
  }

  /** Leaves a message for the next page. */
  async notify(text: string): Promise<void> {
    if (!this.session) return;
    this.session.data.notice = text;
    await this.deps.sessions.save(this.session);
  }

  /** The signed-in account, or a failure that the error page turns into a Sign in link. */
  requireAccount(): SignedIn {
    const account = this.account;
    if (!account) throw new AppKeysError(401, 'login_required', 'sign in to continue');
    return account;
  }

  owner(): Actor {
    return { kind: 'owner', id: this.requireAccount().accountId };
  }

  admin(): Actor {
    const account = this.requireAccount();
    if (!account.admin) throw new AppKeysError(403, 'insufficient_scope', 'the admin console is for administrators');
    return { kind: 'admin', id: account.accountId };
  }

  /** The submitted form, once it is shown to come from this portal's page in this session. */
  async change(): Promise<{ form: FormFields; session: Session }> {
    const form = await readForm(this.ctx, this.deps.options.bodyLimitBytes);
    return { form, session: checkChange(this.ctx, this.deps.origin, this.session, form) };
  }

  /**
   * Records that a secret-producing form was handled (its `once` field); false when it already was,
   * as when the page that showed a secret is reloaded and the browser sends the form again.
   */
  async spend(session: Session, form: FormFields): Promise<boolean> {
    const nonce = form.text('once');
    if (!/^[A-Za-z0-9_-]{43}$/.test(nonce))
      throw new AppKeysError(400, 'invalid_request', 'the form is incomplete; reload the page and try again');
    if (!session.spend(nonce)) return false;
    await this.deps.sessions.save(session);
    return true;
  }

  /** A fresh nonce for a form that produces a secret. */
  once(): string {
    return token();
  }

  show(status: number, page: Html): void {
    this.ctx.status = status;
    this.ctx.type = 'text/html; charset=utf-8';
    this.ctx.body = page.toString();
  }

  /** After a change: the next page is a plain GET, so reloading it changes nothing. */
  redirect(path: string): void {
    this.ctx.status = 303;
    this.ctx.set('Location', path);
    this.ctx.body = '';
  }

  /** Any failure as a page; `Retry-After` when the answer has one. Unexposed errors say nothing. */
  fail(error: unknown): void {
    const known = problemOf(error);
    if (!known) {
      this.deps.provider.emit('appkeys.server_error', error, { method: this.ctx.method, path: this.ctx.path });
      this.show(500, errorPage(this.view, 500, 'an unexpected error occurred'));
      return;
    }
    if (known.problem.retryAfter !== undefined) this.ctx.set('Retry-After', String(known.problem.retryAfter));
    this.show(known.status, errorPage(this.view, known.status, known.problem.text, known.problem.retryAfter));
  }

  /** A form's failure: the form again, with the server's description; anything unexposed as `fail`. */
  failForm(error: unknown, render: (problem: Problem) => Html): void {
    const known = problemOf(error);
    if (!known) {
      this.fail(error);
      return;
    }
    if (known.problem.retryAfter !== undefined) this.ctx.set('Retry-After', String(known.problem.retryAfter));
    this.show(known.status, render(known.problem));
  }
}
