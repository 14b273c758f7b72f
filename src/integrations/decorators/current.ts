import type { Context } from '../../core/context.js';

/**
 * The context of the `@resilient` method whose synchronous part is running
 * right now. JavaScript runs one synchronous stretch at a time, so a single
 * slot, saved and restored around each invocation, is exact: nested
 * decorated calls see their own context, and code after an `await` (which
 * resumes on an empty stack) sees none.
 */
let current: Context | undefined;

/** Calls `method` with `ctx` as the current context for as long as it runs synchronously. */
export function callWithContext(
  ctx: Context,
  method: (...args: unknown[]) => unknown,
  self: unknown,
  args: readonly unknown[],
): unknown {
  const previous = current;
  current = ctx;
  try {
    return Reflect.apply(method, self, args);
  } finally {
    current = previous;
  }
}

/** The context of the decorated method starting right now, if any. */
export function currentContext(): Context | undefined {
  return current;
}
