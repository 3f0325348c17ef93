/**
 * Orders strings as the bytes of their UTF-8 encoding compare (what Redis ZRANGEBYLEX and
 * `Buffer.compare` do), which is code point order. UTF-16 code unit order differs only where a
 * surrogate meets U+E000–U+FFFF: at the first differing unit, lift surrogates above that range.
 */
export function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x += x <= 0xdfff ? 0x2000 : -0x800;
      y += y <= 0xdfff ? 0x2000 : -0x800;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** Ids kept in UTF-8 byte order, for listings that page with an exclusive `after`. */
export class SortedIds {
  readonly #ids: string[] = [];

  /** Index of the first id greater than `id` (`inclusive`: greater or equal). */
  #bound(id: string, inclusive: boolean): number {
    let low = 0;
    let high = this.#ids.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const order = compareUtf8(this.#ids[mid] as string, id);
      if (order < 0 || (!inclusive && order === 0)) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  add(id: string): void {
    const at = this.#bound(id, true);
    if (this.#ids[at] !== id) this.#ids.splice(at, 0, id);
  }

  delete(id: string): void {
    const at = this.#bound(id, true);
    if (this.#ids[at] === id) this.#ids.splice(at, 1);
  }

  has(id: string): boolean {
    return this.#ids[this.#bound(id, true)] === id;
  }

  page(after: string | undefined, limit: number): string[] {
    const start = after === undefined ? 0 : this.#bound(after, false);
    return this.#ids.slice(start, start + Math.max(0, Math.floor(limit)));
  }

  /** Every id starting with `prefix`, in order: one contiguous run, as a lexical range in Redis. */
  startingWith(prefix: string): string[] {
    const found: string[] = [];
    for (let at = this.#bound(prefix, true); at < this.#ids.length; at += 1) {
      const id = this.#ids[at] as string;
      if (!id.startsWith(prefix)) break;
      found.push(id);
    }
    return found;
  }

  get size(): number {
    return this.#ids.length;
  }

  values(): readonly string[] {
    return this.#ids;
  }
}
