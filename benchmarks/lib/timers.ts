import type { ClockLike } from './load.js';

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
