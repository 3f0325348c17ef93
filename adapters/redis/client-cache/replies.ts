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

/** Refusals that retrying will not change: no such command or subcommand (before 6.2), no permission. */
const PERMANENT_REFUSAL = /^(NOPERM|ERR unknown (sub)?command|ERR Unknown subcommand|ERR syntax error)/i;

/** Whether `err` is a server's refusal that retrying will not change (whichever library reports it). */
export function permanentRefusal(err: unknown): err is Error {
  return err instanceof Error && PERMANENT_REFUSAL.test(err.message);
}
