/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/health/health.ts (see docs/testing.md, "Mutation testing"): each pins a
 * behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { health, pipeline, retry } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

describe('health (health/health)', () => {
  it('rejects a number, a string or undefined as the policies, naming what it got', () => {
    const message = (got: string) =>
      new TypeError(`health: policies must be an array or a { name: policy } record, got ${got}`);
    expect(() => health(42 as never)).toThrow(message('42'));
    expect(() => health('db' as never)).toThrow(message('"db"'));
    expect(() => health(undefined as never)).toThrow(message('undefined'));
  });

  it('a policy reached twice adds nothing to the list but its first entry: only index keys', () => {
    const clock = new VirtualClock();
    const shared = retry({ clock, name: 'shared' });
    const a = pipeline({ name: 'a' }, shared);
    const b = pipeline({ name: 'b' }, shared);
    const report = health({ a, b });
    expect(Object.keys(report.policies)).toEqual(['0', '1', '2']);
    expect(Object.entries(report.policies).map(([at, p]) => [at, p.path])).toEqual([
      ['0', 'a'],
      ['1', 'a/shared'],
      ['2', 'b'],
    ]);
    expect(Object.keys(health([shared, shared]).policies)).toEqual(['0']);
  });
});
