import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExecutionContext } from '../../src/core/context.js';
import {
  type CircuitBreakerOptions,
  type CircuitBreakerPolicy,
  CircuitOpenError,
  type CircuitState,
  circuitBreaker,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { deferred } from './helpers.js';

// ---- a reference model -----------------------------------------------------
// A deliberately naive breaker: it keeps every counted outcome in a list and
// recomputes the rates from scratch, tags every call with the generation it
// was admitted in, and decides half-open by rates over all `halfOpenCalls`
// probes. The real breaker must agree with it after every step.

interface Config {
  consecutiveFailures: number | undefined;
  failureRate: number | undefined;
  slow: { duration: number; rate: number } | undefined;
  window: { type: 'count'; size: number } | { type: 'time'; duration: number; buckets: number } | undefined;
  minimumCalls: number | undefined;
  halfOpenCalls: number;
  openFor: number | { step: number };
}

interface ModelCall {
  gen: number;
  start: number;
}

class Model {
  state: 'closed' | 'open' | 'halfOpen' | 'isolated' = 'closed';
  gen = 0;
  openUntil = 0;
  openCount = 0;
  lastDelay = 0;
  consecutive = 0;
  isolations = 0;
  /** Closed: counted outcomes with the time they were counted. */
  outcomes: { at: number; failure: boolean; slow: boolean }[] = [];
  probesTaken = 0;
  probeOutcomes: { failure: boolean; slow: boolean }[] = [];
  readonly failureRate: number;
  readonly slowRate: number;
  readonly minimumCalls: number;

  constructor(readonly config: Config) {
    const rateOn = config.failureRate !== undefined || config.consecutiveFailures === undefined;
    this.failureRate = rateOn ? (config.failureRate ?? 0.5) : 0;
    this.slowRate = config.slow?.rate ?? 0;
    const size = config.window?.type === 'count' ? config.window.size : 100;
    this.minimumCalls = config.minimumCalls ?? (config.window?.type === 'time' ? 20 : Math.min(20, size));
  }

  /** What `state` reads at `now`. */
  read(now: number): CircuitState {
    if (this.state === 'open' && now >= this.openUntil) this.enter('halfOpen');
    return this.state;
  }

  /** The call's record if admitted, else the rejection's state and retryAfter. */
  admit(now: number): ModelCall | { state: string; retryAfter: number } {
    const state = this.read(now);
    if (state === 'isolated') return { state, retryAfter: 0 };
    if (state === 'open') return { state, retryAfter: this.openUntil - now };
    if (state === 'halfOpen') {
      if (this.probesTaken >= this.config.halfOpenCalls) return { state, retryAfter: 0 };
      this.probesTaken++;
    }
    return { gen: this.gen, start: now };
  }

  settle(call: ModelCall, kind: 'success' | 'failure' | 'abort', now: number): void {
    if (call.gen !== this.gen) return;
    if (kind === 'abort') {
      if (this.state === 'halfOpen') this.probesTaken--;
      return;
    }
    const failure = kind === 'failure';
    const slow = this.config.slow !== undefined && now - call.start > this.config.slow.duration;
    if (this.state === 'halfOpen') this.probe(failure, slow, now);
    else this.count(failure, slow, now);
  }

  /** The counted outcomes still inside the window at `now`. */
  window(now: number): { at: number; failure: boolean; slow: boolean }[] {
    const w = this.config.window ?? { type: 'count', size: 100 };
    if (w.type === 'count') return this.outcomes.slice(-w.size);
    const width = w.duration / w.buckets;
    const newest = Math.floor(now / width);
    return this.outcomes.filter((o) => Math.floor(o.at / width) > newest - w.buckets);
  }

  private count(failure: boolean, slow: boolean, now: number): void {
    const limit = this.config.consecutiveFailures;
    if (failure) {
      this.consecutive++;
      if (limit !== undefined && this.consecutive >= limit) {
        this.open(now);
        return;
      }
    } else {
      this.consecutive = 0;
    }
    if (this.failureRate === 0 && this.slowRate === 0) return;
    this.outcomes.push({ at: now, failure, slow });
    const window = this.window(now);
    if (window.length < this.minimumCalls) return;
    const failures = window.filter((o) => o.failure).length;
    const slowCalls = window.filter((o) => o.slow).length;
    if (this.failureRate > 0 && failures / window.length >= this.failureRate) {
      this.open(now);
      return;
    }
    if (this.slowRate > 0 && slowCalls / window.length >= this.slowRate) this.open(now);
  }

  private probe(failure: boolean, slow: boolean, now: number): void {
    this.probeOutcomes.push({ failure, slow });
    const n = this.config.halfOpenCalls;
    const failures = this.probeOutcomes.filter((o) => o.failure).length;
    const slowCalls = this.probeOutcomes.filter((o) => o.slow).length;
    const left = n - this.probeOutcomes.length;
    // Reopen once the rate over all n probes is certain to trip; close once it cannot.
    const failTrips = (f: number) => (this.failureRate > 0 ? f / n >= this.failureRate : f >= 1);
    const slowTrips = (s: number) => this.slowRate > 0 && s / n >= this.slowRate;
    if (failTrips(failures) || slowTrips(slowCalls)) {
      this.open(now);
      return;
    }
    if (!failTrips(failures + left) && !slowTrips(slowCalls + left)) {
      this.enter('closed');
      this.openCount = 0;
      this.lastDelay = 0;
    }
  }

  open(now: number): void {
    this.openCount++;
    const openFor = this.config.openFor;
    const delay = typeof openFor === 'number' ? openFor : this.lastDelay + openFor.step;
    this.lastDelay = delay;
    this.openUntil = now + delay;
    this.enter('open');
  }

  isolate(): void {
    if (this.isolations++ === 0) {
      this.state = 'isolated';
      this.gen++;
      this.probesTaken = 0;
    }
  }

  release(): void {
    if (--this.isolations > 0) return;
    this.enter('closed');
    this.openCount = 0;
    this.lastDelay = 0;
  }

  reset(): void {
    this.openCount = 0;
    this.lastDelay = 0;
    if (this.state === 'isolated') return;
    this.enter('closed');
  }

  private enter(state: Model['state']): void {
    this.state = state;
    this.gen++;
    this.consecutive = 0;
    this.outcomes = [];
    this.probesTaken = 0;
    this.probeOutcomes = [];
  }
}

// ---- the real breaker, driven step by step ----------------------------------

interface InFlight {
  token: unknown;
  ctx: ExecutionContext;
  abort: AbortController;
  model: ModelCall;
}

interface Real {
  breaker: CircuitBreakerPolicy;
  now: number;
  inFlight: InFlight[];
  releases: (() => void)[];
  /** Probes admitted in the current half-open period, minus those given back. */
  probesHeld: number;
}

function optionsOf(config: Config, clock: { now(): number }): CircuitBreakerOptions {
  const o: Record<string, unknown> = { clock, halfOpenCalls: config.halfOpenCalls };
  if (config.consecutiveFailures !== undefined) o.consecutiveFailures = config.consecutiveFailures;
  if (config.failureRate !== undefined) o.failureRate = config.failureRate;
  if (config.slow !== undefined) {
    o.slowCallDuration = config.slow.duration;
    o.slowCallRate = config.slow.rate;
  }
  if (config.window !== undefined) o.window = config.window;
  if (config.minimumCalls !== undefined) o.minimumCalls = config.minimumCalls;
  const openFor = config.openFor;
  o.openFor =
    typeof openFor === 'number'
      ? openFor
      : { delay: (_n: number, previous: number) => previous + openFor.step };
  return o as CircuitBreakerOptions;
}

type Cmd = fc.Command<Model, Real>;

function compare(model: Model, real: Real): void {
  const state = real.breaker.state;
  expect(state).toBe(model.read(real.now));
  const stats = real.breaker.stats;
  expect(stats.probes).toBe(model.probesTaken);
  expect(real.probesHeld).toBeLessThanOrEqual(model.config.halfOpenCalls);
  if (state === 'closed') {
    const window = model.failureRate > 0 || model.slowRate > 0 ? model.window(real.now) : [];
    expect([stats.calls, stats.failures, stats.slowCalls]).toEqual([
      window.length,
      window.filter((o) => o.failure).length,
      window.filter((o) => o.slow).length,
    ]);
    expect(stats.consecutiveFailures).toBe(model.consecutive);
  }
  if (state === 'halfOpen') {
    expect(stats.calls).toBe(model.probeOutcomes.length);
    expect(stats.failures).toBe(model.probeOutcomes.filter((o) => o.failure).length);
  }
}

class Start implements Cmd {
  check = () => true;
  run(model: Model, real: Real): void {
    const before = real.breaker.state;
    const expected = model.admit(real.now);
    const abort = new AbortController();
    const ctx = new ExecutionContext(abort.signal, undefined, 0);
    let token: unknown;
    let rejection: unknown;
    try {
      token = real.breaker._enter(ctx);
    } catch (error) {
      rejection = error;
    }
    if ('gen' in expected) {
      expect(rejection).toBeUndefined();
      if (before === 'halfOpen') real.probesHeld++;
      real.inFlight.push({ token, ctx, abort, model: expected });
    } else {
      expect(rejection).toBeInstanceOf(CircuitOpenError);
      expect(rejection).toMatchObject(expected);
    }
    compare(model, real);
  }
  toString = () => 'start';
}

class Settle implements Cmd {
  constructor(
    readonly pick: number,
    readonly kind: 'success' | 'failure' | 'abort',
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    if (real.inFlight.length === 0) return;
    const [call] = real.inFlight.splice(this.pick % real.inFlight.length, 1);
    const { token, ctx, abort } = call!;
    const wasProbe = call!.model.gen === model.gen && model.state === 'halfOpen';
    model.settle(call!.model, this.kind, real.now);
    if (this.kind === 'success') {
      real.breaker._success(ctx, token, 'ok');
    } else {
      if (this.kind === 'abort') abort.abort(new Error('caller left'));
      real.breaker._failure(ctx, token, new Error('down'));
    }
    if (wasProbe && this.kind === 'abort') real.probesHeld--;
    compare(model, real);
  }
  toString = () => `settle(${this.pick}, ${this.kind})`;
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  run(model: Model, real: Real): void {
    real.now += this.ms;
    compare(model, real);
  }
  toString = () => `advance(${this.ms})`;
}

class Isolate implements Cmd {
  check = (model: Readonly<Model>) => model.isolations < 2;
  run(model: Model, real: Real): void {
    model.read(real.now);
    model.isolate();
    real.releases.push(real.breaker.isolate());
    compare(model, real);
  }
  toString = () => 'isolate';
}

class Release implements Cmd {
  check = () => true;
  run(model: Model, real: Real): void {
    const release = real.releases.pop();
    if (release === undefined) return;
    model.release();
    release();
    compare(model, real);
  }
  toString = () => 'release';
}

class Reset implements Cmd {
  check = () => true;
  run(model: Model, real: Real): void {
    model.read(real.now);
    model.reset();
    real.breaker.reset();
    compare(model, real);
  }
  toString = () => 'reset';
}

/** Tracks the half-open period so that `probesHeld` restarts with each one. */
function watchPeriods(real: Real): void {
  real.breaker.on('stateChange', () => {
    real.probesHeld = 0;
  });
}

const configs: fc.Arbitrary<Config> = fc
  .record({
    consecutiveFailures: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    failureRate: fc.option(fc.constantFrom(0.25, 0.5, 0.75, 1), { nil: undefined }),
    slow: fc.option(fc.record({ duration: fc.integer({ min: 1, max: 30 }), rate: fc.constantFrom(0.5, 1) }), {
      nil: undefined,
    }),
    window: fc.option(
      fc.oneof(
        fc.record({ type: fc.constant('count' as const), size: fc.integer({ min: 1, max: 8 }) }),
        fc.record({
          type: fc.constant('time' as const),
          duration: fc.integer({ min: 10, max: 200 }),
          buckets: fc.integer({ min: 1, max: 5 }),
        }),
      ),
      { nil: undefined },
    ),
    minimumCalls: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    halfOpenCalls: fc.integer({ min: 1, max: 4 }),
    openFor: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.record({ step: fc.integer({ min: 1, max: 50 }) })),
  })
  .map((c) => {
    const windowed =
      c.failureRate !== undefined || c.slow !== undefined || c.consecutiveFailures === undefined;
    const window = windowed ? c.window : undefined;
    let minimumCalls = windowed ? c.minimumCalls : undefined;
    const size =
      window === undefined ? 100 : window.type === 'count' ? window.size : Number.POSITIVE_INFINITY;
    if (minimumCalls !== undefined && minimumCalls > size) minimumCalls = size;
    return { ...c, window, minimumCalls };
  });

const settles = fc
  .tuple(
    fc.nat(),
    fc.constantFrom('success', 'failure', 'failure', 'abort') as fc.Arbitrary<
      'success' | 'failure' | 'abort'
    >,
  )
  .map(([pick, kind]) => new Settle(pick, kind));
const advances = fc.integer({ min: 1, max: 60 }).map((ms) => new Advance(ms));
// Calls, settles and time dominate; isolation and reset are rarer, as in life.
const commands = fc.commands(
  [
    ...Array.from({ length: 5 }, () => fc.constant(new Start())),
    ...Array.from({ length: 5 }, () => settles),
    ...Array.from({ length: 4 }, () => advances),
    fc.constant(new Isolate()),
    fc.constant(new Release()),
    fc.constant(new Release()),
    fc.constant(new Reset()),
  ],
  { maxCommands: 100, size: 'max' },
);

describe('circuitBreaker properties', () => {
  it('agrees with a reference model on every step: admissions, state, counts and probes', () => {
    fc.assert(
      fc.property(configs, commands, (config, cmds) => {
        const real: Real = { breaker: undefined as never, now: 0, inFlight: [], releases: [], probesHeld: 0 };
        const clock = { now: () => real.now, setTimeout: () => 0, clearTimeout: () => {} };
        real.breaker = circuitBreaker(optionsOf(config, clock));
        watchPeriods(real);
        fc.modelRun(() => ({ model: new Model(config), real }), cmds);
      }),
      { numRuns: 400 },
    );
  });

  it('through execute(), a half-open period admits at most halfOpenCalls probes, besides those given back', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.constantFrom('start', 'start', 'succeed', 'fail', 'abort', 'wait'), {
          minLength: 1,
          maxLength: 60,
        }),
        async (halfOpenCalls, steps) => {
          const clock = new VirtualClock();
          const breaker = circuitBreaker({ consecutiveFailures: 1, openFor: 10, halfOpenCalls, clock });
          let period = 0;
          breaker.on('halfOpen', () => period++);
          /** Per half-open period: probes admitted, and probes given back by an abort. */
          const admitted = new Map<number, number>();
          const givenBack = new Map<number, number>();
          const calls: { settle: (kind: string) => void }[] = [];
          await breaker.execute(() => Promise.reject(new Error('open it'))).catch(() => {});
          for (const step of steps) {
            if (step === 'wait') {
              await clock.advance(10);
            } else if (step === 'start') {
              const probeOf = breaker.state === 'halfOpen' ? period : -1;
              const work = deferred();
              const abort = new AbortController();
              breaker
                .execute(
                  () => {
                    if (probeOf >= 0) admitted.set(probeOf, (admitted.get(probeOf) ?? 0) + 1);
                    return work.promise;
                  },
                  { signal: abort.signal },
                )
                .catch(() => {});
              calls.push({
                settle: (kind) => {
                  if (kind === 'abort') {
                    abort.abort(new Error('left'));
                    if (probeOf >= 0) givenBack.set(probeOf, (givenBack.get(probeOf) ?? 0) + 1);
                  }
                  if (kind === 'succeed') work.resolve('ok');
                  else work.reject(new Error('down'));
                },
              });
            } else {
              calls.shift()?.settle(step);
            }
            await clock.settle();
            for (const [p, n] of admitted) {
              expect(n - (givenBack.get(p) ?? 0)).toBeLessThanOrEqual(halfOpenCalls);
            }
          }
          for (const call of calls) call.settle('succeed');
          await clock.settle();
        },
      ),
      { numRuns: 150 },
    );
  });
});
