import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The work every policy runs; `ctx` is whatever the library passes. */
export type Work<T> = (ctx: never) => T | PromiseLike<T>;

/** What the benchmark needs from any bulwark policy. */
export interface PolicyLike {
  execute<T>(fn: Work<T>, options?: { signal?: AbortSignal }): Promise<T>;
}

/** What it needs from a keyed policy. */
export interface KeyedLike {
  execute<T>(key: unknown, fn: Work<T>, options?: { signal?: AbortSignal }): Promise<T>;
}

/** A clock, as the `clock` option of every policy takes it. */
export interface ClockLike {
  now(): number;
  setTimeout(callback: () => void, ms: number, unref?: boolean): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * The part of bulwark's surface the benchmark uses. Strategies still being
 * written are optional: their sections run once `src/index.ts` exports them.
 */
export interface Bulwark {
  retry(options?: object): PolicyLike;
  timeout(options: number | object): PolicyLike;
  fallback(options: object): PolicyLike;
  pipeline(...policies: PolicyLike[]): PolicyLike;
  systemClock: ClockLike;
  circuitBreaker?: (options?: object) => PolicyLike & { readonly state: string };
  bulkhead?: (options: number | object) => PolicyLike;
  rateLimit?: (options: object) => PolicyLike;
  keyed?: (factory: (key: unknown) => PolicyLike, options?: object) => KeyedLike;
}

/** Where the library was loaded from, for the report. */
export interface Loaded {
  readonly lib: Bulwark;
  readonly from: string;
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const cacheDir = `${root}node_modules/.cache/bulwark-bench`;

/**
 * Builds the bundle in a child process: running tsup (esbuild, rollup) in the
 * benchmark's own process would leave its heap and JIT state behind, which
 * measurably slows even the bare-await baseline.
 */
function buildBundle(): void {
  const script = `
    const tsup = await import('tsup');
    await (tsup.build ?? tsup.default.build)({
      config: ${JSON.stringify(`${root}tsup.config.ts`)},
      entry: { index: ${JSON.stringify(`${root}src/index.ts`)} },
      format: ['esm'],
      outDir: ${JSON.stringify(cacheDir)},
      dts: false,
      clean: true,
      silent: true,
    });`;
  const built = spawnSync(process.execPath, ['--input-type=module', '--eval', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (built.status !== 0) {
    throw new Error(
      `building the bundle failed (BULWARK_FROM=src skips it):\n${built.stderr || built.error}`,
    );
  }
}

/**
 * Loads bulwark the way users run it: by default, the ESM bundle tsup makes
 * with the project's own `tsup.config.ts` (same target, tree-shaking and
 * chunking as `npm run build`), built fresh from `src/` into a cache folder so
 * a stale `dist/` can never be measured. `BULWARK_FROM=dist` uses `dist/`
 * as built; `BULWARK_FROM=src` imports the TypeScript sources through tsx.
 */
export async function loadBulwark(from = process.env.BULWARK_FROM ?? 'build'): Promise<Loaded> {
  if (from === 'src') {
    const lib = (await import(pathToFileURL(`${root}src/index.ts`).href)) as Bulwark;
    return { lib, from: 'src/index.ts through tsx (TypeScript sources, transpiled on load)' };
  }
  if (from === 'dist') {
    const file = `${root}dist/index.js`;
    if (!existsSync(file))
      throw new Error('BULWARK_FROM=dist: dist/index.js is missing; run `npm run build`');
    const lib = (await import(pathToFileURL(file).href)) as Bulwark;
    return { lib, from: 'dist/index.js (as built by `npm run build`)' };
  }
  if (from !== 'build') throw new Error(`BULWARK_FROM must be build, dist or src, got ${from}`);
  buildBundle();
  const lib = (await import(pathToFileURL(`${cacheDir}/index.js`).href)) as Bulwark;
  return {
    lib,
    from: 'ESM bundle built now from src/ with tsup.config.ts (what `dist/index.js` ships)',
  };
}
