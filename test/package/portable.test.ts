// The core (and the entries meant to run anywhere) uses no Node-only API: the built files name no
// Node module or global, the bundled core runs in a bare JavaScript realm that has only the web
// platform's globals, and the ESM build runs in a worker thread.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { ROOT } from './entries.js';

/** Entries that must run in browsers, Deno, Bun and workers; express, fastify and redis are Node's. */
const PORTABLE = ['index', 'testing', 'config', 'decorators', 'fetch', 'otel'];
const NODE_BUILTINS = new Set([
  'assert',
  'async_hooks',
  'buffer',
  'child_process',
  'crypto',
  'events',
  'fs',
  'http',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'stream',
  'timers',
  'url',
  'util',
  'worker_threads',
  'zlib',
]);
// Node globals a browser lacks (`globalThis.process`-style probes would be caught as well).
const NODE_GLOBALS = /\b(process|Buffer|__dirname|__filename|setImmediate|require)\b(?=\s*[.([])/;

/** The ESM files an entry loads: itself and the chunks it imports, transitively. */
function esmGraph(name: string): string[] {
  const seen = new Set<string>();
  const queue = [join(ROOT, 'dist', `${name}.js`)];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:from\s*|import\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g)) {
      queue.push(join(dirname(file), match[1] as string));
    }
  }
  return [...seen];
}

/** Bare module specifiers a built file imports. */
function bareImports(text: string): string[] {
  return [...text.matchAll(/(?:from\s*|import\s*\(?\s*)["']([^."'][^"']*)["']/g)].map((m) => m[1] as string);
}

/** Node modules and globals a built file uses, one line per finding. */
function nodeApiUses(text: string, file: string): string[] {
  const problems: string[] = [];
  for (const specifier of bareImports(text)) {
    if (specifier.startsWith('node:') || NODE_BUILTINS.has(specifier.split('/')[0] as string)) {
      problems.push(`${file} imports ${specifier}`);
    }
  }
  text.split('\n').forEach((line, i) => {
    if (NODE_GLOBALS.test(line)) problems.push(`${file}:${i + 1}: ${line.trim()}`);
  });
  return problems;
}

describe('no Node-only API in the portable entries', () => {
  it.each(PORTABLE)('dist/%s.js and its chunks import no Node module and touch no Node global', (name) => {
    const files = esmGraph(name);
    expect(files.length).toBeGreaterThan(0);
    const problems = files.flatMap((file) =>
      nodeApiUses(readFileSync(file, 'utf8'), file.slice(ROOT.length + 1)),
    );
    expect(problems).toEqual([]);
  });

  it('the scan reports Node modules and globals (it is not blind)', () => {
    const sample = [
      'import { readFile } from "node:fs";',
      'import { EventEmitter } from "events";',
      'const fromWeb = await import("some-web-lib");',
      'if (process.env.DEBUG) console.log(Buffer.from("x"));',
      'setImmediate(() => {});',
      'const processed = "process"; // the word alone is fine',
    ].join('\n');
    expect(nodeApiUses(sample, 'sample.js')).toEqual([
      'sample.js imports node:fs',
      'sample.js imports events',
      'sample.js:4: if (process.env.DEBUG) console.log(Buffer.from("x"));',
      'sample.js:5: setImmediate(() => {});',
    ]);
  });
});

/** A script exercising the core: run by the bare realm and by the worker. */
const SCENARIO = `
  const { pipeline, fallback, retry, circuitBreaker, timeout, bulkhead, TimeoutError } = bulwark;
  const policy = pipeline(
    fallback({ value: 'fallback' }),
    retry({ maxAttempts: 3, backoff: 1 }),
    circuitBreaker({ consecutiveFailures: 10 }),
    timeout(20),
    bulkhead({ limit: 2, queue: 4 }),
  );
  let attempts = 0;
  const first = await policy.execute(async ({ attempt }) => {
    attempts++;
    if (attempt < 3) throw new Error('flaky');
    return 'ok after ' + attempt;
  });
  const second = await policy.execute(({ signal }) => new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason));
  }));
  const timedOut = await timeout(5).execute(({ signal }) => new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason));
  })).catch((error) => error instanceof TimeoutError);
  return { first, second, attempts, timedOut };
`;
const EXPECTED = { first: 'ok after 3', second: 'fallback', attempts: 3, timedOut: true };

/** A built entry bundled into one script that assigns its exports to `globalThis.bulwark`. */
async function iife(name: string): Promise<string> {
  const bundle = await build({
    entryPoints: [join(ROOT, 'dist', `${name}.js`)],
    bundle: true,
    format: 'iife',
    globalName: 'bulwark',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    write: false,
    logLevel: 'silent',
  });
  return bundle.outputFiles[0]?.text as string;
}

/**
 * A fresh JavaScript realm with what browsers, Deno and workers share and none of Node's globals.
 * Its timers are counted, so that a module scheduling work at import time is seen.
 */
function bareRealm(): { realm: vm.Context; timers: () => number } {
  let timers = 0;
  const realm = vm.createContext({
    console,
    setTimeout: (callback: () => void, ms?: number) => {
      timers++;
      return setTimeout(callback, ms);
    },
    clearTimeout,
    setInterval: (callback: () => void, ms?: number) => {
      timers++;
      return setInterval(callback, ms);
    },
    clearInterval,
    queueMicrotask,
    AbortController,
    AbortSignal,
    Event,
    EventTarget,
    DOMException,
    structuredClone,
    TextEncoder,
    TextDecoder,
    URL,
    Headers,
    Request,
    Response,
  });
  return { realm, timers: () => timers };
}

describe('the core runs outside Node', () => {
  it.each(PORTABLE)('loading %s has no side effect: no timer, no global but its own', async (name) => {
    const { realm, timers } = bareRealm();
    const before = new Set(vm.runInContext('Object.getOwnPropertyNames(globalThis)', realm) as string[]);
    vm.runInContext(await iife(name), realm);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const after = vm.runInContext('Object.getOwnPropertyNames(globalThis)', realm) as string[];
    expect(after.filter((key) => !before.has(key))).toEqual(['bulwark']);
    expect(timers()).toBe(0);
  });

  it('runs a pipeline in a bare realm with only web-platform globals (no process, Buffer, require)', async () => {
    const { realm } = bareRealm();
    expect(vm.runInContext('typeof process + typeof Buffer + typeof require', realm)).toBe(
      'undefinedundefinedundefined',
    );
    vm.runInContext(await iife('index'), realm);
    const result = await vm.runInContext(`(async () => { ${SCENARIO} })()`, realm);
    expect({ ...result }).toEqual(EXPECTED);
  });

  it('runs a pipeline from the ESM build in a worker thread', async () => {
    const url = pathToFileURL(join(ROOT, 'dist/index.js')).href;
    const source = `
      import { parentPort } from 'node:worker_threads';
      import * as bulwark from ${JSON.stringify(url)};
      const run = async () => { ${SCENARIO} };
      run().then((result) => parentPort.postMessage(result), (error) => parentPort.postMessage({ error: String(error) }));
    `;
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`));
    try {
      const result = await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(result).toEqual(EXPECTED);
    } finally {
      await worker.terminate();
    }
  });
});
