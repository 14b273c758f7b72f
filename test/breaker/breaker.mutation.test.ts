/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/breaker (see docs/testing.md, "Mutation testing"): each pins a
 * behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeOutcomes } from '../../src/breaker/snapshot.js';
import { type CircuitBreakerEvents, CircuitOpenError, circuitBreaker } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { manualClock } from '../helpers/clocks.js';
import { closedSnapshot } from '../helpers/snapshots.js';
import { fail, run, succeed } from './helpers.js';

const closed = closedSnapshot;

/** Runs a call that takes `ms` on the virtual clock and succeeds. */
async function timed(breaker: ReturnType<typeof circuitBreaker>, clock: VirtualClock, ms: number) {
  const call = breaker
    .execute(() => new Promise((resolve) => clock.setTimeout(() => resolve('ok'), ms)))
    .catch((error: unknown) => error);
  await clock.advance(ms);
  return call;
}

describe('circuitBreaker stats', () => {
  it('rates are 0, not NaN, before any call', () => {
    const stats = circuitBreaker({ slowCallDuration: 10, clock: new VirtualClock() }).stats;
    expect(stats.failureRate).toBe(0);
    expect(stats.slowCallRate).toBe(0);
  });

  it('slowCallRate is slow calls over counted calls', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ slowCallDuration: 10, minimumCalls: 4, clock });
    await timed(breaker, clock, 50);
    await timed(breaker, clock, 1);
    expect(breaker.stats).toMatchObject({ calls: 2, slowCalls: 1, slowCallRate: 0.5 });
  });

  it('reading the stats of a count window late in time keeps its counts', async () => {
    const clock = new VirtualClock({ start: 5_000 });
    const breaker = circuitBreaker({ failureRate: 0.9, clock });
    await run(breaker, 'fs');
    expect(breaker.stats).toMatchObject({ calls: 2, failures: 1 });
    expect(breaker.stats).toMatchObject({ calls: 2, failures: 1 });
  });

  it('retryAfter counts down from when the breaker opened, at any clock time', async () => {
    const clock = new VirtualClock({ start: 500 });
    const breaker = circuitBreaker({ consecutiveFailures: 1, openFor: 1_000, clock });
    await fail(breaker);
    await clock.advance(200);
    expect(breaker.stats.retryAfter).toBe(800);
  });

  it('retryAfter is 0 while isolated, even if an open period was running', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 1, openFor: 1_000, clock });
    await fail(breaker);
    breaker.isolate();
    expect(breaker.stats).toMatchObject({ state: 'isolated', retryAfter: 0 });
  });

  it('a half-open probe without slow-call tracking is never counted as slow', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 1, halfOpenCalls: 2, openFor: 100, clock });
    await fail(breaker);
    await clock.advance(100);
    await timed(breaker, clock, 50);
    expect(breaker.stats).toMatchObject({ state: 'halfOpen', calls: 1, slowCalls: 0 });
  });

  it('while isolated, stats keep the time window’s counts from before the isolation: time does not expire them', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({
      failureRate: 1,
      window: { type: 'time', duration: 1_000, buckets: 10 },
      clock,
    });
    await run(breaker, 'fs');
    breaker.isolate();
    clock.time = 5_000;
    expect(breaker.stats).toMatchObject({ state: 'isolated', calls: 2, failures: 1 });
  });

  it('a slow call leaving the count window is no longer counted', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ slowCallDuration: 10, window: { type: 'count', size: 2 }, clock });
    await timed(breaker, clock, 50);
    await timed(breaker, clock, 1);
    await timed(breaker, clock, 1);
    expect(breaker.stats).toMatchObject({ state: 'closed', calls: 2, slowCalls: 0 });
  });
});

describe('circuitBreaker transitions and events', () => {
  it('isolating an isolated breaker changes no state and reports nothing', () => {
    const breaker = circuitBreaker({ clock: new VirtualClock() });
    const changes: unknown[] = [];
    breaker.on('stateChange', (e) => changes.push(e));
    breaker.isolate();
    breaker.isolate();
    expect(changes).toEqual([{ from: 'closed', to: 'isolated' }]);
  });

  it('an open event of consecutiveFailures alone reports rates of 0 over 0 calls, not NaN', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock: new VirtualClock() });
    const opened: CircuitBreakerEvents['open'][] = [];
    breaker.on('open', (e) => opened.push(e));
    await fail(breaker);
    expect(opened).toEqual([
      { reason: 'consecutiveFailures', failureRate: 0, slowCallRate: 0, calls: 0, retryAfter: 30_000 },
    ]);
  });

  it('a backoff asking for a negative open period opens for 0 ms', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 1, openFor: { delay: () => -5 } as never, clock });
    const opened: number[] = [];
    breaker.on('open', (e) => opened.push(e.retryAfter));
    await fail(breaker);
    expect(opened).toEqual([0]);
    expect(breaker.stats.retryAfter).toBe(0);
  });

  it('a backoff answering -0 opens for +0 ms: no negative zero in the open event or the snapshot', async () => {
    const breaker = circuitBreaker({
      consecutiveFailures: 1,
      openFor: { delay: () => -0 } as never,
      clock: new VirtualClock(),
    });
    const opened: number[] = [];
    breaker.on('open', (e) => opened.push(e.retryAfter));
    await fail(breaker);
    expect(opened).toHaveLength(1);
    // toBe compares with Object.is: -0 fails.
    expect(opened[0]).toBe(0);
    expect(breaker.snapshot().openFor).toBe(0);
  });

  it('closes early once the remaining probes cannot reach the failure limit (no slow-call tracking)', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({
      failureRate: 0.5,
      minimumCalls: 1,
      window: { type: 'count', size: 1 },
      halfOpenCalls: 4,
      openFor: 100,
      clock,
    });
    await fail(breaker);
    expect(breaker.state).toBe('open');
    await clock.advance(100);
    // 2 of 4 probes failing reopens; after 3 successes 1 is left: it cannot.
    await run(breaker, 'sss');
    expect(breaker.state).toBe('closed');
  });
});

describe('circuitBreaker execute() on a breaker that is not closed', () => {
  it('rejects work that is not a function with a TypeError, not CircuitOpenError', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock: new VirtualClock() });
    await fail(breaker);
    await expect(breaker.execute(42 as never)).rejects.toBeInstanceOf(TypeError);
  });

  it('accepts options without a signal', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock: new VirtualClock() });
    await fail(breaker);
    await expect(breaker.execute(() => 'x', {})).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('rejects a call that has a signal at once, without listening to the signal', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock: new VirtualClock() });
    await fail(breaker);
    const { signal } = new AbortController();
    const listen = vi.spyOn(signal, 'addEventListener');
    await expect(breaker.execute(() => 'x', { signal })).rejects.toBeInstanceOf(CircuitOpenError);
    expect(listen).not.toHaveBeenCalled();
  });
});

describe('circuitBreaker time window expiry', () => {
  const window = { type: 'time', duration: 1_000, buckets: 10 } as const;

  it('a time window idle for years is expired at once, not one missed bucket at a time', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({
      failureRate: 1,
      window: { type: 'time', duration: 1_000, buckets: 1_000 },
      clock,
    });
    await run(breaker, 'ff');
    // Ten years of 1 ms buckets: walking them one by one would not finish.
    clock.time = 10 * 365 * 24 * 3_600_000;
    expect(breaker.stats).toMatchObject({ calls: 0, failures: 0 });
    await run(breaker, 'f');
    expect(breaker.stats).toMatchObject({ calls: 1, failures: 1 });
  });

  it('a window emptied by expiry follows a clock that stepped back: a new call lasts one window by that clock', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({ failureRate: 1, window, clock });
    await run(breaker, 'f');
    clock.time = 500;
    expect(breaker.stats.calls).toBe(1);
    clock.time = 1_200;
    expect(breaker.stats.calls).toBe(0);
    clock.time = 300;
    await run(breaker, 'f');
    clock.time = 1_299;
    expect(breaker.stats.calls).toBe(1);
    clock.time = 1_300;
    expect(breaker.stats.calls).toBe(0);
  });
});

describe('circuitBreaker rejection errors', () => {
  const original = Error.stackTraceLimit;
  afterEach(() => {
    Error.stackTraceLimit = original;
  });

  it('restores Error.stackTraceLimit after building a rejection', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock: new VirtualClock() });
    await fail(breaker);
    Error.stackTraceLimit = 7;
    await expect(succeed(breaker)).resolves.toBeInstanceOf(CircuitOpenError);
    expect(Error.stackTraceLimit).toBe(7);
  });

  it('leaves a missing Error.stackTraceLimit missing', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock: new VirtualClock() });
    await fail(breaker);
    delete (Error as { stackTraceLimit?: number }).stackTraceLimit;
    await expect(succeed(breaker)).resolves.toBeInstanceOf(CircuitOpenError);
    expect(Object.hasOwn(Error, 'stackTraceLimit')).toBe(false);
  });
});

describe('circuitBreaker options', () => {
  it('names the option in every message', () => {
    expect(() => circuitBreaker({ name: 5 as never })).toThrow(
      new TypeError('circuitBreaker: name must be a non-empty string, got 5'),
    );
    expect(() => circuitBreaker(5 as never)).toThrow(/^circuitBreaker: options must be an object, got 5$/);
    expect(() => circuitBreaker({ failOnResult: 5 as never })).toThrow(/^circuitBreaker: failOnResult /);
    expect(() => circuitBreaker({ window: { type: 'time', duration: 1_000, size: 5 } as never })).toThrow(
      /unknown option "window\.size"/,
    );
  });

  it('openFor must be a number or an object with delay(): not a string, null or a function', () => {
    const message = /^circuitBreaker: openFor must be a number of ms or a backoff, got /;
    expect(() => circuitBreaker({ openFor: 'soon' as never })).toThrow(message);
    expect(() => circuitBreaker({ openFor: null as never })).toThrow(message);
    const fn = Object.assign(() => 1, { delay: () => 1 });
    expect(() => circuitBreaker({ openFor: fn as never })).toThrow(message);
  });

  it('minimumCalls may not exceed the default window of 100 calls', () => {
    expect(() => circuitBreaker({ minimumCalls: 150 })).toThrow(RangeError);
  });

  it('minimumCalls alone needs a rate trigger', () => {
    expect(() => circuitBreaker({ consecutiveFailures: 3, minimumCalls: 5 })).toThrow(TypeError);
  });

  it('breakers with entirely different options never share a configuration', async () => {
    const a = circuitBreaker({ openFor: 1_000, clock: new VirtualClock() });
    const b = circuitBreaker({
      openFor: 2_000,
      halfOpenCalls: 2,
      consecutiveFailures: 3,
      failureRate: 0.25,
      slowCallRate: 0.5,
      slowCallDuration: 100,
      minimumCalls: 4,
      window: { type: 'time', duration: 1_000, buckets: 4 },
      failOn: () => true,
      failOnResult: () => false,
      clock: new VirtualClock(),
    });
    await run(b, 'fff');
    expect(b.state).toBe('open');
    expect(a.state).toBe('closed');
  });
});

describe('circuitBreaker snapshot and initialState', () => {
  it('an open breaker and a consecutiveFailures-only breaker save no window', async () => {
    const open = circuitBreaker({ clock: new VirtualClock(), window: { type: 'count', size: 2 } });
    await run(open, 'ff');
    expect(open.state).toBe('open');
    expect(open.snapshot().window).toBeNull();
    const counting = circuitBreaker({ consecutiveFailures: 5, clock: new VirtualClock() });
    await run(counting, 'f');
    expect(counting.snapshot().window).toBeNull();
  });

  it('restores a half-open snapshot without openedAt as opened openFor ago', () => {
    const clock = new VirtualClock({ start: 5_000 });
    const breaker = circuitBreaker({
      clock,
      initialState: { ...closed, state: 'halfOpen', openedAt: null, openFor: 1_000, openCount: 1 },
    });
    expect(breaker.snapshot()).toMatchObject({ state: 'halfOpen', openedAt: 4_000, openFor: 1_000 });
  });

  it('restores a closed snapshot with no window into a windowed breaker', async () => {
    const breaker = circuitBreaker({
      clock: new VirtualClock(),
      initialState: { ...closed, consecutiveFailures: 2 },
    });
    expect(breaker.stats).toMatchObject({ state: 'closed', calls: 0, consecutiveFailures: 2 });
    await run(breaker, 'f');
    expect(breaker.stats).toMatchObject({ calls: 1, failures: 1 });
  });

  it('restores slow calls of a count window when slow calls are tracked', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({
      slowCallDuration: 10,
      window: { type: 'count', size: 2 },
      clock,
      initialState: { ...closed, window: { type: 'count', size: 2, outcomes: '22' } },
    });
    expect(breaker.stats).toMatchObject({ calls: 2, slowCalls: 2, failures: 0 });
    await timed(breaker, clock, 1);
    await timed(breaker, clock, 1);
    expect(breaker.stats).toMatchObject({ calls: 2, slowCalls: 0 });
  });

  it('continues a restored partial count window after its last call', async () => {
    const breaker = circuitBreaker({
      failureRate: 0.9,
      window: { type: 'count', size: 4 },
      clock: new VirtualClock(),
      initialState: { ...closed, window: { type: 'count', size: 4, outcomes: '1' } },
    });
    await run(breaker, 'sf');
    expect(breaker.snapshot().window).toEqual({ type: 'count', size: 4, outcomes: '101' });
    expect(decodeOutcomes('1', 4, false).head).toBe(1);
  });

  const timeWindow = (counts: number[]) =>
    ({ type: 'time', duration: 1_000, buckets: 2, bucket: 0, counts }) as const;

  it('restores the slow counts of a time window bucket by bucket when slow calls are tracked', () => {
    const breaker = circuitBreaker({
      slowCallDuration: 10,
      slowCallRate: 1,
      failureRate: 1,
      window: { type: 'time', duration: 1_000, buckets: 2 },
      clock: new VirtualClock(),
      initialState: { ...closed, window: timeWindow([5, 4, 1, 3, 1, 2]) },
    });
    expect(breaker.stats).toMatchObject({ calls: 8, failures: 5, slowCalls: 3 });
  });

  it('drops the slow counts of a time window when slow calls are not tracked', () => {
    const breaker = circuitBreaker({
      failureRate: 1,
      window: { type: 'time', duration: 1_000, buckets: 2 },
      clock: new VirtualClock(),
      initialState: { ...closed, window: timeWindow([5, 4, 1, 3, 1, 2]) },
    });
    expect(breaker.stats).toMatchObject({ calls: 8, failures: 5, slowCalls: 0 });
  });

  it('an empty time window saved by a clock ahead of this one counts new calls by this clock', async () => {
    const clock = manualClock(300);
    const breaker = circuitBreaker({
      failureRate: 1,
      window: { type: 'time', duration: 1_000, buckets: 10 },
      clock,
      initialState: {
        ...closed,
        window: { type: 'time', duration: 1_000, buckets: 10, bucket: 12, counts: new Array(30).fill(0) },
      },
    });
    await run(breaker, 'f');
    clock.time = 1_299;
    expect(breaker.stats.calls).toBe(1);
    clock.time = 1_300;
    expect(breaker.stats.calls).toBe(0);
  });

  it('drops a time window saved with another number of buckets', () => {
    const breaker = circuitBreaker({
      failureRate: 1,
      window: { type: 'time', duration: 1_000, buckets: 3 },
      clock: new VirtualClock(),
      initialState: { ...closed, window: timeWindow([5, 4, 1, 3, 1, 2]) },
    });
    expect(breaker.stats.calls).toBe(0);
  });

  it('validates every window field of initialState, naming it', () => {
    const withWindow = (window: unknown) => () =>
      circuitBreaker({ clock: new VirtualClock(), initialState: { ...closed, window } as never });
    expect(withWindow(undefined)).toThrow(
      new TypeError('circuitBreaker: initialState.window must be an object or null, got undefined'),
    );
    expect(withWindow({ type: 'ring' })).toThrow(/^circuitBreaker: initialState\.window\.type /);
    expect(withWindow({ type: 'count', size: 2, outcomes: '', extra: 1 })).toThrow(
      /unknown option "initialState\.window\.extra"/,
    );
    expect(withWindow({ type: 'count', size: 0, outcomes: '' })).toThrow(
      /^circuitBreaker: initialState\.window\.size /,
    );
    expect(withWindow({ type: 'count', size: 1.5, outcomes: '' })).toThrow(RangeError);
    expect(withWindow({ type: 'count', size: 2, outcomes: '9' })).toThrow(
      /^circuitBreaker: initialState\.window\.outcomes /,
    );
    const time = { type: 'time', duration: 1_000, buckets: 1, bucket: 0, counts: [0, 0, 0] };
    expect(withWindow({ ...time, extra: 1 })).toThrow(/unknown option "initialState\.window\.extra"/);
    expect(withWindow({ ...time, duration: 0 })).toThrow(/^circuitBreaker: initialState\.window\.duration /);
    expect(withWindow({ ...time, buckets: 0 })).toThrow(/^circuitBreaker: initialState\.window\.buckets /);
    expect(withWindow({ ...time, buckets: 1.5 })).toThrow(RangeError);
    expect(withWindow({ ...time, counts: [-1, 0, 0] })).toThrow(
      /^circuitBreaker: initialState\.window\.counts\[0\] /,
    );
  });

  it('rejects count-window outcomes that are not a string, even digits given as a number', () => {
    expect(() =>
      circuitBreaker({
        clock: new VirtualClock(),
        initialState: { ...closed, window: { type: 'count', size: 2, outcomes: 10 } } as never,
      }),
    ).toThrow(
      new TypeError(
        'circuitBreaker: initialState.window.outcomes must be a string of 0-3 digits, at most size long, got 10',
      ),
    );
  });

  it('decoding outcomes without a failure or a counted slow call allocates no ring', () => {
    expect(decodeOutcomes('0000', 4, true).ring).toBeUndefined();
    expect(decodeOutcomes('0202', 4, false).ring).toBeUndefined();
    expect(decodeOutcomes('0202', 4, true).ring).toBeDefined();
  });

  it('validates the counters of initialState, naming them', () => {
    const make = (patch: object) => () =>
      circuitBreaker({ clock: new VirtualClock(), initialState: { ...closed, ...patch } as never });
    expect(make({ consecutiveFailures: -1 })).toThrow(/^circuitBreaker: initialState\.consecutiveFailures /);
    expect(make({ failures: -1 })).toThrow(/^circuitBreaker: initialState\.failures /);
    expect(make({ slowCalls: -1 })).toThrow(/^circuitBreaker: initialState\.slowCalls /);
  });
});
