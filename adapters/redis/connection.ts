import { createHash } from 'node:crypto';

import { storeUnavailable } from '../../src/errors.js';
import { commandClient, type Arg, type CommandClient, type RedisClient } from './client.js';

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

export type { Arg, RedisClient } from './client.js';

/**
 * `waitForReplicas`: after each change, WAIT until this many replicas hold it, for at most `timeoutMs`.
 */
export interface WaitForReplicas {
  readonly replicas: number;
  readonly timeoutMs: number;
}

export interface ConnectionOptions {
  /** Upper bound of every call, whatever the client's own settings. */
  readonly timeoutMs: number;
  /** WAIT after every change script (see `run`); none when absent. */
  readonly waitForReplicas?: WaitForReplicas | undefined;
  /** How a malformed client is named in the TypeError, e.g. `redisStore options.client`. */
  readonly optionPath?: string;
}

/**
 * The one way this package talks to Redis, whichever client the caller brought (client.ts). It bounds
 * every call with its own timer and refuses to send while the client, or the cluster node a command
 * goes to, is disconnected: ioredis and node-redis would otherwise queue the command and run it after
 * a reconnect, so that a change already answered with 503 could land later. A node-redis command still
 * unwritten when the timer fires is withdrawn from the client's queue; changes also carry a deadline
 * (DEADLINE_GUARD) for what a client re-sends on its own.
 */
export class Connection {
  readonly #raw: RedisClient;
  readonly #client: CommandClient;
  readonly #timeoutMs: number;
  readonly #waitForReplicas: WaitForReplicas | undefined;

  constructor(client: RedisClient, options: ConnectionOptions) {
    this.#client = commandClient(client, options.optionPath ?? 'client');
    this.#raw = client;
    this.#timeoutMs = options.timeoutMs;
    this.#waitForReplicas = options.waitForReplicas;
  }

  /** The caller's client, as given. */
  get client(): RedisClient {
    return this.#raw;
  }

  #assertSendable(client: CommandClient, key?: string): void {
    const refused = client.refusal(key);
    if (refused) throw storeUnavailable(new Error(refused));
  }

  /**
   * Settles with `work` or, after `timeoutMs`, with storeUnavailable, whichever comes first. On the
   * token endpoint's path: one timer per call, and an AbortController only for clients that use it.
   */
  #bounded<T>(work: (signal: AbortSignal | undefined) => Promise<T>, timeoutMs = this.#timeoutMs): Promise<T> {
    const controller = this.#client.abortable ? new AbortController() : undefined;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        controller?.abort();
        reject(storeUnavailable(new Error(`redis call exceeded ${timeoutMs} ms`)));
      }, timeoutMs);
      work(controller?.signal).then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(isConnectionFailure(err) ? storeUnavailable(err) : err);
        },
      );
    });
  }

  /** One command; `args[0]` is its first key, which routes it on a cluster. */
  async send(command: string, ...args: Arg[]): Promise<unknown> {
    const key = args[0] === undefined ? undefined : String(args[0]);
    this.#assertSendable(this.#client, key);
    return this.#bounded((signal) => this.#client.send([command, ...args], { key, signal }));
  }

  /**
   * Every key matching `pattern`, in batches, from every master: on Redis Cluster each master holds
   * only its own slots, so a scan of one node would miss keys.
   */
  async *scan(pattern: string, count = 1000): AsyncGenerator<string[]> {
    this.#assertSendable(this.#client);
    const masters = await this.#bounded(() => this.#client.masters());
    for (const node of masters) {
      let cursor = '0';
      do {
        this.#assertSendable(node);
        const reply = await this.#bounded((signal) =>
          node.send(['SCAN', cursor, 'MATCH', pattern, 'COUNT', count], { signal }),
        );
        const [next, keys] = scanReply(reply);
        cursor = next;
        if (keys.length) yield keys;
      } while (cursor !== '0');
    }
  }

  /**
   * Runs a script by SHA (loading it on NOSCRIPT). A change (a script with a deadline: every change of
   * the BindingStore) is followed, with `waitForReplicas` set, by WAIT on the same connection.
   */
  async run(script: Script, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    const key = keys[0];
    this.#assertSendable(this.#client, key);
    const withDeadline = script.deadline ? [...args, Date.now() + this.#timeoutMs] : args;
    const reply = await this.#bounded((signal) => this.#evaluate(script, keys, withDeadline, signal));
    if (script.deadline && this.#waitForReplicas) await this.#awaitReplicas(this.#waitForReplicas, key);
    return reply;
  }

  async #evaluate(
    script: Script,
    keys: readonly string[],
    args: readonly Arg[],
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const key = keys[0];
    try {
      return await this.#client.send(['EVALSHA', script.sha, keys.length, ...keys, ...args], { key, signal });
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      // first use on this server (or after a restart): EVAL runs it and caches it under the same SHA
      return this.#client.send(['EVAL', script.lua, keys.length, ...keys, ...args], { key, signal });
    }
  }

  /**
   * WAIT for the replicas after a change, on the connection that ran it (on a cluster: the master
   * owning the hash tag's slot), so it covers that change.
   *
   * When fewer replicas than asked acknowledge within the time, or WAIT itself fails, the caller gets
   * storeUnavailable (503) although the change DID land on the master and stays there: WAIT cannot undo
   * it. The 503 means "not durably acknowledged": a failover now could lose it. Retrying is safe, since
   * every change is idempotent or finds the state it would make (bind answers `exists`, a repeated
   * create `name_taken`/`client_exists`, a repeated delete `not_found`). What is acknowledged survives a
   * failover to any replica that acknowledged it.
   */
  async #awaitReplicas({ replicas, timeoutMs }: WaitForReplicas, key: string | undefined): Promise<void> {
    let acknowledged: number;
    try {
      this.#assertSendable(this.#client, key);
      const reply = await this.#bounded(
        (signal) => this.#client.send(['WAIT', replicas, timeoutMs], { key, keyless: true, signal }),
        timeoutMs + this.#timeoutMs,
      );
      acknowledged = Number(reply);
    } catch (err) {
      throw storeUnavailable(
        new Error(
          `the change was applied on the master but WAIT for ${replicas} replicas failed: not durably acknowledged`,
          { cause: err },
        ),
      );
    }
    if (!(acknowledged >= replicas)) {
      throw storeUnavailable(
        new Error(
          `the change was applied on the master but only ${acknowledged} of ${replicas} replicas acknowledged it ` +
            `within ${timeoutMs} ms: not durably acknowledged`,
        ),
      );
    }
  }
}

/** A SCAN reply, `[cursor, keys]`, checked before it is trusted. */
function scanReply(reply: unknown): [string, string[]] {
  if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1]))
    throw new Error('unexpected reply shape for SCAN');
  return [String(reply[0]), (reply[1] as unknown[]).map(String)];
}

function isConnectionFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && /^E[A-Z]+$/.test(code)) return true;
  // ioredis and Redis messages, then node-redis's error classes
  return (
    /APPKEYS_DEADLINE|Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|Failed to refresh slots cache|None of startup nodes/i.test(
      err.message,
    ) ||
    err.name === 'MaxRetriesPerRequestError' ||
    /^(ClientClosedError|ClientOfflineError|SocketClosedUnexpectedlyError|ConnectionTimeoutError|SocketTimeoutError|RootNodesUnavailableError|ReconnectStrategyError|DisconnectsClientError|TimeoutError|AbortError)$/.test(
      err.constructor.name,
    ) ||
    /^(The client is closed|The client is offline|Socket closed unexpectedly|Connection timeout|All the root nodes are unavailable|The command was aborted)/.test(
      err.message,
    )
  );
}
