/**
 * One server under test, in a process of its own so that the load generator does not share its event
 * loop. Usage: `node --import tsx bench/server.ts <variant>`, with BENCH_REDIS_URL (or BENCH_REDIS_CLUSTER,
 * the `host:port` of a Redis Cluster's nodes, comma-separated) and BENCH_PREFIX in the environment for
 * Redis variants. Prints `listening <port>` once it accepts connections; exits on
 * SIGTERM/SIGINT or when its stdin closes (the parent is gone).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { isVariantName, variant, VARIANTS } from './variants.js';

const name = process.argv[2] ?? '';
if (!isVariantName(name)) {
  process.stderr.write(`usage: server.ts <variant>; variants: ${Object.keys(VARIANTS).join(', ')}\n`);
  process.exit(2);
}

const built = await variant(name).create({
  redisUrl: process.env.BENCH_REDIS_URL || undefined,
  clusterNodes: process.env.BENCH_REDIS_CLUSTER ? process.env.BENCH_REDIS_CLUSTER.split(',') : undefined,
  // run by hand without one, a key space of its own all the same: the appkeys variants set up an
  // application of a fixed name, which a second run under the same prefix would find taken
  prefix: process.env.BENCH_PREFIX || `bench:${name}:${randomBytes(4).toString('hex')}:`,
});

// the parent reports failed requests by status; the reason lands here, in the log it prints then
let reported = 0;
function report(kind: string, err: Error): void {
  reported += 1;
  if (reported <= 5) process.stderr.write(`${kind}: ${err.name}: ${err.message}\n`);
  if (reported === 5) process.stderr.write('(further errors not shown)\n');
}
built.provider.on('server_error', (_ctx, err) => report('server_error', err));
built.provider.on('grant.error', (_ctx, err) => report('grant.error', err));

const server = createServer(built.provider.callback());

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await built.close();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
process.stdin.on('end', () => void shutdown());
process.stdin.resume();

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
