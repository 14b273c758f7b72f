/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/throttle (see docs/testing.md, "Mutation testing"): each pins a
 * behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { ThrottledError, throttle } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { manualClock } from '../helpers/clocks.js';
import { honours } from '../helpers/work.js';

/** Never sheds unless the probability is (almost) 1: lets a test set up counts. */
const neverShed = () => 0.999_999_9;

const fail = () => Promise.reject(new Error('backend said no'));

/** Runs `n` calls through `policy`, swallowing their errors. */
async function calls(policy: ReturnType<typeof throttle>, n: number, fn: () => unknown): Promise<void> {
  for (let i = 0; i < n; i++) await policy.execute(fn).catch(() => {});
}

describe('throttle', () => {
  it('names the options object and the name in its validation messages', () => {
    expect(() => throttle(5 as never)).toThrow(TypeError);
    expect(() => throttle(5 as never)).toThrow(/^throttle: options must be an object, got 5$/);
    expect(() => throttle({ name: '' })).toThrow(TypeError);
    expect(() => throttle({ name: '' })).toThrow(/^throttle: name must be a non-empty string, got ""$/);
  });

  it('sheds only when the random draw is below the probability, not equal to it', async () => {
    let draw = neverShed();
    const t = throttle({ random: () => draw });
    await calls(t, 1, fail);
    expect(t.probability()).toBe(0.5);
    draw = 0.5;
    await expect(t.execute(() => 'ok')).resolves.toBe('ok');
    expect(t.stats).toEqual({ requests: 2, accepts: 1, rejected: 0 });
    // 2 requests, 1 accept: (2 − 2) / 3 = 0, nothing is shed any more; one more failure gives 1/4.
    await calls(t, 1, fail);
    expect(t.probability()).toBe(0.25);
    draw = 0.249_999;
    await expect(t.execute(() => 'ok')).rejects.toBeInstanceOf(ThrottledError);
    expect(t.stats).toEqual({ requests: 4, accepts: 1, rejected: 1 });
  });

  it('says in the ThrottledError how many of the requests before the shed one were accepted', async () => {
    let shedding = false;
    const t = throttle({ random: () => (shedding ? 0 : neverShed()) });
    await calls(t, 1, () => 'ok');
    await calls(t, 3, fail);
    shedding = true;
    const error = await t.execute(() => 'ok').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottledError);
    // 4 requests, 1 accept: (4 − 2·1) / 5 = 0.4.
    expect((error as Error).message).toBe(
      'Request throttled locally (rejection probability 0.400): the backend accepted 1 of 4 recent requests',
    );
  });

  it('counts as accepts exactly the errors isAccepted returns true for', async () => {
    const t = throttle({
      random: neverShed,
      isAccepted: (e) => (e as Error).message === '404',
    });
    await calls(t, 2, () => Promise.reject(new Error('404')));
    await calls(t, 3, () => Promise.reject(new Error('503')));
    expect(t.stats).toEqual({ requests: 5, accepts: 2, rejected: 0 });
    expect(t.probability()).toBeCloseTo((5 - 2 * 2) / 6, 12);
  });

  it('reads 0 at every priority when the window holds an accept but no request', async () => {
    // A call that started in a bucket which left the window before it succeeded.
    const clock = new VirtualClock();
    const t = throttle({ k: 1, random: neverShed, clock, window: 1_200 });
    const call = t.execute(() => new Promise((resolve) => clock.setTimeout(() => resolve('late'), 1_300)));
    await clock.advance(1_300);
    await expect(call).resolves.toBe('late');
    expect(t.stats).toEqual({ requests: 0, accepts: 1, rejected: 0 });
    for (const priority of [Number.NEGATIVE_INFINITY, -1, 0, 1, Number.POSITIVE_INFINITY]) {
      expect(t.probability(priority)).toBe(0);
    }
    expect(t._health()).toMatchObject({ status: 'ok', probability: 0 });
  });
});

describe('throttle window', () => {
  it('keeps counting into the newest bucket when the clock steps back, and ages those counts from there', async () => {
    const clock = manualClock(50_000);
    const t = throttle({ random: neverShed, clock });
    await calls(t, 3, fail);
    clock.time = 10_000;
    await calls(t, 3, fail);
    // Back where it was: nothing expired, all six sit in the 50–60 s bucket.
    clock.time = 50_000;
    expect(t.stats).toEqual({ requests: 6, accepts: 0, rejected: 0 });
    clock.time = 169_999;
    expect(t.stats).toEqual({ requests: 6, accepts: 0, rejected: 0 });
    clock.time = 170_000;
    expect(t.stats).toEqual({ requests: 0, accepts: 0, rejected: 0 });
  });

  it('takes an aborted request back only from its own bucket, not from a newer one in the same slot', async () => {
    const clock = new VirtualClock();
    // 12 buckets of 100 ms: the bucket of 0–100 ms and that of 1 200–1 300 ms share a slot.
    const t = throttle({ random: neverShed, clock, window: 1_200 });
    const controller = new AbortController();
    const call = t.execute(honours, { signal: controller.signal }).catch((e: unknown) => e);
    await clock.advance(1_200);
    await calls(t, 2, fail);
    expect(t.stats).toEqual({ requests: 2, accepts: 0, rejected: 0 });
    controller.abort(new Error('user left'));
    expect(await call).toMatchObject({ message: 'user left' });
    await clock.settle();
    expect(t.stats).toEqual({ requests: 2, accepts: 0, rejected: 0 });
  });

  it('leaves nothing of an aborted request once its bucket leaves the window', async () => {
    const clock = new VirtualClock();
    const t = throttle({ random: neverShed, clock, window: 1_200 });
    await calls(t, 2, fail);
    const controller = new AbortController();
    const call = t.execute(honours, { signal: controller.signal }).catch((e: unknown) => e);
    expect(t.stats.requests).toBe(3);
    controller.abort(new Error('user left'));
    expect(await call).toMatchObject({ message: 'user left' });
    await clock.settle();
    expect(t.stats).toEqual({ requests: 2, accepts: 0, rejected: 0 });
    await clock.advance(1_200);
    expect(t.stats).toEqual({ requests: 0, accepts: 0, rejected: 0 });
    expect(t.probability()).toBe(0);
  });
});
