/**
 * Characters that act on a terminal or change how text around them reads: C0 controls (line breaks and
 * tabs too, so one value stays on one line), DEL, C1 controls (U+009B alone opens an escape sequence on
 * many terminals), bidirectional marks, embeddings, overrides and isolates, and the line and paragraph
 * separators.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
/** The same set minus C0, which JSON.stringify escapes itself. */
const JSON_RAW = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function hex(character: string, digits: number): string {
  return character.codePointAt(0)!.toString(16).padStart(digits, '0');
}

/**
 * Text as a terminal may show it: every control character as a visible escape (`\x1b`, `\n`, `\u202e`).
 * Stored values (account ids, names, records another tool wrote) go through it before any human-readable
 * output, so none can retitle, clear or recolour the operator's terminal, or reorder what it shows.
 */
export function printable(text: string): string {
  return text.replace(
    CONTROL,
    (character) => SHORT[character] ?? (character <= '\u00ff' ? `\\x${hex(character, 2)}` : `\\u${hex(character, 4)}`),
  );
}

/**
 * JSON.stringify, with the controls it leaves raw (DEL, C1, bidi, separators) escaped too: still the same JSON
 * value.
 */
export function jsonText(value: unknown): string {
  return (JSON.stringify(value) ?? String(value)).replace(JSON_RAW, (character) => `\\u${hex(character, 4)}`);
}

/** One line of `--json` output. */
export function jsonLine(value: unknown): string {
  return `${jsonText(value)}\n`;
}

/** A client id as printed: as is when it is plain, else quoted so spaces and odd characters show. */
export function shownId(value: unknown): string {
  if (value === undefined) return '(no client_id)';
  if (typeof value === 'string' && /^[\x21-\x7e]{1,200}$/.test(value)) return value;
  const json = jsonText(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

/** Left-aligned columns separated by two spaces; the last column is not padded. Every cell is made printable. */
export function table(header: readonly string[], body: readonly (readonly string[])[]): string {
  const rows = body.map((row) => row.map(printable));
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}

/**
 * Replaces every occurrence of the given secrets in `text` with `***`: nothing the CLI prints should
 * carry one, and this holds even if a message it relays were to quote its input.
 */
export function scrubber(secrets: Iterable<string>): (text: string) => string {
  const list = [...new Set(secrets)].filter((secret) => secret.length >= 4).sort((a, b) => b.length - a.length);
  return (text) => list.reduce((out, secret) => out.split(secret).join('***'), text);
}
