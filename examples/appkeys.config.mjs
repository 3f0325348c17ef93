/**
 * An operator module: copy it, make it yours, and run
 *
 *   appkeys serve --config appkeys.config.mjs
 *
 * Every other command takes the same file (`appkeys clients import --config appkeys.config.mjs FILE`),
 * so an import is checked against these static clients and this client metadata. Secrets and keys
 * come from the environment, never from this file:
 *
 *   ISSUER                       the issuer identifier, as clients see it (default http://localhost:PORT)
 *   REDIS_URL                    the Redis server (a Cluster or Sentinels: see `redis` below)
 *   APPKEYS_ADMIN_CLIENT_SECRET  the admin tool's client secret (required)
 *   JWKS                         the provider's signing keys, a JSON Web Key Set with private keys
 *                                (unset: oidc-provider's development keys, with its warning)
 *   COOKIE_KEYS                  comma-separated keys that sign the provider's cookies (required)
 */

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name} (see the top of appkeys.config.mjs)`);
  return value;
}

const issuer = process.env.ISSUER || `http://localhost:${process.env.PORT || 3000}`;

/**
 * Your account store. findAccount answers whether `id` is an account and, if so, its claims; the
 * provider calls it whenever it needs them (ID tokens, userinfo). Here a stand-in: read your directory.
 */
const people = new Map([['alice', { email: 'alice@example.com', email_verified: true }]]);

export default {
  issuer,

  // oidc-provider's Configuration: everything it documents goes here
  configuration: {
    clients: [
      {
        // your admin tool: its client_credentials tokens with scope appkeys:admin manage every application
        client_id: 'appkeys-admin',
        client_secret: required('APPKEYS_ADMIN_CLIENT_SECRET'),
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'appkeys:admin',
      },
      {
        // your developer portal: developers sign in through it and get `appkeys` tokens as owners
        client_id: 'appkeys-portal',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [`${issuer}/appkeys/portal/callback`],
        scope: 'openid appkeys',
      },
    ],
    // add a static client with scope appkeys:resolve for an API gateway that resolves clients and
    // third-party tokens to applications (README, "Third-party issuers")
    scopes: ['openid', 'email', 'appkeys', 'appkeys:admin', 'appkeys:resolve'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },

    async findAccount(ctx, id) {
      const person = people.get(id);
      if (!person) return undefined;
      return {
        accountId: id,
        // use ('id_token' or 'userinfo') and scope let you release fewer claims where fewer are asked for
        async claims(_use, _scope) {
          return { sub: id, ...person };
        },
      };
    },

    // Your login and consent pages: this server serves the provider and appkeys, not them (README,
    // "Running your configuration": pages that must run in the provider's own process call for mounting
    // appKeys into your server instead). oidc-provider's example/ shows such pages.
    interactions: {
      url(ctx, interaction) {
        return `/interaction/${interaction.uid}`;
      },
    },

    features: {
      devInteractions: { enabled: false }, // the development login signs anyone in: never in production
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
    },
    ...(process.env.JWKS && { jwks: JSON.parse(process.env.JWKS) }),
    cookies: { keys: required('COOKIE_KEYS').split(',') },
    ttl: {
      AccessToken: 600,
      ClientCredentials: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Session: 86400,
      Grant: 86400,
    },
  },

  // appKeys() options; the store is built from `redis`
  appkeys: {
    provideKeys: { enabled: true },
    requireBinding: false,
    secrets: { hash: 'scrypt' },
  },

  // or { cluster: [{ host, port }, ...] }, or { sentinels: [{ host, port }, ...], name: 'mymaster' };
  // REDIS_URL, when set, wins over what is written here
  redis: { url: process.env.REDIS_URL || 'redis://127.0.0.1:6379' },

  // portal: { enabled: true },  // the developer portal, where a version of appkeys serves one
};
