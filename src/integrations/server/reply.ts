import { RateLimitedError, ResilienceError, TimeoutError, retryAfterOf } from '../../core/errors.js';

/** The response a server integration sends for an error of bulwark's own. */
export interface ErrorReply {
  /** 429 for a rate limit, the configured status for a timeout, 503 otherwise. */
  readonly status: number;
  /** The error's stable code, the whole body: `{ "error": code }`. */
  readonly code: string;
  /** Whole seconds for the `Retry-After` header, rounded up; absent when the error gives no wait. */
  readonly retryAfter: number | undefined;
}

/**
 * Maps a policy's error to a response, or returns undefined for errors that
 * are not bulwark's (they belong to the framework's own error handling).
 * Only the code leaves the server: messages can name limits and internals.
 * `fallbackRetryAfter` (ms) stands in for refusals that give no wait of their
 * own; a timeout never gets one (the next request may well be fast).
 */
export function errorReply(
  error: unknown,
  timeoutStatus: number,
  fallbackRetryAfter?: number,
): ErrorReply | undefined {
  if (!(error instanceof ResilienceError)) return undefined;
  if (error instanceof TimeoutError)
    return { status: timeoutStatus, code: error.code, retryAfter: undefined };
  const status = error instanceof RateLimitedError ? 429 : 503;
  // A breaker says 0 when it cannot know (half-open): "retry now" would be a guess.
  const own = retryAfterOf(error);
  const ms = own === undefined || own === 0 ? fallbackRetryAfter : own;
  return { status, code: error.code, retryAfter: ms === undefined ? undefined : Math.ceil(ms / 1000) };
}
