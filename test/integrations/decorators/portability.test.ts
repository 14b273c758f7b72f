// bulwark/decorators runs wherever the core runs (browsers, Deno, Bun, workers) and
// has no runtime dependency: its whole import graph stays inside src/.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');
// The entry's own modules plus the core types and validation it uses.
const FILES_AT_LEAST = 3;
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

describe('bulwark/decorators portability', () => {
  it('imports nothing outside src/: no Node-only module, no runtime dependency', () => {
    const { files, external } = importGraph(resolve(src, 'integrations/decorators/index.ts'));
    expect(files.length).toBeGreaterThan(FILES_AT_LEAST);
    expect(files.every((f) => f.startsWith(src))).toBe(true);
    expect(external).toEqual([]);
  });
});
