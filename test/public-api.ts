/**
 * The names lib/index.ts exports, read with the TypeScript compiler (values and types alike),
 * each with the file that declares it and its TSDoc. Shared by test/index.test.ts and
 * test/notebooks/imports.test.ts.
 */
import * as path from "path";
import * as ts from "typescript";

export interface PublicName {
  name: string;
  /** Declaring file, relative to the repository root. */
  file: string;
  /** The declaration's TSDoc text ("" when it has none). */
  doc: string;
}

const root = path.resolve(__dirname, "..");

/** Every export of lib/index.ts. */
export function publicNames(): PublicName[] {
  const entry = path.join(root, "lib", "index.ts");
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    skipLibCheck: true,
    resolveJsonModule: true,
    noEmit: true,
    types: ["node"],
  });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!);
  if (!moduleSymbol) throw new Error("lib/index.ts: no module symbol");
  return checker.getExportsOfModule(moduleSymbol).map((e) => {
    const target = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
    const decl = target.declarations?.[0];
    return {
      name: e.name,
      file: decl ? path.relative(root, decl.getSourceFile().fileName) : "?",
      doc: ts.displayPartsToString(target.getDocumentationComment(checker)).trim(),
    };
  });
}
