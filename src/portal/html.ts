/**
 * The portal's only way to make HTML: a tagged template that escapes every interpolated value, unless
 * the value is itself `Html` made by this template. No page builds markup by string concatenation.
 */
const MADE_HERE = Symbol('html');

export class Html {
  readonly #text: string;

  /** Only this module makes markup (the symbol is its own); everything else goes through `html`. */
  constructor(token: typeof MADE_HERE, text: string) {
    if (token !== MADE_HERE) throw new TypeError('Html is made by the html template only');
    this.#text = text;
  }

  toString(): string {
    return this.#text;
  }
}

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ENTITIES[c]!);
}

/** What a template may interpolate: text is escaped; absent values and `false` render as nothing. */
export type Interpolation = Html | string | number | boolean | null | undefined | readonly Interpolation[];

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false || value === true) return '';
  if (value instanceof Html) return value.toString();
  if (Array.isArray(value)) return value.map((item: Interpolation) => render(item)).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: readonly Interpolation[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i += 1) out += render(values[i]!) + strings[i + 1]!;
  return new Html(MADE_HERE, out);
}
