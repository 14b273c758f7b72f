// An entry point that runs wherever the core runs (browsers, Deno, Bun, workers)
// must have no runtime dependency: its whole import graph stays inside src/.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const IMPORT =
  /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;

/** Every module the entry reaches, and every specifier that leaves src/. */
function importGraph(entry: string): { files: string[]; external: string[] } {
  const files = new Set<string>();
  const external = new Set<string>();
  const queue = [entry];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const specifier = (match[1] ?? match[2] ?? match[3])!;
      if (!specifier.startsWith('.')) external.add(specifier);
      else queue.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
    }
  }
  return { files: [...files], external: [...external] };
}

/**
 * Expects the import graph of `entry` (a path under src/) to import nothing
 * outside src/: no Node-only module, no runtime dependency. `filesAtLeast`
 * guards the check itself: a graph smaller than that means the walk missed imports.
 */
export function expectSelfContained(entry: string, filesAtLeast: number): void {
  const { files, external } = importGraph(resolve(SRC, entry));
  expect(files.length).toBeGreaterThan(filesAtLeast);
  expect(files.every((f) => f.startsWith(SRC))).toBe(true);
  expect(external).toEqual([]);
}
