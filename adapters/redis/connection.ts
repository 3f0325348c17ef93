import { createHash } from 'node:crypto';

import type { Cluster, Redis } from 'ioredis';

import { storeUnavailable } from '../../src/errors.js';

/** A Lua script, identified by the SHA1 Redis gives it, so it is loaded once and then run by SHA. */
export interface Script {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
  /** Whether the script refuses to run after its deadline (the last ARGV, appended by `run`). */
  readonly deadline: boolean;
}

/**
 * Guards a change against landing after its caller was answered 503: ioredis re-sends unanswered
 * commands after a reconnect, and a paused server runs queued ones when it resumes. The deadline is
 * the sender's clock plus its timeout; the server's TIME decides, so clocks must agree to within the
 * timeout (a server clock ahead refuses changes, visibly; one behind lets a change land that late).
 */
const DEADLINE_GUARD = `
local deadline = tonumber(ARGV[#ARGV])
local clock = redis.call('TIME')
if tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) > deadline then
  return redis.error_reply('APPKEYS_DEADLINE the call outlived its deadline; nothing was changed')
end
`;

export function defineScript(name: string, lua: string, { deadline = false } = {}): Script {
  const body = deadline ? DEADLINE_GUARD + lua : lua;
  return { name, lua: body, sha: createHash('sha1').update(body).digest('hex'), deadline };
}

export type RedisClient = Redis | Cluster;
export type Arg = string | number;

export interface ConnectionOptions {
  /** Upper bound of every call, whatever the client's own settings. */
  readonly timeoutMs: number;
}

const NOT_SENDING = new Set(['reconnecting', 'close', 'end']);

/** Clients that have been ready once; one listener per client however many stores share it. */
const everReady = new WeakSet<RedisClient>();
const watched = new WeakSet<RedisClient>();

function watch(client: RedisClient): void {
  if (watched.has(client)) return;
  watched.add(client);
  if (client.status === 'ready') everReady.add(client);
  client.on('ready', () => everReady.add(client));
}

/**
 * The one way this package talks to Redis. It bounds every call with its own timer and refuses to send
 * while the client is disconnected: ioredis would otherwise queue the command and run it after a
 * reconnect, so that a change already answered with 503 could land later.
 */
export class Connection {
  readonly #client: RedisClient;
  readonly #timeoutMs: number;

  constructor(client: RedisClient, options: ConnectionOptions) {
    if (!client || typeof (client as { call?: unknown }).call !== 'function') {
      throw new TypeError('client must be an ioredis client (Redis or Cluster)');
    }
    this.#client = client;
    this.#timeoutMs = options.timeoutMs;
    watch(client);
  }

  get client(): RedisClient {
    return this.#client;
  }

  #assertSendable(): void {
    const { status } = this.#client;
    // before the first connection commands may wait for it; after, a disconnected client must not queue
    if (NOT_SENDING.has(status) || (everReady.has(this.#client) && status !== 'ready')) {
      throw storeUnavailable(new Error(`redis client is ${status}`));
    }
  }

  async #bounded<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(storeUnavailable(new Error(`redis call exceeded ${this.#timeoutMs} ms`))), this.#timeoutMs);
    });
    try {
      return await Promise.race([promise, timeout]);
    } catch (err) {
      throw isConnectionFailure(err) ? storeUnavailable(err) : err;
    } finally {
      clearTimeout(timer);
    }
  }

  async send(command: string, ...args: Arg[]): Promise<unknown> {
    this.#assertSendable();
    return this.#bounded(this.#client.call(command, ...args));
  }

  /**
   * Every key matching `pattern`, in batches, from every master: on Redis Cluster each master holds
   * only its own slots, so a scan of one node would miss keys.
   */
  async *scan(pattern: string, count = 1000): AsyncGenerator<string[]> {
    const nodes = isCluster(this.#client) ? this.#client.nodes('master') : [this.#client];
    for (const node of nodes) {
      let cursor = '0';
      do {
        this.#assertSendable();
        const [next, keys] = await this.#bounded(node.scan(cursor, 'MATCH', pattern, 'COUNT', count));
        cursor = next;
        if (keys.length) yield keys;
      } while (cursor !== '0');
    }
  }

  async run(script: Script, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    this.#assertSendable();
    const withDeadline = script.deadline ? [...args, Date.now() + this.#timeoutMs] : args;
    return this.#bounded(this.#evaluate(script, keys, withDeadline));
  }

  async #evaluate(script: Script, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    try {
      return await this.#client.call('EVALSHA', script.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      // first use on this server (or after a restart): EVAL runs it and caches it under the same SHA
      return this.#client.call('EVAL', script.lua, keys.length, ...keys, ...args);
    }
  }
}

function isCluster(client: RedisClient): client is Cluster {
  return typeof (client as Cluster).nodes === 'function' && (client as { isCluster?: boolean }).isCluster === true;
}

function isConnectionFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && /^E[A-Z]+$/.test(code)) return true;
  return /APPKEYS_DEADLINE|Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|Failed to refresh slots cache|None of startup nodes/i
    .test(err.message) || err.name === 'MaxRetriesPerRequestError';
}
