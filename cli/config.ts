/**
 * The operator module of `--config FILE` (DESIGN, "Operating it"): one ES module whose default export
 * says what the server and every command run on.
 *
 *   export default {
 *     issuer: 'https://id.example.com',
 *     configuration: { clients, findAccount, interactions, jwks, cookies, ... },  // oidc-provider's
 *     appkeys: { provideKeys: { enabled: true }, requireBinding: true },          // appKeys() options, no store
 *     redis: { url } | { cluster: [{ host, port }] } | { sentinels: [{ host, port }], name },
 *     portal: { enabled: true },
 *   };
 *
 * `redis` may also carry `prefix` (the store's keys, default `appkeys:`), `clientCache` and `options`
 * (ioredis options as given). A compiled `appkeys` loads `.mjs` and `.js`; a `.ts` module needs tsx
 * (`npm run appkeys`) or a Node that strips types.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import type { Configuration } from 'oidc-provider';

import { checkPrefix } from '../adapters/redis/keys.js';
import type { AppKeysOptions } from '../src/options.js';
import { resolveOptions } from '../src/options.js';
import { usageError } from './exit.js';
import type { RedisNode, RedisSpec } from './redis.js';

/** What the store's Redis is, with the store's own settings beside where it is. */
export type RedisSettings = RedisSpec & {
  /** Key prefix of the appkeys store. Default `appkeys:`. */
  readonly prefix?: string;
  /** `redisStore({ clientCache: true })`, for `serve`. Default off. */
  readonly clientCache?: boolean;
};

export interface OperatorConfig {
  /** The module's path, as given on the command line. */
  readonly file: string;
  readonly issuer: string;
  /** oidc-provider's Configuration, before `keys.configuration()` merges appkeys in. */
  readonly configuration: Configuration;
  /** `appKeys()` options; the store is built from `redis`. */
  readonly appkeys: Omit<AppKeysOptions, 'store'>;
  readonly redis: RedisSettings | undefined;
  /** Passed through for the portal; whether anything serves it is the server's to say. */
  readonly portal: Readonly<Record<string, unknown>> | undefined;
}

const KEYS = ['issuer', 'configuration', 'appkeys', 'redis', 'portal'] as const;
const REDIS_KEYS = ['url', 'cluster', 'sentinels', 'name', 'prefix', 'clientCache', 'options'] as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(path: string, expectation: string): never {
  throw usageError(`${path} ${expectation}`);
}

function knownKeys(value: Record<string, unknown>, path: string, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key))
      fail(`${path}.${key}`, `is not a key of the operator module (known: ${known.join(', ')})`);
  }
}

function issuerOf(value: unknown): string {
  if (typeof value === 'string') {
    try {
      const url = new URL(value);
      if (url.protocol === 'https:' || url.protocol === 'http:') return value;
    } catch {
      // one message for both
    }
  }
  return fail('config.issuer', 'must be an http(s) URL (the issuer identifier)');
}

/** Light checks of what a message can name precisely; oidc-provider checks the rest as it starts. */
function configurationOf(value: unknown): Configuration {
  if (value === undefined) return {};
  if (!isObject(value)) fail('config.configuration', "must be an object (oidc-provider's Configuration)");
  const { clients, findAccount, extraClientMetadata } = value;
  if (clients !== undefined) {
    if (!Array.isArray(clients)) fail('config.configuration.clients', 'must be an array of client metadata');
    clients.forEach((client: unknown, index) => {
      if (!isObject(client)) fail(`config.configuration.clients[${index}]`, 'must be an object');
      if (typeof client.client_id !== 'string' || client.client_id === '')
        fail(`config.configuration.clients[${index}].client_id`, 'must be a non-empty string');
    });
  }
  if (findAccount !== undefined && typeof findAccount !== 'function') {
    fail(
      'config.configuration.findAccount',
      'must be a function (ctx, id) => Promise<{ accountId, claims } | undefined>',
    );
  }
  if (extraClientMetadata !== undefined) {
    if (!isObject(extraClientMetadata)) fail('config.configuration.extraClientMetadata', 'must be an object');
    const { properties } = extraClientMetadata;
    if (
      properties !== undefined &&
      (!Array.isArray(properties) || properties.some((property) => typeof property !== 'string'))
    ) {
      fail('config.configuration.extraClientMetadata.properties', 'must be an array of strings');
    }
  }
  return value as Configuration;
}

function appkeysOf(value: unknown): Omit<AppKeysOptions, 'store'> {
  if (value === undefined) return {};
  if (!isObject(value)) fail('config.appkeys', 'must be an object (appKeys() options)');
  if ('store' in value) fail('config.appkeys.store', 'is not accepted: the store is built from config.redis');
  try {
    resolveOptions(value);
  } catch (error) {
    // appKeys() names its own path (`appKeys: options.x ...`): the same path, inside this module
    throw usageError(
      (error as Error).message
        .replace(/^appKeys: options\.?/, 'config.appkeys.')
        .replace(/^appKeys: /, 'config.appkeys: '),
    );
  }
  return value as Omit<AppKeysOptions, 'store'>;
}

function nodesOf(value: unknown, path: string): RedisNode[] {
  if (!Array.isArray(value) || value.length === 0) fail(path, 'must be a non-empty array of { host, port }');
  return value.map((node: unknown, index) => {
    if (!isObject(node)) fail(`${path}[${index}]`, 'must be an object { host, port }');
    knownKeys(node, `${path}[${index}]`, ['host', 'port']);
    if (typeof node.host !== 'string' || node.host === '') fail(`${path}[${index}].host`, 'must be a non-empty string');
    if (typeof node.port !== 'number' || !Number.isInteger(node.port) || node.port < 1 || node.port > 65535) {
      fail(`${path}[${index}].port`, 'must be a port number (1–65535)');
    }
    return { host: node.host, port: node.port };
  });
}

function redisOf(value: unknown): RedisSettings | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value))
    fail(
      'config.redis',
      'must be an object: { url }, { cluster: [{ host, port }] } or { sentinels: [{ host, port }], name }',
    );
  knownKeys(value, 'config.redis', REDIS_KEYS);
  const where = (['url', 'cluster', 'sentinels'] as const).filter((key) => value[key] !== undefined);
  if (where.length !== 1) {
    fail(
      'config.redis',
      `must name exactly one of url, cluster, sentinels${where.length ? ` (it names ${where.join(' and ')})` : ''}`,
    );
  }
  const { prefix, clientCache, options } = value;
  if (prefix !== undefined) {
    if (typeof prefix !== 'string') fail('config.redis.prefix', 'must be a string');
    try {
      checkPrefix(prefix, 'config.redis.prefix');
    } catch (error) {
      throw usageError((error as Error).message);
    }
  }
  if (clientCache !== undefined && typeof clientCache !== 'boolean')
    fail('config.redis.clientCache', 'must be a boolean');
  if (options !== undefined && !isObject(options)) fail('config.redis.options', 'must be an object (ioredis options)');
  const settings = {
    ...(prefix !== undefined && { prefix: prefix as string }),
    ...(clientCache !== undefined && { clientCache: clientCache as boolean }),
    ...(options !== undefined && { options: options as Record<string, unknown> }),
  };

  if (value.url !== undefined) {
    if (value.name !== undefined) fail('config.redis.name', 'belongs with sentinels only');
    const { url } = value;
    let protocol: string | undefined;
    try {
      protocol = typeof url === 'string' ? new URL(url).protocol : undefined;
    } catch {
      protocol = undefined;
    }
    if (protocol !== 'redis:' && protocol !== 'rediss:')
      fail('config.redis.url', 'must be a redis:// or rediss:// URL');
    return { url: url as string, ...settings };
  }
  if (value.cluster !== undefined) {
    if (value.name !== undefined) fail('config.redis.name', 'belongs with sentinels only');
    return { cluster: nodesOf(value.cluster, 'config.redis.cluster'), ...settings };
  }
  const sentinels = nodesOf(value.sentinels, 'config.redis.sentinels');
  if (typeof value.name !== 'string' || value.name === '')
    fail('config.redis.name', "must be the master's name the sentinels monitor");
  return { sentinels, name: value.name, ...settings };
}

function portalOf(value: unknown): Readonly<Record<string, unknown>> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) fail('config.portal', 'must be an object');
  if (value.enabled !== undefined && typeof value.enabled !== 'boolean')
    fail('config.portal.enabled', 'must be a boolean');
  return value;
}

/** Checks the shape of a module's default export; every message names the path it is about. */
export function checkOperatorConfig(value: unknown, file: string): OperatorConfig {
  if (!isObject(value)) fail('config', `(the default export of ${file}) must be an object`);
  knownKeys(value, 'config', KEYS);
  return {
    file,
    issuer: issuerOf(value.issuer),
    configuration: configurationOf(value.configuration),
    appkeys: appkeysOf(value.appkeys),
    redis: redisOf(value.redis),
    portal: portalOf(value.portal),
  };
}

/** Why a module could not be loaded, in one line: no stack, no source. */
function loadFailure(file: string, path: string, error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code === 'ERR_MODULE_NOT_FOUND' && typeof message === 'string' && message.includes(path))
    return `cannot load ${file}: no such file`;
  if (code === 'ERR_UNKNOWN_FILE_EXTENSION') {
    return (
      `cannot load ${file}: this Node cannot load a .ts module; run appkeys through tsx (npm run appkeys) ` +
      `or write the module as .mjs`
    );
  }
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `cannot load ${file}: ${text.split('\n')[0]}`;
}

/** Loads and checks the operator module at `file` (relative to `cwd`). */
export async function loadOperatorConfig(file: string, cwd = process.cwd()): Promise<OperatorConfig> {
  const path = isAbsolute(file) ? file : resolve(cwd, file);
  let loaded: { default?: unknown };
  try {
    loaded = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (error) {
    throw usageError(loadFailure(file, path, error));
  }
  if (loaded.default === undefined) fail('config', `is missing: ${file} has no default export`);
  return checkOperatorConfig(loaded.default, file);
}
