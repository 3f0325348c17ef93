/** A client id as printed: as is when it is plain, else quoted so spaces and odd characters show. */
export function shownId(value: unknown): string {
  if (value === undefined) return '(no client_id)';
  if (typeof value === 'string' && /^[\x21-\x7e]{1,200}$/.test(value)) return value;
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]) => cells
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
