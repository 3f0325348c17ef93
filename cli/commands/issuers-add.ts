import type { Issuer } from '../../src/issuers/types.js';
import { EXIT } from '../exit.js';
import { jsonLine, printable, shownId } from '../output.js';
import { issuerRefusal } from '../refusals.js';
import { CLI_ACTOR, cliRedisStore, cliRegistry } from '../registry.js';
import { closeRedis, connectFromSpec, requireRedis } from '../redis.js';
import type { CommandContext, CommandModule } from '../spec.js';

const PROBE_FLAGS = { scope: 'probe-scope', audience: 'probe-audience', resource: 'probe-resource' } as const;

/** The request body of PUT /appkeys/issuers/:issuer_id, from the flags: the registry checks every value. */
function inputOf(context: CommandContext, url: string): Record<string, unknown> {
  const { values } = context;
  const probe = Object.fromEntries(
    Object.entries(PROBE_FLAGS).flatMap(([field, flag]) =>
      typeof values[flag] === 'string' ? [[field, values[flag]]] : [],
    ),
  );
  return {
    issuer: url,
    ...(typeof values.verification === 'string' && { verification: values.verification }),
    ...(Object.keys(probe).length > 0 && { probe }),
  };
}

function details(issuer: Issuer): string[] {
  const { metadata } = issuer;
  return [
    `issuer          ${issuer.issuer}`,
    `verification    ${issuer.verification}`,
    ...(issuer.probe ? [`probe           ${new URLSearchParams({ ...issuer.probe }).toString()}`] : []),
    `token_endpoint  ${metadata.token_endpoint}`,
    ...(metadata.jwks_uri ? [`jwks_uri        ${metadata.jwks_uri}`] : []),
    ...(metadata.revocation_endpoint ? [`revocation      ${metadata.revocation_endpoint}`] : []),
  ];
}

export async function run(context: CommandContext): Promise<number> {
  const [issuerId, url] = context.positionals as [string, string];
  const redis = await connectFromSpec(requireRedis(context.redis));
  try {
    const registry = await cliRegistry(cliRedisStore(redis, context.prefix), context);
    let result;
    try {
      result = await registry.issuers.register(CLI_ACTOR, issuerId, inputOf(context, url));
    } catch (error) {
      throw issuerRefusal(error, issuerId) ?? error;
    }
    const { outcome, issuer } = result;
    if (context.values.json === true) {
      context.io.stdout.write(jsonLine({ outcome, issuer }));
      return EXIT.OK;
    }
    // the endpoints are the issuer's own words: shown printable, as anything stored
    context.io.stdout.write(
      [`${outcome} issuer ${shownId(issuer.issuer_id)}`, ...details(issuer)]
        .map((line) => `${printable(line)}\n`)
        .join(''),
    );
    return EXIT.OK;
  } finally {
    await closeRedis(redis);
  }
}

export default { run } satisfies CommandModule;
