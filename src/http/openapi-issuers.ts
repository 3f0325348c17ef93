/** The OpenAPI schemas and parameters of third-party issuers and resolution (see openapi.ts). */

import { APPLICATION_STATUSES, KEY_TYPES } from '../types.js';
import { VERIFICATIONS } from '../issuers/types.js';
import { CLIENT_ID_MAX, CLIENT_ID_PATTERN, ISSUER_ID_MAX, ISSUER_ID_PATTERN, JWT_MAX } from '../validate.js';
import { object, schema, string, stringList, timestamp, uri, type Json } from './openapi-parts.js';

const issuerUrl = (description: string): Json => uri(description);
const jwt = (description: string): Json => string(description, { minLength: 1, maxLength: JWT_MAX });

/** The Binding's fields for a client of a third-party issuer. */
export function externalBindingProperties(): Record<string, Json> {
  return {
    issuer_id: string('Only for a client of a third-party issuer: the issuer it was created at.'),
    issuer: issuerUrl('Only for a client of a third-party issuer: that issuer (its URL).'),
    verification: string(
      'Only for a client of a third-party issuer: how possession was proven — `none` when the admin registered ' +
        'the issuer without verification.',
      { enum: [...VERIFICATIONS] },
    ),
  };
}

export function issuerSchemas(): Record<string, Json> {
  const probe = object(
    {
      scope: string('Sent as `scope` with the verifying client_credentials grant.'),
      audience: string('Sent as `audience` (Auth0 and others need one).'),
      resource: string('Sent as `resource` (RFC 8707).'),
    },
    [],
    { description: 'Parameters of the verifying grant, for issuers that need them.', additionalProperties: false },
  );
  return {
    IssuerRegistration: object(
      {
        issuer: issuerUrl('The issuer identifier, exactly as its metadata states it (https).'),
        verification: string(
          '`client_credentials` (default): a client proves possession by a client_credentials grant at the ' +
            "issuer's token endpoint. `none`: its clients are bound on their id alone, and their bindings say so.",
          { enum: [...VERIFICATIONS] },
        ),
        probe,
      },
      ['issuer'],
      { description: 'A third-party issuer to register.', additionalProperties: false },
    ),
    Issuer: object(
      {
        issuer_id: string('Its id here.'),
        issuer: issuerUrl('The issuer identifier.'),
        verification: string('How its clients prove possession.', { enum: [...VERIFICATIONS] }),
        probe,
        metadata: object(
          {
            token_endpoint: uri('Where possession is proven.'),
            jwks_uri: uri('Its published keys, to verify its JWT access tokens.'),
            revocation_endpoint: uri('Where the verifying token is revoked.'),
            introspection_endpoint: uri('Its introspection endpoint.'),
            token_endpoint_auth_methods_supported: stringList('How its clients may authenticate.'),
          },
          ['token_endpoint'],
          { description: "What is kept of the issuer's metadata.", additionalProperties: false },
        ),
        created_at: timestamp('When it was registered.'),
        updated_at: timestamp('When it was last changed.'),
      },
      ['issuer_id', 'issuer', 'verification', 'metadata', 'created_at', 'updated_at'],
      { description: 'A third-party issuer whose clients may be provided.', additionalProperties: false },
    ),
    IssuerList: object({ items: { type: 'array', items: schema('Issuer') } }, ['items'], {
      description: 'Every registered issuer.',
      additionalProperties: false,
    }),
    ResolveRequest: object({ token: jwt('A JWT access token of a registered issuer.') }, ['token'], {
      description: 'A token to resolve. Unknown fields are rejected with 400 `invalid_request`.',
      additionalProperties: false,
    }),
    Resolution: object(
      {
        application_id: string('The application the client is bound to.'),
        key_type: string('Its key type.', { enum: [...KEY_TYPES] }),
        status: string("The application's status.", { enum: [...APPLICATION_STATUSES] }),
        owner: { type: ['string', 'null'], description: "The owner's account id; `null` for no account." },
        client_id: string('The client.'),
        issuer_id: string('For a client of a third-party issuer: its id here.'),
        issuer: issuerUrl('For a client of a third-party issuer: its URL.'),
      },
      ['application_id', 'key_type', 'status', 'owner', 'client_id'],
      { description: 'What a gateway needs to know about a client.', additionalProperties: false },
    ),
  };
}

export function issuerParameters(): Record<'issuer_id' | 'iss' | 'lookup_client_id', Json> {
  return {
    issuer_id: {
      name: 'issuer_id',
      in: 'path',
      required: true,
      description: `Issuer id: 1–${ISSUER_ID_MAX} characters of A–Z a–z 0–9 . _ -; otherwise 400 \`invalid_request\`.`,
      schema: { type: 'string', pattern: ISSUER_ID_PATTERN },
    },
    iss: {
      name: 'iss',
      in: 'query',
      required: false,
      description:
        "The issuer URL of a registered third-party issuer; omitted, or this provider's own issuer: a client of " +
        'this provider.',
      schema: { type: 'string', format: 'uri' },
    },
    lookup_client_id: {
      name: 'client_id',
      in: 'query',
      required: true,
      description: 'The client.',
      schema: { type: 'string', minLength: 1, maxLength: CLIENT_ID_MAX, pattern: CLIENT_ID_PATTERN },
    },
  };
}
