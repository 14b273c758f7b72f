/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/adaptive (see docs/testing.md, "Mutation testing"): each pins a
 * behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { Outcome } from '../../src/adaptive/limit.js';
import { adaptiveConcurrency, BulkheadFullError, TimeoutError } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { completeProbe, make, windowOf } from './gradient-helpers.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T = string>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

/** Work that takes `ms` on the virtual clock, then resolves or throws `error`. */
const workFor = (clock: VirtualClock, ms: number, error?: unknown) => (): Promise<string> =>
  new Promise((resolve, reject) =>
    clock.setTimeout(() => (error === undefined ? resolve('ok') : reject(error)), ms),
  );

describe('adaptiveConcurrency (adaptive/adaptive-concurrency)', () => {
  it('a call made from a limitChanged listener queues behind the waiters instead of taking the freed slot', async () => {
    const p = adaptiveConcurrency({ algorithm: 'aimd', initialLimit: 1, queue: 5 });
    const started: string[] = [];
    const gate = deferred();
    const first = p.execute(() => gate.promise);
    const second = p.execute(() => {
      started.push('waiter');
      return 'waiter';
    });
    expect([p.inflight, p.queued]).toEqual([1, 1]);
    let newcomer: Promise<string> | undefined;
    // The limit rises to 2 as the first call settles; its slot is free when the listener runs.
    p.on('limitChanged', () => {
      newcomer ??= p.execute(() => {
        started.push('newcomer');
        return 'newcomer';
      });
    });
    gate.resolve('first');
    await expect(Promise.all([first, second])).resolves.toEqual(['first', 'waiter']);
    await expect(newcomer).resolves.toBe('newcomer');
    expect(started).toEqual(['waiter', 'newcomer']);
    expect([p.inflight, p.queued]).toEqual([0, 0]);
  });

  it('counts every rejection in health().rejected', async () => {
    const p = adaptiveConcurrency({ initialLimit: 1 });
    const gate = deferred();
    const running = p.execute(() => gate.promise);
    await expect(p.execute(() => 'a')).rejects.toBeInstanceOf(BulkheadFullError);
    await expect(p.execute(() => 'b')).rejects.toBeInstanceOf(BulkheadFullError);
    expect(p._health()).toMatchObject({ rejected: 2 });
    gate.resolve('x');
    await running;
    expect(p._health()).toMatchObject({ rejected: 2, inflight: 0 });
  });

  it('says "limit reached" with the running, limit, queued and queue numbers when full', async () => {
    const p = adaptiveConcurrency({ initialLimit: 2, queue: 1 });
    const gate = deferred();
    const running = [p.execute(() => gate.promise), p.execute(() => gate.promise)];
    const waiting = p.execute(() => 'queued');
    const error = await p.execute(() => 'never').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkheadFullError);
    expect((error as Error).message).toBe(
      'Concurrency limit reached (2 running, limit 2; 1 queued, queue 1); rejected without calling',
    );
    gate.resolve('x');
    await expect(Promise.all([...running, waiting])).resolves.toEqual(['x', 'x', 'queued']);
  });
});

describe('AIMD limit (adaptive/aimd)', () => {
  it('needs the limit reached again after a decrease before it grows', async () => {
    const clock = new VirtualClock();
    const p = adaptiveConcurrency({ algorithm: 'aimd', initialLimit: 2, backoffRatio: 0.5, clock });
    const changes: unknown[] = [];
    p.on('limitChanged', (e) => changes.push(e));
    // The second call reaches the limit of 2; the first then times out: limit 1.
    const dropped = p.execute(workFor(clock, 10, new TimeoutError(10))).catch((e: unknown) => e);
    const ok = p.execute(workFor(clock, 20));
    await clock.advance(10);
    expect(await dropped).toBeInstanceOf(TimeoutError);
    expect(p.limit).toBe(1);
    // One success fills the window of 1, but nothing reached the limit since the decrease.
    await clock.advance(10);
    await expect(ok).resolves.toBe('ok');
    expect(p.limit).toBe(1);
    expect(changes).toEqual([{ from: 2, to: 1, reason: 'decrease' }]);
  });
});

describe('gradient limit (adaptive/gradient)', () => {
  it('a probe holds half of the highest concurrency of the window, not of its last call', () => {
    const limit = make({ initialLimit: 40 });
    for (let i = 0; i < 15; i++) windowOf(limit, 10, { inflight: 30 });
    // The 16th window: 30 running at its start, then 2.
    limit.acquire(30);
    windowOf(limit, 10, { inflight: 2 });
    expect(limit.details().probing).toBe(true);
    expect(limit.limit).toBe(15);
  });

  it('a call started before a probe is not part of it, even when it settles during the probe', () => {
    const limit = make();
    for (let i = 0; i < 15; i++) windowOf(limit, 10);
    const early = limit.acquire(5);
    windowOf(limit, 10);
    expect(limit.details().probing).toBe(true);
    limit.settle(Outcome.Sample, 100, 900, 1_000, early);
    expect(completeProbe(limit, 10)).toBe(10);
    expect(limit.details()).toEqual({ baselineRtt: 10, probing: false });
  });

  it("the probe's last call does not count towards the first window after the probe", () => {
    const limit = make({ initialLimit: 10 });
    for (let i = 0; i < 16; i++) windowOf(limit, 10);
    expect(completeProbe(limit, 10)).toBe(10);
    expect(limit.details()).toEqual({ baselineRtt: 10, probing: false });
    windowOf(limit, 40, { n: 9 });
    expect(limit.limit).toBe(10);
    // The 10th sample closes the window: 1.25 × 10 / 40 → clamped to 0.5.
    windowOf(limit, 40, { n: 1 });
    expect(limit.limit).toBe(5);
  });

  it('a drop from a call that started at the very moment of the last decrease belongs to that congestion event', () => {
    const limit = make();
    limit.settle(Outcome.Drop, 50, 50, 100, false);
    expect(limit.limit).toBe(10);
    limit.settle(Outcome.Drop, 10, 100, 110, false);
    expect(limit.limit).toBe(10);
    limit.settle(Outcome.Drop, 10, 101, 111, false);
    expect(limit.limit).toBe(5);
  });

  it('samples of calls started before a probe do not close a window during it', () => {
    const limit = make();
    for (let i = 0; i < 16; i++) windowOf(limit, 10);
    expect([limit.details().probing, limit.limit]).toEqual([true, 10]);
    // A full window's worth (20) of slow samples from calls started before the probe.
    windowOf(limit, 500, { n: 20 });
    expect(completeProbe(limit, 10)).toBe(10);
    expect(limit.details()).toEqual({ baselineRtt: 10, probing: false });
    expect(limit.limit).toBe(20);
  });

  it('drifts the baseline only towards windows faster than baseline / tolerance, not at exactly that speed', () => {
    const limit = make({ tolerance: 2 });
    windowOf(limit, 20);
    windowOf(limit, 10);
    expect(limit.details().baselineRtt).toBe(20);
    windowOf(limit, 5);
    // 10 % of the way from 20 to 5.
    expect(limit.details().baselineRtt).toBe(18.5);
  });

  it("reports a rise as 'increase' after an earlier decrease", () => {
    const limit = make();
    limit.settle(Outcome.Drop, 5, 100, 105, false);
    expect([limit.limit, limit.reason]).toEqual([10, 'decrease']);
    windowOf(limit, 10, { bound: true });
    // First window: baseline 10, no queueing, limit reached: 10 + √10.
    expect([limit.limit, limit.reason]).toEqual([13, 'increase']);
    // A rise is not a decrease: a drop of a call started before it still counts.
    limit.settle(Outcome.Drop, 500, 500, 1_000, false);
    expect([limit.limit, limit.reason]).toEqual([6, 'decrease']);
  });

  it('a window that cannot raise a limit already at maxLimit is no decrease: a later drop still shrinks it', () => {
    const limit = make({ initialLimit: 20, maxLimit: 20 });
    windowOf(limit, 10, { bound: true, now: 1_000 });
    expect([limit.limit, limit.reason]).toEqual([20, 'increase']);
    limit.settle(Outcome.Drop, 200, 900, 1_100, false);
    expect([limit.limit, limit.reason]).toEqual([10, 'decrease']);
  });

  it('a probe that finds the baseline exactly 10 % off confirms it: the next probe comes later', () => {
    const limit = make();
    const windowsToNextProbe = (rtt: number) => {
      let n = 0;
      while (!(limit.details().probing as boolean) && n < 100) {
        windowOf(limit, rtt);
        n += 1;
      }
      return n;
    };
    expect(windowsToNextProbe(10)).toBe(16);
    completeProbe(limit, 11);
    expect(limit.details().baselineRtt).toBe(11);
    expect(windowsToNextProbe(11)).toBe(32);
  });
});
