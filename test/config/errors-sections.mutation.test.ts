/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/config/errors.ts, src/config/sections.ts and src/config/duration.ts
 * (see docs/testing.md, "Mutation testing"): each pins a behaviour that no
 * other test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigIssue, parseDuration, registry } from '../../src/config/index.js';
import { BUDGET_SPEC, CHAOS_SPECS, KEYED_SPEC, LAYER_SPECS } from '../../src/config/sections.js';
import { VirtualClock } from '../../src/testing/index.js';

function rejection(config: unknown, options?: Parameters<typeof registry>[1]): ConfigError {
  try {
    registry(config as never, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected the configuration to be rejected');
}

function issuesOf(config: unknown, options?: Parameters<typeof registry>[1]): ConfigIssue[] {
  return [...rejection(config, options).issues];
}

/** A clock whose `now()` throws `message`: `keyed`'s constructor reads it, so its error reaches the config as is. */
class ThrowingClock extends VirtualClock {
  constructor(private readonly message: string) {
    super();
  }
  override now(): number {
    throw new Error(this.message);
  }
}

/** The issues of a `keyed` section whose constructor fails with `message` (not a validation message). */
function keyedFailure(message: string): ConfigIssue[] {
  return issuesOf(
    { p: { keyed: { policies: ['circuitBreaker'] }, circuitBreaker: {} } },
    { clock: new ThrowingClock(message) },
  );
}

describe('durations (config/duration)', () => {
  it('a unit must end the string: text after it makes the duration invalid', () => {
    expect(() => parseDuration('2sec')).toThrow(
      'bulwark/config: expected a duration: ms as a number, or a string like "250ms", "2s", "1.5s", "1m", got "2sec"',
    );
    expect(() => parseDuration('5msx')).toThrow(TypeError);
  });

  it('fractions may have several digits, with or without a leading zero', () => {
    expect(parseDuration('1.25s')).toBe(1_250);
    expect(parseDuration('.25s')).toBe(250);
    expect(parseDuration('0.125m')).toBe(7_500);
  });

  it('only a string is parsed: an array or object whose text looks like a duration is rejected', () => {
    expect(() => parseDuration(['2s'] as never)).toThrow(
      'bulwark/config: expected a duration: ms as a number, or a string like "250ms", "2s", "1.5s", "1m", got an array',
    );
    expect(() => parseDuration({ toString: () => '2s' } as never)).toThrow(TypeError);
  });
});

describe('config errors (config/errors)', () => {
  it('one issue is counted as "1 problem" in the message', () => {
    const error = rejection({ p: { retry: { maxAttempts: 0 } } });
    expect(error.message).toBe(
      'bulwark/config: 1 problem in the configuration:\n  - p.retry.maxAttempts: must be an integer ≥ 1, got 0',
    );
  });

  it('an issue with nothing expected has no `expected` key at all', () => {
    const issues = issuesOf(
      { p: { retry: { maxAttempts: 3 } } },
      { code: { p: { retry: { maxAttempts: 4 } } } as never },
    );
    expect(issues).toStrictEqual([
      {
        path: 'p.retry.maxAttempts',
        message: 'is given both in the configuration and in code; give it in one place',
        received: '3',
      },
    ]);
    expect(Object.keys(issues[0]!)).toEqual(['path', 'message', 'received']);
  });

  it('a constructor error without the policy prefix is reported whole, at the section', () => {
    expect(keyedFailure('the clock is broken')).toStrictEqual([
      { path: 'p.keyed', message: 'the clock is broken' },
    ]);
  });

  it('a message is about an option only when it starts with the option name', () => {
    expect(keyedFailure('1 maxKeys must be a number, got 2')).toStrictEqual([
      { path: 'p.keyed', message: '1 maxKeys must be a number, got 2' },
    ]);
    expect(keyedFailure('1 maxKeys is wrong')).toStrictEqual([
      { path: 'p.keyed', message: '1 maxKeys is wrong' },
    ]);
    expect(keyedFailure('keyed: maxKeys is wrong')).toStrictEqual([
      { path: 'p.keyed.maxKeys', message: 'is wrong' },
    ]);
  });

  it('an unknown-option message is recognised only as a whole message', () => {
    expect(keyedFailure('oops unknown option "x" (expected one of: a, b)')).toStrictEqual([
      { path: 'p.keyed', message: 'oops unknown option "x" (expected one of: a, b)' },
    ]);
    expect(keyedFailure('unknown option "x" (expected one of: a, b) and more')).toStrictEqual([
      { path: 'p.keyed', message: 'unknown option "x" (expected one of: a, b) and more' },
    ]);
  });

  it('an unknown key is reported even when its list of expected options names an option already dropped', () => {
    expect(
      issuesOf({ p: { retry: { maxDuration: 'soon', bogus: 1 } } }).map((i) => [i.path, i.message]),
    ).toEqual([
      [
        'p.retry.maxDuration',
        'must be a duration: ms as a number, or a string like "250ms", "2s", "1.5s", "1m", got "soon"',
      ],
      ['p.retry.bogus', expect.stringMatching(/^unknown option \(expected one of: .*\bmaxDuration\b.*\)$/)],
    ]);
  });

  it('a dropped key hides a later error only when that error asks for it by its whole name, symbols and all', () => {
    // `maxAttempts+` is dropped as unknown; the error about `maxAttempts` is another problem.
    expect(
      issuesOf({ p: { retry: { 'maxAttempts+': 1, maxAttempts: 0 } } }).map((i) => [i.path, i.message]),
    ).toEqual([
      ['p.retry.maxAttempts+', expect.stringMatching(/^unknown option \(expected one of: /)],
      ['p.retry.maxAttempts', 'must be an integer ≥ 1, got 0'],
    ]);
    // `slowCall` is dropped as unknown; "needs slowCallDuration" does not name it.
    expect(
      issuesOf({ p: { circuitBreaker: { slowCall: 1, slowCallRate: 0.5 } } }).map((i) => [i.path, i.message]),
    ).toEqual([
      ['p.circuitBreaker.slowCall', expect.stringMatching(/^unknown option \(expected one of: /)],
      ['p.circuitBreaker.slowCallRate', 'needs slowCallDuration (how slow is slow?)'],
    ]);
    // Nor does it name `slowCallDuration+`: the key's symbols are matched literally.
    expect(
      issuesOf({ p: { circuitBreaker: { 'slowCallDuration+': 1, slowCallRate: 0.5 } } }).map((i) => i.path),
    ).toEqual(['p.circuitBreaker.slowCallDuration+', 'p.circuitBreaker.slowCallRate']);
  });
});

describe('policy sections (config/sections)', () => {
  it('a section without durations, backoffs, "Infinity" counts or data-only options lists none', () => {
    for (const spec of [CHAOS_SPECS.fault, CHAOS_SPECS.result]) {
      expect(spec.durations).toEqual([]);
      expect(spec.backoffs).toEqual([]);
      expect(spec.infinities).toEqual([]);
      expect(spec.dataOnly).toEqual([]);
    }
    expect(LAYER_SPECS.retry.infinities).toEqual([]);
    expect(LAYER_SPECS.timeout.backoffs).toEqual([]);
    expect(BUDGET_SPEC.dataOnly).toEqual([]);
    expect(KEYED_SPEC.dataOnly).toEqual(['policies']);
  });

  it('hedge’s delay is a duration in data, retry’s a function from code', () => {
    expect(LAYER_SPECS.hedge.codeOnly).not.toContain('delay');
    expect(LAYER_SPECS.retry.codeOnly).toContain('delay');
  });

  it('a constant backoff’s bad ms is reported at backoff.ms, with what it expects', () => {
    expect(issuesOf({ p: { retry: { backoff: { type: 'constant', ms: -1 } } } })).toStrictEqual([
      {
        path: 'p.retry.backoff.ms',
        message: 'must be a number ≥ 0, got -1',
        expected: 'a number ≥ 0',
        received: '-1',
      },
    ]);
  });

  it('ms given to a backoff other than constant is rejected by name', () => {
    expect(
      issuesOf({ p: { retry: { backoff: { type: 'exponential', initial: '100ms', ms: 5 } } } }).map((i) => [
        i.path,
        i.message,
      ]),
    ).toEqual([['p.retry.backoff.ms', expect.stringMatching(/^unknown option \(expected one of: /)]]);
  });
});
