// What `npm pack` would publish: the build, the JSON schema, the readme, changelog, licence and
// package.json, nothing else; every file the exports name is in it; no source map points nowhere.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ExportTarget, packageJson, ROOT, targetPaths } from './entries.js';

const ALLOWED_TOP_LEVEL = ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE'];
const ALLOWED_DIRS = ['dist/', 'schema/'];

let files: string[] = [];

beforeAll(() => {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [report] = JSON.parse(out) as [{ files: { path: string }[] }];
  files = report.files.map((file) => file.path).sort();
}, 60_000);

describe('npm pack contents', () => {
  it('ships only dist/, schema/, package.json, README.md, CHANGELOG.md and LICENSE', () => {
    const unexpected = files.filter(
      (file) => !ALLOWED_TOP_LEVEL.includes(file) && !ALLOWED_DIRS.some((dir) => file.startsWith(dir)),
    );
    expect(unexpected).toEqual([]);
    for (const file of ALLOWED_TOP_LEVEL) expect(files).toContain(file);
  });

  it('ships no tests, sources or TypeScript build info', () => {
    const leaked = files.filter(
      (file) =>
        /(^|\/)(test|tests|__tests__|src|benchmarks|examples)\//.test(file) ||
        /\.(test|spec)\.[cm]?[jt]s$/.test(file) ||
        (/\.[cm]?ts$/.test(file) && !/\.d\.[cm]?ts$/.test(file)) ||
        file.endsWith('.tsbuildinfo'),
    );
    expect(leaked).toEqual([]);
  });

  it('ships every file package.json points at', () => {
    const pkg = packageJson();
    const targets = Object.values(pkg.exports).flatMap((target) => targetPaths(target as ExportTarget));
    for (const path of [...targets, pkg.main, pkg.module, pkg.types]) {
      expect(files, path).toContain(path.replace(/^\.\//, ''));
    }
  });

  it('ships no source map and no reference to one that is missing', () => {
    const maps = files.filter((file) => file.endsWith('.map'));
    const dangling: string[] = [];
    for (const file of files.filter((f) => /\.(c|m)?js$|\.d\.c?ts$/.test(f))) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const match of text.matchAll(/[#@] sourceMappingURL=(\S+)/g)) {
        const url = match[1] as string;
        const target = join(file, '..', url).replace(/\\/g, '/');
        if (!url.startsWith('data:') && !files.includes(target)) dangling.push(`${file} → ${url}`);
      }
    }
    expect(dangling).toEqual([]);
    // Maps would point at src/, which is not shipped; the build emits none.
    expect(maps).toEqual([]);
  });

  it('ships the built chunks every entry imports', () => {
    const missing: string[] = [];
    for (const file of files.filter((f) => /\.(c|m)?js$/.test(f))) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const match of text.matchAll(
        /(?:from\s*|import\s*\(?\s*|require\(\s*)["'](\.{1,2}\/[^"']+)["']/g,
      )) {
        const target = join(file, '..', match[1] as string).replace(/\\/g, '/');
        if (!files.includes(target)) missing.push(`${file} → ${match[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
