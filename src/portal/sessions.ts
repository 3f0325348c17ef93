import { createHash, randomBytes } from 'node:crypto';

import type { Context } from 'koa';
import type { Adapter, AdapterConstructor, AdapterFactory } from 'oidc-provider';

/**
 * Where portal sessions live: `find`, `upsert` and `destroy` of an oidc-provider `Adapter`, so any
 * adapter serves (the provider's own is the default, so Redis when the provider keeps its models there).
 */
export interface PortalSessionStore {
  /** The payload saved under `id`, or `undefined` when there is none (expired ones included). */
  find(id: string): Promise<unknown>;
  /** Saves `payload` under `id` for `expiresIn` seconds, replacing what was there. */
  upsert(id: string, payload: { readonly portal: PortalSessionData }, expiresIn: number): Promise<unknown>;
  destroy(id: string): Promise<unknown>;
}

/** Who signed in, as decided at sign-in. */
export interface SignedIn {
  readonly accountId: string;
  readonly admin: boolean;
}

/** A sign-in under way: what the callback must see again (state) and prove (PKCE verifier). */
export interface PendingSignIn {
  readonly state: string;
  readonly verifier: string;
  readonly nonce: string;
  /** A portal path to land on afterwards. */
  readonly returnTo: string;
}

/** Everything a session holds. Never a token, never a client secret. */
export interface PortalSessionData {
  /** The proof every change must carry (a hidden form field), compared in constant time. */
  readonly csrf: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
  account?: SignedIn;
  signIn?: PendingSignIn;
  /** A message for the next page, shown once. */
  notice?: string;
  /** Nonces of forms that produced a secret, already handled: a resubmission shows no second secret. */
  spent?: string[];
}

export const SESSION_MODEL = 'AppKeysPortalSession';
const COOKIE = 'appkeys_portal';
/** A sign-in not finished within this long starts over. */
const PENDING_TTL_SECONDS = 600;
const SPENT_KEPT = 20;

/** oidc-provider's own test for "construct it" versus "call it" (helpers/type_validators.js). */
function isConstructable(adapter: AdapterConstructor | AdapterFactory): adapter is AdapterConstructor {
  return typeof adapter === 'function' && adapter.prototype !== null && typeof adapter.prototype === 'object';
}

/** The store of sessions on a provider adapter (constructor or factory), under their own model name. */
export function adapterSessions(adapter: AdapterConstructor | AdapterFactory): PortalSessionStore {
  const instance: Adapter = isConstructable(adapter) ? new adapter(SESSION_MODEL) : adapter(SESSION_MODEL);
  return instance;
}

function isSessionData(value: unknown): value is PortalSessionData {
  if (!value || typeof value !== 'object') return false;
  const data = value as Partial<PortalSessionData>;
  return typeof data.csrf === 'string' && typeof data.expiresAt === 'number';
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export class Session {
  readonly id: string;
  readonly data: PortalSessionData;

  constructor(id: string, data: PortalSessionData) {
    this.id = id;
    this.data = data;
  }

  /** Marks a secret-producing form's nonce as handled; false when it already was. */
  spend(nonce: string): boolean {
    const spent = this.data.spent ?? [];
    if (spent.includes(nonce)) return false;
    this.data.spent = [...spent, nonce].slice(-SPENT_KEPT);
    return true;
  }

  /** The pending notice, removed. */
  takeNotice(): string | undefined {
    const { notice } = this.data;
    delete this.data.notice;
    return notice;
  }
}

export interface CookieSettings {
  /** The portal's base path: the cookie goes nowhere else. */
  readonly path: string;
  readonly secure: boolean;
}

/**
 * Server-side sessions behind an httpOnly, SameSite=Lax cookie holding 256 random bits. The store is
 * keyed by a hash of that value, so whoever reads the store learns no cookie that would sign them in.
 */
export class Sessions {
  readonly #store: PortalSessionStore;
  readonly #ttlSeconds: number;

  constructor(store: PortalSessionStore, ttlSeconds: number) {
    this.#store = store;
    this.#ttlSeconds = ttlSeconds;
  }

  async load(ctx: Context): Promise<Session | undefined> {
    const id = ctx.cookies.get(COOKIE, { signed: false });
    if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const found = await this.#store.find(storeKey(id));
    const data = found && typeof found === 'object' ? (found as { portal?: unknown }).portal : undefined;
    if (!isSessionData(data) || data.expiresAt <= nowSeconds()) return undefined;
    return new Session(id, data);
  }

  /** A session before sign-in, holding only what the callback will check. */
  async startSignIn(ctx: Context, cookie: CookieSettings, signIn: PendingSignIn): Promise<void> {
    await this.#create(ctx, cookie, { csrf: token(), expiresAt: nowSeconds() + PENDING_TTL_SECONDS, signIn });
  }

  /** Signs in under a new id (the pre-sign-in one is dropped, so it cannot be fixed beforehand). */
  async signIn(ctx: Context, cookie: CookieSettings, previous: Session, account: SignedIn): Promise<void> {
    await this.#store.destroy(storeKey(previous.id));
    await this.#create(ctx, cookie, { csrf: token(), expiresAt: nowSeconds() + this.#ttlSeconds, account });
  }

  async save(session: Session): Promise<void> {
    const left = session.data.expiresAt - nowSeconds();
    if (left > 0) await this.#store.upsert(storeKey(session.id), { portal: session.data }, left);
  }

  async end(ctx: Context, cookie: CookieSettings, session: Session | undefined): Promise<void> {
    if (session) await this.#store.destroy(storeKey(session.id));
    setCookie(ctx, cookie, '', 0);
  }

  async #create(ctx: Context, cookie: CookieSettings, data: PortalSessionData): Promise<void> {
    const id = token();
    const left = data.expiresAt - nowSeconds();
    await this.#store.upsert(storeKey(id), { portal: data }, left);
    setCookie(ctx, cookie, id, left);
  }
}

/** 256 random bits, base64url (43 characters). */
export function token(): string {
  return randomBytes(32).toString('base64url');
}

function storeKey(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/** Written by hand: Koa's cookie helper refuses `Secure` behind a TLS-terminating proxy it does not trust. */
function setCookie(ctx: Context, { path, secure }: CookieSettings, value: string, maxAge: number): void {
  const attributes = [`${COOKIE}=${value}`, `Path=${path}`, `Max-Age=${maxAge}`, 'HttpOnly', 'SameSite=Lax'];
  if (secure) attributes.push('Secure');
  ctx.append('Set-Cookie', attributes.join('; '));
}
