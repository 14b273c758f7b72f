import { CircuitOpenError } from '../core/errors.js';

/**
 * A fresh `CircuitOpenError` without stack frames.
 *
 * Why: rejecting is the whole job of an open breaker, and capturing a stack
 * trace costs several times a rejected `await` (measured in
 * scratch/breaker/err-loop.mts: ~3–5 µs with frames, ~0.4–0.7 µs without, on
 * the project's 2-core box). The frames would only point into bulwark; `code`,
 * `state` and `retryAfter` say everything. Errors stay distinct objects, so
 * callers that attach data to them or compare them do not see shared state.
 * Where `Error.stackTraceLimit` is missing or frozen, this is a plain `new`.
 * @internal
 */
export function circuitOpenError(
  state: 'open' | 'halfOpen' | 'isolated',
  retryAfter: number,
): CircuitOpenError {
  const limit = Error.stackTraceLimit;
  if (typeof limit !== 'number') return new CircuitOpenError(state, retryAfter);
  try {
    Error.stackTraceLimit = 0;
  } catch {
    return new CircuitOpenError(state, retryAfter);
  }
  try {
    return new CircuitOpenError(state, retryAfter);
  } finally {
    Error.stackTraceLimit = limit;
  }
}
