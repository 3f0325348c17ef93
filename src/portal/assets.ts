import { createHash } from 'node:crypto';

import { SCRIPT } from './assets/script.js';
import { STYLE } from './assets/style.js';

export interface Asset {
  /** The file name, with a hash of the content: the URL changes whenever the content does. */
  readonly name: string;
  readonly type: string;
  readonly body: Buffer;
}

function asset(stem: string, extension: string, type: string, text: string): Asset {
  const body = Buffer.from(text, 'utf8');
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 12);
  return { name: `${stem}.${hash}.${extension}`, type, body };
}

export const STYLESHEET = asset('portal', 'css', 'text/css; charset=utf-8', STYLE);
export const SCRIPT_FILE = asset('portal', 'js', 'text/javascript; charset=utf-8', SCRIPT);
export const ASSETS: ReadonlyMap<string, Asset> = new Map([STYLESHEET, SCRIPT_FILE].map((a) => [a.name, a]));
