// Every ```ts block of docs/ is type-checked (all in one compiler run) and, unless its info string
// says `no-run` (servers, network) or `fragment` (not a whole program), executed. Imports of
// 'bulwark' and 'bulwark/<entry>' are pointed at the sources, so the docs are checked against the
// code as it is, not against the last build.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { formatWithOptions } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { entryPoints, ROOT } from '../package/entries.js';
import { allBlocks, blockId, type DocBlock } from './blocks.js';
import { runRecorded } from './vitest-shim.js';

// A folder per process, so that runs started at the same time do not share files.
const OUT = join(ROOT, '.docs-blocks', String(process.pid));
const SHIM = join(ROOT, 'test/docs/vitest-shim.ts');

const blocks = allBlocks();
const sources = new Map(entryPoints().map((entry) => [entry.specifier, join(ROOT, entry.source)]));

function importPath(from: string, file: string): string {
  const path = relative(dirname(from), file).replace(/\\/g, '/').replace(/\.ts$/, '.js');
  return path.startsWith('.') ? path : `./${path}`;
}

/** The block as a module whose 'bulwark…' and 'vitest' imports point at the sources and the shim. */
function moduleSource(block: DocBlock, file: string): string {
  const code = block.code.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(bulwark(?:\/[\w./-]+)?|vitest)\2/g,
    (_, keyword: string, quote: string, specifier: string) => {
      const target = specifier === 'vitest' ? SHIM : sources.get(specifier);
      if (target === undefined) {
        throw new Error(`docs/${block.page}:${block.line} imports '${specifier}', which is no entry point`);
      }
      return `${keyword}${quote}${importPath(file, target)}${quote}`;
    },
  );
  // `export {}` makes every block a module: top-level await works and names do not clash.
  return `${code}\nexport {};\n`;
}

const files = new Map<DocBlock, string>();
const runFiles = new Map<DocBlock, string>();

/**
 * The module to execute. Vitest's transform does not lower decorators, so a block using them is
 * compiled by TypeScript first (standard decorators, as the tsconfig and the type-check use).
 */
function runnableSource(source: string, file: string): string {
  if (!/^\s*@[\w.]+/m.test(source)) return source;
  return ts.transpileModule(source, {
    fileName: file,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      useDefineForClassFields: true,
    },
  }).outputText;
}

/** Whether a process still runs (a folder of a run that was killed is removed). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

beforeAll(() => {
  const parent = dirname(OUT);
  if (existsSync(parent)) {
    for (const name of readdirSync(parent)) {
      if (/^\d+$/.test(name) && !alive(Number(name)))
        rmSync(join(parent, name), { recursive: true, force: true });
    }
  }
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  for (const block of blocks) {
    const file = join(OUT, `${blockId(block)}.ts`);
    const source = moduleSource(block, file);
    files.set(block, file);
    writeFileSync(file, source);
    const run = runnableSource(source, file);
    const runFile = run === source ? file : file.replace(/\.ts$/, '.run.ts');
    runFiles.set(block, runFile);
    if (runFile !== file) writeFileSync(runFile, run);
  }
});

afterAll(() => {
  rmSync(OUT, { recursive: true, force: true });
});

function compilerOptions(): ts.CompilerOptions {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  return { ...parsed.options, noEmit: true, declaration: false };
}

/** Where a diagnostic points in the markdown page. */
function pageLocation(block: DocBlock, diagnostic: ts.Diagnostic): string {
  if (diagnostic.file === undefined || diagnostic.start === undefined)
    return `docs/${block.page}:${block.line}`;
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  return `docs/${block.page}:${block.line + 1 + line}:${character + 1}`;
}

/**
 * For a block flagged `check-output`: what each `console.log(...); // expected` line says it prints,
 * in order. The block must print exactly these lines, formatted as console.log formats them.
 */
function expectedOutput(block: DocBlock): string[] {
  const expected: string[] = [];
  let printsBlock = false;
  for (const line of block.code.split('\n')) {
    const comment = /^\s*\/\/ ?(.*)$/.exec(line)?.[1];
    if (printsBlock && comment !== undefined) {
      expected.push(comment.trim());
      continue;
    }
    // `// prints:` opens lines of output written as comments, for logs from callbacks.
    printsBlock = comment?.trim() === 'prints:';
    const trailing = /^\s*console\.log\(.*\);\s*\/\/ (.*)$/.exec(line)?.[1];
    if (trailing !== undefined) expected.push(trailing.trim());
  }
  return expected;
}

describe('docs code blocks', () => {
  it('finds the blocks of every page, and only TypeScript ones', () => {
    expect(blocks.length).toBeGreaterThan(50);
    expect(blocks.every((block) => block.code.trim() !== '')).toBe(true);
  });

  it('reads the expected output of a check-output block from its console.log comments', () => {
    const block: DocBlock = {
      page: 'example.md',
      line: 1,
      flags: new Set(['check-output']),
      code: [
        'const a = 1;',
        'console.log(a + 1); // 2',
        '// a comment that is not output',
        'console.log({ a }); // { a: 1 }',
        "emitter.on('x', (e) => console.log(e));",
        'run();',
        '// prints:',
        '// first',
        '// second',
        "console.log('no comment');",
      ].join('\n'),
    };
    expect(expectedOutput(block)).toEqual(['2', '{ a: 1 }', 'first', 'second']);
  });

  it('marks a block as fragment only rarely', () => {
    const fragments = blocks.filter((block) => block.flags.has('fragment'));
    expect(fragments.length).toBeLessThanOrEqual(Math.ceil(blocks.length / 20));
  });

  // One compiler run over every block; it also loads the sources and their types, so give it room
  // on a busy machine (it takes about 10 s of CPU).
  it('type-checks every block that is not a fragment against the sources', { timeout: 120_000 }, () => {
    const checked = blocks.filter((block) => !block.flags.has('fragment'));
    const program = ts.createProgram(
      checked.map((block) => files.get(block) as string),
      compilerOptions(),
    );
    const errors: string[] = [];
    for (const block of checked) {
      const source = program.getSourceFile(files.get(block) as string);
      if (source === undefined) throw new Error(`not compiled: docs/${block.page}:${block.line}`);
      const diagnostics = [
        ...program.getSyntacticDiagnostics(source),
        ...program.getSemanticDiagnostics(source),
      ];
      for (const diagnostic of diagnostics) {
        const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
        errors.push(`${pageLocation(block, diagnostic)} TS${diagnostic.code}: ${message}`);
      }
    }
    expect(errors).toEqual([]);
  });

  const runnable = blocks.filter((block) => !block.flags.has('no-run') && !block.flags.has('fragment'));
  it.each(runnable.map((block) => [`${block.page}:${block.line}`, block] as const))(
    'runs %s',
    async (_, block) => {
      const output: unknown[][] = [];
      const logged: string[] = [];
      const capture = (...args: unknown[]) => {
        output.push(args);
      };
      const captureLog = (...args: unknown[]) => {
        output.push(args);
        logged.push(formatWithOptions({ breakLength: Number.POSITIVE_INFINITY }, ...args));
      };
      const spies = (['log', 'info', 'warn', 'error'] as const).map((method) =>
        vi.spyOn(console, method).mockImplementation(method === 'log' ? captureLog : capture),
      );
      try {
        await import(runFiles.get(block) as string);
        await runRecorded();
      } catch (error) {
        const printed = output.map((args) => args.map(String).join(' ')).join('\n');
        throw new Error(`docs/${block.page}:${block.line} failed: ${String(error)}\noutput:\n${printed}`, {
          cause: error,
        });
      } finally {
        for (const spy of spies) spy.mockRestore();
        vi.useRealTimers();
      }
      if (block.flags.has('check-output')) expect(logged).toEqual(expectedOutput(block));
    },
    10_000,
  );
});
