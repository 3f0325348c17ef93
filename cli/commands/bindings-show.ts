import { EXIT, usageError } from '../exit.js';
import { jsonLine, jsonText, printable, shownId } from '../output.js';
import { CLI_ACTOR, cliRedisStore, cliRegistry } from '../registry.js';
import { closeRedis, connectFromSpec, requireRedis } from '../redis.js';
import type { CommandContext, CommandModule } from '../spec.js';

function errorCode(error: unknown): string | undefined {
  const code = (error as { error?: unknown } | undefined)?.error;
  return typeof code === 'string' ? code : undefined;
}

export async function run(context: CommandContext): Promise<number> {
  const [clientId] = context.positionals as [string];
  const json = context.values.json === true;
  const redis = await connectFromSpec(requireRedis(context.redis));
  try {
    const registry = await cliRegistry(cliRedisStore(redis, context.prefix), context);
    let client;
    try {
      client = await registry.getClient(clientId);
    } catch (error) {
      if (errorCode(error) === 'client_not_found') {
        context.io.stderr.write(`appkeys: no such client: ${shownId(clientId)}\n`);
        return EXIT.PROBLEMS;
      }
      if (errorCode(error) === 'invalid_request')
        throw usageError(
          `CLIENT_ID ${(error as { error_description: string }).error_description.replace(/^client_id /, '')}`,
        );
      throw error;
    }
    const { binding } = client;
    const application = binding
      ? await registry.getApplication(CLI_ACTOR, binding.application_id).catch((error: unknown) => {
          if (errorCode(error) === 'application_not_found') return undefined;
          throw error;
        })
      : undefined;

    if (json) {
      context.io.stdout.write(
        jsonLine({
          client_id: client.client_id,
          binding,
          ...(binding && {
            application: application
              ? { id: application.id, name: application.name, owner: application.owner, status: application.status }
              : null,
          }),
        }),
      );
      return EXIT.OK;
    }
    if (!binding) {
      context.io.stdout.write(`client ${shownId(client.client_id)} is not bound\n`);
      return EXIT.OK;
    }
    const about = application
      ? `(${jsonText(application.name)}, owner ${application.owner}, ${application.status})`
      : '(its record is missing: run appkeys check)';
    // every field comes from the store, where an account id or another tool may have put anything
    context.io.stdout.write(
      [
        `client_id    ${shownId(client.client_id)}`,
        `application  ${binding.application_id} ${about}`,
        `key_type     ${binding.key_type}`,
        `origin       ${binding.origin}`,
        `bound_at     ${binding.bound_at}`,
        `bound_by     ${binding.bound_by}`,
      ]
        .map((line) => `${printable(line)}\n`)
        .join(''),
    );
    return EXIT.OK;
  } finally {
    await closeRedis(redis);
  }
}

export default { run } satisfies CommandModule;
