import { describe, expect, it, vi } from 'vitest';
import {
  backoff,
  BulkheadFullError,
  type CircuitBreakerOptions,
  CircuitBreakerPolicy,
  CircuitOpenError,
  circuitBreaker,
  pipeline,
  RateLimitedError,
  retry,
  ThrottledError,
  TimeoutError,
  timeout,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { deferred, fail, run, succeed } from './helpers.js';

/** Lets every promise chain queued so far settle. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Runs a call that takes `ms` on the virtual clock. */
async function slowCall(breaker: CircuitBreakerPolicy, clock: VirtualClock, ms: number, failing = false) {
  const call = breaker
    .execute(
      () =>
        new Promise((resolve, reject) =>
          clock.setTimeout(() => (failing ? reject(new Error('slow fail')) : resolve('slow')), ms),
        ),
    )
    .catch((error: unknown) => error);
  await clock.advance(ms);
  return call;
}

describe('circuitBreaker: defaults', () => {
  it('default trigger: opens at a 50 % failure rate once 20 calls are counted', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ clock });
    await run(breaker, `${'fs'.repeat(9)}f`);
    // 10 failures out of 19 calls: under minimumCalls, still closed.
    expect(breaker.state).toBe('closed');
    await run(breaker, 's');
    // 10 of 20: 50 % reached.
    expect(breaker.state).toBe('open');
  });

  it('defaults stay closed below the rate: 9 failures out of 20', async () => {
    const breaker = circuitBreaker({ clock: new VirtualClock() });
    await run(breaker, 'f'.repeat(9) + 's'.repeat(11));
    expect(breaker.stats).toMatchObject({ calls: 20, failures: 9, state: 'closed' });
  });

  it('default openFor is 30 s and default halfOpenCalls is 1', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock });
    await fail(breaker);
    await clock.advance(29_999);
    expect(breaker.state).toBe('open');
    await clock.advance(1);
    expect(breaker.state).toBe('halfOpen');
    const probe = deferred();
    const first = breaker.execute(() => probe.promise);
    await expect(succeed(breaker)).resolves.toMatchObject({ state: 'halfOpen' });
    probe.resolve('ok');
    await first;
    expect(breaker.state).toBe('closed');
  });

  it('the count window defaults to 100 calls: the 101st call pushes the oldest out', async () => {
    const breaker = circuitBreaker({ failureRate: 0.5, minimumCalls: 100, clock: new VirtualClock() });
    await run(breaker, `${'f'.repeat(49)}${'s'.repeat(51)}`);
    expect(breaker.stats).toMatchObject({ calls: 100, failures: 49 });
    await run(breaker, 'f');
    // The oldest failure left as this one came in.
    expect(breaker.stats).toMatchObject({ calls: 100, failures: 49, state: 'closed' });
  });

  it('minimumCalls defaults to the window size when the window is smaller than 20', async () => {
    const breaker = circuitBreaker({ window: { type: 'count', size: 4 }, clock: new VirtualClock() });
    await run(breaker, 'sff');
    expect(breaker.state).toBe('closed');
    await run(breaker, 's');
    expect(breaker.state).toBe('open');
  });
});

describe('circuitBreaker: triggers', () => {
  it('consecutiveFailures opens after that many failures in a row', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 3, clock: new VirtualClock() });
    await run(breaker, 'ffsff');
    expect(breaker.state).toBe('closed');
    expect(breaker.stats.consecutiveFailures).toBe(2);
    await run(breaker, 'f');
    expect(breaker.state).toBe('open');
  });

  it('consecutiveFailures alone does not use a failure rate', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 5, clock: new VirtualClock() });
    await run(breaker, 'fs'.repeat(50));
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot().window).toBeNull();
  });

  it('consecutiveFailures with failureRate: either trigger opens', async () => {
    const both = () =>
      circuitBreaker({
        consecutiveFailures: 3,
        failureRate: 0.5,
        minimumCalls: 4,
        window: { type: 'count', size: 10 },
        clock: new VirtualClock(),
      });
    const byRun = both();
    const reasons: string[] = [];
    byRun.on('open', (e) => reasons.push(e.reason));
    await run(byRun, 'fff');
    const byRate = both();
    byRate.on('open', (e) => reasons.push(e.reason));
    await run(byRate, 'fsfs');
    expect(reasons).toEqual(['consecutiveFailures', 'failureRate']);
  });

  it('failureRate over a count window forgets calls that slid out', async () => {
    const breaker = circuitBreaker({
      failureRate: 0.75,
      minimumCalls: 4,
      window: { type: 'count', size: 4 },
      clock: new VirtualClock(),
    });
    await run(breaker, 'ffsss');
    // The first failure slid out: f s s s, 25 %.
    expect(breaker.stats).toMatchObject({ calls: 4, failures: 1, state: 'closed' });
    await run(breaker, 'sf');
    // s s s f: the second failure slid out, a new one came in.
    expect(breaker.stats).toMatchObject({ calls: 4, failures: 1 });
    await run(breaker, 'f');
    expect(breaker.stats).toMatchObject({ calls: 4, failures: 2, state: 'closed' });
    await run(breaker, 'f');
    expect(breaker.state).toBe('open');
  });

  it('failureRate over a time window: failures older than the window no longer count', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({
      failureRate: 0.5,
      minimumCalls: 4,
      window: { type: 'time', duration: 1_000, buckets: 10 },
      clock,
    });
    await run(breaker, 'fff');
    await clock.advance(1_000);
    // The three failures expired with their bucket.
    expect(breaker.stats).toMatchObject({ calls: 0, failures: 0 });
    await run(breaker, 'fsss');
    expect(breaker.state).toBe('closed');
    await run(breaker, 'ff');
    expect(breaker.state).toBe('open');
  });

  it('time window: buckets expire one at a time', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({
      failureRate: 1,
      minimumCalls: 100,
      window: { type: 'time', duration: 1_000, buckets: 4 },
      clock,
    });
    await run(breaker, 'f'); // bucket 0 (0–249 ms)
    await clock.advance(250);
    await run(breaker, 'ss'); // bucket 1
    await clock.advance(500);
    await run(breaker, 's'); // bucket 3
    expect(breaker.stats).toMatchObject({ calls: 4, failures: 1 });
    await clock.advance(250); // t = 1000: bucket 0 expires
    expect(breaker.stats).toMatchObject({ calls: 3, failures: 0 });
    await clock.advance(250); // bucket 1 expires
    expect(breaker.stats).toMatchObject({ calls: 1, failures: 0 });
    await clock.advance(10_000);
    expect(breaker.stats).toMatchObject({ calls: 0 });
  });

  it('time window: a clock that steps back less than the window keeps counting in the newest bucket', async () => {
    let now = 10_000;
    const clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };
    const breaker = circuitBreaker({ window: { type: 'time', duration: 10_000 }, minimumCalls: 2, clock });
    await run(breaker, 's');
    now = 5_000;
    await run(breaker, 's');
    expect(breaker.stats.calls).toBe(2);
    now = 10_999;
    expect(breaker.stats.calls).toBe(2);
    now = 20_000; // the newest bucket (10 000–10 999) leaves the window
    expect(breaker.stats.calls).toBe(0);
  });

  it('time window: a clock set back by a whole window or more starts the window afresh instead of freezing it', async () => {
    let now = 3_600_000;
    const clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };
    const breaker = circuitBreaker({ window: { type: 'time', duration: 1_000 }, minimumCalls: 4, clock });
    await run(breaker, 'sss');
    now = 0; // an hour back
    expect(breaker.stats.calls).toBe(0);
    await run(breaker, 'ff');
    expect(breaker.stats).toMatchObject({ calls: 2, failures: 2 });
    // The window works by the new clock: these two expire a second later, as any would.
    now = 1_000;
    expect(breaker.stats.calls).toBe(0);
    await run(breaker, 'ffff');
    expect(breaker.state).toBe('open');
  });

  it('time window: minimumCalls defaults to 20', async () => {
    const breaker = circuitBreaker({
      window: { type: 'time', duration: 10_000 },
      clock: new VirtualClock(),
    });
    await run(breaker, 'f'.repeat(19));
    expect(breaker.state).toBe('closed');
    await run(breaker, 'f');
    expect(breaker.state).toBe('open');
  });

  it('slowCallRate: slow successes open the breaker', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({
      slowCallDuration: 100,
      slowCallRate: 0.5,
      minimumCalls: 4,
      clock,
    });
    const opened: unknown[] = [];
    breaker.on('open', (e) => opened.push(e));
    await slowCall(breaker, clock, 150);
    await slowCall(breaker, clock, 50);
    await slowCall(breaker, clock, 100); // exactly the threshold: not slower than it
    expect(breaker.stats).toMatchObject({ calls: 3, slowCalls: 1, failures: 0 });
    await slowCall(breaker, clock, 101);
    expect(breaker.state).toBe('open');
    expect(opened).toEqual([
      { reason: 'slowCallRate', failureRate: 0, slowCallRate: 0.5, calls: 4, retryAfter: 30_000 },
    ]);
  });

  it('slowCallRate: slow failures count as failures and as slow calls', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ slowCallDuration: 100, failureRate: 1, minimumCalls: 10, clock });
    await slowCall(breaker, clock, 200, true);
    expect(breaker.stats).toMatchObject({ calls: 1, failures: 1, slowCalls: 1 });
  });

  it('slowCallRate over a time window: slow calls expire with their bucket, also when its slot is reused', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({
      slowCallDuration: 10,
      slowCallRate: 1,
      minimumCalls: 50,
      window: { type: 'time', duration: 100, buckets: 4 },
      clock,
    });
    await slowCall(breaker, clock, 20); // counted at t = 20: bucket 0, slot 0
    await clock.advance(10);
    await run(breaker, 's'); // t = 30: bucket 1
    expect(breaker.stats).toMatchObject({ calls: 2, slowCalls: 1 });
    await clock.advance(70); // t = 100: bucket 0 expired
    expect(breaker.stats).toMatchObject({ calls: 1, slowCalls: 0 });
    await run(breaker, 's'); // bucket 4 reuses slot 0
    await clock.advance(25); // t = 125: bucket 1 expired
    expect(breaker.stats).toMatchObject({ calls: 1, slowCalls: 0 });
    await clock.advance(75); // t = 200: bucket 4 expired
    expect(breaker.stats).toMatchObject({ calls: 0, slowCalls: 0 });
  });

  it('slowCallDuration alone sets slowCallRate to 1 and keeps the failure rate', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ slowCallDuration: 10, minimumCalls: 2, clock });
    await slowCall(breaker, clock, 20);
    await slowCall(breaker, clock, 5);
    expect(breaker.state).toBe('closed');
    await slowCall(breaker, clock, 20);
    await slowCall(breaker, clock, 20);
    // Window: slow, fast, slow, slow → 75 % slow: below 100 %.
    expect(breaker.state).toBe('closed');
    const failing = circuitBreaker({ slowCallDuration: 10, minimumCalls: 2, clock });
    await run(failing, 'fs');
    expect(failing.state).toBe('open');
  });

  it('without slow-call options, durations are not measured', async () => {
    const clock = new VirtualClock();
    const now = vi.spyOn(clock, 'now');
    const breaker = circuitBreaker({ clock });
    await run(breaker, 'ssss');
    expect(now).not.toHaveBeenCalled();
  });
});

describe('circuitBreaker: open', () => {
  it('rejects with CircuitOpenError carrying retryAfter and state, without calling', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 1, openFor: 1_000, clock });
    await fail(breaker);
    await clock.advance(400);
    const work = vi.fn(() => 'never');
    const error = await breaker.execute(work).catch((e: unknown) => e);
    expect(work).not.toHaveBeenCalled();
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toMatchObject({
      code: 'ERR_CIRCUIT_OPEN',
      state: 'open',
      retryAfter: 600,
      retryable: false,
    });
  });

  it('every rejection is a distinct error', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock: new VirtualClock() });
    await fail(breaker);
    const [a, b] = await Promise.all([succeed(breaker), succeed(breaker)]);
    expect(a).toBeInstanceOf(CircuitOpenError);
    expect(a).not.toBe(b);
    expect((a as Error).stack).toContain('CircuitOpenError');
  });

  it('rejections carry no stack frames (capturing them would cost more than the rejection)', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock: new VirtualClock() });
    await fail(breaker);
    const limit = Error.stackTraceLimit;
    const error = (await succeed(breaker)) as Error;
    expect(error.stack).toBe('CircuitOpenError: Circuit is open; rejected without calling');
    // The global limit is restored for everyone else's errors.
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it('still rejects with a CircuitOpenError where Error.stackTraceLimit is frozen or missing', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock: new VirtualClock() });
    await fail(breaker);
    const original = Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit')!;
    try {
      Object.defineProperty(Error, 'stackTraceLimit', { value: 10, writable: false, configurable: true });
      expect(await succeed(breaker)).toBeInstanceOf(CircuitOpenError);
      Reflect.deleteProperty(Error, 'stackTraceLimit');
      expect(await succeed(breaker)).toBeInstanceOf(CircuitOpenError);
    } finally {
      Object.defineProperty(Error, 'stackTraceLimit', original);
    }
  });

  it('inside a pipeline, an open breaker rejects the same way', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 1, openFor: 500, clock });
    const p = pipeline(breaker, timeout({ ms: 1_000, clock }));
    await p.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    await expect(p.execute(() => 1)).rejects.toMatchObject({ state: 'open', retryAfter: 500 });
  });

  it('a caller whose signal is already aborted gets its abort reason, not CircuitOpenError', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock: new VirtualClock() });
    await fail(breaker);
    const controller = new AbortController();
    controller.abort(new Error('caller gave up'));
    await expect(breaker.execute(() => 1, { signal: controller.signal })).rejects.toThrow('caller gave up');
  });

  it('openFor as a backoff: repeated opens wait longer; the count restarts after a clean close', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({
      consecutiveFailures: 1,
      openFor: backoff.exponential({ initial: 100, factor: 2, max: 10_000, jitter: 'none' }),
      clock,
    });
    const waits: number[] = [];
    breaker.on('open', (e) => waits.push(e.retryAfter));
    await fail(breaker); // open 100
    await clock.advance(100);
    await fail(breaker); // probe fails: open 200
    await clock.advance(200);
    await fail(breaker); // open 400
    await clock.advance(400);
    await succeed(breaker); // probe succeeds: closed
    expect(breaker.state).toBe('closed');
    await fail(breaker); // open 100 again
    expect(waits).toEqual([100, 200, 400, 100]);
  });

  it('the backoff receives the open count and the previous open period', async () => {
    const clock = new VirtualClock();
    const delay = vi.fn((n: number, previous: number) => previous + n * 10);
    const breaker = circuitBreaker({ consecutiveFailures: 1, openFor: { delay }, clock });
    await fail(breaker);
    await clock.advance(10);
    await fail(breaker);
    expect(delay.mock.calls).toEqual([
      [1, 0],
      [2, 10],
    ]);
  });

  it('a backoff that returns nonsense opens for 0 ms', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 1, openFor: { delay: () => Number.NaN }, clock });
    await fail(breaker);
    expect(breaker.state).toBe('halfOpen');
  });

  it('a backoff that answers Infinity keeps the breaker open (for 2^31 - 1 ms), never straight to half-open', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({
      consecutiveFailures: 1,
      openFor: { delay: () => Number.POSITIVE_INFINITY },
      clock,
    });
    const opened: number[] = [];
    breaker.on('open', ({ retryAfter }) => opened.push(retryAfter));
    await fail(breaker);
    expect(opened).toEqual([2_147_483_647]);
    await clock.advance(20 * 86_400_000);
    expect(breaker.state).toBe('open');
    const snapshot = breaker.snapshot();
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    expect(snapshot.openFor).toBe(2_147_483_647);
    const rejected = await fail(breaker);
    expect(rejected).toBeInstanceOf(CircuitOpenError);
    expect((rejected as CircuitOpenError).retryAfter).toBe(2_147_483_647 - 20 * 86_400_000);
  });

  it('a backoff that throws fails the call and leaves the state as it was', async () => {
    const breaker = circuitBreaker({
      consecutiveFailures: 1,
      openFor: {
        delay: () => {
          throw new Error('bad backoff');
        },
      },
      clock: new VirtualClock(),
    });
    await expect(fail(breaker)).resolves.toMatchObject({ message: 'bad backoff' });
    expect(breaker.state).toBe('closed');
  });

  it('holds no timer: transitions are computed when needed', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 1, openFor: 1_000, clock });
    await fail(breaker);
    expect(clock.pending).toBe(0);
    await clock.advance(1_000);
    expect(clock.pending).toBe(0);
    expect(breaker.state).toBe('halfOpen');
  });

  it("the breaker's own rejections are not failures", async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 1, openFor: 100, halfOpenCalls: 1, clock });
    await fail(breaker);
    for (let i = 0; i < 5; i++) await succeed(breaker);
    await clock.advance(100);
    // Had the rejections counted, the probe would face failures already.
    await succeed(breaker);
    expect(breaker.state).toBe('closed');
    expect(breaker.stats).toMatchObject({ calls: 0, failures: 0 });
  });
});

describe('circuitBreaker: half-open', () => {
  /** A breaker with openFor 100 ms, failed until it opened, then 100 ms later: half-open. */
  async function openBreaker(options: Omit<CircuitBreakerOptions, 'clock' | 'openFor'>) {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ ...options, openFor: 100, clock });
    while (breaker.state === 'closed') await fail(breaker);
    await clock.advance(100);
    expect(breaker.state).toBe('halfOpen');
    return { breaker, clock };
  }

  /** Opened by the failure rate (1 failure of 1), now half-open with 4 probes running. */
  async function fourProbesAtHalfFailureRate() {
    const { breaker } = await openBreaker({
      failureRate: 0.5,
      minimumCalls: 1,
      halfOpenCalls: 4,
      window: { type: 'count', size: 10 },
    });
    const probes = [deferred(), deferred(), deferred(), deferred()];
    const runs = probes.map((p) => breaker.execute(() => p.promise).catch(() => {}));
    return { breaker, probes, runs };
  }

  it('state reads halfOpen once openFor has passed, with no call needed', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 1, openFor: 100, clock });
    await fail(breaker);
    const seen: string[] = [];
    breaker.on('stateChange', (e) => seen.push(`${e.from}>${e.to}`));
    await clock.advance(99);
    expect(breaker.state).toBe('open');
    await clock.advance(1);
    expect(seen).toEqual([]);
    expect(breaker.state).toBe('halfOpen');
    expect(seen).toEqual(['open>halfOpen']);
  });

  it('admits exactly halfOpenCalls probes; extra calls are rejected with state halfOpen', async () => {
    const { breaker } = await openBreaker({ consecutiveFailures: 1, halfOpenCalls: 3 });
    const probes = [deferred(), deferred(), deferred()];
    const runs = probes.map((p) => breaker.execute(() => p.promise));
    const extra = await succeed(breaker);
    expect(extra).toBeInstanceOf(CircuitOpenError);
    expect(extra).toMatchObject({ state: 'halfOpen', retryAfter: 0 });
    expect(breaker.stats.probes).toBe(3);
    for (const p of probes) p.resolve('ok');
    await Promise.all(runs);
    expect(breaker.state).toBe('closed');
  });

  it('probes decide by the failure rate over them: reopens as soon as the rate is reached', async () => {
    const { breaker, probes, runs } = await fourProbesAtHalfFailureRate();
    probes[0]!.reject(new Error('a'));
    await runs[0];
    expect(breaker.state).toBe('halfOpen');
    probes[1]!.reject(new Error('b'));
    await runs[1];
    // 2 of 4 failed: 50 % whatever the other two do.
    expect(breaker.state).toBe('open');
    probes[2]!.resolve('late');
    probes[3]!.resolve('late');
    await Promise.all(runs);
    expect(breaker.state).toBe('open');
  });

  it('probes decide by the failure rate: closes as soon as the rate can no longer be reached', async () => {
    const { breaker, probes, runs } = await fourProbesAtHalfFailureRate();
    probes[0]!.reject(new Error('a'));
    probes[1]!.resolve('ok');
    probes[2]!.resolve('ok');
    await Promise.all(runs.slice(0, 3));
    // 1 failure, 2 successes, 1 left: at most 2 of 4 → could still reach 50 %.
    expect(breaker.state).toBe('halfOpen');
    probes[3]!.resolve('ok');
    await runs[3];
    expect(breaker.state).toBe('closed');
  });

  it('with only consecutiveFailures, any failed probe reopens', async () => {
    const { breaker } = await openBreaker({ consecutiveFailures: 5, halfOpenCalls: 3 });
    await run(breaker, 'ss');
    expect(breaker.state).toBe('halfOpen');
    await run(breaker, 'f');
    expect(breaker.state).toBe('open');
  });

  it('with only consecutiveFailures, probes must all succeed to close', async () => {
    const { breaker } = await openBreaker({ consecutiveFailures: 1, halfOpenCalls: 2 });
    await succeed(breaker);
    expect(breaker.state).toBe('halfOpen');
    await succeed(breaker);
    expect(breaker.state).toBe('closed');
  });

  it('slow probes reopen a breaker with a slow-call trigger', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({
      slowCallDuration: 10,
      slowCallRate: 0.5,
      minimumCalls: 1,
      openFor: 100,
      halfOpenCalls: 2,
      clock,
    });
    await slowCall(breaker, clock, 20);
    expect(breaker.state).toBe('open');
    await clock.advance(100);
    const reasons: string[] = [];
    breaker.on('open', (e) => reasons.push(e.reason));
    await slowCall(breaker, clock, 20);
    expect(breaker.state).toBe('open');
    expect(reasons).toEqual(['halfOpen']);
  });

  it('a probe that ends without a verdict (caller aborted) gives its slot back', async () => {
    const { breaker } = await openBreaker({ consecutiveFailures: 1 });
    const controller = new AbortController();
    const hung = deferred();
    const probe = breaker.execute(() => hung.promise, { signal: controller.signal }).catch((e: unknown) => e);
    expect(await succeed(breaker)).toBeInstanceOf(CircuitOpenError);
    controller.abort(new Error('gave up'));
    await probe;
    hung.reject(new Error('aborted work'));
    await flush();
    expect(breaker.state).toBe('halfOpen');
    expect(breaker.stats.probes).toBe(0);
    await expect(succeed(breaker)).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('a call started before the breaker opened cannot close it by succeeding late', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 1, openFor: 100, clock });
    const early = deferred();
    const lateCall = breaker.execute(() => early.promise);
    await fail(breaker);
    await clock.advance(100);
    const probe = deferred();
    const probeCall = breaker.execute(() => probe.promise).catch((e: unknown) => e);
    early.resolve('late success');
    await lateCall;
    // The real probe is still running: the late success changed nothing.
    expect(breaker.state).toBe('halfOpen');
    expect(breaker.stats.probes).toBe(1);
    probe.reject(new Error('still down'));
    await probeCall;
    expect(breaker.state).toBe('open');
  });

  it('a call started before the breaker opened is not counted when it fails late', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 2, openFor: 100, clock: new VirtualClock() });
    const early = deferred();
    const lateCall = breaker.execute(() => early.promise).catch(() => {});
    await run(breaker, 'ff');
    breaker.reset();
    early.reject(new Error('late'));
    await lateCall;
    expect(breaker.stats.consecutiveFailures).toBe(0);
  });
});

describe('circuitBreaker: what counts', () => {
  it('failOn decides which errors are failures; others count as successes', async () => {
    const breaker = circuitBreaker({
      consecutiveFailures: 2,
      failOn: (e) => (e as Error).message !== 'not found',
      clock: new VirtualClock(),
    });
    await fail(breaker, 'down');
    await fail(breaker, 'not found'); // a success: resets the run
    await fail(breaker, 'down');
    expect(breaker.state).toBe('closed');
    await fail(breaker, 'down');
    expect(breaker.state).toBe('open');
  });

  it('failOnResult counts a successful result as a failure, and still returns it', async () => {
    const breaker = circuitBreaker({
      consecutiveFailures: 2,
      failOnResult: (v) => (v as { status: number }).status >= 500,
      clock: new VirtualClock(),
    });
    await expect(breaker.execute(() => ({ status: 503 }))).resolves.toEqual({ status: 503 });
    await breaker.execute(() => ({ status: 503 }));
    expect(breaker.state).toBe('open');
  });

  it("the caller's abort is not counted", async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock: new VirtualClock() });
    const controller = new AbortController();
    const call = breaker
      .execute(
        ({ signal }) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
        { signal: controller.signal },
      )
      .catch(() => {});
    controller.abort(new Error('user left'));
    await call;
    await flush();
    expect(breaker.state).toBe('closed');
  });

  it("bulwark's local rejections from layers inside are not counted", async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock: new VirtualClock() });
    for (const error of [
      new BulkheadFullError(),
      new RateLimitedError(10),
      new ThrottledError(),
      new CircuitOpenError('open', 5),
    ]) {
      await breaker.execute(() => Promise.reject(error)).catch(() => {});
    }
    expect(breaker.state).toBe('closed');
    expect(breaker.stats.calls).toBe(0);
  });

  it('a timeout inside the breaker counts as a failure', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock });
    const p = pipeline(breaker, timeout({ ms: 50, clock }));
    const call = p
      .execute(
        ({ signal }) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      )
      .catch((e: unknown) => e);
    await clock.advance(50);
    expect(await call).toBeInstanceOf(TimeoutError);
    expect(breaker.state).toBe('open');
  });

  it('an inner breaker rejecting is not a failure of the outer one', async () => {
    const clock = new VirtualClock();
    const outer = circuitBreaker({ consecutiveFailures: 2, clock });
    const inner = circuitBreaker({ consecutiveFailures: 1, clock });
    const p = pipeline(outer, inner);
    await p.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    for (let i = 0; i < 5; i++) await p.execute(() => 1).catch(() => {});
    expect(inner.state).toBe('open');
    expect(outer.state).toBe('closed');
    expect(outer.stats.consecutiveFailures).toBe(1);
  });

  it('a failOn that throws fails the call with its error and frees the probe slot', async () => {
    const clock = new VirtualClock();
    let explode = false;
    const breaker = circuitBreaker({
      consecutiveFailures: 1,
      openFor: 10,
      failOn: () => {
        if (explode) throw new Error('predicate bug');
        return true;
      },
      clock,
    });
    await fail(breaker);
    await clock.advance(10);
    explode = true;
    await expect(fail(breaker)).resolves.toMatchObject({ message: 'predicate bug' });
    expect(breaker.stats.probes).toBe(0);
    explode = false;
    await expect(succeed(breaker)).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('a failOnResult that throws fails the call with its error and counts nothing', async () => {
    const breaker = circuitBreaker({
      consecutiveFailures: 1,
      failOnResult: () => {
        throw new Error('result predicate bug');
      },
      clock: new VirtualClock(),
    });
    await expect(succeed(breaker)).resolves.toMatchObject({ message: 'result predicate bug' });
    expect(breaker.state).toBe('closed');
  });

  it('retry outside the breaker stops at once when it opens', async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const p = pipeline(
      retry({ maxAttempts: 5, backoff: 0, clock }),
      circuitBreaker({ consecutiveFailures: 2, clock }),
    );
    const call = p
      .execute(() => {
        calls++;
        throw new Error('down');
      })
      .catch((e: unknown) => e);
    await clock.runAll();
    const error = await call;
    expect(calls).toBe(2);
    expect(error).toBeInstanceOf(CircuitOpenError);
  });
});

describe('circuitBreaker: isolate and reset', () => {
  it('isolate() forces the breaker open until released, then it closes with fresh counts', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 3, clock: new VirtualClock() });
    await run(breaker, 'ff');
    const release = breaker.isolate();
    expect(breaker.state).toBe('isolated');
    await expect(succeed(breaker)).resolves.toMatchObject({ state: 'isolated', retryAfter: 0 });
    release();
    expect(breaker.state).toBe('closed');
    expect(breaker.stats.consecutiveFailures).toBe(0);
  });

  it('isolations nest; a release function works once', async () => {
    const breaker = circuitBreaker({ clock: new VirtualClock() });
    const a = breaker.isolate();
    const b = breaker.isolate();
    a();
    a();
    expect(breaker.state).toBe('isolated');
    b();
    expect(breaker.state).toBe('closed');
  });

  it('calls in flight when isolated are not counted afterwards', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock: new VirtualClock() });
    const inFlight = deferred();
    const call = breaker.execute(() => inFlight.promise).catch(() => {});
    const release = breaker.isolate();
    release();
    inFlight.reject(new Error('late'));
    await call;
    expect(breaker.state).toBe('closed');
  });

  it('reset() closes an open breaker and restarts the openFor backoff', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({
      consecutiveFailures: 1,
      openFor: backoff.linear({ initial: 100, step: 100 }),
      clock,
    });
    const events: string[] = [];
    breaker.on('close', (e) => events.push(`close ${e.reason}`));
    breaker.on('open', (e) => events.push(`open ${e.retryAfter}`));
    await fail(breaker);
    await clock.advance(100);
    await fail(breaker);
    breaker.reset();
    expect(breaker.state).toBe('closed');
    await fail(breaker);
    expect(events).toEqual(['open 100', 'open 200', 'close reset', 'open 100']);
  });

  it('reset() leaves an isolation in place', () => {
    const breaker = circuitBreaker({ clock: new VirtualClock() });
    const release = breaker.isolate();
    breaker.reset();
    expect(breaker.state).toBe('isolated');
    release();
    expect(breaker.state).toBe('closed');
  });

  it('reset() on a closed breaker emits nothing', () => {
    const breaker = circuitBreaker({ clock: new VirtualClock() });
    const seen = vi.fn();
    breaker.on('stateChange', seen);
    breaker.reset();
    expect(seen).not.toHaveBeenCalled();
  });
});

describe('circuitBreaker: events, stats and health', () => {
  it('emits stateChange, open, halfOpen, close and reject with their payloads', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({
      failureRate: 0.5,
      minimumCalls: 2,
      window: { type: 'count', size: 10 },
      openFor: 100,
      clock,
    });
    const log: unknown[] = [];
    for (const name of ['stateChange', 'open', 'halfOpen', 'close', 'reject'] as const) {
      breaker.on(name, (e) => log.push([name, e]));
    }
    await run(breaker, 'sf');
    await clock.advance(40);
    await succeed(breaker);
    await clock.advance(60);
    await succeed(breaker);
    expect(log).toEqual([
      ['stateChange', { from: 'closed', to: 'open' }],
      ['open', { reason: 'failureRate', failureRate: 0.5, slowCallRate: 0, calls: 2, retryAfter: 100 }],
      ['reject', { state: 'open', retryAfter: 60 }],
      ['stateChange', { from: 'open', to: 'halfOpen' }],
      ['halfOpen', { probes: 1 }],
      ['stateChange', { from: 'halfOpen', to: 'closed' }],
      ['close', { reason: 'probes' }],
    ]);
  });

  it('isolate and release emit stateChange and close', () => {
    const breaker = circuitBreaker({ clock: new VirtualClock() });
    const log: unknown[] = [];
    breaker.on('stateChange', (e) => log.push(e));
    breaker.on('close', (e) => log.push(e));
    breaker.isolate()();
    expect(log).toEqual([
      { from: 'closed', to: 'isolated' },
      { from: 'isolated', to: 'closed' },
      { reason: 'release' },
    ]);
  });

  it('emits success and failure for calls it ran', async () => {
    const breaker = circuitBreaker({ clock: new VirtualClock() });
    const seen: string[] = [];
    breaker.on('success', (e) => seen.push(`success ${String(e.value)}`));
    breaker.on('failure', (e) => seen.push(`failure ${(e.error as Error).message}`));
    await run(breaker, 'sf');
    expect(seen).toEqual(['success ok', 'failure boom']);
  });

  it('stats report the window and rates', async () => {
    const breaker = circuitBreaker({ failureRate: 0.9, minimumCalls: 10, clock: new VirtualClock() });
    await run(breaker, 'ffss');
    expect(breaker.stats).toEqual({
      state: 'closed',
      calls: 4,
      failures: 2,
      slowCalls: 0,
      failureRate: 0.5,
      slowCallRate: 0,
      consecutiveFailures: 0,
      probes: 0,
      openCount: 0,
      retryAfter: 0,
    });
  });

  it('health: closed is ok, halfOpen degraded, open and isolated down', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 1, openFor: 100, clock, name: 'inventory' });
    expect(breaker._health()).toMatchObject({ kind: 'circuitBreaker', name: 'inventory', status: 'ok' });
    await fail(breaker);
    expect(breaker._health()).toMatchObject({ status: 'down', state: 'open', retryAfter: 100, openCount: 1 });
    await clock.advance(100);
    expect(breaker._health()).toMatchObject({ status: 'degraded', state: 'halfOpen' });
    const release = breaker.isolate();
    expect(breaker._health()).toMatchObject({ status: 'down', state: 'isolated' });
    release();
  });

  it('builds no event payload when nobody listens', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock: new VirtualClock() });
    const emit = vi.spyOn(breaker as unknown as { emit: () => void }, 'emit');
    await run(breaker, 'sf');
    await succeed(breaker);
    expect(emit).not.toHaveBeenCalled();
  });
});

describe('circuitBreaker: options', () => {
  it.each([
    [{ failureRate: 0 }, 'circuitBreaker: failureRate must be a number > 0 and ≤ 1, got 0'],
    [{ failureRate: 1.5 }, 'circuitBreaker: failureRate must be a number > 0 and ≤ 1, got 1.5'],
    [{ consecutiveFailures: 0 }, 'circuitBreaker: consecutiveFailures must be an integer ≥ 1, got 0'],
    [{ minimumCalls: 0 }, 'circuitBreaker: minimumCalls must be an integer ≥ 1, got 0'],
    [{ halfOpenCalls: 1.5 }, 'circuitBreaker: halfOpenCalls must be an integer ≥ 1 and ≤ 1000000, got 1.5'],
    [{ openFor: -1 }, 'circuitBreaker: openFor must be a number ≥ 0, got -1'],
    [{ slowCallDuration: 0 }, 'circuitBreaker: slowCallDuration must be a number > 0, got 0'],
    [
      { slowCallDuration: 5, slowCallRate: 2 },
      'circuitBreaker: slowCallRate must be a number > 0 and ≤ 1, got 2',
    ],
    [
      { window: { type: 'count', size: 0 } },
      'circuitBreaker: window.size must be an integer ≥ 1 and ≤ 1000000, got 0',
    ],
    [
      { window: { type: 'time', duration: 0 } },
      'circuitBreaker: window.duration must be a number > 0, got 0',
    ],
    [
      { window: { type: 'time', duration: 10, buckets: 0 } },
      'circuitBreaker: window.buckets must be an integer ≥ 1 and ≤ 1000, got 0',
    ],
    [
      { window: { type: 'count', size: 10 }, minimumCalls: 11 },
      'circuitBreaker: minimumCalls must be ≤ window.size (10) or the breaker could never open, got 11',
    ],
  ])('rejects %j', (options, message) => {
    expect(() => circuitBreaker(options as never)).toThrow(message);
  });

  it.each([
    [{ bogus: 1 }, /unknown option "bogus"/],
    [{ window: { type: 'sliding' } }, /window.type must be one of "count", "time"/],
    [{ window: { type: 'count', duration: 5 } }, /unknown option "window.duration"/],
    [{ window: 5 }, /window must be an object/],
    [{ slowCallRate: 0.5 }, /slowCallRate needs slowCallDuration/],
    [{ consecutiveFailures: 3, window: { type: 'count' } }, /window and minimumCalls need a rate trigger/],
    [{ openFor: 'long' }, /openFor must be a number of ms or a backoff, got "long"/],
    [{ openFor: {} }, /openFor must be a number of ms or a backoff/],
    [{ failOn: 'yes' }, /failOn must be a function/],
    [{ name: '' }, /name must be a non-empty string/],
    [{ clock: {} }, /clock must have now/],
  ])('rejects %j with a TypeError', (options, message) => {
    expect(() => circuitBreaker(options as never)).toThrow(message);
  });

  it('accepts no options at all and is a CircuitBreakerPolicy', () => {
    const breaker = circuitBreaker();
    expect(breaker).toBeInstanceOf(CircuitBreakerPolicy);
    expect(breaker.kind).toBe('circuitBreaker');
    expect(breaker.state).toBe('closed');
  });

  it('breakers built from equal options behave independently', async () => {
    const clock = new VirtualClock();
    const a = circuitBreaker({ consecutiveFailures: 1, clock });
    const b = circuitBreaker({ consecutiveFailures: 1, clock });
    await fail(a);
    expect([a.state, b.state]).toEqual(['open', 'closed']);
  });

  it('wrap() runs a function under the breaker', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock: new VirtualClock() });
    const add = breaker.wrap((x: number, y: number) => x + y);
    await expect(add(2, 3)).resolves.toBe(5);
  });
});
