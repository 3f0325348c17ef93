/**
 * The management API's routes, each written once: the router (routes.ts), the OpenAPI document
 * (openapi.ts) and the tests' route list are all made from this table. In the document's order.
 */

import * as handle from './handlers.js';
import {
  AUTH_CHALLENGE,
  errorResponse,
  jsonResponse,
  noContent,
  ref,
  RETRY_AFTER,
  schema,
  type QueryParameterName,
} from './openapi-parts.js';
import { ISSUER_ROUTES } from './issuer-routes.js';
import { route, type Route } from './route.js';

const PAGE_QUERY: readonly QueryParameterName[] = ['limit', 'cursor'];

const applicationNotFound = () =>
  errorResponse('No such application, or one the caller does not own.', ['application_not_found']);

/** An owner's change to a BLOCKED application: only an admin may change it until the block is lifted. */
const blockedOrScope = (more = '', codes: string[] = []) =>
  errorResponse(
    `The token lacks the scope (\`insufficient_scope\`), or an admin has blocked the application: ` +
      `its owner may read it but not change it (\`application_blocked\`)${more}.`,
    ['insufficient_scope', 'application_blocked', ...codes],
    AUTH_CHALLENGE,
  );

export const ROUTES: readonly Route[] = [
  route({
    method: 'get',
    path: '/openapi.json',
    access: 'public',
    handler: handle.getOpenApiDocument,
    operation: {
      operationId: 'getOpenApiDocument',
      tag: 'meta',
      summary: 'This OpenAPI 3.1 description',
      responses: { 200: jsonResponse('The OpenAPI document.', { type: 'object' }) },
    },
  }),

  // ---- applications ------------------------------------------------------------------------------

  route({
    method: 'post',
    path: '/applications',
    access: 'owner',
    handler: handle.createApplication,
    operation: {
      operationId: 'createApplication',
      tag: 'applications',
      summary: 'Create an application',
      description: 'Creates an application owned by the caller; an admin may name another `owner`.',
      body: 'ApplicationCreate',
      bodyRequired: true,
      responses: {
        201: jsonResponse('The created application.', schema('Application'), { Location: ref('headers', 'Location') }),
        409: errorResponse('The owner already has an application with this name.', ['application_name_taken']),
      },
    },
  }),
  route({
    method: 'get',
    path: '/applications',
    access: 'owner',
    handler: handle.listApplications,
    operation: {
      operationId: 'listApplications',
      tag: 'applications',
      summary: 'List applications',
      description: 'An owner sees their own applications; an admin sees all.',
      query: PAGE_QUERY,
      responses: {
        200: jsonResponse('A page of applications.', schema('ApplicationPage')),
        400: errorResponse('A bad `limit` or `cursor`.', ['invalid_request']),
      },
    },
  }),
  route({
    method: 'get',
    path: '/applications/:app_id',
    access: 'owner',
    handler: handle.getApplication,
    operation: {
      operationId: 'getApplication',
      tag: 'applications',
      summary: 'Read an application, with its keys',
      responses: {
        200: jsonResponse('The application.', schema('Application')),
        404: applicationNotFound(),
      },
    },
  }),
  route({
    method: 'patch',
    path: '/applications/:app_id',
    access: 'owner',
    handler: handle.updateApplication,
    operation: {
      operationId: 'updateApplication',
      tag: 'applications',
      summary: 'Rename or describe an application; admin: block or unblock it',
      description: "Changing `status` is mirrored into the bound clients' records at once.",
      body: 'ApplicationPatch',
      responses: {
        200: jsonResponse('The updated application.', schema('Application')),
        403: blockedOrScope(', or an owner sent `status` (`insufficient_scope`)'),
        404: applicationNotFound(),
        409: errorResponse('The owner already has an application with this name.', ['application_name_taken']),
      },
    },
  }),
  route({
    method: 'delete',
    path: '/applications/:app_id',
    access: 'owner',
    handler: handle.deleteApplication,
    operation: {
      operationId: 'deleteApplication',
      tag: 'applications',
      summary: 'Delete an application',
      description: 'Provided clients are unbound and kept (they may be bound again); generated clients are deleted.',
      responses: {
        204: noContent('Deleted.'),
        403: blockedOrScope(),
        404: applicationNotFound(),
      },
    },
  }),

  // ---- keys --------------------------------------------------------------------------------------

  route({
    method: 'put',
    path: '/applications/:app_id/keys/:key_type',
    access: 'owner',
    handler: handle.provideKeys,
    operation: {
      operationId: 'provideKeys',
      tag: 'keys',
      summary: 'Provide keys: bind an existing client after verifying possession',
      description:
        "Verifies the client's secret with the provider's own comparison and expiry check, or a signed " +
        "assertion (RFC 7523) with the client's registered keys, `aud` this request's URL, used once; for a " +
        'client of a third-party issuer (`issuer_id`), a client_credentials grant at that issuer, whose token is ' +
        'thrown away. Then binds it. An unknown client and a wrong proof get the same answer. Failed attempts ' +
        'are throttled per caller and client and per client. No secret is stored. ' +
        'Only when the server enables provide keys.',
      body: 'ProvideKeysRequest',
      bodyRequired: true,
      responses: {
        200: jsonResponse('This exact binding already existed.', schema('Binding')),
        201: jsonResponse('The client is now bound.', schema('Binding')),
        400: errorResponse(
          'A bad key type, an unknown field, a malformed `client_id`, `client_secret`, `client_assertion` or ' +
            "`issuer_id`, both a secret and an assertion, or a proof the issuer's verification mode does not take " +
            "(`invalid_request`); or the issuer's registered token endpoint can no longer be used: not HTTPS " +
            "under this server's options, or an answer larger than the bound (`invalid_issuer`).",
          ['invalid_request', 'invalid_issuer'],
        ),
        401: errorResponse(
          'No valid access token (`invalid_token`), or the client is unknown or its secret or assertion wrong, ' +
            'expired or replayed, or the issuer refused it (`invalid_client`).',
          ['invalid_token', 'invalid_client'],
          AUTH_CHALLENGE,
        ),
        403: blockedOrScope(', or providing keys is not enabled on this server (`provide_keys_disabled`)', [
          'provide_keys_disabled',
        ]),
        404: errorResponse(
          'No such application, or one the caller does not own; no such issuer (`issuer_not_found`); ' +
            '`binding_not_found` only if the binding is removed while being read back.',
          ['application_not_found', 'issuer_not_found', 'binding_not_found'],
        ),
        409: errorResponse(
          'The client is bound elsewhere, the application already has keys of this type, ' +
            'or the client is statically configured.',
          ['client_already_bound', 'key_type_already_bound', 'client_is_static'],
        ),
        429: errorResponse(
          'Too many failed attempts; try again after `Retry-After` seconds. A throttled caller gets this answer ' +
            'before any secret is compared.',
          ['too_many_attempts'],
          RETRY_AFTER,
        ),
        503: errorResponse(
          'The store, or the third-party issuer, could not answer in time; nothing was changed. Try again after ' +
            '`Retry-After` seconds.',
          ['temporarily_unavailable'],
          RETRY_AFTER,
        ),
      },
    },
  }),
  route({
    method: 'post',
    path: '/applications/:app_id/keys/:key_type',
    access: 'owner',
    handler: handle.generateKeys,
    operation: {
      operationId: 'generateKeys',
      tag: 'keys',
      summary: 'Generate keys: create a new client bound to the application',
      description: "The response carries the new client's secret, shown only once.",
      body: 'GenerateKeysRequest',
      responses: {
        201: jsonResponse('The new client, bound.', schema('GeneratedKeys')),
        400: errorResponse(
          'A bad key type or request (`invalid_request`, also for `client_id`, `client_secret`, ' +
            '`client_secret_expires_at` or `client_id_issued_at` in the body), ' +
            "or metadata the provider's client schema rejects, a management scope, " +
            'or a `client_credentials` client with `token_endpoint_auth_method` `none`.',
          ['invalid_request', 'invalid_client_metadata', 'invalid_redirect_uri'],
        ),
        403: blockedOrScope(),
        404: applicationNotFound(),
        409: errorResponse('The application already has keys of this type.', ['key_type_already_bound']),
      },
    },
  }),
  route({
    method: 'get',
    path: '/applications/:app_id/keys/:key_type',
    access: 'owner',
    handler: handle.getBinding,
    operation: {
      operationId: 'getBinding',
      tag: 'keys',
      summary: 'Read the binding of a key type (never a secret)',
      responses: {
        200: jsonResponse('The binding.', schema('Binding')),
        400: errorResponse('A bad key type.', ['invalid_request']),
        404: errorResponse("No such application (or not the caller's), or no keys of this type.", [
          'application_not_found',
          'binding_not_found',
        ]),
      },
    },
  }),
  route({
    method: 'delete',
    path: '/applications/:app_id/keys/:key_type',
    access: 'owner',
    handler: handle.unbindKeys,
    operation: {
      operationId: 'unbindKeys',
      tag: 'keys',
      summary: 'Unbind the keys of a key type',
      description: 'A provided client is unbound and kept; a generated client is deleted.',
      responses: {
        204: noContent('Unbound.'),
        400: errorResponse('A bad key type.', ['invalid_request']),
        403: blockedOrScope(),
        404: errorResponse("No such application (or not the caller's), or no keys of this type.", [
          'application_not_found',
          'binding_not_found',
        ]),
      },
    },
  }),
  route({
    method: 'post',
    path: '/applications/:app_id/keys/:key_type/secret',
    access: 'owner',
    handler: handle.rotateSecret,
    operation: {
      operationId: 'rotateSecret',
      tag: 'keys',
      summary: 'Give a generated client a new secret',
      description: 'The old secret stops working at once. Provided clients keep the secret they were created with.',
      responses: {
        200: jsonResponse('The new secret, shown once.', schema('SecretRotation')),
        400: errorResponse('A bad key type.', ['invalid_request']),
        403: blockedOrScope(),
        404: errorResponse("No such application (or not the caller's), or no keys of this type.", [
          'application_not_found',
          'binding_not_found',
        ]),
        409: errorResponse(
          'The client was provided from elsewhere (`client_managed_externally`: rotate it where it was created), ' +
            'or it kept changing during the rotation (`conflict`: try again).',
          ['client_managed_externally', 'conflict'],
        ),
      },
    },
  }),

  // ---- out-of-band clients (admin) ---------------------------------------------------------------

  route({
    method: 'get',
    path: '/clients',
    access: 'admin',
    handler: handle.listClients,
    operation: {
      operationId: 'listClients',
      tag: 'clients',
      summary: 'List registered clients',
      query: PAGE_QUERY,
      responses: {
        200: jsonResponse('A page of clients.', schema('ClientPage')),
        400: errorResponse('A bad `limit` or `cursor`.', ['invalid_request']),
      },
    },
  }),
  route({
    method: 'put',
    path: '/clients/:client_id',
    access: 'admin',
    handler: handle.registerClient,
    operation: {
      operationId: 'registerClient',
      tag: 'clients',
      summary: 'Register or replace a client created elsewhere (out-of-band)',
      description: 'Keeps the given `client_id` and `client_secret`. Replacing a client keeps its binding.',
      body: 'ClientMetadata',
      bodyRequired: true,
      responses: {
        200: jsonResponse('The client was replaced.', schema('ClientView')),
        201: jsonResponse('The client was registered.', schema('ClientView')),
        400: errorResponse(
          "A bad `client_id` or request (`invalid_request`, also when the body's `client_id` differs from the " +
            "path), or metadata the provider's client schema rejects, a management scope, " +
            'or a `client_credentials` client with `token_endpoint_auth_method` `none`.',
          ['invalid_request', 'invalid_client_metadata', 'invalid_redirect_uri'],
        ),
        409: errorResponse('The client is statically configured in the provider.', ['client_is_static']),
      },
    },
  }),
  route({
    method: 'get',
    path: '/clients/:client_id',
    access: 'admin',
    handler: handle.getClient,
    operation: {
      operationId: 'getClient',
      tag: 'clients',
      summary: "Read a client's metadata (without secret) and binding",
      responses: {
        200: jsonResponse('The client.', schema('ClientView')),
        400: errorResponse('A bad `client_id`.', ['invalid_request']),
        404: errorResponse('No such client.', ['client_not_found']),
      },
    },
  }),
  route({
    method: 'delete',
    path: '/clients/:client_id',
    access: 'admin',
    handler: handle.deleteClient,
    operation: {
      operationId: 'deleteClient',
      tag: 'clients',
      summary: 'Remove a client',
      description: 'A bound client is removed only with `force=true`, which removes its binding too.',
      query: ['force'],
      responses: {
        204: noContent('Removed.'),
        400: errorResponse('A bad `client_id` or `force`.', ['invalid_request']),
        404: errorResponse('No such client.', ['client_not_found']),
        409: errorResponse('The client is bound and `force=true` was not given.', ['client_already_bound']),
      },
    },
  }),
  route({
    method: 'delete',
    path: '/clients/:client_id/attempts',
    access: 'admin',
    handler: handle.clearFailedAttempts,
    operation: {
      operationId: 'clearFailedAttempts',
      tag: 'clients',
      summary: 'Forget the failed provide-keys attempts counted against a client',
      description:
        "Clears the client's per-client window (failures from every caller), so that a client locked out of " +
        "provide keys by many callers' failures can be provided again at once. Each caller's own window stays. " +
        'Answers 204 whether or not there were failures; the client need not exist.',
      responses: {
        204: noContent('Forgotten.'),
        400: errorResponse('A bad `client_id`.', ['invalid_request']),
      },
    },
  }),
  ...ISSUER_ROUTES,
];
