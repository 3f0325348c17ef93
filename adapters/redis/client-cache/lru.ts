/** A bounded map in least-recently-used order (a Map keeps insertion order), whose entries expire. */
export class Lru<V> {
  readonly #entries = new Map<string, { readonly value: V; readonly at: number }>();
  readonly #max: number;
  readonly #maxAgeMs: number;

  constructor(max: number, maxAgeMs: number) {
    this.#max = max;
    this.#maxAgeMs = maxAgeMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, now: number): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (now - entry.at > this.#maxAgeMs) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, now: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, at: now });
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
