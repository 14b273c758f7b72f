// Shared by the hedge tests: scripted attempts on the virtual clock.
import type { Context } from '../../src/index.js';
import type { VirtualClock } from '../../src/testing/index.js';

export interface Step {
  /** When the attempt settles, in ms after it started. */
  ms: number;
  /** Rejects with this error, else resolves with `value`. */
  fail?: Error;
  value?: unknown;
  /** Work that does not honour its signal. */
  ignoreAbort?: boolean;
}

export interface Seen {
  attempt: number;
  startedAt: number;
  signal: AbortSignal;
  settled: boolean;
}

/** Work whose n-th call follows script[n] (the last step repeats), on the virtual clock. */
export function scripted(clock: VirtualClock, script: Step[]) {
  const seen: Seen[] = [];
  const fn = (ctx: Context) => {
    const step = script[Math.min(seen.length, script.length - 1)]!;
    const record: Seen = { attempt: ctx.attempt, startedAt: clock.now(), signal: ctx.signal, settled: false };
    seen.push(record);
    return new Promise((resolve, reject) => {
      const handle = clock.setTimeout(() => {
        record.settled = true;
        if (step.fail !== undefined) reject(step.fail);
        else resolve(step.value);
      }, step.ms);
      if (step.ignoreAbort !== true) {
        ctx.signal.addEventListener(
          'abort',
          () => {
            clock.clearTimeout(handle);
            record.settled = true;
            reject(ctx.signal.reason);
          },
          { once: true },
        );
      }
    });
  };
  return { fn, seen };
}
