import { ResilienceError } from '../../core/errors.js';

/**
 * The outcome policies see when a protected response finished with a status
 * that `isFailure` counts as a failure (by default 5xx): a breaker, a
 * throttle or an adaptive limit around a route learns from it. The client
 * already has its response; this error never reaches it.
 */
export class ResponseStatusError extends ResilienceError {
  /** The response's HTTP status code. */
  readonly status: number;
  constructor(status: number) {
    super('ERR_RESPONSE_STATUS', `The response finished with status ${status}`);
    this.status = status;
  }
}

/** The reason a request's signal aborts with when its client goes away. */
export function clientClosed(): DOMException {
  return new DOMException('The client closed the connection before the response finished', 'AbortError');
}
