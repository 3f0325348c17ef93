/**
 * The OpenAPI 3.1 description of the management API, served at `<prefix>/openapi.json`.
 *
 * Its paths are made from the route table (route-table.ts): every operation states there its own
 * success and route-specific error responses, and `operation()` adds here the ones every route of its
 * kind shares (authentication, body reading, store outages, unexpected failures) as references to
 * `components.responses`. Each error response lists its `error` codes in its description and as an
 * `enum` on the body's `error` field. Every limit is the one the server applies, imported.
 */

import { BINDING_PROPERTY } from '../client-record.js';
import { ADMIN_SCOPE, OWNER_SCOPE, RESOLVE_SCOPE } from '../scopes.js';
import { CURSOR_MAX, CURSOR_PATTERN, DEFAULT_LIMIT, MAX_LIMIT, MIN_LIMIT } from '../pagination.js';
import { APPLICATION_STATUSES, KEY_TYPES } from '../types.js';
import {
  APPLICATION_ID_MAX,
  CLIENT_ID_MAX,
  CLIENT_ID_PATTERN,
  DESCRIPTION_MAX,
  NAME_MAX,
  OWNER_MAX,
  JWT_MAX,
  SECRET_MAX,
} from '../validate.js';
import { VERSION } from '../version.js';
import { externalBindingProperties, issuerParameters, issuerSchemas } from './openapi-issuers.js';
import {
  AUTH_CHALLENGE,
  errorResponse,
  forbidden,
  jsonContent,
  object,
  ref,
  RETRY_AFTER,
  schema,
  string,
  stringList,
  timestamp,
  uri,
  uriList,
  type Json,
  type PathParameterName,
  type QueryParameterName,
} from './openapi-parts.js';
import { pathParams, templateOf, type Access, type Route } from './route.js';
import { ROUTES } from './route-table.js';

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

const SECURITY: Record<Access, Json[]> = {
  public: [],
  owner: [{ bearer: [OWNER_SCOPE] }, { bearer: [ADMIN_SCOPE] }],
  admin: [{ bearer: [ADMIN_SCOPE] }],
  resolve: [{ bearer: [RESOLVE_SCOPE] }, { bearer: [ADMIN_SCOPE] }],
};

// ---- schemas -------------------------------------------------------------------------------------

const clientIdSchema = (description: string): Json =>
  string(description, { minLength: 1, maxLength: CLIENT_ID_MAX, pattern: CLIENT_ID_PATTERN });
const clientSecretSchema = (description: string): Json => string(description, { minLength: 1, maxLength: SECRET_MAX });
const nameSchema = (): Json =>
  string(`1–${NAME_MAX} characters, no control characters; unique per owner regardless of case and Unicode form.`, {
    minLength: 1,
    maxLength: NAME_MAX,
  });
const descriptionSchema = (): Json => string(`0–${DESCRIPTION_MAX} characters.`, { maxLength: DESCRIPTION_MAX });

/** The RFC 7591 client metadata fields (and the OpenID Connect ones most often set), as the provider reads them. */
function rfc7591Properties(): Record<string, Json> {
  return {
    redirect_uris: uriList('Redirection URIs (required for the authorization_code and implicit grants).'),
    token_endpoint_auth_method: string(
      'How the client authenticates at the token endpoint, e.g. client_secret_basic, ' +
        'client_secret_post, private_key_jwt, none.',
    ),
    grant_types: stringList(
      'OAuth grant types the client may use, e.g. authorization_code, refresh_token, client_credentials.',
    ),
    response_types: stringList('OAuth response types the client may use, e.g. code.'),
    client_name: string('Human-readable name of the client.'),
    client_uri: uri('Home page of the client.'),
    logo_uri: uri('Logo of the client.'),
    scope: string('Space-separated scope values the client may request.'),
    contacts: stringList('Ways to contact the people responsible for the client, usually e-mail addresses.'),
    tos_uri: uri('Terms of service of the client.'),
    policy_uri: uri('Privacy policy of the client.'),
    jwks_uri: uri("URL of the client's JSON Web Key Set."),
    jwks: object({ keys: { type: 'array', items: { type: 'object' } } }, ['keys'], {
      description: "The client's JSON Web Key Set, by value.",
    }),
    software_id: string('Identifier of the client software.'),
    software_version: string('Version of the client software.'),
    application_type: string('OpenID Connect application type: web or native.', { enum: ['web', 'native'] }),
    post_logout_redirect_uris: uriList('OpenID Connect RP-initiated logout redirection URIs.'),
  };
}

/** What the provider's client schema always puts in the metadata it normalizes. */
const PUBLIC_METADATA_REQUIRED = ['client_id', 'grant_types', 'response_types', 'token_endpoint_auth_method'] as const;

const SERVER_OWNED_NOTE =
  `The binding property \`${BINDING_PROPERTY}\` is server-owned: ` + `it is ignored in requests and never returned.`;

function schemas(): Record<string, Json> {
  const bindingProperties: Record<string, Json> = {
    application_id: string('The application the client is bound to.'),
    key_type: schema('KeyType'),
    client_id: clientIdSchema('The bound client.'),
    origin: string(
      '`provided`: an existing client whose keys were proven; `generated`: ' +
        'created for the application (deleted with it).',
      { enum: ['provided', 'generated'] },
    ),
    bound_at: timestamp('When the binding was made.'),
    bound_by: string(
      "Who made the binding: an owner's account id, or for an admin `account:<id>` / `client:<client_id>`.",
    ),
  };
  const bindingRequired = Object.keys(bindingProperties);
  const anyBindingProperties = { ...bindingProperties, ...externalBindingProperties() };
  const metadataProperties = rfc7591Properties();

  return {
    KeyType: string('The kind of keys: at most one client per key type per application.', { enum: [...KEY_TYPES] }),
    ApplicationStatus: string(
      "`BLOCKED` applications' clients get `invalid_client` at the token endpoint and their tokens stop " +
        'introspecting as active.',
      { enum: [...APPLICATION_STATUSES] },
    ),
    Binding: object(anyBindingProperties, bindingRequired, {
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
          description:
            'Account id of the owner; `null` for an application an admin created for no account ' +
            '(only admins see and change it).',
        },
        status: schema('ApplicationStatus'),
        created_at: timestamp('When the application was created.'),
        updated_at: timestamp('When the application was last changed.'),
        keys: object(Object.fromEntries(KEY_TYPES.map((type) => [type, schema('Binding')])), [], {
          description: 'The bindings of the application, by key type; a key type without keys is absent.',
          additionalProperties: false,
        }),
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
          description:
            `Admin only: the owner's account id, 1–${OWNER_MAX} characters without control characters. ` +
            'Absent or `null`: the application belongs to no account (an owner creating one always owns it). ' +
            'An owner sending it gets 400 `invalid_request`.',
        },
      },
      ['name'],
      {
        description: 'A new application. Unknown fields are rejected with 400 `invalid_request`.',
        additionalProperties: false,
      },
    ),
    ApplicationPatch: object(
      {
        name: nameSchema(),
        description: descriptionSchema(),
        status: {
          ...schema('ApplicationStatus'),
          description: 'Admin only. An owner sending it gets 403 `insufficient_scope`.',
        },
      },
      [],
      {
        description:
          'Fields to change; absent fields are kept. Unknown fields are rejected with 400 `invalid_request`.',
        additionalProperties: false,
      },
    ),
    ProvideKeysRequest: object(
      {
        client_id: clientIdSchema("The existing client's id (at its issuer, with `issuer_id`)."),
        client_secret: clientSecretSchema(
          "The existing client's secret, proving possession. Checked in constant time (or by the issuer) and " +
            'never stored by the registry.',
        ),
        client_assertion: string(
          'Instead of a secret: a signed JWT (RFC 7523). For a client of this provider with registered keys: ' +
            '`iss` = `sub` = client_id, `aud` = the URL of this request, `exp` within 5 minutes, a `jti` used ' +
            "once. For a client of a third-party issuer: an assertion made for that issuer's token endpoint, " +
            'relayed to it.',
          { minLength: 1, maxLength: JWT_MAX },
        ),
        issuer_id: string(
          'A registered third-party issuer whose client this is: possession is proven at that issuer. ' +
            'Omitted: a client of this provider.',
        ),
      },
      ['client_id'],
      {
        description:
          'The keys of an existing client to bind: `client_secret` or `client_assertion` (neither only for an ' +
          'issuer registered with `verification: none`). Unknown fields are rejected with 400 `invalid_request`.',
        additionalProperties: false,
      },
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
        description:
          "Client metadata (RFC 7591) of the client to create, validated by the provider's own client schema. " +
          'Without `grant_types` the client gets `client_credentials` only, with no redirect URIs or response types. ' +
          'Other metadata the provider recognizes is accepted. ' +
          SERVER_OWNED_NOTE,
        additionalProperties: true,
      },
    ),
    ClientPublicMetadata: object(
      { client_id: clientIdSchema("The client's id."), ...metadataProperties },
      PUBLIC_METADATA_REQUIRED,
      {
        description:
          'Client metadata as the provider normalized it, without the secret. Other metadata the ' +
          'provider recognizes may appear.',
        additionalProperties: true,
      },
    ),
    GeneratedKeys: object(
      {
        ...bindingProperties,
        origin: { const: 'generated', description: 'Always `generated` here.' },
        client_secret: string("The new client's secret. Shown once: store it now."),
        client: schema('ClientPublicMetadata'),
      },
      [...bindingRequired, 'client_secret', 'client'],
      {
        description:
          'The binding of a generated client (the Binding fields), its secret ' +
          '(shown only in this response) and its metadata.',
        additionalProperties: false,
      },
    ),
    SecretRotation: object(
      {
        client_id: clientIdSchema('The generated client.'),
        client_secret: string('Its new secret, replacing the old one at once. Shown once: store it now.'),
      },
      ['client_id', 'client_secret'],
      { description: "A generated client's new secret.", additionalProperties: false },
    ),
    ClientMetadata: object(
      {
        ...metadataProperties,
        client_id: clientIdSchema("Optional; when given it must equal the path's client_id."),
        client_secret: clientSecretSchema(
          'The secret the client was given where it was created. Required unless `token_endpoint_auth_method` ' +
            'needs none (e.g. `none`, `private_key_jwt`).',
        ),
        client_secret_expires_at: {
          type: 'integer',
          minimum: 0,
          description: 'When the secret expires, in seconds since the epoch; 0: never.',
        },
      },
      [],
      {
        description:
          'Metadata (RFC 7591) of a client created elsewhere, secret included, ' +
          "validated by the provider's own client schema. " +
          'Additional properties the provider recognizes are allowed. ' +
          SERVER_OWNED_NOTE,
        additionalProperties: true,
      },
    ),
    ClientView: object(
      {
        client_id: clientIdSchema("The client's id."),
        ...metadataProperties,
        client_secret: forbidden('Never returned.'),
        binding: {
          anyOf: [schema('Binding'), { type: 'null' }],
          description: "The client's binding, or null when unbound.",
        },
        registered_at: timestamp('When the client was first registered here.'),
        updated_at: timestamp('When the client record last changed.'),
      },
      [...PUBLIC_METADATA_REQUIRED, 'binding', 'registered_at', 'updated_at'],
      {
        description:
          'A registered client: its metadata as the provider normalized it, without the secret, plus its binding. ' +
          'Other metadata the provider recognizes may appear.',
        additionalProperties: true,
      },
    ),
    ...issuerSchemas(),
    ApplicationPage: page('Application', 'A page of applications in creation order.'),
    ClientPage: page('ClientView', 'A page of clients in client_id order.'),
    Error: object(
      {
        error: string('Error code.'),
        error_description: string('Human-readable explanation.'),
      },
      ['error', 'error_description'],
      {
        description: 'The OAuth error shape, as oidc-provider uses it. Nothing else from a failure reaches the client.',
        additionalProperties: false,
      },
    ),
  };
}

// ---- parameters, headers, shared responses -------------------------------------------------------

function parameters(): Record<PathParameterName | QueryParameterName, Json> {
  return {
    ...issuerParameters(),
    app_id: {
      name: 'app_id',
      in: 'path',
      required: true,
      description: "Application id. Another owner's application answers 404 like a missing one.",
      schema: { type: 'string', minLength: 1, maxLength: APPLICATION_ID_MAX },
    },
    key_type: {
      name: 'key_type',
      in: 'path',
      required: true,
      description: 'Key type; anything else gives 400 `invalid_request`.',
      schema: schema('KeyType'),
    },
    client_id: {
      name: 'client_id',
      in: 'path',
      required: true,
      description:
        `Client id: 1–${CLIENT_ID_MAX} printable ASCII characters (percent-encoded in the path); ` +
        `otherwise 400 \`invalid_request\`.`,
      schema: { type: 'string', minLength: 1, maxLength: CLIENT_ID_MAX, pattern: CLIENT_ID_PATTERN },
    },
    limit: {
      name: 'limit',
      in: 'query',
      required: false,
      description:
        `Page size, ${MIN_LIMIT}–${MAX_LIMIT} (default ${DEFAULT_LIMIT}); ` + `otherwise 400 \`invalid_request\`.`,
      schema: { type: 'integer', minimum: MIN_LIMIT, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
    },
    cursor: {
      name: 'cursor',
      in: 'query',
      required: false,
      description: 'Opaque `next_cursor` of the previous page; an invalid one gives 400 `invalid_request`.',
      schema: { type: 'string', minLength: 1, maxLength: CURSOR_MAX, pattern: CURSOR_PATTERN },
    },
    force: {
      name: 'force',
      in: 'query',
      required: false,
      description:
        'Delete the client even when it is bound, removing its binding. Only `true` or `false`; ' +
        'otherwise 400 `invalid_request`.',
      schema: { type: 'boolean', default: false },
    },
  };
}

function headers(): Record<string, Json> {
  return {
    RetryAfter: { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 0 } },
    WWWAuthenticate: {
      description: 'The Bearer challenge, e.g. `Bearer realm="appkeys", error="invalid_token"`.',
      schema: { type: 'string' },
    },
    Location: { description: 'Path of the created application.', schema: { type: 'string' } },
  };
}

function sharedResponses(): Record<string, Json> {
  return {
    InvalidRequest: errorResponse('The request is malformed: a bad field, parameter or JSON body.', [
      'invalid_request',
    ]),
    InvalidToken: errorResponse(
      'No Bearer access token, or one that is unknown, revoked or expired.',
      ['invalid_token'],
      AUTH_CHALLENGE,
    ),
    InsufficientScope: errorResponse(
      'The access token lacks the scope this operation needs.',
      ['insufficient_scope'],
      AUTH_CHALLENGE,
    ),
    PayloadTooLarge: errorResponse('The request body exceeds the configured limit (64 KiB by default).', [
      'invalid_request',
    ]),
    UnsupportedMediaType: errorResponse('A request body that is not `application/json`.', ['invalid_request']),
    ServerError: errorResponse('An unexpected failure; nothing of it is shown.', ['server_error']),
    TemporarilyUnavailable: errorResponse(
      "The key registry's store is unavailable; nothing was changed. Try again after `Retry-After` seconds.",
      ['temporarily_unavailable'],
      RETRY_AFTER,
    ),
  };
}

// ---- operations ----------------------------------------------------------------------------------

const shared = (name: string): Json => ref('responses', name);

function operation({ path, access, operation: spec }: Route): Json {
  const responses: Record<number, Json> = { ...spec.responses };
  const add = (status: number, response: Json) => {
    if (!(status in responses)) responses[status] = response;
  };
  if (spec.body) {
    add(400, shared('InvalidRequest'));
    add(413, shared('PayloadTooLarge'));
    add(415, shared('UnsupportedMediaType'));
  }
  if (access !== 'public') {
    add(401, shared('InvalidToken'));
    add(403, shared('InsufficientScope'));
    add(503, shared('TemporarilyUnavailable'));
  }
  add(500, shared('ServerError'));

  const ordered = Object.fromEntries(
    Object.keys(responses)
      .map(Number)
      .sort((a, b) => a - b)
      .map((status) => [String(status), responses[status]]),
  );
  const parameters = [...pathParams(path), ...(spec.query ?? [])];
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description !== undefined && { description: spec.description }),
    tags: [spec.tag],
    security: SECURITY[access],
    ...(parameters.length > 0 && { parameters: parameters.map((name) => ref('parameters', name)) }),
    ...(spec.body !== undefined && {
      requestBody: { required: spec.bodyRequired ?? false, content: jsonContent(schema(spec.body)) },
    }),
    responses: ordered,
  };
}

/** The route table's routes, by path template and method, in the table's order. */
function paths(): Record<string, Record<string, Json>> {
  const byTemplate: Record<string, Record<string, Json>> = {};
  for (const route of ROUTES) {
    const item = (byTemplate[templateOf(route.path)] ??= {});
    item[route.method] = operation(route);
  }
  return byTemplate;
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
      version: VERSION,
      description: DESCRIPTION,
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: prefix }],
    tags: [
      { name: 'applications', description: 'Applications owned by developers.' },
      { name: 'keys', description: 'Binding OAuth clients to applications: provide, generate, read, unbind, rotate.' },
      { name: 'clients', description: 'Admin only: out-of-band registration of clients created elsewhere.' },
      { name: 'issuers', description: 'Admin only: third-party issuers whose clients may be provided.' },
      { name: 'resolve', description: 'Gateways: the application a client or a JWT access token belongs to.' },
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
          description:
            'An access token issued by this provider (an AccessToken or ClientCredentials record), ' +
            'with one of three scopes:\n' +
            `- \`${OWNER_SCOPE}\` with a subject: an owner, who sees and changes only their own applications;\n` +
            `- \`${ADMIN_SCOPE}\`: an admin, who may act on every application and on out-of-band ` +
            `clients (\`/clients\`) and issuers (\`/issuers\`);\n` +
            `- \`${RESOLVE_SCOPE}\`: a gateway, which may only resolve clients and tokens to applications.\n` +
            'No or a bad token gives 401 `invalid_token`; a missing scope 403 `insufficient_scope`. ' +
            'A server may replace this check with its own (the `authenticate` option).',
        },
      },
    },
  };
}
