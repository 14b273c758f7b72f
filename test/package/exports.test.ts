// package.json and tsup.config.ts describe the same entry points: every export is built, every
// build is exported, in both module formats, each with its own declaration file.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  codeSubpaths,
  entryPoints,
  type ExportTarget,
  packageJson,
  ROOT,
  targetPaths,
  tsupEntries,
} from './entries.js';

const pkg = packageJson();
const entries = tsupEntries();

describe('package.json exports and tsup entries', () => {
  it('has a tsup entry for every code export and an export for every tsup entry', () => {
    const exported = entryPoints().map((entry) => entry.name);
    expect([...exported].sort()).toEqual(Object.keys(entries).sort());
  });

  it('builds every entry from a source file that exists', () => {
    for (const source of Object.values(entries)) expect(existsSync(join(ROOT, source)), source).toBe(true);
  });

  it('gives every code export import and require conditions, types first, with .d.ts and .d.cts', () => {
    for (const entry of entryPoints()) {
      const target = pkg.exports[entry.subpath] as ExportTarget;
      expect(target).toEqual({
        import: { types: `./dist/${entry.name}.d.ts`, default: `./dist/${entry.name}.js` },
        require: { types: `./dist/${entry.name}.d.cts`, default: `./dist/${entry.name}.cjs` },
      });
      // Condition order matters: the first matching one wins, and `types` must come before `default`.
      for (const conditions of Object.values(target as Record<string, Record<string, string>>)) {
        expect(Object.keys(conditions)).toEqual(['types', 'default']);
      }
    }
  });

  it('exports package.json and only files the package ships', () => {
    expect(pkg.exports['./package.json']).toBe('./package.json');
    // npm always packs package.json; the other non-code exports must be among `files`.
    const nonCode = Object.keys(pkg.exports).filter(
      (subpath) => !codeSubpaths(pkg).includes(subpath) && subpath !== './package.json',
    );
    expect(nonCode.length).toBeGreaterThan(0);
    for (const subpath of nonCode) {
      for (const path of targetPaths(pkg.exports[subpath] as ExportTarget)) {
        expect(existsSync(join(ROOT, path)), path).toBe(true);
        expect(
          pkg.files.some((file) => path.slice(2) === file || path.slice(2).startsWith(`${file}/`)),
          path,
        ).toBe(true);
      }
    }
  });

  it('points main, module and types at the root entry, for tools that ignore exports', () => {
    expect(pkg.main).toBe('./dist/index.cjs');
    expect(pkg.module).toBe('./dist/index.js');
    expect(pkg.types).toBe('./dist/index.d.cts');
  });

  it('maps every subpath in typesVersions, for TypeScript with moduleResolution "node"', () => {
    const subpaths = entryPoints().filter((entry) => entry.subpath !== '.');
    expect(pkg.typesVersions).toEqual({
      '*': Object.fromEntries(
        subpaths.map((entry) => [entry.subpath.slice(2), [`./dist/${entry.name}.d.cts`]]),
      ),
    });
  });

  it('declares itself free of side effects, so bundlers drop what is not imported', () => {
    expect(pkg.sideEffects).toBe(false);
  });
});
