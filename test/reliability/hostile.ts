import fc from 'fast-check';
import { retry, retryBudget } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

/** What a throwing getter or callback throws: it may come out as it is, nothing else may. */
export class Sentinel extends Error {
  constructor() {
    super('sentinel thrown by a hostile getter or callback');
    this.name = 'Sentinel';
  }
}

/** What chaos.fault injects in the fuzz tests (from an option or a function). */
export class InjectedError extends Error {
  constructor(message = 'injected') {
    super(message);
    this.name = 'InjectedError';
  }
}

/** Numbers that break naive checks: NaN, -0, infinities, extremes, fractions, unsafe integers. */
export const oddNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    Number.NaN,
    -0,
    0,
    1,
    -1,
    0.5,
    1.5,
    2,
    3,
    20,
    100,
    1_000,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.EPSILON,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    2 ** 31,
    2 ** 31 - 1,
    2 ** 32,
    1e21,
    -1e21,
    1e-7,
  ),
  fc.double(),
  fc.integer({ min: -5, max: 1_000_000 }),
);

/** Strings, including the ones options of type string accept and prototype names. */
export const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '1',
    '0x10',
    'NaN',
    'Infinity',
    'p0',
    'p50',
    'p95',
    'p99.9',
    'p100',
    'p-1',
    'p1e2',
    'cooperative',
    'aggressive',
    'count',
    'time',
    'tokenBucket',
    'slidingWindow',
    'reject',
    'wait',
    'aimd',
    'gradient',
    'full',
    'equal',
    'none',
    'closed',
    'open',
    'halfOpen',
    'isolated',
    '__proto__',
    'constructor',
    'toString',
  ),
  fc.string({ maxLength: 8 }),
);

function throwingGetterObject(key: string): object {
  const o = {};
  Object.defineProperty(o, key, {
    enumerable: true,
    get() {
      throw new Sentinel();
    },
  });
  return o;
}

/** Functions that return junk or throw (callbacks must not break a constructor). */
export const oddFunction: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    () => {
      throw new Sentinel();
    },
    () => undefined,
    () => Number.NaN,
    () => -1,
    () => Number.POSITIVE_INFINITY,
    () => 'junk',
    () => true,
    () => null,
    () => ({}),
    () => Promise.reject(new Sentinel()),
    async () => 1,
    function* generator() {
      yield 1;
    },
    class Junk {},
  ),
  fc.func(fc.oneof(oddNumber, oddString, fc.boolean(), fc.constant(null))) as fc.Arbitrary<
    (...args: unknown[]) => unknown
  >,
);

/** Objects that look almost right, or that fight back when read. */
function oddObject(keys: readonly string[]): fc.Arbitrary<object> {
  const leaf = fc.oneof(oddNumber, oddString, fc.boolean(), fc.constant(null), fc.constant(undefined));
  return fc.oneof(
    fc.dictionary(fc.constantFrom(...keys, '__proto__', 'junk'), leaf, { maxKeys: 4 }).map(withOwnProto),
    fc.constantFrom(...keys, 'delay', 'now').map(throwingGetterObject),
    fc.constantFrom(
      {},
      [],
      [1, 2, 3],
      Object.create(null) as object,
      new Date(0),
      new Map(),
      new Set(),
      /re/,
      new Error('junk'),
      new Uint8Array(3),
      Promise.resolve(1),
      new VirtualClock(),
      { now: () => 0 },
      { now: () => 0, setTimeout: () => 1, clearTimeout: 'no' },
      { delay: 5 },
      { delay: () => Number.NaN },
      { recordAttempt: () => {}, tryRetry: 'yes' },
      retryBudget(),
      retry(),
      {
        toJSON() {
          throw new Sentinel();
        },
      },
      {
        toString() {
          throw new Sentinel();
        },
        valueOf() {
          throw new Sentinel();
        },
      },
      JSON.parse('{"__proto__": {"polluted": true}}') as object,
    ),
  );
}

/**
 * `JSON.parse` makes `__proto__` an own key (as a config file would); an
 * object literal or `Object.assign` would set the prototype instead.
 */
function withOwnProto(dict: Record<string, unknown>): object {
  return JSON.parse(JSON.stringify(dict, (_, v) => (v === undefined ? null : v))) as object;
}

/** Any hostile value; `keys` are names worth putting in nested objects (window, lastKnownGood, ...). */
export function oddValue(keys: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: oddNumber },
    { weight: 2, arbitrary: oddString },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 1, arbitrary: fc.constantFrom(null, undefined) },
    { weight: 1, arbitrary: fc.constantFrom(Symbol('junk'), Symbol.iterator, 10n, -1n) },
    { weight: 2, arbitrary: oddFunction },
    { weight: 3, arbitrary: oddObject(keys) },
    { weight: 1, arbitrary: fc.anything({ maxDepth: 2, withBigInt: true, withNullPrototype: true }) },
  );
}

/** How an options object gets its properties: plain data, a getter, or a getter that throws. */
type Slot = {
  readonly key: string;
  readonly value: unknown;
  readonly how: 'data' | 'getter' | 'throwingGetter';
  /** Where the key goes: the top level, or a nested option object such as `window`. */
  readonly path: readonly string[];
};

/** Options for {@link oddOptions}. */
export interface OddOptionsConfig {
  /** Valid option objects to start from, so that checks past the required options are reached. */
  readonly bases?: readonly object[];
  /** Paths of nested option objects worth attacking, e.g. `['window']`, `['initialState', 'window']`. */
  readonly nestedPaths?: readonly (readonly string[])[];
  /** Key names of nested objects. */
  readonly nestedKeys?: readonly string[];
}

function copyInto(target: Record<string, unknown>, source: object): void {
  for (const key of Object.keys(source)) {
    const value = (source as Record<string, unknown>)[key];
    Object.defineProperty(target, key, {
      enumerable: true,
      configurable: true,
      writable: true,
      value: typeof value === 'object' && value !== null && !Array.isArray(value) ? clone(value) : value,
    });
  }
}

/** Objects this module built for one generated value: the only ones it writes into. */
const owned = new WeakSet<object>();

function clone(source: object): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  owned.add(copy);
  copyInto(copy, source);
  return copy;
}

function place(target: Record<string, unknown>, slot: Slot): void {
  let holder = target;
  for (const step of slot.path) {
    const next = Object.getOwnPropertyDescriptor(holder, step)?.value;
    // Shared hostile values (a VirtualClock, a policy) are never written into.
    if (typeof next !== 'object' || next === null || !owned.has(next)) return;
    holder = next as Record<string, unknown>;
  }
  const { key, value, how } = slot;
  Object.defineProperty(holder, key, {
    enumerable: true,
    configurable: true,
    ...(how === 'data'
      ? { value, writable: true }
      : how === 'getter'
        ? { get: () => value }
        : {
            get: () => {
              throw new Sentinel();
            },
          }),
  });
}

/**
 * Option objects for a policy: a valid base (if given) with a few options
 * replaced by hostile values, plain, as getters, or as getters that throw;
 * sometimes inside a nested option object; sometimes an unknown or
 * prototype-polluting key, a null prototype, or inherited values.
 */
export function oddOptions(names: readonly string[], config: OddOptionsConfig = {}): fc.Arbitrary<unknown> {
  const { bases = [{}], nestedPaths = [], nestedKeys = [] } = config;
  const allKeys = [...names, ...nestedKeys];
  const key = fc.oneof(
    { weight: 20, arbitrary: fc.constantFrom(...allKeys) },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty') },
    { weight: 1, arbitrary: fc.string({ maxLength: 5 }) },
  );
  const path = nestedPaths.length === 0 ? fc.constant([]) : fc.constantFrom([], [], ...nestedPaths);
  const slot: fc.Arbitrary<Slot> = fc.record({
    key,
    value: oddValue(allKeys),
    how: fc.constantFrom<Slot['how']>('data', 'data', 'data', 'data', 'getter', 'throwingGetter'),
    path,
  });
  const object = fc
    .tuple(
      fc.constantFrom(...bases),
      fc.array(slot, { minLength: 1, maxLength: 4 }),
      fc.constantFrom('plain', 'plain', 'plain', 'plain', 'nullProto', 'inherited'),
    )
    .map(([base, slots, kind]) => {
      const target: Record<string, unknown> =
        kind === 'nullProto'
          ? (Object.create(null) as Record<string, unknown>)
          : kind === 'inherited'
            ? (Object.create({ [names[0]!]: -1, polluted: true }) as Record<string, unknown>)
            : {};
      owned.add(target);
      copyInto(target, base);
      for (const s of slots) place(target, s);
      return target;
    });
  return fc.oneof({ weight: 12, arbitrary: object }, { weight: 1, arbitrary: oddValue(names) });
}
