import { describe, expect, it } from 'vitest';
import { retry, timeout } from '../../src/index.js';
import { systemClock, VirtualClock } from '../../src/testing/index.js';

describe('VirtualClock', () => {
  it('starts at 0 or at the given start and moves only when advanced', async () => {
    expect(new VirtualClock().now()).toBe(0);
    const clock = new VirtualClock({ start: 1_000 });
    expect(clock.now()).toBe(1_000);
    await clock.advance(250);
    expect(clock.now()).toBe(1_250);
    await clock.advanceTo(2_000);
    expect(clock.now()).toBe(2_000);
    // advanceTo never moves time backwards.
    await clock.advanceTo(10);
    expect(clock.now()).toBe(2_000);
  });

  it('fires timers in time order, ties in creation order, each at its own time', async () => {
    const clock = new VirtualClock();
    const fired: [string, number][] = [];
    clock.setTimeout(() => fired.push(['c', clock.now()]), 30);
    clock.setTimeout(() => fired.push(['a', clock.now()]), 10);
    clock.setTimeout(() => fired.push(['b1', clock.now()]), 20);
    clock.setTimeout(() => fired.push(['b2', clock.now()]), 20);
    clock.setTimeout(() => fired.push(['late', clock.now()]), 100);
    await clock.advance(30);
    expect(fired).toEqual([
      ['a', 10],
      ['b1', 20],
      ['b2', 20],
      ['c', 30],
    ]);
    expect(clock.pending).toBe(1);
  });

  it('fires a timer scheduled by another timer when it falls within the same advance', async () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
    }, 10);
    await clock.advance(20);
    expect(fired).toEqual([10, 15]);
    expect(clock.now()).toBe(20);
  });

  it('treats a negative delay as 0', async () => {
    const clock = new VirtualClock({ start: 5 });
    let at = -1;
    clock.setTimeout(() => {
      at = clock.now();
    }, -10);
    await clock.advance(0);
    expect(at).toBe(5);
  });

  it('clearTimeout cancels a pending timer and ignores unknown handles', async () => {
    const clock = new VirtualClock();
    let fired = 0;
    const handle = clock.setTimeout(() => fired++, 10);
    clock.setTimeout(() => fired++, 10);
    clock.clearTimeout(handle);
    clock.clearTimeout(handle);
    clock.clearTimeout('not a handle');
    expect(clock.pending).toBe(1);
    await clock.advance(10);
    expect(fired).toBe(1);
  });

  it('lets the promise chains a timer starts settle before the next timer fires', async () => {
    const clock = new VirtualClock();
    const order: string[] = [];
    clock.setTimeout(() => {
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => order.push('chain of first timer'));
    }, 10);
    clock.setTimeout(() => order.push('second timer'), 10);
    await clock.advance(10);
    expect(order).toEqual(['chain of first timer', 'second timer']);
  });

  it('rejects a negative or NaN advance', async () => {
    const clock = new VirtualClock();
    await expect(clock.advance(-1)).rejects.toThrow(/advance needs ms ≥ 0, got -1/);
    await expect(clock.advance(Number.NaN)).rejects.toThrow(RangeError);
  });

  it('runAll fires every timer, including ones scheduled on the way, and returns the time moved', async () => {
    const clock = new VirtualClock({ start: 100 });
    let count = 0;
    const tick = () => {
      count++;
      if (count < 5) clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    expect(await clock.runAll()).toBe(50);
    expect(count).toBe(5);
    expect(clock.now()).toBe(150);
    expect(clock.pending).toBe(0);
    expect(await clock.runAll()).toBe(0);
  });

  it('runAll stops a timer loop at its limit', async () => {
    const clock = new VirtualClock();
    const loop = () => {
      clock.setTimeout(loop, 1);
    };
    clock.setTimeout(loop, 1);
    await expect(clock.runAll(20)).rejects.toThrow(/runAll stopped after 20 timers/);
    expect(clock.now()).toBe(20);
  });

  it('settle lets queued promise chains run without moving time', async () => {
    const clock = new VirtualClock({ start: 7 });
    let done = false;
    void Promise.resolve()
      .then(() => undefined)
      .then(() => {
        done = true;
      });
    await clock.settle();
    expect(done).toBe(true);
    expect(clock.now()).toBe(7);
  });

  it('settleRounds bounds how deep a chain settles between timers', async () => {
    const clock = new VirtualClock({ settleRounds: 1 });
    let depth = 0;
    const deep = async () => {
      for (let i = 0; i < 10; i++) {
        await Promise.resolve();
        depth++;
      }
    };
    void deep();
    await clock.settle();
    expect(depth).toBeLessThan(10);
    await new VirtualClock().settle();
    expect(depth).toBe(10);
  });

  it('drives a policy deterministically: a retry backoff and a timeout', async () => {
    const clock = new VirtualClock();
    const attemptsAt: number[] = [];
    const policy = retry({ maxAttempts: 3, backoff: 1_000, clock });
    const call = policy.execute(() => {
      attemptsAt.push(clock.now());
      if (attemptsAt.length < 3) throw new Error('flaky');
      return 'ok';
    });
    await clock.advance(999);
    expect(attemptsAt).toEqual([0]);
    await clock.advance(1);
    expect(attemptsAt).toEqual([0, 1_000]);
    await clock.runAll();
    await expect(call).resolves.toBe('ok');
    expect(attemptsAt).toEqual([0, 1_000, 2_000]);

    const limited = timeout({ ms: 500, clock });
    const slow = limited.execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    const outcome = slow.catch((error: unknown) => error);
    await clock.advance(500);
    expect(await outcome).toMatchObject({ code: 'ERR_TIMEOUT' });
  });

  it('is re-exported from bulwark/testing together with the system clock', () => {
    expect(typeof systemClock.now()).toBe('number');
  });
});
