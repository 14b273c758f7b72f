// The package's entry points as package.json and tsup.config.ts declare them, read from the files
// themselves so that every check (docs, TSDoc, package contents) follows the same source of truth.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A `package.json#exports` value: a path, or conditions leading to paths. */
export type ExportTarget = string | { [condition: string]: ExportTarget };

/** The fields of package.json the checks read. */
export interface PackageJson {
  name: string;
  files: string[];
  main: string;
  module: string;
  types: string;
  sideEffects: boolean;
  typesVersions?: Record<string, Record<string, string[]>>;
  exports: Record<string, ExportTarget>;
  scripts: Record<string, string>;
}

/** package.json, parsed. */
export function packageJson(): PackageJson {
  return JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
}

/**
 * tsup's `entry` object (output name → source file), read from tsup.config.ts with the compiler
 * API rather than by importing it, which would load tsup and esbuild into the test worker.
 */
export function tsupEntries(): Record<string, string> {
  const file = join(ROOT, 'tsup.config.ts');
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  let found: Record<string, string> | undefined;
  const visit = (node: ts.Node): void => {
    if (
      ts.isPropertyAssignment(node) &&
      ts.isIdentifier(node.name) &&
      node.name.text === 'entry' &&
      ts.isObjectLiteralExpression(node.initializer)
    ) {
      found = {};
      for (const property of node.initializer.properties) {
        if (!ts.isPropertyAssignment(property) || !ts.isStringLiteralLike(property.initializer)) {
          throw new Error(`tsup.config.ts: entry ${property.getText()} is not "name: 'path'"`);
        }
        const name = ts.isIdentifier(property.name) || ts.isStringLiteralLike(property.name);
        if (!name) throw new Error(`tsup.config.ts: entry ${property.getText()} has a computed name`);
        found[(property.name as ts.Identifier | ts.StringLiteral).text] = property.initializer.text;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (found === undefined) throw new Error('tsup.config.ts: no `entry: { name: path }` object found');
  return found;
}

/** Every file path a target can resolve to, whatever the conditions. */
export function targetPaths(target: ExportTarget): string[] {
  return typeof target === 'string' ? [target] : Object.values(target).flatMap(targetPaths);
}

/** A JavaScript entry point of the package. */
export interface EntryPoint {
  /** The export subpath: `.` or `./testing`. */
  subpath: string;
  /** What users import: `bulwark` or `bulwark/testing`. */
  specifier: string;
  /** The tsup entry name, which is also the dist file's base name. */
  name: string;
  /** The TypeScript source, relative to the root. */
  source: string;
}

/** The subpaths that export a JavaScript module (not package.json or the JSON schema). */
export function codeSubpaths(pkg: PackageJson = packageJson()): string[] {
  return Object.keys(pkg.exports).filter((subpath) =>
    targetPaths(pkg.exports[subpath] as ExportTarget).some((path) => /\.(c|m)?js$/.test(path)),
  );
}

/**
 * The package's entry points: each code export joined with its tsup entry through the dist file
 * name. Throws when an export's files do not all name the same tsup entry.
 */
export function entryPoints(): EntryPoint[] {
  const pkg = packageJson();
  const entries = tsupEntries();
  return codeSubpaths(pkg).map((subpath) => {
    const names = new Set(
      targetPaths(pkg.exports[subpath] as ExportTarget).map((path) => {
        const match = /^\.\/dist\/([\w-]+)\.(?:js|cjs|d\.ts|d\.cts)$/.exec(path);
        if (match === null) throw new Error(`package.json exports["${subpath}"]: unexpected file ${path}`);
        return match[1] as string;
      }),
    );
    if (names.size !== 1)
      throw new Error(`package.json exports["${subpath}"] mixes ${[...names].join(', ')}`);
    const name = [...names][0] as string;
    const source = entries[name];
    if (source === undefined) throw new Error(`package.json exports["${subpath}"]: no tsup entry "${name}"`);
    return {
      subpath,
      specifier: subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`,
      name,
      source,
    };
  });
}

/**
 * Imports a built ESM entry (`dist/<name>.js`), typed as its source. The path is computed so that
 * type-checking does not need dist/ to exist (`npm test` type-checks before it builds).
 */
export async function importBuilt<M = typeof import('../../src/index.js')>(name = 'index'): Promise<M> {
  const url = new URL(`../../dist/${name}.js`, import.meta.url).href;
  return (await import(/* @vite-ignore */ url)) as M;
}
