import type { CircuitBreakerPolicy } from '../../src/index.js';

/** A promise with its resolve and reject exposed, to settle a call when the test decides. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export function deferred<T = unknown>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A rejection nobody awaits (the breaker refused the call, so the work never ran) is not an error.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** Runs one failing call; resolves with the error it rejected with. */
export function fail(breaker: CircuitBreakerPolicy, message = 'boom'): Promise<unknown> {
  return breaker
    .execute(() => {
      throw new Error(message);
    })
    .catch((error: unknown) => error);
}

/** Runs one successful call; resolves with its value, or the error if rejected. */
export function succeed(breaker: CircuitBreakerPolicy, value: unknown = 'ok'): Promise<unknown> {
  return breaker.execute(() => value).catch((error: unknown) => error);
}

/** Runs calls in order: `f` fails, `s` succeeds. */
export async function run(breaker: CircuitBreakerPolicy, pattern: string): Promise<void> {
  for (const c of pattern) {
    if (c === 'f') await fail(breaker);
    else if (c === 's') await succeed(breaker);
    else throw new Error(`unknown step ${c}`);
  }
}
