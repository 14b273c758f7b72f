// Extracts the TypeScript code blocks of the docs so that tests can type-check and run them.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../package/entries.js';

/** Where the docs live. */
export const DOCS = join(ROOT, 'docs');

/** Folders under docs/ that hold no hand-written pages (generated API reference, site build). */
const SKIPPED_DIRS = new Set(['api', '.vitepress', 'node_modules', 'public']);

/** A fenced ```ts block of a docs page. */
export interface DocBlock {
  /** Page path relative to docs/, e.g. `recipes/http-client.md`. */
  page: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** Words after the language in the info string: `no-run`, `fragment`. */
  flags: ReadonlySet<string>;
  /** The code, indentation of the fence removed. */
  code: string;
}

/** Every markdown page of the docs, relative to docs/, sorted. */
export function docPages(dir: string = DOCS): string[] {
  const pages: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) pages.push(...docPages(join(dir, entry.name)));
    } else if (entry.name.endsWith('.md')) {
      pages.push(join(dir, entry.name));
    }
  }
  return dir === DOCS ? pages.map((page) => relative(DOCS, page)).sort() : pages;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)(.*)$/;

/** The ```ts / ```typescript blocks of one markdown text. */
export function extractBlocks(markdown: string, page: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] as string);
    if (open === null) continue;
    const [, indent = '', fence = '', lang = '', rest = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j] as string;
      if (line.trim().startsWith(fence) && line.trim().replace(/[`~]/g, '') === '') break;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart());
    }
    if (lang === 'ts' || lang === 'typescript') {
      // VitePress info strings may carry `{1,3}` line highlights or `[title]`; only bare words are flags.
      const flags = new Set(rest.split(/\s+/).filter((word) => /^[a-z][\w-]*$/.test(word)));
      blocks.push({ page, line: i + 1, flags, code: body.join('\n') });
    }
    i = j;
  }
  return blocks;
}

/** The blocks of every docs page. */
export function allBlocks(): DocBlock[] {
  return docPages().flatMap((page) => extractBlocks(readFileSync(join(DOCS, page), 'utf8'), page));
}

/** A stable, file-name-safe id for a block: `recipes-http-client.md-12`. */
export function blockId(block: DocBlock): string {
  return `${block.page.replace(/[\\/]/g, '-')}-${block.line}`;
}
