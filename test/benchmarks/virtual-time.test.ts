/**
 * Virtual time for whole libraries (benchmarks/lib/virtual-time.ts): the
 * scenario harness trusts it to order timers as Node does, to let promise
 * reactions run between timers, and to leave the real globals as it found them.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type Drain, installVirtualTime, type VirtualTime } from '../../benchmarks/lib/virtual-time.js';

let vt: VirtualTime | undefined;

afterEach(() => {
  vt?.uninstall();
  vt = undefined;
});

const install = (options?: Parameters<typeof installVirtualTime>[0]): VirtualTime => {
  vt = installVirtualTime(options);
  return vt;
};

describe('virtual time', () => {
  it('fires timers by due time, then by creation order, as Node does', async () => {
    const clock = install();
    const order: string[] = [];
    setTimeout(() => order.push('b@20'), 20);
    setTimeout(() => order.push('a@10'), 10);
    setTimeout(() => order.push('c@20'), 20);
    setTimeout(() => order.push('zero→1ms'), 0);
    await clock.advanceTo(100);
    expect(order).toEqual(['zero→1ms', 'a@10', 'b@20', 'c@20']);
    expect(clock.now()).toBe(100);
  });

  it('property: any set of timers fires in (max(1, floor(delay)), creation) order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: -5, max: 50, noNaN: true }), { maxLength: 30 }),
        async (delays) => {
          const clock = install();
          try {
            const fired: number[] = [];
            for (const [i, delay] of delays.entries()) setTimeout(() => fired.push(i), delay);
            await clock.advanceTo(60);
            const due = (d: number) => (d >= 1 ? Math.floor(d) : 1);
            const expected = delays
              .map((delay, i) => ({ i, at: due(delay) }))
              .sort((a, b) => a.at - b.at || a.i - b.i)
              .map(({ i }) => i);
            expect(fired).toEqual(expected);
          } finally {
            clock.uninstall();
            vt = undefined;
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it.each<Drain>(['tick', 'immediate'])(
    'drain %s: every promise reaction a timer causes runs before the next timer fires',
    async (drain) => {
      const clock = install({ drain });
      const order: string[] = [];
      setTimeout(async () => {
        // A chain of awaits, as a library's async frames make.
        for (let i = 0; i < 50; i++) await null;
        order.push('chain of A done');
      }, 5);
      setTimeout(() => order.push('B'), 5);
      await clock.advanceTo(10);
      expect(order).toEqual(['chain of A done', 'B']);
    },
  );

  it('timers scheduled while advancing fire in the same advance when due', async () => {
    const clock = install();
    const times: number[] = [];
    const tick = () => {
      times.push(clock.now());
      if (times.length < 4) setTimeout(tick, 10);
    };
    setTimeout(tick, 10);
    await clock.advanceTo(35);
    expect(times).toEqual([10, 20, 30]);
    await clock.advanceTo(100);
    expect(times).toEqual([10, 20, 30, 40]);
  });

  it('setInterval repeats until cleared, and clearTimeout accepts the handle or its number', async () => {
    const clock = install();
    let ticks = 0;
    const interval = setInterval(() => {
      ticks += 1;
      if (ticks === 3) clearInterval(interval);
    }, 10);
    let fired = false;
    const timer = setTimeout(() => {
      fired = true;
    }, 5);
    clearTimeout(Number(timer));
    expect(clock.pending).toBe(1);
    await clock.advanceTo(100);
    expect(ticks).toBe(3);
    expect(fired).toBe(false);
    expect(clock.pending).toBe(0);
    expect(clock.fired).toBe(3);
  });

  it('passes extra arguments and behaves like a Node Timeout (ref, unref, hasRef)', async () => {
    const clock = install();
    const got: unknown[] = [];
    const handle = setTimeout((a: number, b: string) => got.push(a, b), 1, 7, 'x');
    expect(handle.unref()).toBe(handle);
    expect(handle.hasRef()).toBe(false);
    expect(handle.ref().hasRef()).toBe(true);
    await clock.advanceTo(1);
    expect(got).toEqual([7, 'x']);
  });

  it('Date.now and performance.now read the virtual time; Math.random the injected source', async () => {
    const clock = install({ epoch: 1_000_000, random: () => 0.25 });
    expect(Date.now()).toBe(1_000_000);
    expect(performance.now()).toBe(0);
    expect(Math.random()).toBe(0.25);
    await clock.advanceTo(1_234);
    expect(Date.now()).toBe(1_001_234);
    expect(performance.now()).toBe(1_234);
    // The rest of `performance` still works.
    expect(typeof performance.mark).toBe('function');
  });

  it('a throwing timer callback is recorded and does not stop the others', async () => {
    const clock = install();
    let after = false;
    setTimeout(() => {
      throw new Error('boom');
    }, 1);
    setTimeout(() => {
      after = true;
    }, 2);
    await clock.advanceTo(5);
    expect(after).toBe(true);
    expect(clock.errors).toHaveLength(1);
  });

  it('rejects a callback that is not a function, as Node does', () => {
    install();
    expect(() => setTimeout('code' as never, 1)).toThrow(TypeError);
  });

  it('only one virtual time can be installed at a time', () => {
    install();
    expect(() => installVirtualTime()).toThrow(/already installed/);
  });

  it('uninstall restores the real globals, and can be called twice', async () => {
    const real = {
      setTimeout: globalThis.setTimeout,
      clearTimeout: globalThis.clearTimeout,
      setInterval: globalThis.setInterval,
      clearInterval: globalThis.clearInterval,
      dateNow: Date.now,
      performance: globalThis.performance,
      random: Math.random,
    };
    const clock = install({ random: () => 0.5 });
    setTimeout(() => {}, 10);
    clock.uninstall();
    clock.uninstall();
    vt = undefined;
    expect(globalThis.setTimeout).toBe(real.setTimeout);
    expect(globalThis.clearTimeout).toBe(real.clearTimeout);
    expect(globalThis.setInterval).toBe(real.setInterval);
    expect(globalThis.clearInterval).toBe(real.clearInterval);
    expect(Date.now).toBe(real.dateNow);
    expect(globalThis.performance).toBe(real.performance);
    expect(Math.random).toBe(real.random);
    await expect(clock.advanceTo(20)).rejects.toThrow(/uninstalled/);
  });
});
