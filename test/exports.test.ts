/**
 * Every type a public function takes or returns can be imported from the package's entry points: by
 * name below (typecheck fails when one goes), and by a walk of every public signature with the
 * TypeScript compiler, which finds a type added later that no entry point exports.
 */
import { fileURLToPath } from 'node:url';

import ts from 'typescript';
import { describe, expect, it } from 'vitest';

import type {
  Access,
  Actor,
  Application,
  ApplicationChange,
  ApplicationStatus,
  AppKeys,
  AppKeysEvent,
  AppKeysEventPayload,
  AppKeysOptions,
  AttemptKey,
  AttemptLimits,
  Binding,
  BindingOrigin,
  BindingStore,
  BindRequest,
  BindResult,
  ClientBinding,
  ClientMetadata,
  ClientView,
  CreateAndBindRequest,
  DeleteApplicationResult,
  DeleteClientResult,
  ExternalProof,
  GeneratedKeys,
  Issuer,
  IssuerEndpoints,
  IssuerService,
  IssuersOptions,
  KeyType,
  NewApplication,
  Page,
  Probe,
  ProvideKeysRequest,
  RegisterOutcome,
  Registry,
  ReplaceOptions,
  Resolution,
  ResolvedIssuersOptions,
  ResolvedOptions,
  StoredApplication,
  StoredBinding,
  StoredClient,
  StoredIssuer,
  UnbindResult,
  Verification,
  VerifyResult,
} from '../src/index.js';
import type {
  CachedHash,
  ClientCache,
  ClientCacheOptions,
  ClientCacheState,
  ClientCacheStats,
  NodeRedisClient,
  NodeRedisCluster,
  NodeRedisCommandOptions,
  NodeRedisShardNode,
  RedisAdapterOptions,
  RedisClient,
  RedisStoreOptions,
  WaitForReplicas,
} from '../adapters/redis/index.js';
import type { MemoryAdapterFactory, MemoryAdapterOptions, MemoryStoreOptions } from '../adapters/memory/index.js';

/** Each import above, used: a type the entry points stop exporting fails the typecheck. */
export type Imported = [
  Access,
  Actor,
  Application,
  ApplicationChange,
  ApplicationStatus,
  AppKeys,
  AppKeysEvent,
  AppKeysEventPayload,
  AppKeysOptions,
  AttemptKey,
  AttemptLimits,
  Binding,
  BindingOrigin,
  BindingStore,
  BindRequest,
  BindResult,
  ClientBinding,
  ClientMetadata,
  ClientView,
  CreateAndBindRequest,
  DeleteApplicationResult,
  DeleteClientResult,
  ExternalProof,
  GeneratedKeys,
  Issuer,
  IssuerEndpoints,
  IssuerService,
  IssuersOptions,
  KeyType,
  NewApplication,
  Page<unknown>,
  Probe,
  ProvideKeysRequest,
  RegisterOutcome,
  Registry,
  ReplaceOptions,
  Resolution,
  ResolvedIssuersOptions,
  ResolvedOptions,
  StoredApplication,
  StoredBinding,
  StoredClient,
  StoredIssuer,
  UnbindResult,
  Verification,
  VerifyResult,
  CachedHash,
  ClientCache,
  ClientCacheOptions,
  ClientCacheState,
  ClientCacheStats,
  NodeRedisClient,
  NodeRedisCluster,
  NodeRedisCommandOptions,
  NodeRedisShardNode,
  RedisAdapterOptions,
  RedisClient,
  RedisStoreOptions,
  WaitForReplicas,
  MemoryAdapterFactory,
  MemoryAdapterOptions,
  MemoryStoreOptions,
];

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRIES = ['src/index.ts', 'adapters/redis/index.ts', 'adapters/memory/index.ts'].map((file) => `${ROOT}${file}`);

const NAMED_TYPE = ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias | ts.SymbolFlags.Class | ts.SymbolFlags.Enum;

let compiled: ts.Program | undefined;

/** The entry points and all they import, compiled once for every walk. */
function createProgram(): ts.Program {
  if (compiled) return compiled;
  const config = ts.getParsedCommandLineOfConfigFile(
    `${ROOT}tsconfig.json`,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('tsconfig.json could not be read');
  compiled = ts.createProgram(ENTRIES, config.options);
  return compiled;
}

const isOurs = (declaration: ts.Declaration) => {
  const file = declaration.getSourceFile().fileName;
  return file.startsWith(ROOT) && !file.includes('/node_modules/');
};

/** Whether an export is `export type { X }`: then a class's constructor is not public. */
function typeOnly(exported: ts.Symbol): boolean {
  return (exported.declarations ?? []).some(
    (declaration) =>
      ts.isExportSpecifier(declaration) && (declaration.isTypeOnly || declaration.parent.parent.isTypeOnly),
  );
}

/**
 * The package's own named types that a public signature reaches (parameters, returns, properties,
 * type arguments, union members, through any depth) and that no entry point exports, each with
 * the path it was reached by. `hidden` pretends some exported names are not.
 */
function unexportedTypes(hidden: ReadonlySet<string> = new Set()): Map<string, string> {
  const program = createProgram();
  const checker = program.getTypeChecker();
  const exported = new Set<ts.Symbol>();
  const roots: Array<{ symbol: ts.Symbol; constructible: boolean }> = [];
  for (const entry of ENTRIES) {
    const file = program.getSourceFile(entry);
    const module = file && checker.getSymbolAtLocation(file);
    if (!module) throw new Error(`no module for ${entry}`);
    for (const symbol of checker.getExportsOfModule(module)) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      if (!hidden.has(symbol.name)) exported.add(target);
      roots.push({ symbol: target, constructible: !typeOnly(symbol) });
    }
  }

  const missing = new Map<string, string>();
  const seen = new Set<ts.Type>();
  const visitSignatures = (signatures: readonly ts.Signature[], via: string) => {
    for (const signature of signatures) {
      for (const parameter of signature.parameters)
        visit(checker.getTypeOfSymbol(parameter), `${via}(${parameter.name})`);
      visit(signature.getReturnType(), `${via}()`);
    }
  };
  function visit(type: ts.Type, via: string): void {
    if (seen.has(type)) return;
    seen.add(type);
    const named = type.aliasSymbol ?? type.getSymbol();
    const ours = named?.declarations?.some(isOurs) ?? false;
    if (named && ours && named.flags & NAMED_TYPE && !exported.has(named)) missing.set(named.name, via);
    for (const argument of type.aliasTypeArguments ?? []) visit(argument, via);
    if (type.isUnionOrIntersection()) for (const member of type.types) visit(member, via);
    if (type.flags & ts.TypeFlags.Object && (type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference) {
      for (const argument of checker.getTypeArguments(type as ts.TypeReference)) visit(argument, via);
    }
    // the members of types from elsewhere (Promise, Koa's Context) are not this package's to export
    if (!ours) return;
    for (const property of checker.getPropertiesOfType(type)) {
      const declaration = property.valueDeclaration ?? property.declarations?.[0];
      if (!declaration || property.name.startsWith('#') || property.name.startsWith('__#')) continue;
      if (ts.getCombinedModifierFlags(declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
      visit(checker.getTypeOfSymbolAtLocation(property, declaration), `${via}.${property.name}`);
    }
    for (const info of checker.getIndexInfosOfType(type)) visit(info.type, `${via}[]`);
    visitSignatures(type.getCallSignatures(), via);
  }

  for (const { symbol, constructible } of roots) {
    const declaration = symbol.valueDeclaration ?? symbol.declarations?.[0];
    if (!declaration) continue;
    if (symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Variable)) {
      visit(checker.getTypeOfSymbolAtLocation(symbol, declaration), symbol.name);
    }
    if (symbol.flags & ts.SymbolFlags.Class && constructible) {
      visitSignatures(
        checker.getTypeOfSymbolAtLocation(symbol, declaration).getConstructSignatures(),
        `new ${symbol.name}`,
      );
    }
    if (symbol.flags & NAMED_TYPE) visit(checker.getDeclaredTypeOfSymbol(symbol), symbol.name);
  }
  return missing;
}

describe('the entry points', () => {
  it('export every type that a public signature reaches', () => {
    expect(Object.fromEntries(unexportedTypes())).toEqual({});
  });

  it('find a type a public signature reaches when no entry point exports it', () => {
    const missing = unexportedTypes(new Set(['ResolvedOptions', 'WaitForReplicas']));
    expect([...missing.keys()].sort()).toEqual(['ResolvedOptions', 'WaitForReplicas']);
  });
});
