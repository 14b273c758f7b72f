// Vitest globalSetup: the package tests (test/package) read the built dist/. `npm test` builds
// before vitest runs; when vitest is run on its own and dist/ is missing or older than the sources,
// build it here once, before any test file starts (a build inside a test would race the others).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Whether dist/ is missing or older than a source it is built from. */
export function distIsStale(): boolean {
  const marker = join(root, 'dist/index.js');
  if (!existsSync(marker)) return true;
  const inputs = [join(root, 'src'), join(root, 'tsup.config.ts'), join(root, 'package.json')];
  return Math.max(...inputs.map(newestMtime)) > statSync(marker).mtimeMs;
}

/**
 * Whether this run includes the package tests: vitest's file filters (its arguments that are not
 * options) match files by substring, and no filter means every file.
 */
function runsPackageTests(): boolean {
  const args = process.argv.slice(2).filter((arg) => !arg.startsWith('-') && !['run', 'watch'].includes(arg));
  const filters = args.filter((arg) => !/^\d+$/.test(arg) && !arg.includes('=') && arg !== 'vitest');
  if (filters.length === 0) return true;
  const files = readdirSync(join(root, 'test/package')).map((file) => `test/package/${file}`);
  return filters.some((filter) =>
    files.some((file) => join(root, file).includes(filter) || file.includes(filter)),
  );
}

export default function setup(): void {
  if (!runsPackageTests() || !distIsStale()) return;
  console.log('bulwark: dist/ is missing or stale, building it for test/package (tsup)…');
  execFileSync(process.execPath, [join(root, 'node_modules/tsup/dist/cli-default.js')], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
