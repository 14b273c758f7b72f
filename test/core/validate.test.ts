import { describe, expect, it } from 'vitest';
import {
  checkBoolean,
  checkFunction,
  checkKeys,
  checkNumber,
  checkObject,
  checkOneOf,
  checkString,
  show,
} from '../../src/core/validate.js';
import {
  BACKOFF_OPTIONS,
  backoff,
  FALLBACK_OPTIONS,
  fallback,
  RETRY_OPTIONS,
  retry,
  TIMEOUT_OPTIONS,
  timeout,
} from '../../src/index.js';

describe('validate helpers', () => {
  it('show renders values short and unambiguous', () => {
    expect(show('a')).toBe('"a"');
    expect(show(() => 1)).toBe('a function');
    expect(show(10n)).toBe('10n');
    expect(show(Symbol('s'))).toBe('Symbol(s)');
    expect(show(null)).toBe('null');
    expect(show(undefined)).toBe('undefined');
    expect(show(-2)).toBe('-2');
    expect(show([1])).toBe('an array');
    expect(show({ a: 1 })).toBe('{"a":1}');
    expect(show({ long: 'x'.repeat(100) })).toMatch(/^\{"long":"x+\.\.\.$/);
    expect(show({ long: 'x'.repeat(100) })).toHaveLength(60);
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    expect(show(cyclic)).toBe('an object');
  });

  it('checkNumber names the policy, the option, the bound and the value', () => {
    expect(() => checkNumber('retry', 'maxAttempts', -2, { min: 1, integer: true })).toThrow(
      new RangeError('retry: maxAttempts must be an integer ≥ 1, got -2'),
    );
    expect(() => checkNumber('p', 'ms', 0, { min: 0, exclusiveMin: true })).toThrow(
      'p: ms must be a number > 0, got 0',
    );
    expect(() => checkNumber('p', 'rate', 2, { min: 0, max: 1 })).toThrow(
      'p: rate must be a number ≥ 0 and ≤ 1, got 2',
    );
    expect(() => checkNumber('p', 'n', 1.5, { integer: true })).toThrow('p: n must be an integer, got 1.5');
  });

  it('checkNumber throws TypeError for non-numbers and RangeError for numbers out of range', () => {
    expect(() => checkNumber('p', 'n', '5', {})).toThrow(TypeError);
    expect(() => checkNumber('p', 'n', Number.NaN, {})).toThrow(TypeError);
    expect(() => checkNumber('p', 'n', undefined, {})).toThrow('p: n must be a number, got undefined');
    expect(() => checkNumber('p', 'n', Number.POSITIVE_INFINITY, {})).toThrow(RangeError);
    expect(() => checkNumber('p', 'n', Number.NEGATIVE_INFINITY, { infinite: true })).toThrow(RangeError);
    expect(checkNumber('p', 'n', Number.POSITIVE_INFINITY, { infinite: true, integer: true })).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(checkNumber('p', 'n', undefined, {}, 7)).toBe(7);
    expect(checkNumber('p', 'n', 3, { min: 1, max: 3, integer: true }, 7)).toBe(3);
  });

  it('checkKeys rejects unknown keys and lists the known ones', () => {
    expect(() => checkKeys('retry', { maxAtempts: 3 }, ['maxAttempts', 'backoff'])).toThrow(
      new TypeError('retry: unknown option "maxAtempts" (expected one of: maxAttempts, backoff)'),
    );
    expect(() => checkKeys('f', { tl: 1 }, ['ttl'], 'lastKnownGood.')).toThrow(
      /unknown option "lastKnownGood.tl"/,
    );
    expect(() => checkKeys('p', undefined, [])).not.toThrow();
    expect(() => checkKeys('p', { a: undefined }, ['a'])).not.toThrow();
  });

  it('checkObject accepts undefined and plain objects only', () => {
    expect(() => checkObject('p', 'options', undefined)).not.toThrow();
    expect(() => checkObject('p', 'options', {})).not.toThrow();
    expect(() => checkObject('p', 'options', null)).toThrow('p: options must be an object, got null');
    expect(() => checkObject('p', 'options', [])).toThrow('p: options must be an object, got an array');
    expect(() => checkObject('p', 'options', 3)).toThrow(TypeError);
  });

  it('checkFunction, checkOneOf, checkBoolean and checkString name option and value', () => {
    const f = () => true;
    expect(checkFunction('p', 'fn', f)).toBe(f);
    expect(checkFunction('p', 'fn', undefined)).toBeUndefined();
    expect(() => checkFunction('p', 'fn', 1)).toThrow('p: fn must be a function, got 1');
    expect(checkOneOf('p', 'mode', 'a', ['a', 'b'])).toBe('a');
    expect(checkOneOf('p', 'mode', undefined, ['a', 'b'], 'b')).toBe('b');
    expect(() => checkOneOf('p', 'mode', 'c', ['a', 'b'])).toThrow(
      'p: mode must be one of "a", "b", got "c"',
    );
    expect(checkBoolean('p', 'on', undefined, true)).toBe(true);
    expect(checkBoolean('p', 'on', false, true)).toBe(false);
    expect(() => checkBoolean('p', 'on', 'yes', true)).toThrow('p: on must be a boolean, got "yes"');
    expect(checkString('p', 'name', undefined)).toBeUndefined();
    expect(checkString('p', 'name', 'n')).toBe('n');
    expect(() => checkString('p', 'name', '')).toThrow('p: name must be a non-empty string, got ""');
    expect(() => checkString('p', 'name', 5)).toThrow(TypeError);
  });
});

describe('policies validate every option at construction', () => {
  it.each([
    ['retry: maxAttempts must be an integer ≥ 1, got -2', RangeError, () => retry({ maxAttempts: -2 })],
    ['retry: maxAttempts must be an integer ≥ 1, got 0', RangeError, () => retry({ maxAttempts: 0 })],
    ['retry: maxAttempts must be an integer ≥ 1, got 2.5', RangeError, () => retry({ maxAttempts: 2.5 })],
    [
      'retry: maxAttempts must be an integer ≥ 1, got Infinity',
      RangeError,
      () => retry({ maxAttempts: Number.POSITIVE_INFINITY }),
    ],
    ['retry: backoff must be a number ≥ 0, got -1', RangeError, () => retry({ backoff: -1 })],
    [
      'retry: backoff must be a number of ms or a backoff, got string',
      TypeError,
      () => retry({ backoff: 'fast' as never }),
    ],
    [
      'retry: backoff must be a number of ms or a backoff, got object',
      TypeError,
      () => retry({ backoff: {} as never }),
    ],
    ['retry: retryOn must be a function, got true', TypeError, () => retry({ retryOn: true as never })],
    ['retry: retryOnResult must be a function, got 1', TypeError, () => retry({ retryOnResult: 1 as never })],
    ['retry: maxDuration must be a number > 0, got 0', RangeError, () => retry({ maxDuration: 0 })],
    ['retry: delay must be a function, got 5', TypeError, () => retry({ delay: 5 as never })],
    ['retry: maxRetryAfter must be a number ≥ 0, got -1', RangeError, () => retry({ maxRetryAfter: -1 })],
    ['retry: budget must be a retryBudget(), got object', TypeError, () => retry({ budget: {} as never })],
    ['retry: budget must be a retryBudget(), got object', TypeError, () => retry({ budget: null as never })],
    [
      'retry: clock must have now(), setTimeout() and clearTimeout(), got object',
      TypeError,
      () => retry({ clock: { now: () => 0 } as never }),
    ],
    [/retry: clock must have now\(\)/, TypeError, () => retry({ clock: null as never })],
    ['retry: name must be a non-empty string, got ""', TypeError, () => retry({ name: '' })],
    [/retry: unknown option "maxAtempts"/, TypeError, () => retry({ maxAtempts: 3 } as never)],
    ['retry: options must be an object, got 5', TypeError, () => retry(5 as never)],
    ['timeout: ms must be a number > 0, got 0', RangeError, () => timeout(0)],
    ['timeout: ms must be a number > 0, got -5', RangeError, () => timeout(-5)],
    ['timeout: ms must be a number > 0, got NaN', TypeError, () => timeout(Number.NaN)],
    ['timeout: ms must be a number > 0, got Infinity', RangeError, () => timeout(Number.POSITIVE_INFINITY)],
    ['timeout: ms must be a number > 0, got undefined', TypeError, () => timeout({} as never)],
    ['timeout: expected ms or { ms }, got undefined', TypeError, () => timeout(undefined as never)],
    ['timeout: options must be an object, got null', TypeError, () => timeout(null as never)],
    [
      'timeout: strategy must be one of "cooperative", "aggressive", got "eager"',
      TypeError,
      () => timeout({ ms: 5, strategy: 'eager' as never }),
    ],
    [/timeout: unknown option "ttl"/, TypeError, () => timeout({ ms: 5, ttl: 1 } as never)],
    [
      'fallback: options are required: { value } or { lastKnownGood }',
      TypeError,
      () => fallback(undefined as never),
    ],
    ['fallback: needs value or lastKnownGood, got neither', TypeError, () => fallback({})],
    [/fallback: unknown option "values"/, TypeError, () => fallback({ values: 1 } as never)],
    [
      'fallback: lastKnownGood.ttl must be a number > 0, got 0',
      RangeError,
      () => fallback({ lastKnownGood: { ttl: 0 } }),
    ],
    [
      /fallback: unknown option "lastKnownGood.tl"/,
      TypeError,
      () => fallback({ lastKnownGood: { tl: 1 } as never }),
    ],
    [
      'fallback: lastKnownGood must be an object, got 5',
      TypeError,
      () => fallback({ lastKnownGood: 5 as never }),
    ],
    [
      'fallback: fallbackOn must be a function, got "all"',
      TypeError,
      () => fallback({ value: 1, fallbackOn: 'all' as never }),
    ],
    ['backoff.constant: ms must be a number ≥ 0, got -1', RangeError, () => backoff.constant(-1)],
    [
      'backoff.exponential: factor must be a number ≥ 1, got 0.5',
      RangeError,
      () => backoff.exponential({ factor: 0.5 }),
    ],
  ] as const)('throws %s', (message, type, make) => {
    expect(make).toThrow(type);
    expect(make).toThrow(message);
  });
});

describe('exported option lists', () => {
  it('are exactly the keys each factory accepts', () => {
    const cases: [readonly string[], (options: object) => unknown][] = [
      [RETRY_OPTIONS, (o) => retry(o)],
      [TIMEOUT_OPTIONS, (o) => timeout({ ms: 1, ...o })],
      [FALLBACK_OPTIONS, (o) => fallback({ value: 1, ...o })],
      [BACKOFF_OPTIONS.constant, (o) => backoff.constant(1, o)],
      [BACKOFF_OPTIONS.linear, (o) => backoff.linear(o)],
      [BACKOFF_OPTIONS.exponential, (o) => backoff.exponential(o)],
      [BACKOFF_OPTIONS.decorrelatedJitter, (o) => backoff.decorrelatedJitter(o)],
    ];
    for (const [names, make] of cases) {
      for (const name of names) expect(() => make({ [name]: undefined })).not.toThrow(/unknown option/);
      expect(() => make({ bogus: 1 })).toThrow(`(expected one of: ${names.join(', ')})`);
    }
  });
});
