/**
 * The docs show what the fault-outcome benchmarks measure: the pipeline of
 * docs/recommended-config.md is, character for character, the one
 * benchmarks/scenarios/faults/recommended.ts builds, and docs/benchmarks.md
 * lists the configuration of every library as contenders.ts builds it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contenders } from '../../benchmarks/scenarios/faults/contenders.js';
import { recommendedPipeline } from '../../benchmarks/scenarios/faults/recommended.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** The lines between the `recommended:begin` and `recommended:end` markers, indentation removed. */
function measuredBlock(): string {
  const lines = read('benchmarks/scenarios/faults/recommended.ts').split('\n');
  const from = lines.findIndex((line) => line.includes('// recommended:begin'));
  const to = lines.findIndex((line) => line.includes('// recommended:end'));
  expect(from).toBeGreaterThan(0);
  expect(to).toBeGreaterThan(from);
  const block = lines.slice(from + 1, to);
  const indent = Math.min(
    ...block.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length),
  );
  return block.map((line) => line.slice(indent)).join('\n');
}

/** The pipeline as the docs page shows it: from `const policy = pipeline(` to the closing `);`. */
function documentedBlock(): string {
  const lines = read('docs/recommended-config.md').split('\n');
  const from = lines.indexOf('const policy = pipeline(');
  expect(from).toBeGreaterThan(0);
  const to = lines.indexOf(');', from);
  return lines.slice(from, to + 1).join('\n');
}

describe('recommended configuration', () => {
  it('the docs show exactly the pipeline the benchmarks measure', () => {
    expect(documentedBlock()).toBe(measuredBlock());
  });

  it('builds a fresh pipeline of retry, breaker, limiter and timeout for each client', () => {
    const a = recommendedPipeline();
    const b = recommendedPipeline();
    expect(a).not.toBe(b);
    expect(a._children().map((p) => p.kind)).toEqual([
      'retry',
      'circuitBreaker',
      'adaptiveConcurrency',
      'timeout',
    ]);
  });
});

describe('docs/benchmarks.md', () => {
  it('lists every library with the configuration the harness builds', () => {
    const docs = read('docs/benchmarks.md');
    for (const c of contenders) expect(docs, c.name).toContain(`| ${c.name} | ${c.config} |`);
  });

  it('shows the charts the harness writes', () => {
    const docs = read('docs/benchmarks.md');
    for (const name of ['hard-outage', 'brownout', 'latency-spike', 'slow-recovery', 'retry-storm']) {
      expect(docs).toContain(`(./img/faults-${name}.svg)`);
    }
    expect(docs).toContain('(./img/faults-amplification.svg)');
  });
});
