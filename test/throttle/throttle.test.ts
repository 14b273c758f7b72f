import { describe, expect, it, vi } from 'vitest';
import {
  pipeline,
  THROTTLE_OPTIONS,
  ThrottledError,
  TimeoutError,
  throttle,
  timeout,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { honours } from '../helpers/work.js';

/** Never sheds unless the probability is (almost) 1: lets a test set up counts. */
const neverShed = () => 0.999_999_9;
/** Sheds whenever the probability is above 0. */
const alwaysShed = () => 0;

const fail =
  (message = 'backend said no') =>
  () =>
    Promise.reject(new Error(message));

/** A clock a test sets by hand (`clock.at = …`), to step it back as a wall clock can be. */
function handSetClock(at: number) {
  const clock = { at, now: () => clock.at, setTimeout: () => 0, clearTimeout: () => {} };
  return clock;
}

/** Runs `n` calls through `policy`, swallowing their errors. */
async function calls(policy: ReturnType<typeof throttle>, n: number, fn: () => unknown): Promise<void> {
  for (let i = 0; i < n; i++) await policy.execute(fn).catch(() => {});
}

/** Runs one call through `policy` that its caller aborts, and lets the policy see the abort. */
async function abortedCall(policy: ReturnType<typeof throttle>): Promise<void> {
  const controller = new AbortController();
  const call = policy.execute(honours, { signal: controller.signal });
  controller.abort(new Error('user left'));
  await expect(call).rejects.toThrow('user left');
  await new Promise((resolve) => setImmediate(resolve));
}

describe('throttle options', () => {
  it('defaults to k = 2 over a 2-minute window', () => {
    const t = throttle();
    expect(t.kind).toBe('throttle');
    expect(t.name).toBe('throttle');
    expect(t.k).toBe(2);
    expect(t.window).toBe(120_000);
    expect(t.stats).toEqual({ requests: 0, accepts: 0, rejected: 0 });
    expect(t.probability()).toBe(0);
  });

  it('exports its option names', () => {
    expect([...THROTTLE_OPTIONS]).toEqual(['k', 'window', 'isAccepted', 'random', 'clock', 'name']);
  });

  it.each([
    [{ k: 0.5 }, RangeError, /throttle: k must be a number ≥ 1, got 0.5/],
    [{ k: '2' }, TypeError, /k must be a number/],
    [{ window: 0 }, RangeError, /window must be a number > 0, got 0/],
    [{ window: Number.POSITIVE_INFINITY }, RangeError, /window must be a number > 0, got Infinity/],
    [{ isAccepted: 1 }, TypeError, /isAccepted must be a function, got 1/],
    [{ random: 0.5 }, TypeError, /random must be a function, got 0.5/],
    [{ clock: null }, TypeError, /clock must have now\(\)/],
    [{ ks: 2 }, TypeError, /unknown option "ks"/],
  ])('validates %j', (options, type, message) => {
    expect(() => throttle(options as never)).toThrow(type);
    expect(() => throttle(options as never)).toThrow(message);
  });
});

describe('throttle', () => {
  it('never sheds while the backend accepts what is sent', async () => {
    const random = vi.fn(alwaysShed);
    const t = throttle({ random });
    await calls(t, 500, () => 'ok');
    expect(t.stats).toEqual({ requests: 500, accepts: 500, rejected: 0 });
    // With a zero probability, not even the random source is consulted.
    expect(random).not.toHaveBeenCalled();
  });

  it('rejects with probability max(0, (requests − k·accepts) / (requests + 1))', async () => {
    const t = throttle({ random: neverShed });
    await calls(t, 6, () => 'ok');
    expect(t.probability()).toBe(0);
    await calls(t, 4, fail());
    // 10 requests, 6 accepts: 10 − 12 < 0.
    expect(t.probability()).toBe(0);
    await calls(t, 6, fail());
    expect(t.stats).toMatchObject({ requests: 16, accepts: 6 });
    expect(t.probability()).toBeCloseTo((16 - 2 * 6) / 17, 12);
    const k3 = throttle({ k: 3, random: neverShed });
    await calls(k3, 2, () => 'ok');
    await calls(k3, 10, fail());
    expect(k3.probability()).toBeCloseTo((12 - 3 * 2) / 13, 12);
  });

  it('sheds locally with ThrottledError, without calling, and counts the shed call as a request', async () => {
    let shedding = false;
    const t = throttle({ random: () => (shedding ? 0 : neverShed()) });
    await calls(t, 3, fail());
    shedding = true;
    const work = vi.fn();
    const error = await t.execute(work).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).code).toBe('ERR_THROTTLED');
    expect((error as ThrottledError).retryable).toBe(false);
    expect((error as Error).message).toMatch(/probability 0\.750/);
    expect(work).not.toHaveBeenCalled();
    expect(t.stats).toEqual({ requests: 4, accepts: 0, rejected: 1 });
    // The shed request raised the probability: 4 / 5.
    expect(t.probability()).toBeCloseTo(4 / 5, 12);
  });

  it('counts errors isAccepted matches as accepts (the backend answered, it said no)', async () => {
    const t = throttle({
      random: neverShed,
      isAccepted: (e) => (e as Error).message === '404',
    });
    await calls(t, 5, fail('404'));
    await calls(t, 5, fail('503'));
    expect(t.stats).toMatchObject({ requests: 10, accepts: 5 });
    expect(t.probability()).toBe(0);
  });

  it("counts the caller's abort as neither a request nor an accept", async () => {
    const t = throttle({ random: neverShed });
    await abortedCall(t);
    expect(t.stats).toMatchObject({ requests: 0, accepts: 0 });
  });

  it('counts a timeout as a request the backend did not accept', async () => {
    const clock = new VirtualClock();
    const t = throttle({ random: neverShed, clock });
    const policy = pipeline(t, timeout({ ms: 10, clock }));
    const call = policy
      .execute(
        ({ signal }) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      )
      .catch((e: unknown) => e);
    await clock.advance(10);
    expect(await call).toBeInstanceOf(TimeoutError);
    expect(t.stats).toMatchObject({ requests: 1, accepts: 0 });
  });

  it('counts a timeout from outside as a non-accept too', async () => {
    const clock = new VirtualClock();
    const t = throttle({ random: neverShed, clock });
    const policy = pipeline(timeout({ ms: 10, clock }), t);
    const call = policy
      .execute(
        ({ signal }) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('closed')))),
      )
      .catch((e: unknown) => e);
    await clock.advance(10);
    expect(await call).toBeInstanceOf(TimeoutError);
    expect(t.stats).toMatchObject({ requests: 1, accepts: 0 });
  });

  it('forgets counts older than the window, in 12 buckets computed on demand (no timer)', async () => {
    const clock = new VirtualClock();
    const t = throttle({ random: neverShed, clock });
    await calls(t, 10, fail());
    expect(clock.pending).toBe(0);
    await clock.advance(60_000);
    await calls(t, 10, () => 'ok');
    expect(t.stats).toMatchObject({ requests: 20, accepts: 10 });
    // The first bucket (0–10 s) stays until 120 s.
    await clock.advance(59_999);
    expect(t.stats).toMatchObject({ requests: 20, accepts: 10 });
    await clock.advance(1);
    expect(t.stats).toMatchObject({ requests: 10, accepts: 10 });
    await clock.advance(1_000_000);
    expect(t.stats).toMatchObject({ requests: 0, accepts: 0 });
    expect(t.probability()).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('takes nothing back for an abort whose request already left the window', async () => {
    const clock = new VirtualClock();
    const t = throttle({ random: neverShed, clock, window: 1_200 });
    const controller = new AbortController();
    const call = t
      .execute(
        ({ signal }) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
        { signal: controller.signal },
      )
      .catch(() => {});
    await clock.advance(1_500);
    await calls(t, 2, fail());
    controller.abort(new Error('late'));
    await call;
    await clock.settle();
    expect(t.stats).toMatchObject({ requests: 2 });
  });

  it('keeps counting into the newest bucket when the clock steps back', async () => {
    const clock = handSetClock(50_000);
    const t = throttle({ random: neverShed, clock });
    await calls(t, 3, fail());
    clock.at = 10_000;
    await calls(t, 3, fail());
    expect(t.stats).toMatchObject({ requests: 6, accepts: 0 });
  });

  it('keeps the counts made before a step back when the clock comes forward again', async () => {
    const clock = handSetClock(50_000);
    const t = throttle({ random: neverShed, clock });
    await calls(t, 3, fail());
    clock.at = 45_000;
    await calls(t, 1, fail());
    clock.at = 55_000;
    expect(t.stats.requests).toBe(4);
  });

  it('starts afresh when the clock is set back by a whole window or more, not a running total', async () => {
    const clock = handSetClock(500_000);
    const t = throttle({ random: neverShed, clock });
    await calls(t, 3, fail());
    clock.at = 380_000; // one window (120 s, 12 buckets of 10 s) back
    expect(t.stats).toMatchObject({ requests: 0, accepts: 0 });
    clock.at = 200_000;
    await calls(t, 2, fail());
    expect(t.stats.requests).toBe(2);
    // Those two age out a window later, not a window after the clock passes 500 s.
    clock.at = 319_999;
    expect(t.stats.requests).toBe(2);
    clock.at = 320_000;
    expect(t.stats.requests).toBe(0);
  });

  it('keeps the counts when the clock is set back by less than a window of buckets', async () => {
    const clock = handSetClock(500_000);
    const t = throttle({ random: neverShed, clock });
    await calls(t, 3, fail());
    clock.at = 390_000; // 11 buckets back
    expect(t.stats.requests).toBe(3);
  });

  it("ignores a caller's abort counted before the clock was set back a whole window", async () => {
    const clock = handSetClock(500_000);
    const t = throttle({ random: neverShed, clock });
    const controller = new AbortController();
    const call = t.execute(honours, { signal: controller.signal });
    clock.at = 200_000;
    await calls(t, 2, fail());
    controller.abort(new Error('user left'));
    await expect(call).rejects.toThrow('user left');
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.stats.requests).toBe(2);
  });

  it("takes a caller's abort back from the bucket it was counted in, also after the clock stepped back", async () => {
    const clock = handSetClock(50_000);
    const t = throttle({ random: neverShed, clock });
    await calls(t, 1, fail());
    clock.at = 45_000;
    await abortedCall(t);
    expect(t.stats).toMatchObject({ requests: 1, accepts: 0 });
    // The failed call is still in the window until it expires: nothing taken twice.
    clock.at = 169_000;
    expect(t.stats.requests).toBe(1);
    clock.at = 170_000;
    expect(t.stats.requests).toBe(0);
  });

  it('does not hang on a window so small that bucket numbers pass 2⁵³', async () => {
    const clock = { now: () => 1.7e12, setTimeout: () => 0, clearTimeout: () => {} };
    const t = throttle({ window: 0.001, random: neverShed, clock });
    await expect(t.execute(() => 'ok')).resolves.toBe('ok');
    expect(t.stats).toEqual({ requests: 1, accepts: 1, rejected: 0 });
  });

  it('with k = 1, sheds every priority alike, +Infinity included (no 0·∞)', async () => {
    const t = throttle({ k: 1, random: neverShed });
    await calls(t, 1, () => 'ok');
    await calls(t, 1, fail());
    for (const priority of [Number.NEGATIVE_INFINITY, -3, 0, 3, Number.POSITIVE_INFINITY]) {
      expect(t.probability(priority)).toBeCloseTo(1 / 3, 12);
    }
  });

  it('sheds lower priorities first: kₚ = 1 + (k − 1)·2^priority', async () => {
    const t = throttle({ random: neverShed });
    await calls(t, 4, () => 'ok');
    await calls(t, 6, fail());
    // 10 requests, 4 accepts.
    expect(t.probability(0)).toBeCloseTo((10 - 2 * 4) / 11, 12);
    expect(t.probability(-1)).toBeCloseTo((10 - 1.5 * 4) / 11, 12);
    expect(t.probability(-10)).toBeCloseTo((10 - (1 + 2 ** -10) * 4) / 11, 12);
    expect(t.probability(1)).toBe(0);
    expect(t.probability(Number.NaN)).toBe(t.probability(0));
    const shed = throttle({ random: () => 0.25 });
    await calls(shed, 4, () => 'ok');
    await calls(shed, 6, fail());
    // p(0) = 2/11 < 0.25 passes; p(−1) = 4/11 > 0.25 is shed.
    await expect(shed.execute(() => 'ok', { priority: 0 })).resolves.toBe('ok');
    await expect(shed.execute(() => 'ok', { priority: -1 })).rejects.toBeInstanceOf(ThrottledError);
  });

  it('with nothing accepted, every priority is shed with requests / (requests + 1)', async () => {
    const t = throttle({ random: neverShed });
    await calls(t, 9, fail());
    for (const priority of [-5, 0, 3, Number.POSITIVE_INFINITY]) {
      expect(t.probability(priority)).toBeCloseTo(9 / 10, 12);
    }
  });

  it('emits throttle with the probability and priority of each shed call', async () => {
    const t = throttle({ random: alwaysShed });
    const events: unknown[] = [];
    t.on('throttle', (e) => events.push(e));
    await calls(t, 1, fail());
    await t.execute(() => 'x', { priority: 2 }).catch(() => {});
    expect(events).toEqual([{ probability: 0.5, priority: 2 }]);
  });

  it('builds no event payload when nobody listens', async () => {
    const t = throttle({ random: alwaysShed });
    const emit = vi.spyOn(t as unknown as { emit: () => void }, 'emit');
    await calls(t, 3, fail());
    expect(t.stats.rejected).toBe(2);
    expect(emit).not.toHaveBeenCalled();
  });

  it('reports ok, then degraded with the probability, in health', async () => {
    const t = throttle({ random: neverShed, name: 'payments' });
    expect(t._health()).toEqual({
      kind: 'throttle',
      name: 'payments',
      status: 'ok',
      probability: 0,
      requests: 0,
      accepts: 0,
      rejected: 0,
    });
    await calls(t, 3, fail());
    expect(t._health()).toMatchObject({ status: 'degraded', probability: 0.75, requests: 3 });
  });

  it('emits success and failure', async () => {
    const t = throttle();
    const seen: string[] = [];
    t.on('success', () => seen.push('success'));
    t.on('failure', () => seen.push('failure'));
    await t.execute(() => 1);
    await t.execute(fail()).catch(() => {});
    expect(seen).toEqual(['success', 'failure']);
  });
});
