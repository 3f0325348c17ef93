/**
 * A stand-in for another company's OAuth server, for trying third-party issuers on your machine: a
 * second oidc-provider on http://127.0.0.1:3001 (PORT) with one client_credentials client, whose access
 * tokens for the resource https://api.example.com are JWTs.
 *
 *   npm run -s example-idp                       # then follow the README, "Third-party issuers"
 *
 * Its client was created there, not here: appkeys never learns its secret beyond the one request that
 * proves it.
 */
import { randomBytes } from 'node:crypto';

import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

export const PARTNER_CLIENT = {
  client_id: 'partner-reporting',
  client_secret: 'secret-issued-by-the-partner-idp',
} as const;
export const PARTNER_RESOURCE = 'https://api.example.com';

const port = Number(process.env.PORT ?? 3001);
const issuer = `http://127.0.0.1:${port}`;
// keys of its own, made at each start: the tokens it signs are checked against the JWKS it publishes
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'partner-1', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  clients: [{ ...PARTNER_CLIENT, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }],
  ttl: { ClientCredentials: 600 },
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => PARTNER_RESOURCE,
      getResourceServerInfo: () => ({ scope: 'reports:read', accessTokenFormat: 'jwt', audience: PARTNER_RESOURCE }),
      useGrantedResource: () => true,
    },
  },
});

provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(
    `A third-party issuer at ${issuer}, with the client ${PARTNER_CLIENT.client_id} ` +
      `(secret ${PARTNER_CLIENT.client_secret}). Ctrl-C stops it.\n`,
  );
});
