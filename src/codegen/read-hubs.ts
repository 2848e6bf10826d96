import { resolve } from "node:path";
import ts from "typescript6";
import { HubwireError } from "../errors.js";
import type { ClientMethodModel, HubModel, MethodModel, ParameterModel, TypeImport } from "./hub-model.js";

/**
 * Reads the hub classes (`@HubClass()`) of `files` with the TypeScript compiler API. Types are
 * taken as written in the source, so generated code reads like the hub; every named type they
 * use is imported from the module that declares it.
 */
export function readHubs(files: readonly string[], compilerOptions: ts.CompilerOptions = defaultCompilerOptions): HubModel[] {
  const roots = files.map((f) => resolve(f));
  const program = ts.createProgram(roots, compilerOptions);
  const checker = program.getTypeChecker();
  const hubs: HubModel[] = [];
  for (const file of roots) {
    const source = program.getSourceFile(file);
    if (!source) throw new HubwireError("ERR_CODEGEN_INPUT", `Cannot read ${file}.`);
    ts.forEachChild(source, (node) => {
      if (ts.isClassDeclaration(node) && decoratorCall(node, "HubClass")) hubs.push(readHub(node, source, checker, program));
    });
  }
  return hubs;
}

export const defaultCompilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  experimentalDecorators: true,
  strict: true,
  skipLibCheck: true,
  noEmit: true,
};

function readHub(node: ts.ClassDeclaration, source: ts.SourceFile, checker: ts.TypeChecker, program: ts.Program): HubModel {
  const className = node.name?.text;
  if (!className) throw new HubwireError("ERR_CODEGEN_INPUT", `A hub class in ${source.fileName} has no name.`);
  const imports = new ImportCollector(checker, program, source);
  const clientNode = hubTypeArgument(node);
  const methods: MethodModel[] = [];
  for (const member of node.members) {
    if (!ts.isMethodDeclaration(member)) continue;
    const decorator = decoratorCall(member, "HubMethod");
    if (decorator) methods.push(readMethod(member, decorator, source, checker, imports));
  }
  let clientMethods: ClientMethodModel[] = [];
  let clientInterface: string | undefined;
  if (clientNode) {
    // The interface itself is not named in generated code; the types its functions use are.
    clientInterface = ts.isTypeReferenceNode(clientNode) ? clientNode.getText(source) : undefined;
    clientMethods = readClientMethods(checker.getTypeFromTypeNode(clientNode), checker, imports);
  }
  return {
    className,
    sourceFile: source.fileName,
    doc: docOf(node, source),
    methods: methods.sort((a, b) => a.wireName.localeCompare(b.wireName)),
    clientMethods,
    clientInterface,
    imports: imports.list(),
  };
}

function readMethod(
  member: ts.MethodDeclaration,
  decorator: ts.CallExpression,
  source: ts.SourceFile,
  checker: ts.TypeChecker,
  imports: ImportCollector,
): MethodModel {
  const name = member.name.getText(source);
  const options = decorator.arguments[0];
  let wireName = name;
  let declaredStream = false;
  if (options && ts.isStringLiteralLike(options)) wireName = options.text;
  if (options && ts.isObjectLiteralExpression(options)) {
    for (const property of options.properties) {
      if (!ts.isPropertyAssignment(property)) continue;
      const key = property.name.getText(source);
      if (key === "name" && ts.isStringLiteralLike(property.initializer)) wireName = property.initializer.text;
      if (key === "stream") declaredStream = property.initializer.kind === ts.SyntaxKind.TrueKeyword;
    }
  }
  const isAsyncGenerator = member.asteriskToken !== undefined;
  const parameters: ParameterModel[] = member.parameters.map((parameter) => {
    const upload = decoratorCall(parameter, "UploadStream") !== undefined;
    const typeNode = parameter.type;
    let type = typeNode ? typeNode.getText(source) : checker.typeToString(checker.getTypeAtLocation(parameter));
    if (typeNode) imports.addTypeNode(typeNode);
    if (upload) type = typeNode ? unwrap(typeNode, source, iterableNames) ?? "unknown" : "unknown";
    return { name: parameter.name.getText(source), type, upload };
  });
  const streaming = declaredStream || isAsyncGenerator;
  const resultType = resultTypeOf(member, source, checker, imports, streaming);
  return {
    name,
    wireName,
    parameters,
    kind: streaming ? "stream" : resultType === "void" || resultType === "undefined" ? "void" : "value",
    resultType,
    doc: docOf(member, source),
  };
}

const promiseNames = new Set(["Promise", "PromiseLike"]);
const iterableNames = new Set(["AsyncIterable", "AsyncIterableIterator", "AsyncGenerator"]);

/** The result type as written (promises unwrapped; a stream's item type), else as inferred. */
function resultTypeOf(
  member: ts.MethodDeclaration,
  source: ts.SourceFile,
  checker: ts.TypeChecker,
  imports: ImportCollector,
  streaming: boolean,
): string {
  const written = member.type;
  if (written) {
    imports.addTypeNode(written);
    const unwrapped = unwrap(written, source, streaming ? iterableNames : promiseNames);
    if (unwrapped !== undefined) return unwrapped;
    if (!streaming) return written.getText(source);
  }
  const signature = checker.getSignatureFromDeclaration(member);
  if (!signature) return "unknown";
  let type = checker.getReturnTypeOfSignature(signature);
  if (streaming) {
    const args = (type as ts.TypeReference).target ? checker.getTypeArguments(type as ts.TypeReference) : [];
    type = args[0] ?? checker.getAnyType();
  } else {
    type = checker.getAwaitedType(type) ?? type;
  }
  imports.addType(type);
  return checker.typeToString(type, member, ts.TypeFormatFlags.NoTruncation);
}

/** `X` of `Name<X, ...>` when the node is a reference to one of `names`. */
function unwrap(node: ts.TypeNode, source: ts.SourceFile, names: ReadonlySet<string>): string | undefined {
  if (!ts.isTypeReferenceNode(node) || !names.has(node.typeName.getText(source))) return undefined;
  return node.typeArguments?.[0]?.getText(source) ?? "unknown";
}

function readClientMethods(type: ts.Type, checker: ts.TypeChecker, imports: ImportCollector): ClientMethodModel[] {
  const methods: ClientMethodModel[] = [];
  for (const property of checker.getPropertiesOfType(type)) {
    const declaration = property.valueDeclaration ?? property.declarations?.[0];
    if (!declaration) continue;
    const propertyType = checker.getTypeOfSymbolAtLocation(property, declaration);
    const [signature] = propertyType.getCallSignatures();
    if (!signature) continue;
    const source = declaration.getSourceFile();
    const parameters = signature.getParameters().map((parameter) => {
      const parameterDeclaration = parameter.valueDeclaration as ts.ParameterDeclaration | undefined;
      const typeNode = parameterDeclaration?.type;
      if (typeNode) imports.addTypeNode(typeNode);
      return {
        name: parameter.name,
        type: typeNode ? typeNode.getText(source) : checker.typeToString(checker.getTypeOfSymbol(parameter)),
        optional: parameterDeclaration ? checker.isOptionalParameter(parameterDeclaration) : false,
      };
    });
    const returnNode = (declaration as ts.SignatureDeclaration).type;
    if (returnNode) imports.addTypeNode(returnNode);
    const resultType = returnNode
      ? (unwrap(returnNode, source, promiseNames) ?? returnNode.getText(source))
      : checker.typeToString(signature.getReturnType());
    methods.push({ name: property.name, parameters, resultType, doc: docOf(declaration, source) });
  }
  return methods.sort((a, b) => a.name.localeCompare(b.name));
}

/** The `TClient` node of `extends Hub<TClient>`, if written. */
function hubTypeArgument(node: ts.ClassDeclaration): ts.TypeNode | undefined {
  for (const clause of node.heritageClauses ?? []) {
    if (clause.token !== ts.SyntaxKind.ExtendsKeyword) continue;
    return clause.types[0]?.typeArguments?.[0];
  }
  return undefined;
}

/** The call of a decorator named `name` on a node (`@Name(...)`), if any. */
function decoratorCall(node: ts.Node, name: string): ts.CallExpression | undefined {
  if (!ts.canHaveDecorators(node)) return undefined;
  for (const decorator of ts.getDecorators(node) ?? []) {
    const expression = decorator.expression;
    if (ts.isCallExpression(expression) && ts.isIdentifier(expression.expression) && expression.expression.text === name) {
      return expression;
    }
  }
  return undefined;
}

/** The TSDoc block right before a node, without its comment markers. */
function docOf(node: ts.Node, source: ts.SourceFile): string | undefined {
  const ranges = ts.getLeadingCommentRanges(source.text, node.getFullStart()) ?? [];
  const block = ranges.filter((r) => source.text.startsWith("/**", r.pos)).pop();
  if (!block) return undefined;
  const text = source.text
    .slice(block.pos + 3, block.end - 2)
    .split("\n")
    .map((line) => line.replace(/^\s*\* ?/, "").trimEnd())
    .join("\n")
    .trim();
  return text || undefined;
}

/**
 * The named types a generated module must import: every type reference in the hub's signatures
 * that is declared in a project file (lib and `node_modules` types need no import).
 */
class ImportCollector {
  private readonly found = new Map<string, TypeImport>();

  constructor(
    private readonly checker: ts.TypeChecker,
    private readonly program: ts.Program,
    private readonly hubSource: ts.SourceFile,
  ) {}

  addTypeNode(node: ts.TypeNode): void {
    const visit = (child: ts.Node): void => {
      if (ts.isTypeReferenceNode(child)) {
        const name = ts.isIdentifier(child.typeName) ? child.typeName : undefined;
        const symbol = name ? this.checker.getSymbolAtLocation(name) : undefined;
        if (symbol && name) this.addSymbol(symbol, name.text);
      }
      ts.forEachChild(child, visit);
    };
    visit(node);
  }

  addType(type: ts.Type, depth = 0): void {
    if (depth > 4) return;
    const symbol = type.aliasSymbol ?? type.getSymbol();
    if (symbol && !symbol.name.startsWith("__")) this.addSymbol(symbol, symbol.name);
    if (type.isUnionOrIntersection()) for (const part of type.types) this.addType(part, depth + 1);
    if ((type as ts.TypeReference).target) {
      for (const argument of this.checker.getTypeArguments(type as ts.TypeReference)) this.addType(argument, depth + 1);
    }
  }

  list(): TypeImport[] {
    return [...this.found.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  private addSymbol(symbol: ts.Symbol, localName: string): void {
    const target = symbol.flags & ts.SymbolFlags.Alias ? this.checker.getAliasedSymbol(symbol) : symbol;
    const declaration = target.declarations?.[0];
    if (!declaration || ts.isTypeParameterDeclaration(declaration)) return;
    const file = declaration.getSourceFile();
    if (this.program.isSourceFileDefaultLibrary(file) || this.program.isSourceFileFromExternalLibrary(file)) return;
    if (file.fileName.includes("/node_modules/")) return;
    if (file === this.hubSource && !isExported(declaration)) {
      throw new HubwireError(
        "ERR_CODEGEN_INPUT",
        `${localName} is used by a hub in ${file.fileName} but not exported; export it so generated clients can import it.`,
      );
    }
    this.found.set(localName, { name: localName, fromFile: file.fileName });
  }
}

function isExported(declaration: ts.Declaration): boolean {
  return (ts.getCombinedModifierFlags(declaration) & ts.ModifierFlags.Export) !== 0;
}
