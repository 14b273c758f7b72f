import fc from 'fast-check';
import {
  type AdaptiveConcurrencyPolicy,
  adaptiveConcurrency,
  type Backoff,
  type BulkheadPolicy,
  backoff,
  bulkhead,
  chaos,
  circuitBreaker,
  fallback,
  hedge,
  keyed,
  type PolicyBase,
  pipeline,
  type RateLimitPolicy,
  type RetryBudget,
  rateLimit,
  retry,
  throttle,
  timeout,
} from '../../src/index.js';
import type { VirtualClock } from '../../src/testing/index.js';
import { InjectedError, Sentinel } from './hostile.js';

/** What a built policy may use: the test's clock and a shared retry budget. */
export interface Env {
  readonly clock: VirtualClock;
  readonly budget: RetryBudget;
  /** Values that hostile callbacks return: a call may legitimately settle with one of them. */
  readonly junk: Set<unknown>;
}

/** Builds a policy for one run (the arbitraries below choose its options). */
export type Build = (env: Env) => PolicyBase<any>;

/** Names a build after its options, so that a counterexample reads `retry({"maxAttempts":2,...})`. */
function named(name: string, options: unknown, build: Build): Build {
  const text = `${name}(${describeValue(options)})`;
  return Object.assign(build, { [fc.toStringMethod]: () => text });
}

/** A function that prints as `text` in counterexamples. */
function fn<F extends (...args: never[]) => unknown>(f: F, text: string): F {
  return Object.assign(f, { [fc.toStringMethod]: () => text });
}

/** An object that prints as `text` in counterexamples. */
function described<T extends object>(value: T, text: string): T {
  return Object.assign(value, { [fc.toStringMethod]: () => text });
}

function describeValue(value: unknown): string {
  if (typeof value === 'function') {
    const custom = (value as { [fc.toStringMethod]?: () => string })[fc.toStringMethod];
    return custom === undefined ? `fn:${String(value).replace(/\s+/g, ' ').slice(0, 60)}` : custom();
  }
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `[${value.map(describeValue).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    const custom = (value as { [fc.toStringMethod]?: () => string })[fc.toStringMethod];
    if (custom !== undefined) return custom();
    if (value instanceof Error) return `Error(${value.message})`;
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0 && Object.getPrototypeOf(value) !== Object.prototype)
      return value.constructor.name;
    return `{ ${entries.map(([k, v]) => `${k}: ${describeValue(v)}`).join(', ')} }`;
  }
  return JSON.stringify(value);
}

/** What a misbehaving callback answers (a call may end with one: chaos.fault's `error()`, say). */
const JUNK_ANSWERS: readonly unknown[] = [
  Number.NaN,
  -1,
  Number.POSITIVE_INFINITY,
  'junk',
  null,
  undefined,
  { junk: true },
];

/** Values a call may legitimately settle with because a hostile callback produced them. */
export const JUNK_VALUES: readonly unknown[] = [...JUNK_ANSWERS, true, false, 0];

/** A user callback: well-behaved, or one that throws, or one that answers nonsense. */
function callback<T>(good: fc.Arbitrary<T>): fc.Arbitrary<(...args: unknown[]) => unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: good.map((value) => fn(() => value, `() => ${describeValue(value)}`)) },
    {
      weight: 1,
      arbitrary: fc.constant(
        fn(() => {
          throw new Sentinel();
        }, '() => { throw }'),
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom<unknown>(...JUNK_ANSWERS)
        .map((value) => fn(() => value, `() => ${describeValue(value)}`)),
    },
  );
}

/** A random source, sometimes one that strays out of [0, 1). */
const randomSource = fc.oneof(
  fc.double({ min: 0, max: 0.999, noNaN: true }).map((r) => fn(() => r, `() => ${r}`)),
  fc.constantFrom(
    fn(() => Number.NaN, '() => NaN'),
    fn(() => -1, '() => -1'),
    fn(() => 1, '() => 1'),
    fn(() => 2, '() => 2'),
    fn(() => Math.random(), 'Math.random'),
  ),
);

/** Backoffs with small delays, including custom ones that answer nonsense or throw. */
const smallBackoff: fc.Arbitrary<number | Backoff> = fc.oneof(
  fc.integer({ min: 0, max: 20 }),
  fc.constantFrom(Number.MIN_VALUE, 0.5),
  fc
    .integer({ min: 0, max: 20 })
    .map((ms) => described(backoff.constant(ms, { jitter: 'full' }), `constant(${ms})`)),
  fc
    .record({ initial: fc.integer({ min: 0, max: 10 }), random: randomSource })
    .map((o) => described(backoff.exponential(o), `exponential(${describeValue(o)})`)),
  fc
    .record({ initial: fc.integer({ min: 0, max: 10 }) })
    .map((o) => described(backoff.linear({ ...o, jitter: 'equal' }), `linear(${describeValue(o)})`)),
  fc
    .record({ initial: fc.integer({ min: 0, max: 10 }), random: randomSource })
    .map((o) => described(backoff.decorrelatedJitter(o), `decorrelatedJitter(${describeValue(o)})`)),
  callback(fc.integer({ min: 0, max: 20 })).map((delay) =>
    described({ delay: delay as (r: number, p: number) => number }, `{ delay: ${describeValue(delay)} }`),
  ),
);

const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });

function clean<T extends object>(options: T): T {
  for (const key of Object.keys(options)) {
    if ((options as Record<string, unknown>)[key] === undefined)
      delete (options as Record<string, unknown>)[key];
  }
  return options;
}

const retryBuild: fc.Arbitrary<Build> = fc
  .record({
    maxAttempts: fc.integer({ min: 1, max: 4 }),
    backoff: smallBackoff,
    retryOn: maybe(callback(fc.boolean())),
    retryOnResult: maybe(callback(fc.boolean())),
    maxDuration: maybe(fc.constantFrom(Number.MIN_VALUE, 1, 10, 100)),
    delay: maybe(callback(fc.constantFrom(0, 5, 50, undefined))),
    maxRetryAfter: maybe(fc.constantFrom(0, 10, Number.POSITIVE_INFINITY)),
    useBudget: fc.boolean(),
  })
  .map(({ useBudget, ...o }) =>
    named('retry', { ...o, useBudget }, ({ clock, budget }) =>
      retry(clean({ ...o, clock, budget: useBudget ? budget : undefined }) as never),
    ),
  );

const timeoutBuild: fc.Arbitrary<Build> = fc
  .record({
    ms: fc.constantFrom(Number.MIN_VALUE, 0.5, 1, 5, 20, 100),
    strategy: fc.constantFrom('cooperative', 'aggressive') as fc.Arbitrary<'cooperative' | 'aggressive'>,
  })
  .map((o) => named('timeout', o, ({ clock }) => timeout({ ...o, clock })));

const fallbackBuild: fc.Arbitrary<Build> = fc
  .record({
    value: fc.oneof(
      fc.constant<unknown>('fallback value'),
      fc.constant(() => 'fallback value'),
      fc.constant(() => Promise.resolve('fallback value')),
      fc.constant(() => {
        throw new Sentinel();
      }),
      fc.constant(() => Promise.reject(new Sentinel())),
    ),
    lastKnownGood: maybe(fc.record({ ttl: fc.constantFrom(1, 20, Number.POSITIVE_INFINITY) })),
    fallbackOn: maybe(callback(fc.boolean())),
  })
  .map((o) => named('fallback', o, ({ clock }) => fallback(clean({ ...o, clock }) as never)));

const breakerBuild: fc.Arbitrary<Build> = fc
  .oneof(
    fc.record({
      failureRate: fc.constantFrom(0.1, 0.5, 1),
      minimumCalls: fc.integer({ min: 1, max: 3 }),
      window: fc.oneof(
        fc.record({ type: fc.constant('count' as const), size: fc.integer({ min: 3, max: 6 }) }),
        fc.record({
          type: fc.constant('time' as const),
          duration: fc.constantFrom(1, 10, 100),
          buckets: fc.integer({ min: 1, max: 4 }),
        }),
      ),
      slowCallDuration: maybe(fc.constantFrom(Number.MIN_VALUE, 1, 10)),
    }),
    fc.record({ consecutiveFailures: fc.integer({ min: 1, max: 3 }) }),
  )
  .chain((triggers) =>
    fc.record({
      triggers: fc.constant(triggers),
      openFor: fc.oneof(
        fc.constantFrom(0, 1, 10, 50),
        smallBackoff.filter((b) => typeof b !== 'number'),
      ),
      halfOpenCalls: fc.integer({ min: 1, max: 3 }),
      failOn: maybe(callback(fc.boolean())),
      failOnResult: maybe(callback(fc.boolean())),
    }),
  )
  .map(({ triggers, ...o }) =>
    named('circuitBreaker', { ...triggers, ...o }, ({ clock }) =>
      circuitBreaker(clean({ ...triggers, ...o, clock }) as never),
    ),
  );

const bulkheadBuild: fc.Arbitrary<Build> = fc
  .record({
    limit: fc.integer({ min: 1, max: 3 }),
    queue: fc.constantFrom(0, 1, 3, Number.POSITIVE_INFINITY),
    queueTimeout: fc.constantFrom(Number.MIN_VALUE, 1, 10, Number.POSITIVE_INFINITY),
  })
  .map((o) => named('bulkhead', o, ({ clock }) => bulkhead({ ...o, clock })));

const cost = fc.oneof(fc.constant(1), fc.constant(2), callback(fc.constantFrom(1, 2)));

const rateLimitBuild: fc.Arbitrary<Build> = fc
  .oneof(
    fc.record({
      type: fc.constant('tokenBucket' as const),
      rate: fc.constantFrom(0.5, 1, 3),
      per: fc.constantFrom(1, 10, 100),
      burst: fc.integer({ min: 2, max: 4 }),
    }),
    fc.record({
      type: fc.constant('slidingWindow' as const),
      limit: fc.integer({ min: 2, max: 4 }),
      window: fc.constantFrom(1, 10, 100),
    }),
  )
  .chain((shape) =>
    fc.oneof(
      fc.record({ shape: fc.constant(shape), mode: fc.constant('reject' as const), cost }),
      fc.record({
        shape: fc.constant(shape),
        mode: fc.constant('wait' as const),
        maxWait: fc.constantFrom(0, 5, 50, Number.POSITIVE_INFINITY),
        cost,
      }),
    ),
  )
  .map(({ shape, ...o }) =>
    named('rateLimit', { ...shape, ...o }, ({ clock }) => rateLimit({ ...shape, ...o, clock } as never)),
  );

const hedgeBuild: fc.Arbitrary<Build> = fc
  .record({
    delay: fc.oneof(fc.constantFrom(0, 1, 10, 30), fc.constantFrom('p50', 'p95')) as fc.Arbitrary<
      number | 'p50'
    >,
    maxHedged: fc.integer({ min: 0, max: 2 }),
    minSamples: fc.integer({ min: 1, max: 3 }),
    fallbackDelay: maybe(fc.constantFrom(0, 5)),
    hedgeOn: maybe(callback(fc.boolean())),
    useBudget: fc.boolean(),
  })
  .map(({ useBudget, ...o }) =>
    named('hedge', { ...o, useBudget }, ({ clock, budget }) =>
      hedge(clean({ ...o, clock, budget: useBudget ? budget : undefined }) as never),
    ),
  );

const chaosCommon = fc.record({
  rate: fc.constantFrom(0, 0.5, 1),
  enabled: maybe(fc.oneof(fc.boolean(), callback(fc.boolean()))),
  random: randomSource,
});

const chaosBuild: fc.Arbitrary<Build> = fc.oneof(
  fc
    .record({
      common: chaosCommon,
      error: maybe(
        fc.oneof(
          fc.constant(new InjectedError()),
          callback(fc.constant(0)).map((f) => () => {
            const made = f();
            return made === 0 ? new InjectedError('injected by a function') : made;
          }),
        ),
      ),
    })
    .map(({ common, error }) =>
      named('chaos.fault', { ...common, error }, () => chaos.fault(clean({ ...common, error }) as never)),
    ),
  fc
    .record({ common: chaosCommon, ms: fc.oneof(fc.constantFrom(0, 1, 30), callback(fc.constantFrom(0, 5))) })
    .map(({ common, ms }) =>
      named('chaos.latency', { ...common, ms }, ({ clock }) =>
        chaos.latency(clean({ ...common, ms, clock }) as never),
      ),
    ),
  fc
    .record({
      common: chaosCommon,
      value: fc.oneof(fc.constant<unknown>('chaos value'), callback(fc.constant('chaos value'))),
    })
    .map(({ common, value }) =>
      named('chaos.result', { ...common, value }, () => chaos.result(clean({ ...common, value }) as never)),
    ),
);

const adaptiveBuild: fc.Arbitrary<Build> = fc
  .oneof(
    fc.record({
      algorithm: fc.constant('aimd' as const),
      latencyThreshold: maybe(fc.constantFrom(1, 10)),
      backoffRatio: maybe(fc.constantFrom(0.5, 0.9)),
    }),
    fc.record({
      algorithm: fc.constant('gradient' as const),
      tolerance: maybe(fc.constantFrom(1, 2)),
      smoothing: maybe(fc.constantFrom(0.2, 1)),
    }),
  )
  .chain((algo) =>
    fc.record({
      algo: fc.constant(algo),
      minLimit: fc.constant(1),
      maxLimit: fc.integer({ min: 1, max: 4 }),
      queue: fc.constantFrom(0, 2, Number.POSITIVE_INFINITY),
      queueTimeout: fc.constantFrom(1, 10, Number.POSITIVE_INFINITY),
      isDrop: maybe(callback(fc.boolean())),
    }),
  )
  .map(({ algo, maxLimit, ...o }) =>
    named('adaptiveConcurrency', { ...algo, ...o, maxLimit }, ({ clock }) =>
      adaptiveConcurrency(clean({ ...algo, ...o, maxLimit, initialLimit: maxLimit, clock }) as never),
    ),
  );

const throttleBuild: fc.Arbitrary<Build> = fc
  .record({
    k: fc.constantFrom(1, 1.5, 2),
    window: fc.constantFrom(10, 1_000),
    isAccepted: maybe(callback(fc.boolean())),
    random: randomSource,
  })
  .map((o) => named('throttle', o, ({ clock }) => throttle(clean({ ...o, clock }) as never)));

/** Every strategy but keyed and pipeline (which take these as their inside). */
export const leafBuild: fc.Arbitrary<Build> = fc.oneof(
  retryBuild,
  timeoutBuild,
  fallbackBuild,
  breakerBuild,
  bulkheadBuild,
  rateLimitBuild,
  hedgeBuild,
  chaosBuild,
  adaptiveBuild,
  throttleBuild,
);

const keyedBuild: fc.Arbitrary<Build> = fc
  .record({
    inner: leafBuild,
    factory: fc.constantFrom('ok', 'ok', 'ok', 'throws', 'notAPolicy'),
    maxKeys: fc.integer({ min: 1, max: 3 }),
    idleTtl: fc.constantFrom(1, 50, Number.POSITIVE_INFINITY),
  })
  .map(({ inner, factory, maxKeys, idleTtl }) =>
    named(`keyed(${factory} ${describeValue(inner)})`, { maxKeys, idleTtl }, (env) => {
      const { clock, junk } = env;
      return keyed(
        () => {
          if (factory === 'throws') throw new Sentinel();
          if (factory === 'notAPolicy') return junk as never;
          return inner(env);
        },
        { maxKeys, idleTtl, clock },
      );
    }),
  );

/** One of the strategies, keyed included, with options from a bounded but odd domain. */
export const policyBuild: fc.Arbitrary<Build> = fc.oneof({ weight: 10, arbitrary: leafBuild }, keyedBuild);

/** A pipeline of one to four policies, in any order. */
export const pipelineBuild: fc.Arbitrary<Build> = fc
  .array(policyBuild, { minLength: 1, maxLength: 4 })
  .map((builds) =>
    Object.assign((env: Env) => pipeline(...builds.map((build) => build(env))), {
      [fc.toStringMethod]: () => `pipeline(${builds.map(describeValue).join(', ')})`,
    }),
  );

/** Every policy in a tree (pipelines and keyed policies walked). */
export function walk(policy: PolicyBase<any>, out: PolicyBase<any>[] = []): PolicyBase<any>[] {
  out.push(policy);
  for (const child of policy._children()) walk(child, out);
  return out;
}

/** Slot counters that must be back to zero once every call settled. */
export function busy(policy: PolicyBase<any>): string | undefined {
  switch (policy.kind) {
    case 'bulkhead': {
      const { running, queued } = (policy as BulkheadPolicy).stats;
      return running === 0 && queued === 0 ? undefined : `bulkhead ${running} running, ${queued} queued`;
    }
    case 'adaptiveConcurrency': {
      const p = policy as AdaptiveConcurrencyPolicy;
      return p.inflight === 0 && p.queued === 0
        ? undefined
        : `adaptive ${p.inflight} in flight, ${p.queued} queued`;
    }
    case 'rateLimit': {
      const { waiting } = (policy as RateLimitPolicy).stats;
      return waiting === 0 ? undefined : `rateLimit ${waiting} waiting`;
    }
    default:
      return undefined;
  }
}
