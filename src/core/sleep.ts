import type { Clock } from './clock.js';
import type { ExecutionContext } from './context.js';

/**
 * Waits `ms` on `clock`, or rejects at once with the abort reason when `ctx`
 * aborts first. The abort listener is removed either way.
 */
export function sleep(clock: Clock, ms: number, ctx: ExecutionContext): Promise<void> {
  if (ctx.aborted) return Promise.reject(ctx.reason);
  return new Promise<void>((resolve, reject) => {
    let removeListener: (() => void) | undefined;
    let fired = false;
    const handle = clock.setTimeout(() => {
      fired = true;
      removeListener?.();
      resolve();
    }, ms);
    // A clock may fire a 0 ms timer synchronously: then there is nothing left to abort.
    if (fired) return;
    removeListener = ctx.onAbort((reason) => {
      clock.clearTimeout(handle);
      reject(reason);
    });
  });
}
