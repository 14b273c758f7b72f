// Every public symbol has a TSDoc comment: each export of each entry point (as package.json and
// tsup.config.ts declare them), re-exports followed to their declaration, and the public members
// of exported classes and interfaces, which the generated API reference shows one by one.
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { entryPoints, ROOT } from '../package/entries.js';

const entries = entryPoints();
const program = ts.createProgram(
  entries.map((entry) => join(ROOT, entry.source)),
  {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  },
);
const checker = program.getTypeChecker();

function resolved(symbol: ts.Symbol): ts.Symbol {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

function documented(symbol: ts.Symbol): boolean {
  const text = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
  return text !== '' || symbol.getJsDocTags(checker).length > 0;
}

/** Whether a member is part of the public API: not private/protected, not `_internal`, declared in src/. */
function publicMember(member: ts.Symbol): boolean {
  if (member.flags & ts.SymbolFlags.TypeParameter) return false;
  if (member.name.startsWith('_') || member.name.startsWith('#')) return false;
  const declarations = member.getDeclarations() ?? [];
  if (declarations.length === 0) return false;
  return declarations.every((declaration) => {
    if (!declaration.getSourceFile().fileName.startsWith(join(ROOT, 'src'))) return false;
    const modifiers = ts.getCombinedModifierFlags(declaration);
    if (modifiers & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) return false;
    if (ts.isConstructorDeclaration(declaration)) return false;
    const name = ts.getNameOfDeclaration(declaration);
    return !(name !== undefined && ts.isPrivateIdentifier(name));
  });
}

/** Own public members of an exported class or interface (inherited ones are checked where declared). */
function ownMembers(symbol: ts.Symbol): ts.Symbol[] {
  const members: ts.Symbol[] = [];
  if (symbol.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface)) {
    symbol.members?.forEach((member) => {
      members.push(member);
    });
  }
  if (symbol.flags & ts.SymbolFlags.Class) {
    symbol.exports?.forEach((member) => {
      if (member.flags & (ts.SymbolFlags.Method | ts.SymbolFlags.Property | ts.SymbolFlags.Accessor)) {
        members.push(member);
      }
    });
  }
  return members.filter(publicMember);
}

interface Missing {
  entry: string;
  name: string;
  file: string;
}

function where(symbol: ts.Symbol): string {
  const declaration = symbol.getDeclarations()?.[0];
  if (declaration === undefined) return '?';
  const file = declaration.getSourceFile();
  const { line } = file.getLineAndCharacterOfPosition(declaration.getStart());
  return `${file.fileName.slice(ROOT.length + 1)}:${line + 1}`;
}

function missingDocs(): { exports: Missing[]; members: Missing[]; count: number } {
  const exports: Missing[] = [];
  const members: Missing[] = [];
  const seenMembers = new Set<ts.Symbol>();
  let count = 0;
  for (const entry of entries) {
    const file = program.getSourceFile(join(ROOT, entry.source));
    const moduleSymbol = file && checker.getSymbolAtLocation(file);
    if (moduleSymbol === undefined) throw new Error(`${entry.source}: not a module`);
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      count++;
      const symbol = resolved(exported);
      if (!documented(symbol))
        exports.push({ entry: entry.specifier, name: exported.name, file: where(symbol) });
      for (const member of ownMembers(symbol)) {
        if (seenMembers.has(member)) continue;
        seenMembers.add(member);
        if (!documented(member)) {
          members.push({
            entry: entry.specifier,
            name: `${symbol.name}.${member.name}`,
            file: where(member),
          });
        }
      }
    }
  }
  return { exports, members, count };
}

const report = missingDocs();
const format = (list: Missing[]) => list.map((m) => `${m.entry}: ${m.name} (${m.file})`);

describe('TSDoc coverage', () => {
  it('reads the exports of every entry point', () => {
    expect(entries.map((entry) => entry.specifier)).toContain('bulwark');
    expect(report.count).toBeGreaterThan(100);
  });

  it('documents every export of every entry point', () => {
    expect(format(report.exports)).toEqual([]);
  });

  it('documents every public member of exported classes and interfaces', () => {
    expect(format(report.members)).toEqual([]);
  });
});
