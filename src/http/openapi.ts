/** The OpenAPI 3.1 description of the management API, served at `<prefix>/openapi.json`. */
export function openApiDocument(prefix: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 'oidc-provider-appkeys management API', version: '0.1.0' },
    servers: [{ url: prefix }],
    paths: {},
  };
}
