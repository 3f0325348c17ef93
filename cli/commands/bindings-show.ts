import type { Registry } from '../../src/registry.js';
import { KEY_TYPES, type Application, type Binding } from '../../src/types.js';
import { EXIT, usageError } from '../exit.js';
import { jsonLine, jsonText, printable, shownId } from '../output.js';
import { issuerRefusal, refusalOf } from '../refusals.js';
import { CLI_ACTOR, cliRedisStore, cliRegistry } from '../registry.js';
import { closeRedis, connectFromSpec, requireRedis } from '../redis.js';
import type { CommandContext, CommandModule, Io } from '../spec.js';

/** What is shown of one client: the binding, and the application as read just after it. */
interface Shown {
  readonly clientId: string;
  /** Set for a client of a third-party issuer. */
  readonly issuer?: { readonly issuer_id: string; readonly issuer: string };
  readonly binding: Binding | null;
  readonly application: Application | undefined;
}

async function applicationOf(registry: Registry, applicationId: string | undefined): Promise<Application | undefined> {
  if (applicationId === undefined) return undefined;
  return registry.getApplication(CLI_ACTOR, applicationId).catch((error: unknown) => {
    if (refusalOf(error)?.code === 'application_not_found') return undefined;
    throw error;
  });
}

/** A local client, or undefined when there is none (reported here). */
async function localClient(registry: Registry, clientId: string, io: Io): Promise<Shown | undefined> {
  let client;
  try {
    client = await registry.getClient(clientId);
  } catch (error) {
    const refusal = refusalOf(error);
    if (refusal?.code === 'client_not_found') {
      io.stderr.write(`appkeys: no such client: ${shownId(clientId)}\n`);
      return undefined;
    }
    if (refusal?.code === 'invalid_request')
      throw usageError(`CLIENT_ID ${printable(refusal.description).replace(/^client_id /, '')}`);
    throw error;
  }
  return {
    clientId: client.client_id,
    binding: client.binding,
    application: await applicationOf(registry, client.binding?.application_id),
  };
}

/**
 * A client of a third-party issuer, found as a gateway finds it (by the issuer's URL and its client_id),
 * then its binding read from its application. Such a client is known here only while it is bound, so
 * "not found" is "not bound".
 */
async function externalClient(registry: Registry, issuerId: string, clientId: string): Promise<Shown> {
  const refused = (error: unknown) => issuerRefusal(error, issuerId, '--issuer') ?? error;
  const issuer = await registry.issuers.get(issuerId).catch((error: unknown) => {
    throw refused(error);
  });
  const unbound: Shown = {
    clientId,
    issuer: { issuer_id: issuer.issuer_id, issuer: issuer.issuer },
    binding: null,
    application: undefined,
  };
  let resolution;
  try {
    resolution = await registry.issuers.lookup(issuer.issuer, clientId);
  } catch (error) {
    if (refusalOf(error)?.code === 'client_not_bound') return unbound;
    throw refused(error);
  }
  const application = await applicationOf(registry, resolution.application_id);
  const binding = KEY_TYPES.map((type) => application?.keys[type]).find(
    (candidate) => candidate?.issuer_id === issuer.issuer_id && candidate.client_id === clientId,
  );
  // unbound (or bound elsewhere) between the two reads: what holds now is that it is not bound there
  return binding ? { ...unbound, binding, application } : unbound;
}

function text({ clientId, issuer, binding, application }: Shown): string {
  const of = issuer ? ` of issuer ${shownId(issuer.issuer_id)}` : '';
  if (!binding) return `client ${shownId(clientId)}${printable(of)} is not bound\n`;
  const about = application
    ? `(${jsonText(application.name)}, owner ${application.owner}, ${application.status})`
    : '(its record is missing: run appkeys check)';
  // every field comes from the store, where an account id or another tool may have put anything
  return [
    `client_id    ${shownId(clientId)}`,
    ...(issuer ? [`issuer_id    ${shownId(issuer.issuer_id)}`, `issuer       ${issuer.issuer}`] : []),
    ...(binding.verification ? [`verification ${binding.verification}`] : []),
    `application  ${binding.application_id} ${about}`,
    `key_type     ${binding.key_type}`,
    `origin       ${binding.origin}`,
    `bound_at     ${binding.bound_at}`,
    `bound_by     ${binding.bound_by}`,
  ]
    .map((line) => `${printable(line)}\n`)
    .join('');
}

function json({ clientId, issuer, binding, application }: Shown): string {
  return jsonLine({
    client_id: clientId,
    ...issuer,
    binding,
    ...(binding && {
      application: application
        ? { id: application.id, name: application.name, owner: application.owner, status: application.status }
        : null,
    }),
  });
}

export async function run(context: CommandContext): Promise<number> {
  const [clientId] = context.positionals as [string];
  const issuerId = context.values.issuer;
  if (issuerId === '') throw usageError('--issuer needs an ISSUER_ID');
  const redis = await connectFromSpec(requireRedis(context.redis));
  try {
    const registry = await cliRegistry(cliRedisStore(redis, context.prefix), context);
    const shown =
      typeof issuerId === 'string'
        ? await externalClient(registry, issuerId, clientId)
        : await localClient(registry, clientId, context.io);
    if (!shown) return EXIT.PROBLEMS;
    context.io.stdout.write(context.values.json === true ? json(shown) : text(shown));
    return EXIT.OK;
  } finally {
    await closeRedis(redis);
  }
}

export default { run } satisfies CommandModule;
