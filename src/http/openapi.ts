/**
 * The OpenAPI 3.1 description of the management API, served at `<prefix>/openapi.json`.
 *
 * Built from small helpers: every operation states its own success and route-specific error
 * responses, and `operation()` adds the ones every route of its kind shares (authentication, body
 * reading, store outages, unexpected failures) as references to `components.responses`. Each error
 * response lists its `error` codes in its description and as an `enum` on the body's `error` field.
 */

import { ADMIN_SCOPE, OWNER_SCOPE } from '../scopes.js';
import { DEFAULT_LIMIT, MAX_LIMIT } from '../pagination.js';
import { APPLICATION_STATUSES, KEY_TYPES } from '../types.js';
import { CLIENT_ID_MAX, DESCRIPTION_MAX, NAME_MAX, OWNER_MAX, SECRET_MAX } from '../validate.js';

/** Kept equal to package.json's `version` (a test checks it). */
export const API_VERSION = '0.1.0';

type Json = Record<string, unknown>;
type ComponentKind = 'schemas' | 'responses' | 'parameters' | 'headers';

// ---- small builders ------------------------------------------------------------------------------

const ref = (kind: ComponentKind, name: string): Json => ({ $ref: `#/components/${kind}/${name}` });
const schema = (name: string): Json => ref('schemas', name);
const jsonContent = (body: Json): Json => ({ 'application/json': { schema: body } });
const codeList = (codes: readonly string[]) => codes.map((code) => `\`${code}\``).join(', ');

/** An error response: the Error schema with `error` narrowed to the codes this response can carry. */
function errorResponse(description: string, codes: readonly string[], headers?: Json): Json {
  return {
    description: `${description} \`error\`: ${codeList(codes)}.`,
    ...(headers && { headers }),
    content: jsonContent({ allOf: [schema('Error'), { properties: { error: { enum: [...codes] } } }] }),
  };
}

function jsonResponse(description: string, body: Json, headers?: Json): Json {
  return { description, ...(headers && { headers }), content: jsonContent(body) };
}

const noContent = (description: string): Json => ({ description });

function object(properties: Record<string, Json>, required: readonly string[], extra: Json = {}): Json {
  return { type: 'object', properties, required: [...required], ...extra };
}

const string = (description: string, extra: Json = {}): Json => ({ type: 'string', description, ...extra });
const timestamp = (description: string): Json => string(description, { format: 'date-time' });
const uri = (description: string): Json => string(description, { format: 'uri' });
const uriList = (description: string): Json => ({ type: 'array', description, items: { type: 'string', format: 'uri' } });
const stringList = (description: string): Json => ({ type: 'array', description, items: { type: 'string' } });
/** A property a request must not carry (`not: {}` rejects any value, and keeps a description). */
const forbidden = (description: string): Json => ({ not: {}, description });

function page(item: string, description: string): Json {
  return object(
    {
      items: { type: 'array', items: schema(item) },
      next_cursor: string('Opaque cursor of the next page; absent on the last page. Pass it back as `cursor`.'),
    },
    ['items'],
    { description, additionalProperties: false },
  );
}

// ---- security ------------------------------------------------------------------------------------

type Access = 'public' | 'owner' | 'admin';

const SECURITY: Record<Access, Json[]> = {
  public: [],
  owner: [{ bearer: [OWNER_SCOPE] }, { bearer: [ADMIN_SCOPE] }],
  admin: [{ bearer: [ADMIN_SCOPE] }],
};

// ---- schemas -------------------------------------------------------------------------------------

const CLIENT_ID_PATTERN = '^[\\x20-\\x7E]+$';

const clientIdSchema = (description: string): Json =>
  string(description, { minLength: 1, maxLength: CLIENT_ID_MAX, pattern: CLIENT_ID_PATTERN });
const clientSecretSchema = (description: string): Json =>
  string(description, { minLength: 1, maxLength: SECRET_MAX });
const nameSchema = (): Json =>
  string(`1–${NAME_MAX} characters, no control characters; unique per owner regardless of case and Unicode form.`, { minLength: 1, maxLength: NAME_MAX });
const descriptionSchema = (): Json => string(`0–${DESCRIPTION_MAX} characters.`, { maxLength: DESCRIPTION_MAX });

/** The RFC 7591 client metadata fields (and the OpenID Connect ones most often set), as the provider reads them. */
function rfc7591Properties(): Record<string, Json> {
  return {
    redirect_uris: uriList('Redirection URIs (required for the authorization_code and implicit grants).'),
    token_endpoint_auth_method: string('How the client authenticates at the token endpoint, e.g. client_secret_basic, client_secret_post, private_key_jwt, none.'),
    grant_types: stringList('OAuth grant types the client may use, e.g. authorization_code, refresh_token, client_credentials.'),
    response_types: stringList('OAuth response types the client may use, e.g. code.'),
    client_name: string('Human-readable name of the client.'),
    client_uri: uri('Home page of the client.'),
    logo_uri: uri('Logo of the client.'),
    scope: string('Space-separated scope values the client may request.'),
    contacts: stringList('Ways to contact the people responsible for the client, usually e-mail addresses.'),
    tos_uri: uri('Terms of service of the client.'),
    policy_uri: uri('Privacy policy of the client.'),
    jwks_uri: uri('URL of the client\'s JSON Web Key Set.'),
    jwks: object({ keys: { type: 'array', items: { type: 'object' } } }, ['keys'], { description: 'The client\'s JSON Web Key Set, by value.' }),
    software_id: string('Identifier of the client software.'),
    software_version: string('Version of the client software.'),
    application_type: string('OpenID Connect application type: web or native.', { enum: ['web', 'native'] }),
    post_logout_redirect_uris: uriList('OpenID Connect RP-initiated logout redirection URIs.'),
  };
}

/** What the provider's client schema always puts in the metadata it normalizes. */
const PUBLIC_METADATA_REQUIRED = ['client_id', 'grant_types', 'response_types', 'token_endpoint_auth_method'] as const;

const SERVER_OWNED_NOTE = 'The binding property `appkeys_binding` is server-owned: it is ignored in requests and never returned.';

function schemas(): Record<string, Json> {
  const bindingProperties: Record<string, Json> = {
    application_id: string('The application the client is bound to.'),
    key_type: schema('KeyType'),
    client_id: clientIdSchema('The bound client.'),
    origin: string('`provided`: an existing client whose keys were proven; `generated`: created for the application (deleted with it).', { enum: ['provided', 'generated'] }),
    bound_at: timestamp('When the binding was made.'),
    bound_by: string('Who made the binding: an owner\'s account id, or for an admin `account:<id>` / `client:<client_id>`.'),
  };
  const bindingRequired = Object.keys(bindingProperties);
  const metadataProperties = rfc7591Properties();

  return {
    KeyType: string('The kind of keys: at most one client per key type per application.', { enum: [...KEY_TYPES] }),
    ApplicationStatus: string('`BLOCKED` applications\' clients get `invalid_client` at the token endpoint and their tokens stop introspecting as active.', { enum: [...APPLICATION_STATUSES] }),
    Binding: object(bindingProperties, bindingRequired, {
      description: 'A client bound to an application under a key type. Never holds a secret.',
      additionalProperties: false,
    }),
    Application: object(
      {
        id: string('Server-assigned id; ids sort by creation time.'),
        name: nameSchema(),
        description: descriptionSchema(),
        owner: {
          type: ['string', 'null'],
          description: 'Account id of the owner; `null` for an application an admin created for no account (only admins see and change it).',
        },
        status: schema('ApplicationStatus'),
        created_at: timestamp('When the application was created.'),
        updated_at: timestamp('When the application was last changed.'),
        keys: object(
          Object.fromEntries(KEY_TYPES.map((type) => [type, schema('Binding')])),
          [],
          { description: 'The bindings of the application, by key type; a key type without keys is absent.', additionalProperties: false },
        ),
      },
      ['id', 'name', 'description', 'owner', 'status', 'created_at', 'updated_at', 'keys'],
      { description: 'An application owned by a developer, with its keys.', additionalProperties: false },
    ),
    ApplicationCreate: object(
      {
        name: nameSchema(),
        description: descriptionSchema(),
        owner: {
          type: ['string', 'null'],
          minLength: 1,
          maxLength: OWNER_MAX,
          description: `Admin only: the owner's account id, 1–${OWNER_MAX} characters without control characters. `
            + 'Absent or `null`: the application belongs to no account (an owner creating one always owns it). '
            + 'An owner sending it gets 400 `invalid_request`.',
        },
      },
      ['name'],
      { description: 'A new application. Unknown fields are rejected with 400 `invalid_request`.', additionalProperties: false },
    ),
    ApplicationPatch: object(
      {
        name: nameSchema(),
        description: descriptionSchema(),
        status: { ...schema('ApplicationStatus'), description: 'Admin only. An owner sending it gets 403 `insufficient_scope`.' },
      },
      [],
      { description: 'Fields to change; absent fields are kept. Unknown fields are rejected with 400 `invalid_request`.', additionalProperties: false },
    ),
    ProvideKeysRequest: object(
      {
        client_id: clientIdSchema('The existing client\'s id.'),
        client_secret: clientSecretSchema('The existing client\'s secret, proving possession. Checked in constant time and never stored by the registry.'),
      },
      ['client_id', 'client_secret'],
      { description: 'The keys of an existing client to bind. Unknown fields are rejected with 400 `invalid_request`.', additionalProperties: false },
    ),
    GenerateKeysRequest: object(
      {
        ...metadataProperties,
        client_id: forbidden('Chosen by the server: sending it gives 400 `invalid_request`.'),
        client_secret: forbidden('Chosen by the server: sending it gives 400 `invalid_request`.'),
        client_secret_expires_at: forbidden('Chosen by the server: sending it gives 400 `invalid_request`.'),
        client_id_issued_at: forbidden('Chosen by the server: sending it gives 400 `invalid_request`.'),
      },
      [],
      {
        description: 'Client metadata (RFC 7591) of the client to create, validated by the provider\'s own client schema. '
          + 'Without `grant_types` the client gets `client_credentials` only, with no redirect URIs or response types. '
          + 'Other metadata the provider recognizes is accepted. ' + SERVER_OWNED_NOTE,
        additionalProperties: true,
      },
    ),
    ClientPublicMetadata: object(
      { client_id: clientIdSchema('The client\'s id.'), ...metadataProperties },
      PUBLIC_METADATA_REQUIRED,
      {
        description: 'Client metadata as the provider normalized it, without the secret. Other metadata the provider recognizes may appear.',
        additionalProperties: true,
      },
    ),
    GeneratedKeys: object(
      {
        ...bindingProperties,
        origin: { const: 'generated', description: 'Always `generated` here.' },
        client_secret: string('The new client\'s secret. Shown once: store it now.'),
        client: schema('ClientPublicMetadata'),
      },
      [...bindingRequired, 'client_secret', 'client'],
      {
        description: 'The binding of a generated client (the Binding fields), its secret (shown only in this response) and its metadata.',
        additionalProperties: false,
      },
    ),
    SecretRotation: object(
      {
        client_id: clientIdSchema('The generated client.'),
        client_secret: string('Its new secret, replacing the old one at once. Shown once: store it now.'),
      },
      ['client_id', 'client_secret'],
      { description: 'A generated client\'s new secret.', additionalProperties: false },
    ),
    ClientMetadata: object(
      {
        ...metadataProperties,
        client_id: clientIdSchema('Optional; when given it must equal the path\'s client_id.'),
        client_secret: clientSecretSchema('The secret the client was given where it was created. Required unless `token_endpoint_auth_method` needs none (e.g. `none`, `private_key_jwt`).'),
        client_secret_expires_at: { type: 'integer', minimum: 0, description: 'When the secret expires, in seconds since the epoch; 0: never.' },
      },
      [],
      {
        description: 'Metadata (RFC 7591) of a client created elsewhere, secret included, validated by the provider\'s own client schema. '
          + 'Additional properties the provider recognizes are allowed. ' + SERVER_OWNED_NOTE,
        additionalProperties: true,
      },
    ),
    ClientView: object(
      {
        client_id: clientIdSchema('The client\'s id.'),
        ...metadataProperties,
        client_secret: forbidden('Never returned.'),
        binding: { anyOf: [schema('Binding'), { type: 'null' }], description: 'The client\'s binding, or null when unbound.' },
        registered_at: timestamp('When the client was first registered here.'),
        updated_at: timestamp('When the client record last changed.'),
      },
      [...PUBLIC_METADATA_REQUIRED, 'binding', 'registered_at', 'updated_at'],
      {
        description: 'A registered client: its metadata as the provider normalized it, without the secret, plus its binding. '
          + 'Other metadata the provider recognizes may appear.',
        additionalProperties: true,
      },
    ),
    ApplicationPage: page('Application', 'A page of applications in creation order.'),
    ClientPage: page('ClientView', 'A page of clients in client_id order.'),
    Error: object(
      {
        error: string('Error code.'),
        error_description: string('Human-readable explanation.'),
      },
      ['error', 'error_description'],
      { description: 'The OAuth error shape, as oidc-provider uses it. Nothing else from a failure reaches the client.', additionalProperties: false },
    ),
  };
}

// ---- parameters, headers, shared responses -------------------------------------------------------

function parameters(): Record<string, Json> {
  return {
    app_id: {
      name: 'app_id', in: 'path', required: true,
      description: 'Application id. Another owner\'s application answers 404 like a missing one.',
      schema: { type: 'string', minLength: 1, maxLength: 128 },
    },
    key_type: {
      name: 'key_type', in: 'path', required: true,
      description: 'Key type; anything else gives 400 `invalid_request`.',
      schema: schema('KeyType'),
    },
    client_id: {
      name: 'client_id', in: 'path', required: true,
      description: `Client id: 1–${CLIENT_ID_MAX} printable ASCII characters (percent-encoded in the path); otherwise 400 \`invalid_request\`.`,
      schema: { type: 'string', minLength: 1, maxLength: CLIENT_ID_MAX, pattern: CLIENT_ID_PATTERN },
    },
    limit: {
      name: 'limit', in: 'query', required: false,
      description: `Page size, 1–${MAX_LIMIT} (default ${DEFAULT_LIMIT}); otherwise 400 \`invalid_request\`.`,
      schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
    },
    cursor: {
      name: 'cursor', in: 'query', required: false,
      description: 'Opaque `next_cursor` of the previous page; an invalid one gives 400 `invalid_request`.',
      schema: { type: 'string', minLength: 1, maxLength: 2048, pattern: '^[A-Za-z0-9_-]+$' },
    },
    force: {
      name: 'force', in: 'query', required: false,
      description: 'Delete the client even when it is bound, removing its binding. Only `true` or `false`; otherwise 400 `invalid_request`.',
      schema: { type: 'boolean', default: false },
    },
  };
}

function headers(): Record<string, Json> {
  return {
    RetryAfter: { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 0 } },
    WWWAuthenticate: { description: 'The Bearer challenge, e.g. `Bearer realm="appkeys", error="invalid_token"`.', schema: { type: 'string' } },
    Location: { description: 'Path of the created application.', schema: { type: 'string' } },
  };
}

const AUTH_CHALLENGE = { 'WWW-Authenticate': ref('headers', 'WWWAuthenticate') };
const RETRY_AFTER = { 'Retry-After': ref('headers', 'RetryAfter') };

function sharedResponses(): Record<string, Json> {
  return {
    InvalidRequest: errorResponse('The request is malformed: a bad field, parameter or JSON body.', ['invalid_request']),
    InvalidToken: errorResponse('No Bearer access token, or one that is unknown, revoked or expired.', ['invalid_token'], AUTH_CHALLENGE),
    InsufficientScope: errorResponse('The access token lacks the scope this operation needs.', ['insufficient_scope'], AUTH_CHALLENGE),
    PayloadTooLarge: errorResponse('The request body exceeds the configured limit (64 KiB by default).', ['invalid_request']),
    UnsupportedMediaType: errorResponse('A request body that is not `application/json`.', ['invalid_request']),
    ServerError: errorResponse('An unexpected failure; nothing of it is shown.', ['server_error']),
    TemporarilyUnavailable: errorResponse('The key registry\'s store is unavailable; nothing was changed. Try again after `Retry-After` seconds.', ['temporarily_unavailable'], RETRY_AFTER),
  };
}

// ---- operations ----------------------------------------------------------------------------------

interface OperationSpec {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: 'applications' | 'keys' | 'clients' | 'meta';
  readonly access: Access;
  readonly parameters?: readonly (keyof ReturnType<typeof parameters>)[];
  /** Name of the request body schema; the body is optional (an absent body reads as `{}`) unless `bodyRequired`. */
  readonly body?: string;
  readonly bodyRequired?: boolean;
  /** Success and route-specific error responses, by status. */
  readonly responses: Record<number, Json>;
}

const shared = (name: string): Json => ref('responses', name);

function operation(spec: OperationSpec): Json {
  const responses: Record<number, Json> = { ...spec.responses };
  const add = (status: number, response: Json) => {
    if (!(status in responses)) responses[status] = response;
  };
  if (spec.body) {
    add(400, shared('InvalidRequest'));
    add(413, shared('PayloadTooLarge'));
    add(415, shared('UnsupportedMediaType'));
  }
  if (spec.access !== 'public') {
    add(401, shared('InvalidToken'));
    add(403, shared('InsufficientScope'));
    add(503, shared('TemporarilyUnavailable'));
  }
  add(500, shared('ServerError'));

  const ordered = Object.fromEntries(
    Object.keys(responses).map(Number).sort((a, b) => a - b).map((status) => [String(status), responses[status]]),
  );
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description !== undefined && { description: spec.description }),
    tags: [spec.tag],
    security: SECURITY[spec.access],
    ...(spec.parameters !== undefined && spec.parameters.length > 0 && { parameters: spec.parameters.map((name) => ref('parameters', name)) }),
    ...(spec.body !== undefined && {
      requestBody: { required: spec.bodyRequired ?? false, content: jsonContent(schema(spec.body)) },
    }),
    responses: ordered,
  };
}

const KEY_PARAMS = ['app_id', 'key_type'] as const;
const PAGE_PARAMS = ['limit', 'cursor'] as const;

const applicationNotFound = () => errorResponse('No such application, or one the caller does not own.', ['application_not_found']);

/** An owner's change to a BLOCKED application: only an admin may change it until the block is lifted. */
const blockedOrScope = (more = '', codes: string[] = []) => errorResponse(
  `The token lacks the scope (\`insufficient_scope\`), or an admin has blocked the application: its owner may read it but not change it (\`application_blocked\`)${more}.`,
  ['insufficient_scope', 'application_blocked', ...codes],
  AUTH_CHALLENGE,
);

function paths(): Record<string, Record<string, Json>> {
  return {
    '/openapi.json': {
      get: operation({
        operationId: 'getOpenApiDocument', tag: 'meta', access: 'public',
        summary: 'This OpenAPI 3.1 description',
        responses: { 200: jsonResponse('The OpenAPI document.', { type: 'object' }) },
      }),
    },
    '/applications': {
      post: operation({
        operationId: 'createApplication', tag: 'applications', access: 'owner',
        summary: 'Create an application',
        description: 'Creates an application owned by the caller; an admin may name another `owner`.',
        body: 'ApplicationCreate', bodyRequired: true,
        responses: {
          201: jsonResponse('The created application.', schema('Application'), { Location: ref('headers', 'Location') }),
          409: errorResponse('The owner already has an application with this name.', ['application_name_taken']),
        },
      }),
      get: operation({
        operationId: 'listApplications', tag: 'applications', access: 'owner',
        summary: 'List applications',
        description: 'An owner sees their own applications; an admin sees all.',
        parameters: PAGE_PARAMS,
        responses: {
          200: jsonResponse('A page of applications.', schema('ApplicationPage')),
          400: errorResponse('A bad `limit` or `cursor`.', ['invalid_request']),
        },
      }),
    },
    '/applications/{app_id}': {
      get: operation({
        operationId: 'getApplication', tag: 'applications', access: 'owner',
        summary: 'Read an application, with its keys',
        parameters: ['app_id'],
        responses: {
          200: jsonResponse('The application.', schema('Application')),
          404: applicationNotFound(),
        },
      }),
      patch: operation({
        operationId: 'updateApplication', tag: 'applications', access: 'owner',
        summary: 'Rename or describe an application; admin: block or unblock it',
        description: 'Changing `status` is mirrored into the bound clients\' records at once.',
        parameters: ['app_id'], body: 'ApplicationPatch',
        responses: {
          200: jsonResponse('The updated application.', schema('Application')),
          403: blockedOrScope(', or an owner sent `status` (`insufficient_scope`)'),
          404: applicationNotFound(),
          409: errorResponse('The owner already has an application with this name.', ['application_name_taken']),
        },
      }),
      delete: operation({
        operationId: 'deleteApplication', tag: 'applications', access: 'owner',
        summary: 'Delete an application',
        description: 'Provided clients are unbound and kept (they may be bound again); generated clients are deleted.',
        parameters: ['app_id'],
        responses: {
          204: noContent('Deleted.'),
          403: blockedOrScope(),
          404: applicationNotFound(),
        },
      }),
    },
    '/applications/{app_id}/keys/{key_type}': {
      put: operation({
        operationId: 'provideKeys', tag: 'keys', access: 'owner',
        summary: 'Provide keys: bind an existing client after verifying its secret',
        description: 'Verifies the client\'s secret with the provider\'s own comparison and expiry check, then binds it. '
          + 'An unknown client and a wrong secret get the same answer. Failed attempts are throttled per caller and client and per client. '
          + 'Only when the server enables provide keys.',
        parameters: KEY_PARAMS, body: 'ProvideKeysRequest', bodyRequired: true,
        responses: {
          200: jsonResponse('This exact binding already existed.', schema('Binding')),
          201: jsonResponse('The client is now bound.', schema('Binding')),
          400: errorResponse('A bad key type, an unknown field, or a malformed `client_id` or `client_secret`.', ['invalid_request']),
          401: errorResponse('No valid access token (`invalid_token`), or the client is unknown or its secret wrong or expired (`invalid_client`).', ['invalid_token', 'invalid_client'], AUTH_CHALLENGE),
          403: blockedOrScope(', or providing keys is not enabled on this server (`provide_keys_disabled`)', ['provide_keys_disabled']),
          404: errorResponse('No such application, or one the caller does not own (`binding_not_found` only if the binding is removed while being read back).', ['application_not_found', 'binding_not_found']),
          409: errorResponse('The client is bound elsewhere, the application already has keys of this type, or the client is statically configured.', ['client_already_bound', 'key_type_already_bound', 'client_is_static']),
          429: errorResponse('Too many failed attempts; try again after `Retry-After` seconds. A throttled caller gets this answer before any secret is compared.', ['too_many_attempts'], RETRY_AFTER),
        },
      }),
      post: operation({
        operationId: 'generateKeys', tag: 'keys', access: 'owner',
        summary: 'Generate keys: create a new client bound to the application',
        description: 'The response carries the new client\'s secret, shown only once.',
        parameters: KEY_PARAMS, body: 'GenerateKeysRequest',
        responses: {
          201: jsonResponse('The new client, bound.', schema('GeneratedKeys')),
          400: errorResponse('A bad key type or request (`invalid_request`, also for `client_id`, `client_secret`, `client_secret_expires_at` or `client_id_issued_at` in the body), or metadata the provider\'s client schema rejects, a management scope, or a `client_credentials` client with `token_endpoint_auth_method` `none`.', ['invalid_request', 'invalid_client_metadata', 'invalid_redirect_uri']),
          403: blockedOrScope(),
          404: applicationNotFound(),
          409: errorResponse('The application already has keys of this type.', ['key_type_already_bound']),
        },
      }),
      get: operation({
        operationId: 'getBinding', tag: 'keys', access: 'owner',
        summary: 'Read the binding of a key type (never a secret)',
        parameters: KEY_PARAMS,
        responses: {
          200: jsonResponse('The binding.', schema('Binding')),
          400: errorResponse('A bad key type.', ['invalid_request']),
          404: errorResponse('No such application (or not the caller\'s), or no keys of this type.', ['application_not_found', 'binding_not_found']),
        },
      }),
      delete: operation({
        operationId: 'unbindKeys', tag: 'keys', access: 'owner',
        summary: 'Unbind the keys of a key type',
        description: 'A provided client is unbound and kept; a generated client is deleted.',
        parameters: KEY_PARAMS,
        responses: {
          204: noContent('Unbound.'),
          400: errorResponse('A bad key type.', ['invalid_request']),
          403: blockedOrScope(),
          404: errorResponse('No such application (or not the caller\'s), or no keys of this type.', ['application_not_found', 'binding_not_found']),
        },
      }),
    },
    '/applications/{app_id}/keys/{key_type}/secret': {
      post: operation({
        operationId: 'rotateSecret', tag: 'keys', access: 'owner',
        summary: 'Give a generated client a new secret',
        description: 'The old secret stops working at once. Provided clients keep the secret they were created with.',
        parameters: KEY_PARAMS,
        responses: {
          200: jsonResponse('The new secret, shown once.', schema('SecretRotation')),
          400: errorResponse('A bad key type.', ['invalid_request']),
          403: blockedOrScope(),
          404: errorResponse('No such application (or not the caller\'s), or no keys of this type.', ['application_not_found', 'binding_not_found']),
          409: errorResponse('The client was provided from elsewhere (`client_managed_externally`: rotate it where it was created), or it kept changing during the rotation (`conflict`: try again).', ['client_managed_externally', 'conflict']),
        },
      }),
    },
    '/clients': {
      get: operation({
        operationId: 'listClients', tag: 'clients', access: 'admin',
        summary: 'List registered clients',
        parameters: PAGE_PARAMS,
        responses: {
          200: jsonResponse('A page of clients.', schema('ClientPage')),
          400: errorResponse('A bad `limit` or `cursor`.', ['invalid_request']),
        },
      }),
    },
    '/clients/{client_id}': {
      put: operation({
        operationId: 'registerClient', tag: 'clients', access: 'admin',
        summary: 'Register or replace a client created elsewhere (out-of-band)',
        description: 'Keeps the given `client_id` and `client_secret`. Replacing a client keeps its binding.',
        parameters: ['client_id'], body: 'ClientMetadata', bodyRequired: true,
        responses: {
          200: jsonResponse('The client was replaced.', schema('ClientView')),
          201: jsonResponse('The client was registered.', schema('ClientView')),
          400: errorResponse('A bad `client_id` or request (`invalid_request`, also when the body\'s `client_id` differs from the path), or metadata the provider\'s client schema rejects, a management scope, or a `client_credentials` client with `token_endpoint_auth_method` `none`.', ['invalid_request', 'invalid_client_metadata', 'invalid_redirect_uri']),
          409: errorResponse('The client is statically configured in the provider.', ['client_is_static']),
        },
      }),
      get: operation({
        operationId: 'getClient', tag: 'clients', access: 'admin',
        summary: 'Read a client\'s metadata (without secret) and binding',
        parameters: ['client_id'],
        responses: {
          200: jsonResponse('The client.', schema('ClientView')),
          400: errorResponse('A bad `client_id`.', ['invalid_request']),
          404: errorResponse('No such client.', ['client_not_found']),
        },
      }),
      delete: operation({
        operationId: 'deleteClient', tag: 'clients', access: 'admin',
        summary: 'Remove a client',
        description: 'A bound client is removed only with `force=true`, which removes its binding too.',
        parameters: ['client_id', 'force'],
        responses: {
          204: noContent('Removed.'),
          400: errorResponse('A bad `client_id` or `force`.', ['invalid_request']),
          404: errorResponse('No such client.', ['client_not_found']),
          409: errorResponse('The client is bound and `force=true` was not given.', ['client_already_bound']),
        },
      }),
    },
    '/clients/{client_id}/attempts': {
      delete: operation({
        operationId: 'clearFailedAttempts', tag: 'clients', access: 'admin',
        summary: 'Forget the failed provide-keys attempts counted against a client',
        description: 'Clears the client\'s per-client window (failures from every caller), so that a client locked out of '
          + 'provide keys by many callers\' failures can be provided again at once. Each caller\'s own window stays. '
          + 'Answers 204 whether or not there were failures; the client need not exist.',
        parameters: ['client_id'],
        responses: {
          204: noContent('Forgotten.'),
          400: errorResponse('A bad `client_id`.', ['invalid_request']),
        },
      }),
    },
  };
}

// ---- the document --------------------------------------------------------------------------------

const DESCRIPTION = [
  'Provide Keys for node-oidc-provider: out-of-band OAuth client registration and an application-binding registry.',
  '',
  'JSON in and out. Every error is `{"error": "<code>", "error_description": "<text>"}`. Every response carries',
  '`Cache-Control: no-store`. A path under the prefix that matches no route answers 404 `not_found`; a known path',
  'with another method answers 405 `invalid_request`.',
].join('\n');

export function openApiDocument(prefix: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'oidc-provider-appkeys management API',
      version: API_VERSION,
      description: DESCRIPTION,
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: prefix }],
    tags: [
      { name: 'applications', description: 'Applications owned by developers.' },
      { name: 'keys', description: 'Binding OAuth clients to applications: provide, generate, read, unbind, rotate.' },
      { name: 'clients', description: 'Admin only: out-of-band registration of clients created elsewhere.' },
      { name: 'meta', description: 'This description.' },
    ],
    security: SECURITY.owner,
    paths: paths(),
    components: {
      schemas: schemas(),
      parameters: parameters(),
      headers: headers(),
      responses: sharedResponses(),
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An access token issued by this provider (an AccessToken or ClientCredentials record), with one of two scopes:\n'
            + `- \`${OWNER_SCOPE}\` with a subject: an owner, who sees and changes only their own applications;\n`
            + `- \`${ADMIN_SCOPE}\`: an admin, who may act on every application and on out-of-band clients (\`/clients\`).\n`
            + 'No or a bad token gives 401 `invalid_token`; a missing scope 403 `insufficient_scope`. '
            + 'A server may replace this check with its own (the `authenticate` option).',
        },
      },
    },
  };
}
