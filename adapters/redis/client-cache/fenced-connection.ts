import { Connection, type Arg, type Script } from '../connection.js';
import type { ClientCache } from './cache.js';

/**
 * The store's connection when the cache is on: every change resolves only after the cache has handled
 * the invalidations it caused (`fence`), also when it failed (it may have landed before a timeout).
 */
export class FencedConnection extends Connection {
  readonly #cache: ClientCache;

  constructor(cache: ClientCache, ...args: ConstructorParameters<typeof Connection>) {
    super(...args);
    this.#cache = cache;
  }

  override async run(script: Script, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    try {
      return await super.run(script, keys, args);
    } finally {
      if (script.deadline) await this.#cache.fence();
    }
  }
}
