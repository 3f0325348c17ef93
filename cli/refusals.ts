import { issuerUnavailable } from '../src/errors.js';
import { CliError, EXIT, usageError } from './exit.js';
import { shownId } from './output.js';

/** A refusal of the registry's (an AppKeysError), as its code and description; undefined for anything else. */
export function refusalOf(error: unknown): { code: string; description: string } | undefined {
  const { error: code, error_description: description } = (error ?? {}) as {
    error?: unknown;
    error_description?: unknown;
  };
  return typeof code === 'string' && typeof description === 'string' ? { code, description } : undefined;
}

/**
 * An issuer that could not be reached is answered like a store outage (503 temporarily_unavailable), and
 * only its description tells them apart: `runCli` reports a 503 as Redis lost (exit 3), which the
 * issuer's is not.
 */
const ISSUER_UNREACHABLE = issuerUnavailable().error_description;

/** The registry names request fields; the command line has arguments and flags. */
function argumentsOf(issuerArgument: string): readonly (readonly [RegExp, string])[] {
  return [
    [/^issuer_id\b/, issuerArgument],
    [/^client_id\b/, 'CLIENT_ID'],
    [/^verification\b/, '--verification'],
    [/^probe\.(scope|audience|resource)\b/, '--probe-$1'],
  ];
}

/**
 * What an issuer command reports for the registry's refusals: a bad argument is a usage error (2), named
 * as the command line names it (`issuerArgument` for the issuer_id); the issuer's answers and the
 * registry's rules are problems (1), told about `issuerId`. Undefined for anything else (a Redis outage
 * among them), which `runCli` reports.
 */
export function issuerRefusal(error: unknown, issuerId: string, issuerArgument = 'ISSUER_ID'): CliError | undefined {
  const refusal = refusalOf(error);
  if (!refusal) return undefined;
  const { code, description } = refusal;
  if (code === 'invalid_request') {
    const named = argumentsOf(issuerArgument).reduce(
      (text, [field, argument]) => text.replace(field, argument),
      description,
    );
    return usageError(named);
  }
  if (code === 'issuer_not_found') return new CliError(EXIT.PROBLEMS, `no such issuer: ${shownId(issuerId)}`);
  const problem =
    code === 'invalid_issuer' ||
    code === 'issuer_taken' ||
    code === 'issuer_in_use' ||
    (code === 'temporarily_unavailable' && description === ISSUER_UNREACHABLE);
  return problem ? new CliError(EXIT.PROBLEMS, `issuer ${shownId(issuerId)}: ${description}`) : undefined;
}
