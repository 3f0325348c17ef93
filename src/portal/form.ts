import type { Context } from 'koa';

import { AppKeysError } from '../errors.js';

/** The fields of a submitted form (`application/x-www-form-urlencoded`), at most `limit` bytes. */
export class FormFields {
  readonly #params: URLSearchParams;

  constructor(params: URLSearchParams) {
    this.#params = params;
  }

  /** The field's value, trimmed unless told not to; '' when absent. */
  text(name: string, { trim = true } = {}): string {
    const value = this.#params.get(name) ?? '';
    return trim ? value.trim() : value;
  }

  /** Space-, comma- or line-separated words of a field, without empties. */
  words(name: string): string[] {
    return this.text(name)
      .split(/[\s,]+/)
      .filter(Boolean);
  }
}

export async function readForm(ctx: Context, limit: number): Promise<FormFields> {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new AppKeysError(415, 'invalid_request', 'the form must be sent as application/x-www-form-urlencoded');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      ctx.req.resume();
      throw new AppKeysError(413, 'invalid_request', `the form exceeds ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return new FormFields(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}
