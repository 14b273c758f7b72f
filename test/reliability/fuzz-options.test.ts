import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BACKOFF_OPTIONS } from '../../src/backoff/backoff.js';
import { BULKHEAD_OPTIONS } from '../../src/bulkhead/bulkhead.js';
import {
  ADAPTIVE_CONCURRENCY_OPTIONS,
  adaptiveConcurrency,
  backoff,
  bulkhead,
  CHAOS_OPTIONS,
  CIRCUIT_BREAKER_OPTIONS,
  chaos,
  circuitBreaker,
  FALLBACK_OPTIONS,
  fallback,
  HEDGE_OPTIONS,
  hedge,
  KEYED_OPTIONS,
  keyed,
  PolicyBase,
  pipeline,
  RETRY_BUDGET_OPTIONS,
  RETRY_OPTIONS,
  rateLimit,
  retry,
  retryBudget,
  THROTTLE_OPTIONS,
  TIMEOUT_OPTIONS,
  throttle,
  timeout,
} from '../../src/index.js';
import { RATE_LIMIT_OPTIONS } from '../../src/rate-limit/rate-limit.js';
import { type OddOptionsConfig, oddOptions, oddValue, Sentinel } from './hostile.js';
import { closedSnapshot } from '../helpers/snapshots.js';

/** Keys of a breaker snapshot (`initialState`) and its window. */
const SNAPSHOT_KEYS = [
  'version',
  'state',
  'openedAt',
  'openFor',
  'openCount',
  'consecutiveFailures',
  'calls',
  'failures',
  'slowCalls',
  'window',
  'outcomes',
  'bucket',
  'counts',
];

/** A factory under test: what it is called in error messages, and its option names. */
interface Target {
  readonly name: string;
  readonly options: readonly string[];
  /** Valid starting points, nested option paths and keys (see `oddOptions`). */
  readonly config?: OddOptionsConfig;
  /** Builds from one generated argument. */
  readonly build: (arg: unknown) => unknown;
  /** What a successful build returns. */
  readonly kind: 'policy' | 'backoff' | 'budget';
}

const any = (f: (o: never) => unknown) => (arg: unknown) => f(arg as never);

const SNAPSHOT = {
  ...closedSnapshot,
  calls: 2,
  failures: 1,
  window: { type: 'count', size: 10, outcomes: '01' },
};
const TIME_SNAPSHOT = {
  ...SNAPSHOT,
  window: { type: 'time', duration: 1_000, buckets: 2, bucket: 7, counts: [1, 0, 0, 2, 1, 0] },
};
const OPEN_SNAPSHOT = { ...SNAPSHOT, state: 'open', openedAt: 0, openFor: 1_000, openCount: 1, window: null };
const CHAOS = { rate: 0.5 };

const TARGETS: readonly Target[] = [
  { name: 'retry', options: RETRY_OPTIONS, build: any(retry), kind: 'policy' },
  {
    name: 'timeout',
    options: TIMEOUT_OPTIONS,
    config: { bases: [{ ms: 10 }, { ms: 10, strategy: 'aggressive' }] },
    build: any(timeout),
    kind: 'policy',
  },
  {
    name: 'fallback',
    options: FALLBACK_OPTIONS,
    config: {
      bases: [{ value: 1 }, { lastKnownGood: { ttl: 10 } }],
      nestedPaths: [['lastKnownGood']],
      nestedKeys: ['ttl'],
    },
    build: any(fallback),
    kind: 'policy',
  },
  {
    name: 'circuitBreaker',
    options: CIRCUIT_BREAKER_OPTIONS,
    config: {
      bases: [
        {},
        { window: { type: 'count', size: 10 }, minimumCalls: 5 },
        { window: { type: 'time', duration: 1_000, buckets: 2 } },
        { slowCallDuration: 100 },
        { initialState: SNAPSHOT },
        { initialState: TIME_SNAPSHOT, window: { type: 'time', duration: 1_000, buckets: 2 } },
        { initialState: OPEN_SNAPSHOT },
      ],
      nestedPaths: [['window'], ['initialState'], ['initialState', 'window']],
      nestedKeys: SNAPSHOT_KEYS,
    },
    build: any(circuitBreaker),
    kind: 'policy',
  },
  {
    name: 'bulkhead',
    options: BULKHEAD_OPTIONS,
    config: { bases: [{ limit: 2 }, { limit: 2, queue: 3 }] },
    build: any(bulkhead),
    kind: 'policy',
  },
  {
    name: 'rateLimit',
    options: [...new Set([...RATE_LIMIT_OPTIONS.tokenBucket, ...RATE_LIMIT_OPTIONS.slidingWindow])],
    config: {
      bases: [
        { type: 'tokenBucket', rate: 10 },
        { type: 'tokenBucket', rate: 10, mode: 'wait' },
        { type: 'slidingWindow', limit: 5, window: 1_000 },
        { type: 'slidingWindow', limit: 5, window: 1_000, mode: 'wait' },
      ],
    },
    build: any(rateLimit),
    kind: 'policy',
  },
  {
    name: 'hedge',
    options: HEDGE_OPTIONS,
    config: { bases: [{ delay: 10 }, { delay: 'p95' }] },
    build: any(hedge),
    kind: 'policy',
  },
  { name: 'retryBudget', options: RETRY_BUDGET_OPTIONS, build: any(retryBudget), kind: 'budget' },
  {
    name: 'chaos.fault',
    options: CHAOS_OPTIONS.fault,
    config: { bases: [CHAOS] },
    build: any(chaos.fault),
    kind: 'policy',
  },
  {
    name: 'chaos.latency',
    options: CHAOS_OPTIONS.latency,
    config: { bases: [{ ...CHAOS, ms: 5 }] },
    build: any(chaos.latency),
    kind: 'policy',
  },
  {
    name: 'chaos.result',
    options: CHAOS_OPTIONS.result,
    config: { bases: [{ ...CHAOS, value: 1 }] },
    build: any(chaos.result),
    kind: 'policy',
  },
  {
    name: 'adaptiveConcurrency',
    options: ADAPTIVE_CONCURRENCY_OPTIONS,
    config: { bases: [{}, { algorithm: 'aimd' }, { algorithm: 'gradient' }] },
    build: any(adaptiveConcurrency),
    kind: 'policy',
  },
  { name: 'throttle', options: THROTTLE_OPTIONS, build: any(throttle), kind: 'policy' },
  { name: 'keyed', options: KEYED_OPTIONS, build: (o) => keyed(() => retry(), o as never), kind: 'policy' },
  {
    name: 'backoff.linear',
    options: BACKOFF_OPTIONS.linear,
    build: any(backoff.linear),
    kind: 'backoff',
  },
  {
    name: 'backoff.exponential',
    options: BACKOFF_OPTIONS.exponential,
    build: any(backoff.exponential),
    kind: 'backoff',
  },
  {
    name: 'backoff.decorrelatedJitter',
    options: BACKOFF_OPTIONS.decorrelatedJitter,
    build: any(backoff.decorrelatedJitter),
    kind: 'backoff',
  },
  {
    name: 'backoff.constant',
    options: BACKOFF_OPTIONS.constant,
    build: (o) => backoff.constant(5, o as never),
    kind: 'backoff',
  },
  { name: 'pipeline', options: ['name'], build: (o) => pipeline(o as never, retry()), kind: 'policy' },
];

/** Whether `message` names an option: one of the target's (nested ones included), or the options as a whole. */
function namesAnOption(message: string, target: Target): boolean {
  const names = [...target.options, ...(target.config?.nestedKeys ?? []), 'options', 'unknown option'];
  return names.some((name) => message.includes(name));
}

/**
 * The contract every constructor keeps, whatever it is given: it returns a
 * usable object, or throws a TypeError or RangeError whose message starts
 * with the factory's name and names the offending option. The only other
 * error allowed through is one a getter on the options threw itself.
 */
function checkConstruction(target: Target, arg: unknown): void {
  let built: unknown;
  try {
    built = target.build(arg);
  } catch (error) {
    if (error instanceof Sentinel) return;
    if (!(error instanceof TypeError || error instanceof RangeError)) {
      throw new Error(`${target.name} threw a ${(error as Error)?.constructor?.name}: ${String(error)}`);
    }
    expect(error.message.startsWith(`${target.name}: `), error.message).toBe(true);
    expect(namesAnOption(error.message, target), error.message).toBe(true);
    // Messages render the received value without throwing or dumping huge text.
    expect(error.message.length, error.message).toBeLessThan(400);
    return;
  }
  if (target.kind === 'policy') {
    expect(built).toBeInstanceOf(PolicyBase);
    expect(typeof (built as PolicyBase).execute).toBe('function');
  } else if (target.kind === 'backoff') {
    expect(typeof (built as { delay: unknown }).delay).toBe('function');
  } else {
    expect(typeof (built as { tryRetry: unknown }).tryRetry).toBe('function');
  }
}

describe('fuzzing option objects (hostile values, getters that throw, __proto__ keys)', () => {
  for (const target of TARGETS) {
    it(`${target.name}: builds, or throws a TypeError/RangeError naming ${target.name} and the option`, () => {
      fc.assert(
        fc.property(oddOptions(target.options, target.config), (arg) => checkConstruction(target, arg)),
        { numRuns: 1_000 },
      );
    });
  }

  it('number shorthands (timeout(ms), bulkhead(limit), backoff.constant(ms)) reject odd numbers the same way', () => {
    const shorthand: readonly Target[] = [
      { name: 'timeout', options: ['ms'], build: any(timeout), kind: 'policy' },
      { name: 'bulkhead', options: ['limit'], build: any(bulkhead), kind: 'policy' },
      {
        name: 'backoff.constant',
        options: ['ms'],
        build: (ms) => backoff.constant(ms as number),
        kind: 'backoff',
      },
    ];
    fc.assert(
      fc.property(fc.constantFrom(...shorthand), oddValue([]), (target, value) =>
        checkConstruction(target, value),
      ),
      { numRuns: 600 },
    );
  });

  it('keyed and pipeline reject what is not a factory or a policy, naming the argument', () => {
    fc.assert(
      fc.property(oddValue([]), (value) => {
        checkConstruction(
          {
            name: 'keyed',
            options: ['function', 'factory'],
            build: (f) => keyed(f as never),
            kind: 'policy',
          },
          value,
        );
        checkConstruction(
          {
            name: 'pipeline',
            options: ['argument', 'name', 'policies'],
            build: (p) => pipeline(retry(), p as never),
            kind: 'policy',
          },
          value,
        );
      }),
      { numRuns: 400 },
    );
  });

  it('regression: buffers sized by an option are capped, with a RangeError naming the option', () => {
    // Found by this fuzzer: both threw "Invalid typed array length" past 2^32 and allocated gigabytes below.
    expect(() => hedge({ delay: 'p95', sampleSize: 1_000_000 })).not.toThrow();
    expect(() => hedge({ delay: 'p95', sampleSize: 1_000_001 })).toThrow(
      new RangeError('hedge: sampleSize must be at most 1000000, got 1000001'),
    );
    expect(() => hedge({ delay: 'p95', sampleSize: 586455376832337 })).toThrow(/^hedge: sampleSize/);
    expect(() => rateLimit({ type: 'slidingWindow', limit: 1_000_000, window: 1_000 })).not.toThrow();
    expect(() => rateLimit({ type: 'slidingWindow', limit: 1_000_001, window: 1_000 })).toThrow(
      new RangeError(
        'rateLimit: limit must be at most 1000000 (one timestamp is kept per permit), got 1000001',
      ),
    );
  });

  it('a __proto__ key never changes what a later, clean policy sees', () => {
    const polluted = JSON.parse('{"__proto__": {"maxAttempts": 100, "limit": 1}}') as object;
    for (const target of TARGETS) {
      try {
        target.build(polluted);
      } catch {
        // Rejecting is fine; leaking into Object.prototype is not.
      }
    }
    expect(({} as { maxAttempts?: unknown }).maxAttempts).toBeUndefined();
    expect(retry().maxAttempts).toBe(3);
    expect(bulkhead({ limit: 4 }).limit).toBe(4);
  });
});
