/**
 * Tests written to kill mutants that survived the config mutation run on
 * src/config/section.ts (see docs/testing.md, "Mutation testing"): each pins a
 * behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { type ConfigIssue, registry, validateConfig } from '../../src/config/index.js';
import { VirtualClock } from '../../src/testing/index.js';

const DURATION = 'a duration: ms as a number, or a string like "250ms", "2s", "1.5s", "1m"';

function issuesOf(config: unknown, code?: unknown): readonly ConfigIssue[] {
  return validateConfig(config, code === undefined ? {} : { code: code as never });
}

/** `{ a: { a: ... {} } }`: `levels` objects, each inside the one before. */
function nestedObjects(levels: number): unknown {
  let value: unknown = {};
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

/** `[[...[]]]`: `levels` arrays, each inside the one before. */
function nestedArrays(levels: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < levels; i++) value = [value];
  return value;
}

/** A clock whose `now` cannot be read: the constructor's check of it throws a message naming no option. */
class OfflineClock {
  get now(): never {
    throw new Error('time source offline');
  }
}

describe('building a section (src/config/section.ts)', () => {
  describe('received values', () => {
    it('a bad option given in code is reported with the value the policy got', () => {
      expect(issuesOf({ p: { retry: {} } }, { p: { retry: { maxAttempts: -1 } } })).toStrictEqual([
        {
          path: 'p.retry.maxAttempts',
          message: 'must be an integer ≥ 1, got -1',
          expected: 'an integer ≥ 1',
          received: '-1',
        },
      ]);
    });

    it('an error that names no option has no received value at all', () => {
      expect(issuesOf({ p: { fallback: {} } })).toStrictEqual([
        { path: 'p.fallback', message: 'needs value or lastKnownGood, got neither' },
      ]);
    });

    it('an error naming no option is reported at a section given as a bare duration, not below it', () => {
      expect(
        issuesOf({ p: { timeout: '1s' } }, { p: { timeout: { clock: new OfflineClock() } } }),
      ).toStrictEqual([{ path: 'p.timeout', message: 'time source offline' }]);
    });

    it('a nested duration is read and converted through its dotted path', () => {
      expect(
        issuesOf({
          p: {
            circuitBreaker: { window: { type: 'time', duration: '30s' } },
            fallback: { lastKnownGood: { ttl: '5m' } },
          },
        }),
      ).toStrictEqual([]);
      expect(issuesOf({ p: { circuitBreaker: { window: { type: 'time', duration: '0s' } } } })).toStrictEqual(
        [
          {
            path: 'p.circuitBreaker.window.duration',
            message: 'must be a number > 0, got 0',
            expected: 'a number > 0',
            received: '"0s"',
          },
        ],
      );
    });
  });

  describe('every problem at once', () => {
    it('each option failing in turn, then a required one missing: all are reported', () => {
      // name fails first; once it is dropped, the missing rate fails.
      expect(issuesOf({ p: { chaos: { fault: { name: 5 } } } })).toStrictEqual([
        {
          path: 'p.chaos.fault.name',
          message: 'must be a non-empty string, got 5',
          expected: 'a non-empty string',
          received: '5',
        },
        {
          path: 'p.chaos.fault.rate',
          message: 'must be a number ≥ 0 and ≤ 1, got undefined',
          expected: 'a number ≥ 0 and ≤ 1',
          received: 'undefined',
        },
      ]);
    });

    it('an unknown option named "undefined" does not hide an error that names no option', () => {
      // `{ [key]: 1 }` with an undefined key.
      expect(issuesOf({ p: { fallback: { undefined: 1 } } })).toStrictEqual([
        {
          path: 'p.fallback.undefined',
          message: 'unknown option (expected one of: value, lastKnownGood, fallbackOn, clock, name)',
          expected: 'one of: value, lastKnownGood, fallbackOn, clock, name',
          received: '1',
        },
        { path: 'p.fallback', message: 'needs value or lastKnownGood, got neither' },
      ]);
    });

    it('an option given both in data and in code does not hide another bad option', () => {
      expect(
        issuesOf({ p: { retry: { maxAttempts: 3, maxDuration: 0 } } }, { p: { retry: { maxAttempts: 5 } } }),
      ).toStrictEqual([
        {
          path: 'p.retry.maxAttempts',
          message: 'is given both in the configuration and in code; give it in one place',
          received: '3',
        },
        {
          path: 'p.retry.maxDuration',
          message: 'must be a number > 0, got 0',
          expected: 'a number > 0',
          received: '0',
        },
      ]);
    });

    it('an option given as undefined in code is not given: no conflict with the data', () => {
      expect(
        issuesOf({ p: { retry: { maxAttempts: 3 } } }, { p: { retry: { maxAttempts: undefined } } }),
      ).toEqual([]);
    });
  });

  describe('backoffs and durations', () => {
    it('a backoff given as data is the one the policy waits by', async () => {
      const clock = new VirtualClock();
      const policies = registry(
        { p: { retry: { maxAttempts: 3, backoff: { type: 'constant', ms: '250ms' } } } },
        { clock },
      );
      const attemptsAt: number[] = [];
      const call = policies
        .get('p')
        .execute(() => {
          attemptsAt.push(clock.now());
          throw new Error('down');
        })
        .catch((error: Error) => error.message);
      await clock.runAll();
      expect(await call).toBe('down');
      expect(attemptsAt).toEqual([0, 250, 500]);
    });

    it('an unknown backoff type is reported with the type received', () => {
      const expected = 'one of "constant", "linear", "exponential", "decorrelatedJitter"';
      expect(issuesOf({ p: { retry: { backoff: { type: 'fibonacci' } } } })).toStrictEqual([
        {
          path: 'p.retry.backoff.type',
          message: `must be ${expected}, got "fibonacci"`,
          expected,
          received: '"fibonacci"',
        },
      ]);
    });

    it('only a hedge delay may be a quantile: other durations starting with p are not durations', () => {
      expect(issuesOf({ p: { hedge: { delay: 'p95' } } })).toStrictEqual([]);
      expect(issuesOf({ p: { hedge: { delay: 10, minDelay: 'p5' }, timeout: 'p5' } })).toStrictEqual([
        {
          path: 'p.hedge.minDelay',
          message: `must be ${DURATION}, got "p5"`,
          expected: DURATION,
          received: '"p5"',
        },
        { path: 'p.timeout', message: `must be ${DURATION}, got "p5"`, expected: DURATION, received: '"p5"' },
      ]);
    });
  });

  describe('configuration data (copyData)', () => {
    // The configuration is depth 0, a pipeline 1, a section 2, a fallback value 3.
    it('data nested 64 levels deep is accepted, 65 levels is too deep', () => {
      expect(issuesOf({ p: { fallback: { value: nestedObjects(62) } } })).toStrictEqual([]);
      expect(issuesOf({ p: { fallback: { value: nestedObjects(63) } } })).toStrictEqual([
        { path: `p.fallback.value${'.a'.repeat(62)}`, message: 'is nested too deeply (a cycle?)' },
      ]);
    });

    it('arrays count towards the depth, and their items are named by index', () => {
      expect(issuesOf({ p: { fallback: { value: nestedArrays(62) } } })).toStrictEqual([]);
      expect(issuesOf({ p: { fallback: { value: nestedArrays(63) } } })).toStrictEqual([
        { path: `p.fallback.value${'[0]'.repeat(62)}`, message: 'is nested too deeply (a cycle?)' },
      ]);
      expect(issuesOf({ p: { fallback: { value: [1, () => 2] } } })).toStrictEqual([
        {
          path: 'p.fallback.value[1]',
          message:
            'must be JSON data, got a function; give functions and objects in code (registry(config, { code }))',
          expected: 'JSON data',
          received: 'a function',
        },
      ]);
    });

    it('a property set to undefined is left out, as JSON would', async () => {
      expect(issuesOf({ p: { retry: { maxAttempts: undefined, backoff: 0 } } })).toStrictEqual([]);
      const policies = registry({ p: { fallback: { value: { a: 1, b: undefined } as never } } });
      expect(await policies.get('p').execute(() => Promise.reject(new Error('down')))).toStrictEqual({
        a: 1,
      });
    });
  });
});
