/**
 * The routes of third-party issuers (admin) and of resolution for gateways, in the route table's form
 * (route-table.ts appends them): the router and the OpenAPI document are made from these too.
 */

import * as handle from './handlers.js';
import { JWT_MAX } from '../validate.js';
import { AUTH_CHALLENGE, errorResponse, jsonResponse, noContent, RETRY_AFTER, schema } from './openapi-parts.js';
import { route, type Route } from './route.js';

const issuerUnavailable = (what: string) =>
  errorResponse(
    `The issuer did not answer within the bound, or answered with a server error (${what}); nothing was ` +
      'changed. Try again after `Retry-After` seconds. Also a store outage.',
    ['temporarily_unavailable'],
    RETRY_AFTER,
  );

const resolution = () =>
  jsonResponse(
    "The application the client is bound to. `status` is the application's: a gateway should refuse `BLOCKED`.",
    schema('Resolution'),
  );

export const ISSUER_ROUTES: readonly Route[] = [
  route({
    method: 'get',
    path: '/issuers',
    access: 'admin',
    handler: handle.listIssuers,
    operation: {
      operationId: 'listIssuers',
      tag: 'issuers',
      summary: 'List third-party issuers',
      responses: { 200: jsonResponse('Every registered issuer, in issuer_id order.', schema('IssuerList')) },
    },
  }),
  route({
    method: 'put',
    path: '/issuers/:issuer_id',
    access: 'admin',
    handler: handle.registerIssuer,
    operation: {
      operationId: 'registerIssuer',
      tag: 'issuers',
      summary: 'Register or replace a third-party issuer',
      description:
        "Reads the issuer's metadata (RFC 8414 `/.well-known/oauth-authorization-server`, then OpenID " +
        '`/.well-known/openid-configuration`), requires its `issuer` to equal the one given exactly and every ' +
        "endpoint kept to be on the issuer's host, and keeps the token, JWKS, revocation and introspection " +
        'endpoints. HTTPS only (plain HTTP to a loopback host only when the server allows it); redirects are not ' +
        'followed; every call is bounded in time and size.',
      body: 'IssuerRegistration',
      bodyRequired: true,
      responses: {
        200: jsonResponse('The issuer was replaced, or was already so.', schema('Issuer')),
        201: jsonResponse('The issuer was registered.', schema('Issuer')),
        400: errorResponse(
          'A bad `issuer_id` or body (`invalid_request`), or an issuer whose URL or metadata cannot be used: ' +
            'not HTTPS, a redirect, a mismatched `issuer`, an endpoint on another host, a body too large ' +
            '(`invalid_issuer`).',
          ['invalid_request', 'invalid_issuer'],
        ),
        409: errorResponse(
          'Another issuer_id is registered for this issuer (`issuer_taken`), or clients of this issuer are bound ' +
            'and its URL or verification would change (`issuer_in_use`).',
          ['issuer_taken', 'issuer_in_use'],
        ),
        503: issuerUnavailable('its metadata'),
      },
    },
  }),
  route({
    method: 'get',
    path: '/issuers/:issuer_id',
    access: 'admin',
    handler: handle.getIssuer,
    operation: {
      operationId: 'getIssuer',
      tag: 'issuers',
      summary: 'Read a third-party issuer',
      responses: {
        200: jsonResponse('The issuer.', schema('Issuer')),
        400: errorResponse('A bad `issuer_id`.', ['invalid_request']),
        404: errorResponse('No such issuer.', ['issuer_not_found']),
      },
    },
  }),
  route({
    method: 'delete',
    path: '/issuers/:issuer_id',
    access: 'admin',
    handler: handle.deleteIssuer,
    operation: {
      operationId: 'deleteIssuer',
      tag: 'issuers',
      summary: 'Remove a third-party issuer',
      description: 'Refused while clients of the issuer are bound to applications.',
      responses: {
        204: noContent('Removed.'),
        400: errorResponse('A bad `issuer_id`.', ['invalid_request']),
        404: errorResponse('No such issuer.', ['issuer_not_found']),
        409: errorResponse('Clients of this issuer are bound: unbind them first.', ['issuer_in_use']),
      },
    },
  }),

  // ---- resolution for gateways -------------------------------------------------------------------

  route({
    method: 'get',
    path: '/bindings/lookup',
    access: 'resolve',
    handler: handle.lookupBinding,
    operation: {
      operationId: 'lookupBinding',
      tag: 'resolve',
      summary: 'The application a client is bound to',
      description:
        'By `client_id`, and `iss` for a client of a registered third-party issuer (omitted: a client of this ' +
        'provider).',
      query: ['iss', 'lookup_client_id'],
      responses: {
        200: resolution(),
        400: errorResponse('A bad or missing `client_id`, or a bad `iss`.', ['invalid_request']),
        404: errorResponse('No registered issuer has this `iss` (`issuer_not_found`), or the client is not bound.', [
          'issuer_not_found',
          'client_not_bound',
        ]),
      },
    },
  }),
  route({
    method: 'post',
    path: '/resolve',
    access: 'resolve',
    handler: handle.resolveToken,
    operation: {
      operationId: 'resolveToken',
      tag: 'resolve',
      summary: 'The application of the client a JWT access token names',
      description:
        "Verifies a JWT access token of a registered third-party issuer against that issuer's published keys " +
        '(signature, `iss`, `exp`, `nbf`), then answers with the binding of the client it names (`client_id`, ' +
        'else `azp`). The token itself is never stored or forwarded.',
      body: 'ResolveRequest',
      bodyRequired: true,
      responses: {
        200: resolution(),
        400: errorResponse(
          'A body that is not JSON or not `{token}`, a `token` that is not a string of 1 to ' +
            `${JWT_MAX} characters, or a verified token whose \`client_id\` (or \`azp\`) is not a valid client id.`,
          ['invalid_request'],
        ),
        // a 401 here is about the token resolved, not the caller's: both share the code space of the errors;
        // only the caller's own (`invalid_token`) carries the Bearer challenge
        401: errorResponse(
          "The caller's Bearer token is missing or invalid (`invalid_token`), or the token to resolve cannot be " +
            'vouched for: it is no JWT, its header or claims cannot be read, or it lacks `iss` or `exp` (`malformed_token`); no ' +
            'registered issuer issued it, or that issuer publishes no keys (`unknown_issuer`); its signature does ' +
            "not verify with the issuer's keys or is not asymmetric (`invalid_signature`); it has expired or is " +
            'not valid yet (`token_expired`); it names no client (`no_client`).',
          ['invalid_token', 'malformed_token', 'unknown_issuer', 'invalid_signature', 'token_expired', 'no_client'],
          AUTH_CHALLENGE,
        ),
        404: errorResponse('The client the token names is not bound.', ['client_not_bound']),
        503: issuerUnavailable('its keys, when they are not cached'),
      },
    },
  }),
];
