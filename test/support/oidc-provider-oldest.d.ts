// The oldest oidc-provider 9.x the peer range admits, installed under an alias (a devDependency); typed
// as the installed oidc-provider, which provider-internals.test.ts checks it against.
declare module 'oidc-provider-oldest' {
  export * from 'oidc-provider';
  export { default } from 'oidc-provider';
}
