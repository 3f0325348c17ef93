import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { REPAIR_RULES, UNREPAIRABLE } from '../adapters/redis/repair-rules.js';
import { EXIT_CODES } from '../cli/exit.js';

/** The README says what the tables say: each list in it is checked against the one table it comes from. */
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
/** The README wraps prose at 110 characters: compare with line breaks as spaces. */
const flowing = readme.replace(/\n(?!\n|- )/g, ' ');

describe('README', () => {
  it('lists every exit code with the meaning the CLI gives it', () => {
    for (const { code, meaning } of EXIT_CODES) expect(readme).toContain(`- \`${code}\` ${meaning}\n`);
  });

  it('lists every repair rule of appkeys check --repair, and what it leaves alone', () => {
    for (const { rule } of REPAIR_RULES) expect(readme).toContain(`- ${rule}\n`);
    expect(flowing).toContain(`What the data cannot settle (${UNREPAIRABLE}) is reported and left alone.`);
  });
});

describe('repair', () => {
  it('records each of its fixes under a rule of the table, and has a rule for nothing it does not do', () => {
    const source = readFileSync(new URL('../adapters/redis/repair.ts', import.meta.url), 'utf8');
    const recorded = new Set([...source.matchAll(/record\(\s*'([a-z_]+)'/g)].map((match) => match[1]));
    expect([...recorded].sort()).toEqual(REPAIR_RULES.map(({ fix }) => fix).sort());
  });
});
