/**
 * What ships is what users import: the package holds the library and the server, never examples,
 * tests or benchmarks; the library's entry points (`.`, `/adapters/redis`, `/adapters/memory`) load no
 * logging or metrics library; the server (cli/server) alone does.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The packages a fresh Node process has loaded once it imported `entries`, read from its CommonJS cache. */
async function packagesLoadedBy(entries: readonly string[]): Promise<string[]> {
  const script = `
    import { createRequire } from 'node:module';
    import { pathToFileURL } from 'node:url';
    for (const entry of JSON.parse(process.env.ENTRIES)) await import(pathToFileURL(entry).href);
    const names = Object.keys(createRequire(import.meta.url).cache).flatMap((path) => {
      const inside = path.split('/node_modules/').at(-1);
      if (inside === path) return [];
      const parts = inside.split('/');
      return [parts[0].startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]];
    });
    process.stdout.write(JSON.stringify([...new Set(names)]));
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: {
      ...process.env,
      ENTRIES: JSON.stringify(entries.map((entry) => fileURLToPath(new URL(entry, `file://${root}`)))),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout) as string[];
}

describe('the library entry points', { timeout: 60_000 }, () => {
  it('load neither pino nor prom-client', async () => {
    const loaded = await packagesLoadedBy(['src/index.ts', 'adapters/redis/index.ts', 'adapters/memory/index.ts']);
    expect(loaded).toContain('koa'); // the check sees what an entry loads
    expect(loaded).not.toContain('pino');
    expect(loaded).not.toContain('prom-client');
  });

  it('leave them to the server', async () => {
    const loaded = await packagesLoadedBy(['cli/server/start.ts', 'cli/server/observability.ts']);
    expect(loaded).toContain('pino');
    expect(loaded).toContain('prom-client');
  });
});

describe('the package', { timeout: 60_000 }, () => {
  it('holds the library, the server and the README: no examples, tests or benchmarks', () => {
    const packed = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(packed.status, packed.stderr).toBe(0);
    const [{ files }] = JSON.parse(packed.stdout) as [{ files: { path: string }[] }];
    const paths = files.map((file) => file.path);
    expect(paths).toContain('README.md');
    for (const path of paths) {
      expect(path).toMatch(/^(README\.md|package\.json|dist\/(src|adapters|cli)\/.+)$/);
    }
  });
});
