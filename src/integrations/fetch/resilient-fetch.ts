import { type Backoff, toBackoff } from '../../backoff/backoff.js';
import { checkBudget, type RetryBudgetContract } from '../../core/budget.js';
import { checkClock, type Clock } from '../../core/clock.js';
import type { Context, ExecuteOptions, ExecutionContext } from '../../core/context.js';
import { ResilienceError, retryAfterOf } from '../../core/errors.js';
import { type Pipeline, pipeline } from '../../core/pipeline.js';
import { PolicyBase } from '../../core/policy.js';
import {
  checkBoolean,
  checkFunction,
  checkKeys,
  checkNumber,
  checkObject,
  checkString,
  show,
} from '../../core/validate.js';
import { type RetryOutcome, retry } from '../../retry/retry.js';
import { timeout } from '../../timeout/timeout.js';
import { IDEMPOTENT_METHODS, isNetworkError, TRANSIENT_STATUSES } from './classify.js';
import { parseRetryAfter } from './retry-after.js';

/** What `fetch` accepts as its first argument. */
export type FetchInput = string | URL | Request;

/** A function with `fetch`'s signature. */
export type FetchFunction = (input: FetchInput, init?: RequestInit) => Promise<Response>;

/** The function `resilientFetch()` returns: `fetch`, plus the pipeline it runs each request under. */
export interface ResilientFetch extends FetchFunction {
  /**
   * The pipeline (total timeout › retry › `policy` › attempt timeout) that
   * idempotent requests run under: subscribe to its events with `onEvent`.
   */
  readonly policy: Pipeline;
}

/** Options of `resilientFetch()`. */
export interface ResilientFetchOptions {
  /** Every attempt counts, the first included. Default 3, as `retry()`. */
  maxAttempts?: number;
  /** Delay before each retry: a backoff or ms. Default as `retry()`: exponential from 100 ms, full jitter. */
  backoff?: Backoff | number;
  /**
   * Response statuses worth another attempt, or a predicate over the status
   * and response. Default 408, 429, 500, 502, 503, 504.
   */
  retryOnStatus?: readonly number[] | ((status: number, response: Response) => boolean);
  /**
   * Errors worth another attempt. Default: network errors (`isNetworkError`),
   * the attempt timeout, and bulwark errors that allow a retry (not an open
   * breaker or a full bulkhead).
   */
  retryOnError?: (error: unknown) => boolean;
  /**
   * Retry POST, PATCH and other non-idempotent requests too. Default false:
   * they are retried only when they carry an `Idempotency-Key` header.
   */
  retryNonIdempotent?: boolean;
  /**
   * Longest `Retry-After` (or error `retryAfter`) to wait for, in ms; a longer
   * one ends retrying and returns that response. Default 60 000.
   */
  maxRetryAfter?: number;
  /** Per-attempt timeout in ms (until the response headers arrive). Default none. */
  timeout?: number;
  /** Timeout in ms for the whole call, retries and waits included. Default none. */
  totalTimeout?: number;
  /** A retry budget shared with other policies. */
  budget?: RetryBudgetContract;
  /**
   * A policy each attempt runs under, inside the retry and outside the
   * attempt timeout: a circuit breaker, a bulkhead, a `keyed` breaker per host.
   */
  policy?: PolicyBase<any>;
  /** The execution key `policy` sees as `ctx.key`. Default: the URL's host (`api.example.com:8443`). */
  key?: (url: URL, method: string) => unknown;
  /** The fetch to call. Default `globalThis.fetch`, looked up on every request. */
  fetch?: FetchFunction;
  /** The clock for backoff waits and timeouts. Default the system clock. */
  clock?: Clock;
  /** A name for telemetry; default `resilientFetch`. */
  name?: string;
}

/** The option names `resilientFetch()` accepts. */
export const RESILIENT_FETCH_OPTIONS = [
  'maxAttempts',
  'backoff',
  'retryOnStatus',
  'retryOnError',
  'retryNonIdempotent',
  'maxRetryAfter',
  'timeout',
  'totalTimeout',
  'budget',
  'policy',
  'key',
  'fetch',
  'clock',
  'name',
] as const;

const P = 'resilientFetch';

function isRequest(input: FetchInput): input is Request {
  // Duck-typed: a Request from another realm or another fetch implementation counts too.
  return typeof input === 'object' && !(input instanceof URL) && typeof input.url === 'string';
}

/** A body that is read once as it is sent, so it cannot be sent again. */
function isOneShotBody(body: unknown): boolean {
  return (
    typeof body === 'object' &&
    body !== null &&
    (typeof (body as ReadableStream).getReader === 'function' || Symbol.asyncIterator in body)
  );
}

function hasIdempotencyKey(input: FetchInput, init: RequestInit | undefined): boolean {
  // Headers given in init replace the Request's headers entirely, as in fetch.
  if (init?.headers !== undefined) return new Headers(init.headers).has('idempotency-key');
  return isRequest(input) && input.headers.has('idempotency-key');
}

function urlOf(input: FetchInput): URL | undefined {
  // A URL from another realm (a vm context, a polyfill) is not `instanceof URL`:
  // anything not a Request is read as its string form, as fetch reads it.
  const href = isRequest(input) ? input.url : String(input);
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  try {
    return new URL(href, base);
  } catch {
    return undefined;
  }
}

/** Lets a response we will not return release its connection. */
function discard(response: unknown): void {
  const body = (response as Response | undefined)?.body;
  if (body !== null && body !== undefined && !body.locked) body.cancel().catch(() => {});
}

function checkStatuses(value: unknown): ((status: number, response: Response) => boolean) | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'function') return value as (status: number, response: Response) => boolean;
  if (!Array.isArray(value)) {
    throw new TypeError(`${P}: retryOnStatus must be an array of statuses or a function, got ${show(value)}`);
  }
  for (const status of value) {
    checkNumber(P, 'retryOnStatus[]', status, { min: 100, max: 599, integer: true });
  }
  const statuses = new Set<number>(value);
  return (status) => statuses.has(status);
}

function defaultRetryOnError(error: unknown): boolean {
  return isNetworkError(error) || (error instanceof ResilienceError && error.retryable);
}

/**
 * A `fetch` that retries what is safe to retry. Idempotent requests (GET,
 * HEAD, OPTIONS, PUT, DELETE, TRACE, or any request with an `Idempotency-Key`
 * header) are retried on network errors, attempt timeouts and transient
 * statuses (408, 429, 500, 502, 503, 504), waiting at least what
 * `Retry-After` asks. Like `fetch`, it resolves with the last response
 * whatever its status, and rejects only when no response came. Responses it
 * retries past have their bodies cancelled, so their connections are freed.
 *
 * ```ts
 * const http = resilientFetch({ timeout: 2_000, totalTimeout: 10_000 });
 * const res = await http('https://api.example.com/items', { signal });
 * ```
 */
export function resilientFetch(options: ResilientFetchOptions = {}): ResilientFetch {
  checkObject(P, 'options', options);
  checkKeys(P, options, RESILIENT_FETCH_OPTIONS);
  const maxAttempts = checkNumber(P, 'maxAttempts', options.maxAttempts, { min: 1, integer: true }, 3);
  const backoff = toBackoff(P, 'backoff', options.backoff);
  const retryStatus = checkStatuses(options.retryOnStatus) ?? checkStatuses(TRANSIENT_STATUSES)!;
  const retryOnError = checkFunction<(error: unknown) => boolean>(P, 'retryOnError', options.retryOnError);
  const retryNonIdempotent = checkBoolean(P, 'retryNonIdempotent', options.retryNonIdempotent, false);
  const maxRetryAfter = checkNumber(
    P,
    'maxRetryAfter',
    options.maxRetryAfter,
    { min: 0, infinite: true },
    60_000,
  );
  const positive = { min: 0, exclusiveMin: true } as const;
  const attemptMs =
    options.timeout === undefined ? undefined : checkNumber(P, 'timeout', options.timeout, positive);
  const totalMs =
    options.totalTimeout === undefined
      ? undefined
      : checkNumber(P, 'totalTimeout', options.totalTimeout, positive);
  if (attemptMs !== undefined && totalMs !== undefined && attemptMs > totalMs) {
    throw new RangeError(`${P}: timeout must be ≤ totalTimeout (${totalMs}), got ${attemptMs}`);
  }
  const budget = checkBudget(P, options.budget);
  const policy = options.policy;
  if (policy !== undefined && !(policy instanceof PolicyBase)) {
    throw new TypeError(`${P}: policy must be a bulwark policy, got ${show(policy)}`);
  }
  const keyOf = checkFunction<(url: URL, method: string) => unknown>(P, 'key', options.key);
  const customFetch = checkFunction<FetchFunction>(P, 'fetch', options.fetch);
  const clock = checkClock(P, options.clock);
  const name = checkString(P, 'name', options.name) ?? P;

  const retrier = retry({
    maxAttempts,
    ...(backoff === undefined ? {} : { backoff }),
    retryOn: retryOnError ?? defaultRetryOnError,
    retryOnResult: (result) => retryStatus((result as Response).status, result as Response),
    // A response's Retry-After, or an error's own retryAfter (a rate limiter inside).
    delay: (outcome: RetryOutcome) =>
      'result' in outcome
        ? parseRetryAfter((outcome.result as Response).headers.get('retry-after'))
        : retryAfterOf(outcome.error),
    maxRetryAfter,
    ...(budget === undefined ? {} : { budget }),
    clock,
    name: `${name}.retry`,
  });
  // The 'retry' event fires exactly when a response is given up for another attempt.
  retrier.on('retry', (event) => discard(event.result));
  const outer = totalMs === undefined ? [] : [timeout({ ms: totalMs, clock, name: `${name}.totalTimeout` })];
  const inner = [
    ...(policy === undefined ? [] : [policy]),
    ...(attemptMs === undefined ? [] : [timeout({ ms: attemptMs, clock, name: `${name}.attemptTimeout` })]),
  ];
  const withRetry = pipeline({ name }, ...outer, retrier, ...inner);
  const once = pipeline({ name }, ...outer, ...inner);
  const needsKey = policy !== undefined;

  const resilient = (input: FetchInput, init?: RequestInit): Promise<Response> => {
    // Like fetch, never throw synchronously: bad headers or a failing key function reject.
    try {
      return start(input, init);
    } catch (error) {
      return Promise.reject(error);
    }
  };
  const start = (input: FetchInput, init: RequestInit | undefined): Promise<Response> => {
    const request = isRequest(input);
    const method = (init?.method ?? (request ? input.method : 'GET')).toUpperCase();
    const retryable =
      !isOneShotBody(init?.body) &&
      (retryNonIdempotent || IDEMPOTENT_METHODS.has(method) || hasIdempotencyKey(input, init));
    // A Request's body can be sent once; each attempt sends a copy of it.
    const copyRequest = retryable && maxAttempts > 1 && request && input.body !== null;
    const work = (ctx: Context): Promise<Response> => {
      const fetchFn = customFetch ?? (globalThis.fetch as FetchFunction | undefined);
      if (typeof fetchFn !== 'function') {
        throw new TypeError(`${P}: no fetch available; pass one as options.fetch`);
      }
      const attemptInput = copyRequest ? (input as Request).clone() : input;
      // The context's signal carries the caller's abort and both timeouts; a
      // context nothing can abort would only cost an AbortController.
      if (!(ctx as ExecutionContext).abortable) return fetchFn(attemptInput, init);
      const signal = ctx.signal;
      return fetchFn(attemptInput, signal === init?.signal ? init : { ...init, signal });
    };
    const callerSignal = init?.signal ?? (request ? input.signal : undefined);
    const executeOptions: ExecuteOptions = { signal: callerSignal ?? undefined };
    if (needsKey) {
      const url = urlOf(input);
      executeOptions.key =
        keyOf === undefined ? url?.host : url === undefined ? undefined : keyOf(url, method);
    }
    return (retryable ? withRetry : once).execute(work, executeOptions);
  };
  return Object.assign(resilient, { policy: withRetry });
}
