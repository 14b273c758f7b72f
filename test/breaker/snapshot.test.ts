import { describe, expect, it } from 'vitest';
import { type CircuitBreakerSnapshot, CircuitOpenError, circuitBreaker } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { closedSnapshot } from '../helpers/snapshots.js';
import { fail, run, succeed } from './helpers.js';

/** Through JSON, as a snapshot kept in a file or Redis would travel. */
function roundTrip(snapshot: CircuitBreakerSnapshot): CircuitBreakerSnapshot {
  return JSON.parse(JSON.stringify(snapshot)) as CircuitBreakerSnapshot;
}

const base = closedSnapshot;

describe('circuitBreaker snapshot()', () => {
  it('is plain JSON data describing a closed breaker and its count window, oldest call first', async () => {
    const breaker = circuitBreaker({
      failureRate: 0.9,
      window: { type: 'count', size: 5 },
      clock: new VirtualClock(),
    });
    await run(breaker, 'sfssff');
    const snapshot = breaker.snapshot();
    expect(roundTrip(snapshot)).toEqual(snapshot);
    expect(snapshot).toEqual({
      ...base,
      consecutiveFailures: 2,
      calls: 5,
      failures: 3,
      window: { type: 'count', size: 5, outcomes: '10011' },
    });
  });

  it('describes an open breaker: when it opened, for how long, how many times', async () => {
    const clock = new VirtualClock({ start: 5_000 });
    const breaker = circuitBreaker({ consecutiveFailures: 1, openFor: 700, clock });
    await fail(breaker);
    expect(breaker.snapshot()).toEqual({
      ...base,
      state: 'open',
      openedAt: 5_000,
      openFor: 700,
      openCount: 1,
    });
  });

  it('marks slow calls in the outcomes', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ slowCallDuration: 10, minimumCalls: 5, clock });
    const call = breaker.execute(() => new Promise((r) => clock.setTimeout(() => r('x'), 20)));
    await clock.advance(20);
    await call;
    await run(breaker, 'f');
    expect(breaker.snapshot().window).toEqual({ type: 'count', size: 100, outcomes: '21' });
  });

  it('names the current bucket even when every bucket has expired', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ window: { type: 'time', duration: 300, buckets: 3 }, clock });
    await run(breaker, 's');
    await clock.advance(1_000);
    expect(breaker.snapshot().window).toMatchObject({ bucket: 10, counts: [0, 0, 0, 0, 0, 0, 0, 0, 0] });
  });

  it('describes a time window bucket by bucket, oldest first', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ window: { type: 'time', duration: 300, buckets: 3 }, clock });
    await run(breaker, 'ff');
    await clock.advance(100);
    await run(breaker, 's');
    expect(breaker.snapshot().window).toEqual({
      type: 'time',
      duration: 300,
      buckets: 3,
      bucket: 1,
      counts: [0, 0, 0, 2, 2, 0, 1, 0, 0],
    });
  });
});

describe('circuitBreaker initialState', () => {
  it('restores a closed breaker with its count window, so it opens where it left off', async () => {
    const clock = new VirtualClock();
    const options = { failureRate: 0.5, minimumCalls: 4, window: { type: 'count', size: 4 } } as const;
    const before = circuitBreaker({ ...options, clock });
    await run(before, 'sfs');
    const after = circuitBreaker({ ...options, clock, initialState: roundTrip(before.snapshot()) });
    expect(after.stats).toMatchObject({ calls: 3, failures: 1 });
    await run(after, 'f');
    expect(after.state).toBe('open');
  });

  it('restores the newest outcomes into a smaller count window', () => {
    const breaker = circuitBreaker({
      window: { type: 'count', size: 3 },
      clock: new VirtualClock(),
      initialState: { ...base, window: { type: 'count', size: 10, outcomes: '1111000101' } },
    });
    expect(breaker.stats).toMatchObject({ calls: 3, failures: 2 });
    expect(breaker.snapshot().window).toEqual({ type: 'count', size: 3, outcomes: '101' });
  });

  it('drops slow marks when the restored breaker does not track slow calls', () => {
    const breaker = circuitBreaker({
      clock: new VirtualClock(),
      initialState: { ...base, window: { type: 'count', size: 10, outcomes: '2301' } },
    });
    expect(breaker.stats).toMatchObject({ calls: 4, failures: 2, slowCalls: 0 });
  });

  it('restores consecutive failures', async () => {
    const breaker = circuitBreaker({
      consecutiveFailures: 3,
      clock: new VirtualClock(),
      initialState: { ...base, consecutiveFailures: 2 },
    });
    await run(breaker, 'f');
    expect(breaker.state).toBe('open');
  });

  it('restores an open breaker: still rejecting until openedAt + openFor', async () => {
    const clock = new VirtualClock({ start: 10_000 });
    const breaker = circuitBreaker({
      clock,
      initialState: { ...base, state: 'open', openedAt: 9_000, openFor: 1_500, openCount: 2 },
    });
    await expect(succeed(breaker)).resolves.toMatchObject({ state: 'open', retryAfter: 500 });
    await clock.advance(500);
    expect(breaker.state).toBe('halfOpen');
  });

  it('restores the open count, so a backoff goes on growing', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({
      consecutiveFailures: 1,
      openFor: { delay: (n) => n * 100 },
      clock,
      initialState: { ...base, state: 'halfOpen', openedAt: 0, openFor: 200, openCount: 2 },
    });
    expect(breaker.snapshot()).toMatchObject({ state: 'halfOpen', openedAt: 0, openFor: 200, openCount: 2 });
    await fail(breaker);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', openFor: 300, openCount: 3 });
  });

  it('a time window restores under the same window options', async () => {
    const clock = new VirtualClock();
    const options = { window: { type: 'time', duration: 300, buckets: 3 }, minimumCalls: 4 } as const;
    const before = circuitBreaker({ ...options, clock });
    await run(before, 'ff');
    await clock.advance(100);
    await run(before, 's');
    const after = circuitBreaker({ ...options, clock, initialState: roundTrip(before.snapshot()) });
    expect(after.stats).toMatchObject({ calls: 3, failures: 2 });
    await clock.advance(200); // the first bucket expires
    expect(after.stats).toMatchObject({ calls: 1, failures: 0 });
  });

  it('a window saved under other window options is dropped, the state kept', () => {
    const timeSnapshot: CircuitBreakerSnapshot = {
      ...base,
      consecutiveFailures: 1,
      window: { type: 'time', duration: 300, buckets: 3, bucket: 0, counts: [1, 1, 0, 0, 0, 0, 0, 0, 0] },
    };
    const clock = new VirtualClock();
    const countBreaker = circuitBreaker({ clock, initialState: timeSnapshot });
    expect(countBreaker.stats).toMatchObject({ calls: 0, consecutiveFailures: 1 });
    const otherTime = circuitBreaker({
      window: { type: 'time', duration: 600, buckets: 3 },
      clock,
      initialState: timeSnapshot,
    });
    expect(otherTime.stats.calls).toBe(0);
    const fromCount = circuitBreaker({
      window: { type: 'time', duration: 300, buckets: 3 },
      clock,
      initialState: { ...base, window: { type: 'count', size: 4, outcomes: '11' } },
    });
    expect(fromCount.stats.calls).toBe(0);
  });

  it('an isolated breaker restores as open for one openFor period', async () => {
    const clock = new VirtualClock();
    const before = circuitBreaker({ clock });
    const release = before.isolate();
    const snapshot = roundTrip(before.snapshot());
    release();
    expect(snapshot.state).toBe('isolated');
    const after = circuitBreaker({ openFor: 1_000, clock, initialState: snapshot });
    expect(after.state).toBe('open');
    expect(await succeed(after)).toBeInstanceOf(CircuitOpenError);
    await clock.advance(1_000);
    expect(after.state).toBe('halfOpen');
  });

  it.each([
    [null, /initialState must be an object/],
    [{ ...base, version: 2 }, /initialState.version must be 1, got 2/],
    [{ ...base, state: 'broken' }, /initialState.state must be one of/],
    [{ ...base, extra: 1 }, /unknown option "initialState.extra"/],
    [{ ...base, state: 'open' }, /initialState.openedAt must be a number, got null/],
    [{ ...base, state: 'open', openedAt: 1 }, /initialState.openFor must be a number ≥ 0, got null/],
    [{ ...base, openCount: -1 }, /initialState.openCount must be an integer ≥ 0, got -1/],
    [{ ...base, calls: 1.5 }, /initialState.calls must be an integer ≥ 0, got 1.5/],
    [{ ...base, window: 'x' }, /initialState.window must be an object/],
    [
      { ...base, window: { type: 'count', size: 2, outcomes: '111' } },
      /outcomes must be a string of 0-3 digits/,
    ],
    [
      { ...base, window: { type: 'count', size: 2, outcomes: '19' } },
      /outcomes must be a string of 0-3 digits/,
    ],
    [{ ...base, window: { type: 'count', size: 2, outcomes: '1', more: 1 } }, /unknown option/],
    [
      { ...base, window: { type: 'time', duration: 3, buckets: 1, bucket: 0, counts: [1, 1] } },
      /counts must be an array of buckets × 3 numbers/,
    ],
    [
      { ...base, window: { type: 'time', duration: 3, buckets: 1, bucket: 0, counts: [1, 2, 0] } },
      /initialState.window.counts\[1\] must be an integer ≥ 0 and ≤ 1, got 2/,
    ],
    [
      { ...base, window: { type: 'time', duration: 3, buckets: 1, bucket: 0.5, counts: [0, 0, 0] } },
      /initialState.window.bucket must be an integer/,
    ],
  ])('rejects an invalid initialState %j', (initialState, message) => {
    expect(() => circuitBreaker({ initialState: initialState as never })).toThrow(message);
  });
});
