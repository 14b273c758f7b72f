// A bundler keeps only what an import needs: no top-level call without a `@__PURE__` annotation
// and no shared object literal may drag other strategies into a bundle. Bundles the sources with
// esbuild (what size-limit uses) and checks what one import keeps.
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import * as core from '../../src/index.js';
import { ROOT } from './entries.js';

const EXTERNAL = ['@opentelemetry/api', 'express', 'fastify', 'fastify-plugin', 'ioredis'];

interface Bundle {
  /** The minified code. */
  code: string;
  /** Source files that kept code in the bundle, relative to the root. */
  modules: string[];
}

/** Bundles `export { names } from './entry'` the way a consumer's bundler would, minified. */
async function bundle(names: readonly string[], entry = 'src/index.ts'): Promise<Bundle> {
  const result = await build({
    stdin: { contents: `export { ${names.join(', ')} } from './${entry}';`, resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    minify: true,
    metafile: true,
    external: EXTERNAL,
    logLevel: 'silent',
  });
  const output = Object.values((result.metafile as Metafile).outputs)[0];
  const modules = Object.entries(output?.inputs ?? {})
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([path]) => path);
  return { code: result.outputFiles[0]?.text ?? '', modules };
}

const OPTION_LISTS = Object.keys(core).filter((name) => name.endsWith('_OPTIONS'));

describe('tree-shaking', () => {
  it('finds the option lists to check', () => {
    expect(OPTION_LISTS).toEqual(
      expect.arrayContaining(['RETRY_OPTIONS', 'CHAOS_OPTIONS', 'BACKOFF_OPTIONS']),
    );
  });

  it.each(OPTION_LISTS)('%s bundles alone as plain data, without any policy class', async (name) => {
    const { code } = await bundle([name]);
    expect(code).not.toMatch(/\bclass\b/);
    expect(code.length).toBeLessThan(600);
  });

  it('retry and timeout keep only the core, their own modules and the default backoff', async () => {
    const { modules } = await bundle(['retry', 'timeout']);
    const foreign = modules.filter((path) => !/^src\/(core|retry|timeout|backoff)\//.test(path));
    expect(foreign).toEqual([]);
  });

  it("retry keeps exponential, its default backoff, and not the other backoffs' option lists", async () => {
    const { code } = await bundle(['retry']);
    expect(code).toContain('backoff.exponential');
    for (const other of ['backoff.constant', 'backoff.linear', 'backoff.decorrelatedJitter', '"step"']) {
      expect(code).not.toContain(other);
    }
  });

  it('one chaos strategy class bundles without the other two', async () => {
    const { code } = await bundle(['ChaosFaultPolicy']);
    expect(code).toContain('chaos.fault');
    expect(code).not.toContain('chaos.latency');
    expect(code).not.toContain('chaos.result');
  });

  it("the decorators' option list bundles without the decorator", async () => {
    const { code, modules } = await bundle(['RESILIENT_OPTIONS'], 'src/integrations/decorators/index.ts');
    expect(modules).toEqual(['src/integrations/decorators/resilient.ts']);
    expect(code).not.toContain('WeakMap');
  });

  it("the Fastify plugin's option lists bundle without the plugin", async () => {
    const { modules } = await bundle(
      ['BULWARK_PLUGIN_OPTIONS', 'HEALTH_ROUTE_OPTIONS'],
      'src/integrations/fastify/index.ts',
    );
    expect(modules.filter((path) => !path.endsWith('/options.ts') && !path.endsWith('/plugin.ts'))).toEqual(
      [],
    );
    // The import of fastify-plugin stays (an external module may have side effects); the plugin does not.
    const { code } = await bundle(['HEALTH_ROUTE_OPTIONS'], 'src/integrations/fastify/index.ts');
    expect(code).not.toContain('bulwark/fastify');
    expect(code.length).toBeLessThan(600);
  });

  it('the config option lists bundle without the layer specs of every strategy', async () => {
    const { modules } = await bundle(['CODE_ONLY_OPTIONS'], 'src/config/index.ts');
    for (const strategy of ['breaker', 'hedge', 'adaptive', 'keyed', 'retry', 'timeout', 'bulkhead']) {
      expect(modules.filter((path) => path.startsWith(`src/${strategy}/`))).toEqual([]);
    }
  });
});

// tsup merges source modules into shared chunks, and `sideEffects: false` can only drop a whole
// chunk: one top-level statement a bundler must keep (a spread, a call without a pure annotation, a
// template literal with substitutions) is paid by every bundle importing anything from that chunk.
describe('tree-shaking of the built files', () => {
  // A copy without package.json, so that `sideEffects: false` cannot hide what a chunk keeps.
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-dist-'));
  const files = readdirSync(join(ROOT, 'dist')).filter((file) => file.endsWith('.js'));
  for (const file of files) cpSync(join(ROOT, 'dist', file), join(dir, file));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The minified code a bundle keeps when it imports `file` and uses nothing from it. */
  async function kept(file: string): Promise<string> {
    const result = await build({
      stdin: { contents: `import './${file}';`, resolveDir: dir, loader: 'js' },
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'neutral',
      minify: true,
      external: EXTERNAL,
      logLevel: 'silent',
    });
    // Imports of the peer dependencies stay (they may have side effects of their own).
    return (result.outputFiles[0]?.text ?? '').replace(/import\s*[^;]*?from\s*"[^"]+";/g, '').trim();
  }

  it('finds the built files', () => {
    expect(files).toEqual(expect.arrayContaining(['index.js', 'config.js', 'redis.js']));
  });

  it.each(['index.js', 'testing.js', 'config.js', 'fetch.js', 'decorators.js', 'express.js'])(
    'dist/%s and its chunks keep (almost) nothing when nothing is used',
    async (file) => {
      expect((await kept(file)).length).toBeLessThan(100);
    },
  );

  it.each(['otel.js', 'fastify.js', 'redis.js'])(
    'dist/%s keeps at most its option lists when nothing is used',
    async (file) => {
      expect((await kept(file)).length).toBeLessThan(1000);
    },
  );
});
