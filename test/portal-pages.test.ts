import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { appKeys } from '../src/app-keys.js';
import { ASSETS } from '../src/portal/assets.js';
import { startPortalServer, type PortalServer } from './portal/support/server.js';

/** The portal without a browser: sign-in, its pages' headers and forms' checks, over plain HTTP. */

function pathOf(url: string): string {
  const parsed = new URL(url, 'http://x.invalid');
  return `${parsed.pathname}${parsed.search}`;
}

function formOf(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form[^>]*\saction="([^"]+)"/.exec(html)?.[1] ?? '';
  const prompt = /name="prompt"\s+value="([^"]+)"/.exec(html)?.[1] ?? '';
  return { action: action.replace(/&amp;/g, '&'), fields: { prompt } };
}

/** Signs `account` in through the portal, following every redirect by hand; the agent keeps the cookies. */
async function signedIn(server: PortalServer, account: string): Promise<ReturnType<typeof request.agent>> {
  const agent = request.agent(server.issuer);
  let location = '/appkeys/portal/signin';
  for (let hops = 0; hops < 12; hops += 1) {
    const response = await agent.get(location);
    if (response.status === 200 && location.startsWith('/interaction/')) {
      const form = formOf(response.text);
      const fields =
        form.fields.prompt === 'login' ? { prompt: 'login', login: account, password: 'any' } : form.fields;
      const submitted = await agent.post(pathOf(form.action)).type('form').send(fields);
      location = pathOf(String(submitted.headers.location));
      continue;
    }
    if (response.status === 303 && response.headers.location === '/appkeys/portal/') return agent;
    if (response.status !== 302 && response.status !== 303)
      throw new Error(`GET ${location}: ${response.status} ${response.text}`);
    location = pathOf(String(response.headers.location));
  }
  throw new Error('the sign-in did not come back to the portal');
}

function csrfOf(html: string): string {
  return /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
}

describe('portal pages over HTTP', () => {
  let server: PortalServer;

  beforeAll(async () => {
    server = await startPortalServer();
  });

  afterAll(async () => {
    await server?.close();
  });

  it('keeps its script and style within 60 KB, served with their types and cached for good', async () => {
    const total = [...ASSETS.values()].reduce((sum, asset) => sum + asset.body.length, 0);
    expect(total).toBeLessThanOrEqual(60 * 1024);
    const home = await request(server.issuer).get('/appkeys/portal/');
    const links = [...home.text.matchAll(/(?:href|src)="(\/appkeys\/portal\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(links).toHaveLength(2);
    for (const link of links) {
      const asset = await request(server.issuer).get(link);
      expect(asset.status).toBe(200);
      expect(asset.headers['content-type']).toMatch(link.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
      expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(asset.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('sends the CSP and no-store with every page, the sign-in redirect and the 404 included', async () => {
    for (const path of [
      '/appkeys/portal',
      '/appkeys/portal/',
      '/appkeys/portal/signin',
      '/appkeys/portal/nope',
      '/appkeys/portal/admin',
    ]) {
      const response = await request(server.issuer).get(path);
      expect(response.headers['content-security-policy'], path).toBe(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
          "form-action 'self'; " +
          "frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
      );
      expect(response.headers['cache-control'], path).toBe('no-store');
    }
  });

  it('signs in through the provider with PKCE into an httpOnly SameSite session cookie', async () => {
    const signin = await request(server.issuer).get('/appkeys/portal/signin');
    expect(signin.status).toBe(303);
    const authorization = new URL(String(signin.headers.location));
    expect(authorization.pathname).toBe('/auth');
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorization.searchParams.get('redirect_uri')).toBe(`${server.issuer}/appkeys/portal/callback`);
    const cookie = String(signin.headers['set-cookie']);
    expect(cookie).toMatch(
      /^appkeys_portal=[A-Za-z0-9_-]{43}; Path=\/appkeys\/portal; Max-Age=\d+; HttpOnly; SameSite=Lax$/,
    );

    const agent = await signedIn(server, 'olga');
    const home = await agent.get('/appkeys/portal/');
    expect(home.text).toContain('<h1>My applications</h1>');
    expect(home.text).not.toMatch(/access_token|Bearer/);
  });

  it('refuses a callback whose state is not the one it sent', async () => {
    const agent = request.agent(server.issuer);
    await agent.get('/appkeys/portal/signin');
    const callback = await agent.get('/appkeys/portal/callback?code=x&state=forged');
    expect(callback.status).toBe(400);
    expect(callback.text).toContain('role="alert"');
  });

  it('refuses a change whose Origin is another site, even with the session and its token', async () => {
    const agent = await signedIn(server, 'pat');
    const csrf = csrfOf((await agent.get('/appkeys/portal/applications/new')).text);
    const foreign = await agent
      .post('/appkeys/portal/applications')
      .set('Origin', 'https://elsewhere.example')
      .type('form')
      .send({ csrf, name: 'From elsewhere' });
    expect(foreign.status).toBe(403);
    const crossSite = await agent
      .post('/appkeys/portal/applications')
      .set('Sec-Fetch-Site', 'cross-site')
      .type('form')
      .send({ csrf, name: 'From elsewhere' });
    expect(crossSite.status).toBe(403);
    const own = await agent
      .post('/appkeys/portal/applications')
      .set('Origin', server.issuer)
      .type('form')
      .send({ csrf, name: 'Mine' });
    expect(own.status).toBe(303);
    const list = await agent.get('/appkeys/portal/');
    expect(list.text).toContain('>Mine</a>');
    expect(list.text).not.toContain('From elsewhere');
  });

  it('escapes what owners type', async () => {
    const agent = await signedIn(server, 'quinn');
    const csrf = csrfOf((await agent.get('/appkeys/portal/applications/new')).text);
    await agent
      .post('/appkeys/portal/applications')
      .type('form')
      .send({ csrf, name: '<img src=x onerror=alert(1)>', description: '"><script>x</script>' });
    const list = await agent.get('/appkeys/portal/');
    expect(list.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(list.text).not.toContain('<img src=x');
    expect(list.text).not.toContain('<script>x');
  });

  it("keeps the Issuers page and its forms to admins, behind the session's token", async () => {
    const developer = await signedIn(server, 'rita');
    expect((await developer.get('/appkeys/portal/admin/issuers')).status).toBe(403);

    const admin = await signedIn(server, 'admin');
    const page = await admin.get('/appkeys/portal/admin/issuers');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1>Issuers</h1>');
    expect(page.text).toContain('No issuers registered yet.');
    const fields = { issuer_id: 'corp', issuer: 'http://idp.example', verification: 'client_credentials' };
    const forged = await admin
      .post('/appkeys/portal/admin/issuers')
      .type('form')
      .send({ csrf: 'forged', ...fields });
    expect(forged.status).toBe(403);
    // this server allows no http issuer: the refusal is the registry's, in the page's alert
    const plain = await admin
      .post('/appkeys/portal/admin/issuers')
      .type('form')
      .send({ csrf: csrfOf(page.text), ...fields });
    expect(plain.status).toBe(400);
    expect(plain.text).toMatch(/<div role="alert">\s*<p>issuer &quot;http:\/\/idp.example&quot; must use https<\/p>/);
    expect(plain.text).toContain('value="corp"');
  });

  it('offers no issuer choice on Provide keys while no issuer is registered', async () => {
    const agent = await signedIn(server, 'sam');
    const csrf = csrfOf((await agent.get('/appkeys/portal/applications/new')).text);
    const created = await agent.post('/appkeys/portal/applications').type('form').send({ csrf, name: 'Plain' });
    const form = await agent.get(`${String(created.headers.location)}/keys/PRODUCTION/provide`);
    expect(form.status).toBe(200);
    expect(form.text).toContain('name="client_secret"');
    expect(form.text).not.toContain('name="issuer_id"');
    expect(form.text).toMatch(/name="client_secret"\s+required/);
  });

  it('is off unless enabled, and checks its options by path', () => {
    expect(appKeys().options.portal).toBeUndefined();
    expect(() => appKeys({ portal: { enabled: true, scope: 'openid' } })).toThrow(
      'appKeys: options.portal.scope must include appkeys',
    );
    expect(() => appKeys({ portal: { enabled: true, admins: 'admin' as unknown as string[] } })).toThrow(
      'appKeys: options.portal.admins must be an array of account ids or a function (accountId) => boolean',
    );
    expect(() => appKeys({ portal: { enabled: true, colour: 'blue' } as never })).toThrow(
      'appKeys: options.portal.colour is not an option',
    );
    expect(() => appKeys({ portal: { enabled: true, tokenEndpoint: 'ftp://x' } })).toThrow(
      'appKeys: options.portal.tokenEndpoint must be an http(s) URL',
    );
  });
});
