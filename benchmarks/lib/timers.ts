import * as ck from 'cockatiel';
import { breakerOptions, bulkheadOptions, P3, P5 } from './cases.js';
import type { Bulwark, ClockLike } from './load.js';
import { freshWork } from './measure.js';

/** A clock that counts the timers a policy starts, delegating to `base`. */
export interface CountingClock extends ClockLike {
  readonly started: number;
}

export function countingClock(base: ClockLike): CountingClock {
  let started = 0;
  return {
    get started() {
      return started;
    },
    now: () => base.now(),
    setTimeout(callback, ms, unref) {
      started += 1;
      return base.setTimeout(callback, ms, unref);
    },
    clearTimeout: (handle) => base.clearTimeout(handle),
  };
}

/**
 * Awaits `run()` `calls` times in a row while counting every global
 * `setTimeout` call (bulwark's default clock and the peers look it up at call
 * time, so the wrapper sees theirs too).
 */
export async function countGlobalTimers(
  calls: number,
  run: () => Promise<unknown>,
): Promise<{ timers: number; ms: number }> {
  const original = globalThis.setTimeout;
  let timers = 0;
  const counting = ((...args: Parameters<typeof setTimeout>) => {
    timers += 1;
    return original(...args);
  }) as typeof setTimeout;
  globalThis.setTimeout = counting;
  const start = performance.now();
  try {
    for (let i = 0; i < calls; i++) await run();
  } finally {
    globalThis.setTimeout = original;
  }
  return { timers, ms: performance.now() - start };
}

export interface TimerRow {
  readonly name: string;
  readonly calls: number;
  readonly ms: number;
  readonly timers: number;
}

export interface TimerCheck {
  readonly rows: readonly TimerRow[];
  /** The bulwark timeout's own count (through a counting clock). */
  readonly timeout: TimerRow;
}

/**
 * Counts the timers started on the happy path: bulwark's timeout through a
 * counting clock, pipelines and cockatiel's timeout through a wrapped global
 * `setTimeout`.
 */
export async function timerCheck(lib: Bulwark, calls = 100_000): Promise<TimerCheck> {
  const work = freshWork();
  const clock = countingClock(lib.systemClock);
  const timeout = lib.timeout({ ms: 1000, clock });
  const start = performance.now();
  for (let i = 0; i < calls; i++) await timeout.execute(work);
  const own: TimerRow = {
    name: 'bulwark timeout(1000), counting clock',
    calls,
    ms: performance.now() - start,
    timers: clock.started,
  };
  const runs: [string, () => Promise<unknown>, number][] = [];
  const p3 = lib.pipeline(lib.fallback({ value: 0 }), lib.retry(), lib.timeout(1000));
  runs.push([`${P3}, global setTimeout`, () => p3.execute(work), calls]);
  if (lib.circuitBreaker && lib.bulkhead) {
    const p5 = lib.pipeline(
      lib.fallback({ value: 0 }),
      lib.retry(),
      lib.circuitBreaker(breakerOptions),
      lib.timeout(1000),
      lib.bulkhead(bulkheadOptions),
    );
    runs.push([`${P5}, global setTimeout`, () => p5.execute(work), calls]);
  }
  const cTimeout = ck.timeout(1000, ck.TimeoutStrategy.Cooperative);
  // Fewer calls: each starts (and clears) a timer, which is the point.
  runs.push(['cockatiel timeout(1000), global setTimeout', () => cTimeout.execute(work), calls / 5]);
  const rows: TimerRow[] = [own];
  for (const [name, run, n] of runs) rows.push({ name, calls: n, ...(await countGlobalTimers(n, run)) });
  return { rows, timeout: own };
}
