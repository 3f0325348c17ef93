/**
 * The pieces of the OpenAPI document that the route table's operations are written with, and what an
 * operation is: openapi.ts assembles them, with the components they refer to, into the document.
 */

export type Json = Record<string, unknown>;
type ComponentKind = 'schemas' | 'responses' | 'parameters' | 'headers';

/** Path parameters are named by the route's path; these are the query parameters an operation may take. */
/** Names of the document's parameter components; `lookup_client_id` is the query parameter `client_id`. */
export type QueryParameterName = 'limit' | 'cursor' | 'force' | 'iss' | 'lookup_client_id';
export type PathParameterName = 'app_id' | 'key_type' | 'client_id' | 'issuer_id';

export type Tag = 'applications' | 'keys' | 'clients' | 'issuers' | 'resolve' | 'meta';

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

// ---- small builders ------------------------------------------------------------------------------

export function object(properties: Record<string, Json>, required: readonly string[], extra: Json = {}): Json {
  return { type: 'object', properties, required: [...required], ...extra };
}

export const string = (description: string, extra: Json = {}): Json => ({ type: 'string', description, ...extra });
export const timestamp = (description: string): Json => string(description, { format: 'date-time' });
export const uri = (description: string): Json => string(description, { format: 'uri' });
export const uriList = (description: string): Json => ({
  type: 'array',
  description,
  items: { type: 'string', format: 'uri' },
});
export const stringList = (description: string): Json => ({ type: 'array', description, items: { type: 'string' } });
/** A property a request must not carry (`not: {}` rejects any value, and keeps a description). */
export const forbidden = (description: string): Json => ({ not: {}, description });
