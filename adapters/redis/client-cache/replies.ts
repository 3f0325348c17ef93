/** What is wrong with a CLIENT TRACKINGINFO reply, given the subscriber we redirect to; undefined if nothing. */
export function trackingProblem(reply: unknown, subscriberId: string): string | undefined {
  if (!Array.isArray(reply)) return 'unexpected CLIENT TRACKINGINFO reply';
  const fields = new Map<string, unknown>();
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
  const flags = fields.get('flags');
  const flagList = Array.isArray(flags) ? flags.map(String) : [];
  if (!flagList.includes('on') || !flagList.includes('bcast')) return 'tracking is off';
  if (flagList.includes('broken_redirect')) return 'the redirect is broken';
  if (String(fields.get('redirect')) !== subscriberId) return 'tracking redirects to another client';
  return undefined;
}

/**
 * What is wrong with a cluster node as the one to track `slot` on, from its own CLUSTER NODES reply:
 * it must be a master, own the slot, and not be migrating it (keys that moved are changed elsewhere,
 * unreported). Undefined if nothing.
 */
export function ownershipProblem(reply: unknown, slot: number): string | undefined {
  const myself = String(reply)
    .split('\n')
    .map((line) => line.trim().split(' '))
    .find((fields) => fields[2]?.split(',').includes('myself'));
  if (!myself) return 'unexpected CLUSTER NODES reply';
  if (!myself[2]!.split(',').includes('master')) return 'the node is no longer a master';
  let owned = false;
  // fields 8 and on: `from-to` or `slot` ranges, `[slot->-id]` migrating, `[slot-<-id]` importing
  for (const range of myself.slice(8)) {
    if (range.startsWith('[')) {
      if (range.includes('->-') && Number.parseInt(range.slice(1), 10) === slot) return 'the slot is migrating';
      continue;
    }
    const [from, to = from] = range.split('-').map(Number);
    if (from !== undefined && slot >= from && slot <= to!) owned = true;
  }
  return owned ? undefined : 'the node no longer owns the slot';
}

/** Refusals that retrying will not change: no such command or subcommand (before 6.2), no permission. */
const PERMANENT_REFUSAL = /^(NOPERM|ERR unknown (sub)?command|ERR Unknown subcommand|ERR syntax error)/i;

/** Whether `err` is a server's refusal that retrying will not change (whichever library reports it). */
export function permanentRefusal(err: unknown): err is Error {
  return err instanceof Error && PERMANENT_REFUSAL.test(err.message);
}
