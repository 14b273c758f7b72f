// The fixture is compiled with the TypeScript compiler in both decorator
// dialects, then run against the same bulwark modules this test imports.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as bulwark from '../../../src/index.js';
import * as decorators from '../../../src/integrations/decorators/index.js';
import { VirtualClock } from '../../../src/testing/index.js';
import type { createFixture } from '../../fixtures/decorators/service.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtureDir = resolve(here, '../../fixtures/decorators');
const fixturePath = join(fixtureDir, 'service.ts');

type Dialect = 'tc39' | 'legacy';
const DIALECTS: readonly Dialect[] = ['tc39', 'legacy'];

/** The modules the compiled fixture may import, by the specifiers it uses. */
const MODULES: Record<string, unknown> = {
  '../../../src/index.js': bulwark,
  '../../../src/integrations/decorators/index.js': decorators,
};

const compiled = new Map<Dialect, string>();

/** The fixture compiled in `dialect` (once per dialect: compiling is the slow part). */
function compile(dialect: Dialect): string {
  const cached = compiled.get(dialect);
  if (cached !== undefined) return cached;
  const source = readFileSync(fixturePath, 'utf8');
  const { outputText, diagnostics } = ts.transpileModule(source, {
    fileName: fixturePath,
    reportDiagnostics: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      experimentalDecorators: dialect === 'legacy',
      useDefineForClassFields: true,
    },
  });
  expect(diagnostics ?? []).toEqual([]);
  compiled.set(dialect, outputText);
  return outputText;
}

/** Runs the compiled fixture afresh: every test gets its own classes and policies. */
function load(dialect: Dialect): typeof createFixture {
  const code = compile(dialect);
  const module = { exports: {} as Record<string, unknown> };
  const require = (specifier: string): unknown => {
    const found = MODULES[specifier];
    if (found === undefined) throw new Error(`fixture imports an unexpected module: ${specifier}`);
    return found;
  };
  new Function('exports', 'require', 'module', code)(module.exports, require, module);
  return module.exports.createFixture as typeof createFixture;
}

describe.each(DIALECTS)('@resilient compiled as %s decorators', (dialect) => {
  const setup = () => {
    const clock = new VirtualClock();
    return { clock, ...load(dialect)(clock) };
  };

  it('is compiled in the requested dialect', () => {
    const code = compile(dialect);
    // TypeScript's helpers differ per dialect; this guards against testing one dialect twice.
    expect(code.includes('__esDecorate')).toBe(dialect === 'tc39');
    expect(code.includes('__decorate(')).toBe(dialect === 'legacy');
  });

  it('preserves this and the arguments', async () => {
    const { Service } = setup();
    const service = new Service('Ada', 0);
    await expect(service.greet('Hello', '!')).resolves.toBe('Hello, Ada!');
    expect(service.seen).toEqual([['Hello', '!']]);
    expect(service.calls).toBe(1);
  });

  it('retries by calling the method again with the same this and arguments', async () => {
    const { Service } = setup();
    const service = new Service('Ada', 2);
    await expect(service.greet('Hi', '?')).resolves.toBe('Hi, Ada?');
    expect(service.calls).toBe(3);
    expect(service.seen).toEqual([
      ['Hi', '?'],
      ['Hi', '?'],
      ['Hi', '?'],
    ]);
  });

  it('rejects with the last error when the attempts run out', async () => {
    const { Service } = setup();
    const service = new Service('Ada', 10);
    await expect(service.greet('Hi', '.')).rejects.toThrow('failure 3');
    expect(service.calls).toBe(3);
  });

  it('a synchronous method returns a promise, and its throw becomes a rejection', async () => {
    const { Service } = setup();
    const ok = new Service('a', 0).double(21);
    expect(ok).toBeInstanceOf(Promise);
    await expect(ok).resolves.toBe(42);
    const failing = new Service('b', 10);
    let result: Promise<number> | number | undefined;
    expect(() => {
      result = failing.double(1);
    }).not.toThrow();
    await expect(result).rejects.toThrow('failure 3');
    expect(failing.calls).toBe(3);
  });

  it('resilient.signal() is the policy signal: a timeout aborts it, per attempt', async () => {
    const { Service, clock } = setup();
    const service = new Service('t', 0);
    const call = service.waitForAbort();
    const outcome = call.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await clock.advance(100);
    expect(service.seen).toEqual([[1], [2]]);
    await clock.advance(100);
    const error = await outcome;
    expect(error).toBeInstanceOf(bulwark.TimeoutError);
    expect(service.seen).toEqual([[1], [2]]);
  });

  it('resilient.signal() after the first await throws, naming the rule', async () => {
    const { Service } = setup();
    await expect(new Service('late', 0).signalAfterAwait()).rejects.toThrow(/before its first await/);
  });

  it('contextArg: true passes the context as the last declared parameter', async () => {
    const { Service } = setup();
    const service = new Service('c', 1);
    await expect(service.withContext('id-1')).resolves.toEqual(['id-1', 2]);
    // A value the caller put in that position is replaced.
    await expect(new Service('d', 0).withContext('id-2', { attempt: 99 } as never)).resolves.toEqual([
      'id-2',
      1,
    ]);
  });

  it('contextArg: index passes the context at that position', async () => {
    const { Service } = setup();
    await expect(new Service('e', 0).contextFirst(undefined as never, 'label')).resolves.toEqual([
      1,
      'label',
    ]);
  });

  it('key computes the execution key from the arguments', async () => {
    const { Service } = setup();
    await expect(new Service('k', 0).keyOf('acme')).resolves.toBe('tenant:acme');
  });

  it("signal: the caller's abort rejects at once with its reason and aborts the method's signal", async () => {
    const { Service } = setup();
    const service = new Service('s', 0);
    const controller = new AbortController();
    const call = service.cancellable('1', controller.signal);
    const reason = new Error('caller went away');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    expect(service.seen).toEqual([['aborted', reason]]);
  });

  it('nested decorated calls each see their own context, restored afterwards', async () => {
    const { Service } = setup();
    await expect(new Service('n', 0).outer()).resolves.toEqual([true, 1, 101]);
  });

  it("a policy factory gives each instance the instance's own policy", async () => {
    const { Service } = setup();
    // Each instance's own retry allows failures + 1 attempts; the shared one allows 3.
    const flaky = new Service('flaky', 5);
    await expect(flaky.perInstance()).resolves.toBe('flaky');
    expect(flaky.calls).toBe(6);
    const steady = new Service('steady', 0);
    await expect(steady.perInstance()).resolves.toBe('steady');
    expect(steady.calls).toBe(1);
  });

  it('decorates static methods with the class as this', async () => {
    const { Service } = setup();
    const created = await Service.create('made');
    expect(created).toBeInstanceOf(Service);
    expect(created.name).toBe('made');
    expect(Service.created).toBe(1);
  });

  it("keeps the method's name", () => {
    const { Service } = setup();
    expect(Service.prototype.greet.name).toBe('greet');
    expect(Service.create.name).toBe('create');
  });
});

// A file that must not compile: the decorated method's declared type says it
// returns a number, but decoration makes it return a promise.
const WRONG_PATH = join(fixtureDir, '__wrong__.ts');
const WRONG_SOURCE = `
import { retry } from '../../../src/index.js';
import { resilient } from '../../../src/integrations/decorators/index.js';
export class Wrong {
  @resilient(retry())
  count(): number {
    return 1;
  }
}
`;

/** Parsed files shared by both programs: parsing the libraries is most of the cost. */
const parsed = new Map<string, ts.SourceFile | undefined>();

function typeCheck(dialect: Dialect): Map<string, readonly ts.Diagnostic[]> {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: true,
    noEmit: true,
    experimentalDecorators: dialect === 'legacy',
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, version, ...rest) => {
    if (resolve(name) === WRONG_PATH) return ts.createSourceFile(name, WRONG_SOURCE, version);
    if (!parsed.has(name)) parsed.set(name, getSourceFile.call(host, name, version, ...rest));
    return parsed.get(name);
  };
  host.fileExists = (name) => resolve(name) === WRONG_PATH || fileExists.call(host, name);
  host.readFile = (name) => (resolve(name) === WRONG_PATH ? WRONG_SOURCE : readFile.call(host, name));
  const program = ts.createProgram([fixturePath, WRONG_PATH], options, host);
  const byFile = new Map<string, readonly ts.Diagnostic[]>();
  for (const path of [fixturePath, WRONG_PATH]) {
    const file = program.getSourceFile(path)!;
    byFile.set(path, [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]);
  }
  return byFile;
}

const text = (d: ts.Diagnostic) => ts.flattenDiagnosticMessageText(d.messageText, '\n');

describe.each(DIALECTS)('@resilient types under %s decorators', (dialect) => {
  const diagnostics = typeCheck(dialect);

  it('type-checks the fixture without errors', () => {
    expect(diagnostics.get(fixturePath)!.map(text)).toEqual([]);
  });

  it('reports a synchronous return type at the decorator', () => {
    const errors = diagnostics.get(WRONG_PATH)!;
    expect(errors.map((d) => d.code)).toEqual([1270]);
    expect(text(errors[0]!)).toContain("Type 'Promise<number>' is not assignable to type 'number'");
  });
});
