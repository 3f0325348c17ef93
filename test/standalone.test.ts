/**
 * The development server of `npm start` and `appkeys serve` as an operator meets it: where it listens,
 * what its banner shows of the admin secret, where its metrics are, and that it will not run its
 * development login in production. Real listeners and real processes.
 */
import { spawn } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { createServer } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { banner, startStandalone, type RunningServer, type StandaloneSettings } from '../cli/server/standalone.js';
import { developmentLoginRefusal } from '../cli/server/start.js';
import { freePort, portIsFree } from '../support/ports.js';
import { startScript, type ScriptProcess } from '../support/scripts.js';
import { runCliHere } from './support/cli.js';

const GIVEN_SECRET = 'operator-given-admin-secret-0123456789abcdef';
/** Log lines go nowhere: these tests read banners, not logs. */
const quiet = { level: 'silent' } as const;

/** An address of this machine other than loopback, if it has one. */
function externalAddress(family: 'IPv4' | 'IPv6'): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry && !entry.internal && entry.family === family && !entry.address.startsWith('fe80'))?.address;
}

function hasLoopbackIpv6(): boolean {
  return Object.values(networkInterfaces())
    .flat()
    .some((entry) => entry?.internal && entry.family === 'IPv6');
}

/** Whether something answers HTTP at `url`; a refused connection is `false`. */
async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(5000) });
    return true;
  } catch {
    return false;
  }
}

async function start(settings: Partial<StandaloneSettings> = {}): Promise<RunningServer> {
  return startStandalone({ port: 0, adminClientId: 'appkeys-admin', log: quiet, ...settings });
}

/** `npm start`'s server (`appkeys serve`) in its own process, as processes.ts starts it. */
function spawnStandalone(env: NodeJS.ProcessEnv): ScriptProcess {
  return startScript('cli/main.ts', ['serve'], {
    env: { REDIS_URL: '', APPKEYS_ADMIN_CLIENT_SECRET: '', LOG_LEVEL: 'warn', ...env },
  });
}

describe('where the standalone server listens', () => {
  let running: RunningServer;
  let port: number;

  beforeAll(async () => {
    running = await start();
    port = Number(new URL(running.url).port);
  });
  afterAll(async () => {
    await running?.close();
  });

  it('answers on 127.0.0.1, named http://localhost:PORT', async () => {
    expect(running.url).toBe(`http://localhost:${port}`);
    expect(await answers(`http://127.0.0.1:${port}/.well-known/openid-configuration`)).toBe(true);
    expect(banner(running, undefined)).toContain(`127.0.0.1:${port}`);
  });

  it.runIf(externalAddress('IPv4'))('does not answer on another interface', async () => {
    expect(await answers(`http://${externalAddress('IPv4')}:${port}/.well-known/openid-configuration`)).toBe(false);
  });

  it.runIf(hasLoopbackIpv6())('does not answer on IPv6 either', async () => {
    expect(await answers(`http://[::1]:${port}/.well-known/openid-configuration`)).toBe(false);
  });

  it.runIf(externalAddress('IPv4'))('listens where HOST says, and names that host in its URL', async () => {
    const host = externalAddress('IPv4')!;
    const elsewhere = await start({ host });
    try {
      const { port: bound } = new URL(elsewhere.url);
      expect(elsewhere.url).toBe(`http://${host}:${bound}`);
      expect(await answers(`${elsewhere.url}/.well-known/openid-configuration`)).toBe(true);
      expect(await answers(`http://127.0.0.1:${bound}/.well-known/openid-configuration`)).toBe(false);
    } finally {
      await elsewhere.close();
    }
  });

  it('names the interface it cannot listen on', async () => {
    const taken = await freePort();
    const blocker = createServer().listen(taken, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    try {
      await expect(start({ port: taken })).rejects.toThrow(`cannot listen on 127.0.0.1:${taken}: the port is in use`);
    } finally {
      blocker.close();
    }
  });
});

describe('the banner and the admin secret', () => {
  it('never shows a secret it was given; its curl line reads the variable instead', async () => {
    const running = await start({ adminClientSecret: GIVEN_SECRET });
    try {
      const text = banner(running, undefined);
      expect(text).not.toContain(GIVEN_SECRET);
      expect(text).toContain('admin secret: from APPKEYS_ADMIN_CLIENT_SECRET (not shown)');
      expect(text).toContain(
        `curl -s -u "appkeys-admin:$APPKEYS_ADMIN_CLIENT_SECRET" -d grant_type=client_credentials -d ` +
          `scope=appkeys:admin ${running.url}/token`,
      );
    } finally {
      await running.close();
    }
  });

  it('shows a secret it generated, once, with a curl line that works as printed', async () => {
    const running = await start();
    try {
      const text = banner(running, undefined);
      const secret = /admin secret: (\S+)/.exec(text)?.[1];
      expect(secret).toBe(running.adminClientSecret);
      expect(text).toContain(`curl -s -u 'appkeys-admin:${secret}' -d grant_type=client_credentials`);
    } finally {
      await running.close();
    }
  });

  it(
    'npm start never prints APPKEYS_ADMIN_CLIENT_SECRET, ' + 'and the curl line it prints gets a token with it',
    async () => {
      const port = await freePort();
      const server = spawnStandalone({ PORT: String(port), APPKEYS_ADMIN_CLIENT_SECRET: GIVEN_SECRET });
      try {
        await server.until((output) => output.includes('management API') || undefined, 30_000);
        expect(server.stdout()).not.toContain(GIVEN_SECRET);
        expect(server.stderr()).not.toContain(GIVEN_SECRET);
        const curl = server
          .stdout()
          .split('\n')
          .find((line) => line.trim().startsWith('curl '));
        expect(curl).toContain('$APPKEYS_ADMIN_CLIENT_SECRET');
        const token = spawn('bash', ['-c', curl!.trim()], {
          env: { ...process.env, APPKEYS_ADMIN_CLIENT_SECRET: GIVEN_SECRET },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let body = '';
        token.stdout.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        expect(await new Promise((resolve) => token.on('close', resolve))).toBe(0);
        expect(JSON.parse(body)).toMatchObject({ access_token: expect.any(String), scope: 'appkeys:admin' });
      } finally {
        expect(await server.stop('SIGTERM', 10_000)).toBe(0);
      }
    },
    60_000,
  );
});

describe('metrics', () => {
  it('are not served on the public listener unless asked for', async () => {
    const running = await start();
    try {
      const scraped = await fetch(`${running.url}/metrics`);
      expect(scraped.status).toBe(404);
      expect(await scraped.text()).not.toContain('appkeys_');
      expect(running.metricsUrl).toBeUndefined();
      expect(banner(running, undefined)).toMatch(/Metrics: off \(set METRICS_PORT/);
    } finally {
      await running.close();
    }
  });

  it('are served on a listener of their own, on 127.0.0.1, when given a port', async () => {
    const running = await start({ metrics: { port: 0 } });
    try {
      expect(running.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const scraped = await fetch(running.metricsUrl!);
      expect(scraped.status).toBe(200);
      expect(scraped.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await scraped.text()).toContain('appkeys_bindings_created_total');
      expect((await fetch(`${running.url}/metrics`)).status).toBe(404);
      expect((await fetch(running.metricsUrl!.replace(/\/metrics$/, '/other'))).status).toBe(404);
      expect(banner(running, undefined)).toContain(`Metrics: ${running.metricsUrl}`);
      const external = externalAddress('IPv4');
      if (external) expect(await answers(running.metricsUrl!.replace('127.0.0.1', external))).toBe(false);
    } finally {
      await running.close();
    }
  });
});

describe('in production', () => {
  const SAYS_WHAT_INSTEAD = [
    /NODE_ENV=production/,
    /development login/,
    /interactions/,
    /findAccount/,
    /Mounting into your server/,
  ];

  it('refuses the development login, which oidc-provider enables unless told otherwise', () => {
    const cases: Array<[string | undefined, Record<string, unknown> | undefined, boolean]> = [
      ['production', { devInteractions: { enabled: true } }, true],
      ['production', undefined, true],
      ['production', { devInteractions: {} }, true],
      ['production', { devInteractions: { enabled: false } }, false],
      ['development', { devInteractions: { enabled: true } }, false],
      [undefined, { devInteractions: { enabled: true } }, false],
    ];
    for (const [nodeEnv, features, refused] of cases) {
      const refusal = developmentLoginRefusal({ nodeEnv, configuration: features === undefined ? {} : { features } });
      expect(refusal !== undefined, JSON.stringify({ nodeEnv, features })).toBe(refused);
      if (refusal) for (const says of SAYS_WHAT_INSTEAD) expect(refusal.message).toMatch(says);
    }
  });

  it('startStandalone rejects before it listens', async () => {
    const port = await freePort();
    await expect(start({ port, nodeEnv: 'production' })).rejects.toThrow(/NODE_ENV=production/);
    expect(await portIsFree(port)).toBe(true);
  });

  it('npm start exits 1 with one message on stderr that says what to configure instead', async () => {
    const port = await freePort();
    const server = spawnStandalone({ PORT: String(port), NODE_ENV: 'production' });
    const code = await Promise.race([
      server.exited,
      new Promise((resolve) => setTimeout(resolve, 30_000, 'still running')),
    ]);
    if (code === 'still running') await server.stop();
    expect(code).toBe(1);
    expect(server.stdout()).toBe('');
    const lines = server
      .stderr()
      .split('\n')
      .filter((line) => line !== '');
    expect(lines, server.stderr()).toHaveLength(1);
    for (const says of SAYS_WHAT_INSTEAD) expect(lines[0]).toMatch(says);
    expect(await portIsFree(port)).toBe(true);
  }, 60_000);

  it('appkeys serve exits 1 with the same message', async () => {
    const { code, stdout, stderr } = await runCliHere(['serve', '--port', '0'], {
      NODE_ENV: 'production',
      REDIS_URL: '',
    });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    for (const says of SAYS_WHAT_INSTEAD) expect(stderr).toMatch(says);
  });
});
