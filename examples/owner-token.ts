/**
 * Prints an owner access token (scope `appkeys`) for a developer account, by running the
 * authorization-code flow with PKCE against the development server's login (`npm start`), the way a
 * developer portal would.
 *
 *   npm run -s owner-token -- alice            # ISSUER defaults to http://localhost:3000
 */
import { createHash, randomBytes } from 'node:crypto';

import { PORTAL_CLIENT_ID } from '../cli/server/standalone.js';

class CookieJar {
  readonly #cookies = new Map<string, string>();

  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = pair!.indexOf('=');
      if (index > 0) this.#cookies.set(pair!.slice(0, index).trim(), pair!.slice(index + 1).trim());
    }
  }

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

function formOf(html: string): { action: string; prompt: string } {
  const action = /<form[^>]*\saction="([^"]+)"/.exec(html)?.[1];
  const prompt = /name="prompt"\s+value="([^"]+)"/.exec(html)?.[1];
  if (!action || !prompt) throw new Error('the login page did not contain the expected form');
  return { action: action.replace(/&amp;/g, '&').replace(/&#x2F;/g, '/'), prompt };
}

export async function ownerToken(issuer: string, accountId: string): Promise<string> {
  const redirectUri = `${issuer}/portal/callback`;
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('hex');
  const query = new URLSearchParams({
    client_id: PORTAL_CLIENT_ID,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid appkeys',
    state,
    nonce: randomBytes(8).toString('hex'),
    prompt: 'consent',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const jar = new CookieJar();
  let url = new URL(`/auth?${query.toString()}`, issuer).toString();

  for (let hops = 0; hops < 12; hops += 1) {
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.take(response);
    if (response.status === 200) {
      const form = formOf(await response.text());
      const fields: Record<string, string> =
        form.prompt === 'login' ? { prompt: 'login', login: accountId, password: 'dev' } : { prompt: form.prompt };
      const submitted = await fetch(new URL(form.action, issuer), {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields),
      });
      jar.take(submitted);
      url = new URL(submitted.headers.get('location') ?? '', issuer).toString();
      continue;
    }
    const location = response.headers.get('location');
    if (!location) throw new Error(`unexpected answer ${response.status} from ${url}`);
    const next = new URL(location, issuer);
    if (next.toString().startsWith(redirectUri)) {
      if (next.searchParams.get('state') !== state) throw new Error('state mismatch');
      const code = next.searchParams.get('code');
      if (!code) throw new Error(`authorization failed: ${next.searchParams.get('error') ?? 'no code'}`);
      const token = await fetch(new URL('/token', issuer), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          code_verifier: verifier,
          client_id: PORTAL_CLIENT_ID,
        }),
      });
      const body = (await token.json()) as { access_token?: string; error?: string };
      if (!body.access_token) throw new Error(`token request failed: ${body.error ?? token.status}`);
      return body.access_token;
    }
    url = next.toString();
  }
  throw new Error('the sign-in did not complete');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const accountId = process.argv[2];
  if (!accountId) {
    process.stderr.write('usage: npm run -s owner-token -- ACCOUNT_ID\n');
    process.exit(2);
  }
  ownerToken(process.env.ISSUER ?? 'http://localhost:3000', accountId).then(
    (token) => process.stdout.write(`${token}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
