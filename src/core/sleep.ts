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
    const handle = clock.setTimeout(() => {
      removeListener?.();
      resolve();
    }, ms);
    removeListener = ctx.onAbort((reason) => {
      clock.clearTimeout(handle);
      reject(reason);
    });
  });
}
