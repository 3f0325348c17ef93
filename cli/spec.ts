import type { Readable } from 'node:stream';

import { REPAIR_RULES, UNREPAIRABLE } from '../adapters/redis/repair-rules.js';
import type { OperatorConfig } from './config.js';
import type { RedisSpec } from './redis.js';

/** Where a command reads and writes: the process's streams, or a test's. */
export interface Io {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly stdin: Readable;
  readonly env: NodeJS.ProcessEnv;
}

export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** The value's name in help, for string options. */
  readonly value?: string;
  readonly description: string;
}

/** What a command receives once its arguments parsed. */
export interface CommandContext {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
  /** The store's key prefix (`--prefix`, else the module's `redis.prefix`, else `appkeys:`), already checked. */
  readonly prefix: string;
  /** `--redis-url`, else REDIS_URL, else the module's `redis`; undefined when none says. */
  readonly redis: RedisSpec | undefined;
  /** The operator module of `--config FILE`, checked; undefined without `--config`. */
  readonly operator: OperatorConfig | undefined;
  readonly io: Io;
}

export interface CommandModule {
  /** Resolves the exit code. */
  run(context: CommandContext): Promise<number>;
}

export interface CommandSpec {
  /** The words that name it: ['clients', 'import']. */
  readonly path: readonly string[];
  readonly positionals: readonly string[];
  readonly summary: string;
  readonly description: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** What 0 and 1 mean for this command; 2 and 3 are the same for all. */
  readonly exitCodes: { readonly 0: string; readonly 1: string };
  /** Loaded only when the command runs, so `--help` starts fast and quiet. */
  readonly load: () => Promise<CommandModule>;
}

export const GLOBAL_OPTIONS = {
  config: {
    type: 'string',
    value: 'FILE',
    description:
      'the operator module (.mjs/.js; .ts under tsx): issuer, provider configuration, appkeys options, redis',
  },
  prefix: {
    type: 'string',
    value: 'PREFIX',
    description: "key prefix of the appkeys store in Redis (default: the module's redis.prefix, else appkeys:)",
  },
  'redis-url': {
    type: 'string',
    value: 'URL',
    description: "the Redis server (default: REDIS_URL, else the module's redis)",
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies Record<string, OptionSpec>;

export const COMMANDS: readonly CommandSpec[] = [
  {
    path: ['serve'],
    positionals: [],
    summary: "run the server: the operator module's configuration (--config), else the development server",
    description: [
      "With --config FILE, serves the operator module's configuration: its issuer, its oidc-provider",
      'configuration (clients, findAccount, interactions, jwks, cookies) with the appkeys routes mounted',
      '(keys.mount), its appkeys options, the store on its redis (REDIS_URL or --redis-url win; memory,',
      'with a warning, when none is named) and, unless its configuration has an adapter, every provider',
      'model there too. It prints no client and no secret. It refuses NODE_ENV=production only while the',
      "configuration enables oidc-provider's development login.",
      '',
      'Without --config it is the development server of `npm start`, and says so: Provide Keys enabled,',
      'the development login (any username, no password: refused when NODE_ENV=production), a static',
      'admin client, and the banner prints how to get tokens. Its environment: ISSUER',
      '(http://localhost:PORT; http://HOST:PORT for a HOST other than loopback or 0.0.0.0), REDIS_URL',
      '(memory when unset), APPKEYS_ADMIN_CLIENT_ID (appkeys-admin) and APPKEYS_ADMIN_CLIENT_SECRET',
      '(generated and printed when unset; a secret given is never printed), APPKEYS_HASH_SECRETS=1 (client',
      'secrets as scrypt hashes), APPKEYS_CLIENT_CACHE=1 (client records cached, with Redis).',
      '',
      'Both: PORT (3000), HOST (127.0.0.1: this machine only), METRICS_PORT (metrics off when unset) and',
      'METRICS_HOST (127.0.0.1), LOG_LEVEL (info); flags win. Stops on SIGINT or SIGTERM.',
    ].join('\n'),
    options: {
      port: {
        type: 'string',
        value: 'N',
        description: 'port to listen on (default: PORT, else 3000; 0 picks a free one)',
      },
      host: {
        type: 'string',
        value: 'HOST',
        description: 'interface to listen on (default: HOST, else 127.0.0.1; 0.0.0.0 for every interface)',
      },
      'metrics-port': {
        type: 'string',
        value: 'N',
        description:
          'serve GET /metrics on this port, a listener of its own on METRICS_HOST, else 127.0.0.1 ' +
          '(default: METRICS_PORT, else not served)',
      },
      issuer: {
        type: 'string',
        value: 'URL',
        description:
          "the development server's issuer (default: ISSUER, else http://localhost:PORT or http://HOST:PORT); " +
          "with --config, the module's",
      },
    },
    exitCodes: {
      0: 'stopped by SIGINT or SIGTERM',
      1: 'the server could not start (the port is taken, or the development login with NODE_ENV=production)',
    },
    load: () => import('./commands/serve.js'),
  },
  {
    path: ['clients', 'import'],
    positionals: ['FILE'],
    summary: 'register out-of-band clients in bulk from a JSON file (idempotent)',
    description: [
      'Registers, or replaces, every client of FILE (a JSON array of client metadata, each with its',
      'client_id and client_secret; - reads standard input) straight into the Redis store, through the',
      "same registry rules and the provider's own client schema as PUT /appkeys/clients/:client_id.",
      'Bindings are kept. A client whose metadata is already stored as given is left untouched, so',
      'running an import twice changes nothing the second time. Prints what changed and every rejected',
      'entry with its reason; never a secret. A progress bar shows on a terminal (standard error).',
      "With --config, entries are validated against the operator module's configuration: its static",
      'clients (client_is_static), its extraClientMetadata, its appkeys secrets option; without it, against',
      "the development server's (APPKEYS_HASH_SECRETS=1 stores secrets as scrypt hashes, as it does).",
    ].join('\n'),
    options: {
      'dry-run': { type: 'boolean', description: 'validate and report what would change; write nothing' },
    },
    exitCodes: { 0: 'every entry created, replaced or unchanged', 1: 'some entries rejected' },
    load: () => import('./commands/clients-import.js'),
  },
  {
    path: ['clients', 'ls'],
    positionals: [],
    summary: 'list registered clients with their bindings',
    description: [
      'Lists every client of the store in client_id order, paging through all of them: client_id,',
      'grant types, and the application and key type it is bound to (- when unbound). With --json, one',
      'JSON object per line, as GET /appkeys/clients shows a client (never its secret).',
    ].join('\n'),
    options: {
      limit: { type: 'string', value: 'N', description: 'show at most N clients (default: all)' },
      json: { type: 'boolean', description: 'print JSON lines instead of a table' },
    },
    exitCodes: { 0: 'listed', 1: 'the listing failed' },
    load: () => import('./commands/clients-ls.js'),
  },
  {
    path: ['clients', 'unthrottle'],
    positionals: ['CLIENT_ID'],
    summary: 'forget the failed provide-keys attempts counted against a client',
    description: [
      "Clears CLIENT_ID's per-client window of failed provide-keys attempts (failures from every",
      "caller), as DELETE /appkeys/clients/:client_id/attempts does: a client that many callers' failures",
      "locked out of Provide Keys can be provided again at once. Each caller's own window stays, so a",
      'caller who guessed stays held back. The client need not exist.',
    ].join('\n'),
    options: {},
    exitCodes: { 0: 'cleared, or there was nothing to clear', 1: 'not used by this command' },
    load: () => import('./commands/clients-unthrottle.js'),
  },
  {
    path: ['clients', 'hash-secrets'],
    positionals: [],
    summary: 'replace every plaintext client secret in the store by its scrypt hash (idempotent)',
    description: [
      'Hashes the secret of every client in the store that still keeps it in plaintext, as',
      "appKeys({ secrets: { hash: 'scrypt' } }) stores secrets (a PHC-format scrypt hash), each with the",
      "store's compare-and-set, so that a change made meanwhile is never overwritten. Hashed secrets are",
      'left as they are: a second run changes nothing. A client whose metadata needs its secret in',
      'plaintext (client_secret_jwt, HS* signing, symmetric encryption) keeps it and is listed with the',
      'reason. Prints counts and client ids, never a secret or a hash. Run it once hashing is on: clients',
      'that authenticate are upgraded by the server anyway; this covers the others.',
    ].join('\n'),
    options: {},
    exitCodes: {
      0: 'every client secret is hashed (or the client has none)',
      1: 'some clients keep a plaintext secret (listed with why)',
    },
    load: () => import('./commands/clients-hash-secrets.js'),
  },
  {
    path: ['issuers', 'ls'],
    positionals: [],
    summary: 'list the third-party issuers whose clients may be provided',
    description: [
      'Lists every registered issuer in issuer_id order: its id here, its issuer URL, how possession of its',
      'clients is proven (client_credentials: a token request at the issuer; none: not at all) and the',
      'token endpoint its metadata named. With --json, one JSON object per line, as GET /appkeys/issuers',
      'shows an issuer.',
    ].join('\n'),
    options: {
      json: { type: 'boolean', description: 'print JSON lines instead of a table' },
    },
    exitCodes: { 0: 'listed', 1: 'not used by this command' },
    load: () => import('./commands/issuers-ls.js'),
  },
  {
    path: ['issuers', 'add'],
    positionals: ['ISSUER_ID', 'ISSUER_URL'],
    summary: 'register (or replace) a third-party issuer, reading its metadata',
    description: [
      'Registers ISSUER_URL under ISSUER_ID (1-64 of A-Z a-z 0-9 . _ -), as PUT /appkeys/issuers/:issuer_id',
      "does: the issuer's metadata is fetched (RFC 8414, then OpenID discovery), must name ISSUER_URL",
      'exactly, and its endpoints are kept. Developers can then provide the keys of its clients. Running',
      'it again with the same values changes nothing; other values replace the issuer, unless clients of',
      'it are bound and its URL or verification would change. Prints created, replaced or unchanged, and',
      'the endpoints. The issuer must use https; http to a loopback host is allowed as the server allows',
      "it: with --config, by the module's appkeys.issuers.allowHttpLoopback; without, as the development",
      'server does.',
    ].join('\n'),
    options: {
      verification: {
        type: 'string',
        value: 'MODE',
        description: 'client_credentials (default: a secret is proven at the issuer) or none (bound unverified)',
      },
      'probe-scope': { type: 'string', value: 'S', description: 'scope sent with the proving token request' },
      'probe-audience': { type: 'string', value: 'A', description: 'audience sent with it (Auth0 and others)' },
      'probe-resource': { type: 'string', value: 'R', description: 'resource sent with it (RFC 8707)' },
      json: { type: 'boolean', description: 'print JSON' },
    },
    exitCodes: {
      0: 'created, replaced or unchanged',
      1:
        "refused: the issuer's metadata is unusable (invalid_issuer), the issuer could not be reached, its URL " +
        'is registered under another ISSUER_ID, or bound clients keep it from changing',
    },
    load: () => import('./commands/issuers-add.js'),
  },
  {
    path: ['issuers', 'rm'],
    positionals: ['ISSUER_ID'],
    summary: 'remove a third-party issuer whose clients are not bound',
    description: [
      'Removes ISSUER_ID, as DELETE /appkeys/issuers/:issuer_id does: refused while clients of it are bound',
      'to applications (unbind them first); the records of its unbound clients go with it.',
    ].join('\n'),
    options: {},
    exitCodes: { 0: 'removed', 1: 'no such issuer, or clients of it are bound' },
    load: () => import('./commands/issuers-rm.js'),
  },
  {
    path: ['bindings', 'show'],
    positionals: ['CLIENT_ID'],
    summary: 'show the application binding of one client',
    description: [
      'Shows the application and key type CLIENT_ID is bound to, with its origin, or that it is not bound.',
      'With --issuer, CLIENT_ID is a client of that third-party issuer (its client_id there), and its issuer',
      'is shown too.',
    ].join('\n'),
    options: {
      issuer: { type: 'string', value: 'ISSUER_ID', description: 'a client of this registered issuer' },
      json: { type: 'boolean', description: 'print JSON' },
    },
    exitCodes: { 0: 'shown (bound or not)', 1: 'no such client (with --issuer: no such issuer)' },
    load: () => import('./commands/bindings-show.js'),
  },
  {
    path: ['check'],
    positionals: [],
    summary: "verify the store's invariants; --repair mends what can be derived",
    description: [
      'Checks every invariant of the registry on the live Redis store (binding <-> client record <->',
      'indexes), streaming with SCAN, and prints each problem.',
      '',
      'With --repair it then mends what the data settles, printing each change, and checks again. The',
      "application's key:<TYPE> field is the binding of record; the client's binding field is its",
      'reverse index:',
      ...REPAIR_RULES.map(({ rule }) => `  - ${rule};`),
      'Each fix is one atomic script that re-checks its condition, so it is safe beside live traffic.',
      `What the data cannot settle (${UNREPAIRABLE}) is reported and left alone.`,
    ].join('\n'),
    options: {
      repair: { type: 'boolean', description: 'mend what can be derived, then check again' },
    },
    exitCodes: { 0: 'no problems (with --repair: none left after repairing)', 1: 'problems found (or left)' },
    load: () => import('./commands/check.js'),
  },
];

export const GROUPS: Readonly<Record<string, string>> = {
  clients: 'out-of-band clients: import, ls, unthrottle, hash-secrets',
  issuers: 'third-party issuers whose clients may be provided: ls, add, rm',
  bindings: 'application bindings: show',
};
