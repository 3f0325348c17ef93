/**
 * The pieces of the OpenAPI document that the route table's operations are written with, and what an
 * operation is: openapi.ts assembles them, with the components they refer to, into the document.
 */

export type Json = Record<string, unknown>;
type ComponentKind = 'schemas' | 'responses' | 'parameters' | 'headers';

/** Path parameters are named by the route's path; these are the query parameters an operation may take. */
export type QueryParameterName = 'limit' | 'cursor' | 'force';
export type PathParameterName = 'app_id' | 'key_type' | 'client_id';

export type Tag = 'applications' | 'keys' | 'clients' | 'meta';

/** One route's operation as the route table states it; its access and path parameters come from the route. */
export interface OperationSpec {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: Tag;
  readonly query?: readonly QueryParameterName[];
  /** Name of the request body schema; the body is optional (an absent body reads as `{}`) unless `bodyRequired`. */
  readonly body?: string;
  readonly bodyRequired?: boolean;
  /**
   * Success and route-specific error responses, by status; the ones every route of its kind shares
   * (authentication, body reading, store outages, unexpected failures) are added by openapi.ts.
   */
  readonly responses: Readonly<Record<number, Json>>;
}

export const ref = (kind: ComponentKind, name: string): Json => ({ $ref: `#/components/${kind}/${name}` });
export const schema = (name: string): Json => ref('schemas', name);
export const jsonContent = (body: Json): Json => ({ 'application/json': { schema: body } });
const codeList = (codes: readonly string[]) => codes.map((code) => `\`${code}\``).join(', ');

/** An error response: the Error schema with `error` narrowed to the codes this response can carry. */
export function errorResponse(description: string, codes: readonly string[], headers?: Json): Json {
  return {
    description: `${description} \`error\`: ${codeList(codes)}.`,
    ...(headers && { headers }),
    content: jsonContent({ allOf: [schema('Error'), { properties: { error: { enum: [...codes] } } }] }),
  };
}

export function jsonResponse(description: string, body: Json, headers?: Json): Json {
  return { description, ...(headers && { headers }), content: jsonContent(body) };
}

export const noContent = (description: string): Json => ({ description });

export const AUTH_CHALLENGE = { 'WWW-Authenticate': ref('headers', 'WWWAuthenticate') };
export const RETRY_AFTER = { 'Retry-After': ref('headers', 'RetryAfter') };
