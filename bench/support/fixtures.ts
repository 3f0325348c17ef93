import { randomBytes } from 'node:crypto';

import type { ClientMetadata } from 'oidc-provider';

import type { BindingStore } from '../../src/store.js';
import { nameKey } from '../../src/validate.js';
import { benchClientMetadata } from '../workload.js';

/**
 * Applications and out-of-band clients for the registry benchmarks, with ids derived from an index so
 * that a million of them need no table in memory: `ids.application(i)` is shaped like the registry's
 * own ids (`app_` + 12 base-32 digits of time + 20 hex digits), client ids like a foreign IdP's.
 */
export class Fixtures {
  readonly tag = randomBytes(4).toString('hex');
  readonly #epoch = Date.now();
  readonly #template: ClientMetadata;
  readonly appsPerOwner: number;
  readonly secret = `oob-secret-${randomBytes(16).toString('hex')}`;
  readonly at = new Date().toISOString();

  constructor(template: ClientMetadata, appsPerOwner: number) {
    this.#template = template;
    this.appsPerOwner = appsPerOwner;
  }

  application(i: number): string {
    return `app_${(this.#epoch + i).toString(32).padStart(12, '0')}${this.tag}${i.toString(16).padStart(12, '0')}`;
  }

  client(i: number): string {
    return `oob-${this.tag}-${i.toString(16).padStart(10, '0')}`;
  }

  owner(i: number): string {
    return `dev-${this.tag}-${Math.floor(i / this.appsPerOwner)
      .toString(16)
      .padStart(8, '0')}`;
  }

  name(i: number): string {
    return `Application ${i}`;
  }

  nameKey(i: number): string {
    return nameKey(this.name(i));
  }

  /** The client's metadata as the provider's schema normalized it, with this client's id and secret. */
  metadata(i: number): ClientMetadata {
    return { ...this.#template, client_id: this.client(i), client_secret: this.secret };
  }

  /** Creates application i and registers client i, unbound, through the store's own scripts. */
  async createPair(store: BindingStore, i: number): Promise<void> {
    const [created, put] = await Promise.all([
      store.createApplication({
        id: this.application(i),
        name: this.name(i),
        nameKey: this.nameKey(i),
        description: '',
        owner: this.owner(i),
        status: 'ACTIVE',
        created_at: this.at,
      }),
      store.putClient(this.metadata(i), this.at),
    ]);
    if (created !== 'created' || put !== 'created')
      throw new Error(`fixture ${i}: application ${created}, client ${put}`);
  }
}

/** Runs `fn(i)` for i in [from, to) with at most `concurrency` calls in flight. */
export async function forEachIndex(
  from: number,
  to: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = from;
  const worker = async () => {
    while (next < to) {
      const i = next;
      next += 1;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, to - from)) }, worker));
}

/**
 * Client metadata as the provider's schema normalizes it (what registration stores, ~470 bytes of JSON
 * with every default spelled out): the template of every fixture client. A throwaway provider does the
 * normalizing; its start-up warnings are about serving, which it never does, so they are held back.
 */
export async function normalizedClientTemplate(): Promise<ClientMetadata> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING')) return;
    warn(...args);
  };
  try {
    const [{ default: Provider }, { normalizedMetadata, tokenEndpointConfiguration }] = await Promise.all([
      import('oidc-provider'),
      import('../variants.js'),
    ]);
    const provider = new Provider('http://127.0.0.1', tokenEndpointConfiguration());
    return normalizedMetadata(provider, benchClientMetadata());
  } finally {
    console.warn = warn;
  }
}
