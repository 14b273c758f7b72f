import type { ResilienceError } from '../../core/errors.js';
import { LayerMode, PolicyBase } from '../../core/policy.js';
import { checkFunction, checkNumber, show } from '../../core/validate.js';

/** Options every server integration takes for the requests it protects. */
export interface ServeOptions<Req, Res> {
  /**
   * The status sent when a `timeout` in the policy passes before the response
   * started (an integer from 400 to 599). Default 503: the client may retry
   * elsewhere. Some prefer 504.
   */
  timeoutStatus?: number;
  /**
   * Takes over the response when the policy rejects a request (bulkhead full,
   * rate limited, breaker open, throttled) or times it out before the response
   * started. It may send its own response (sync or async); if it sends none,
   * the default one follows. If it throws, the error goes to the framework's
   * error handling.
   */
  onReject?: (error: ResilienceError, req: Req, res: Res) => void | Promise<void>;
  /**
   * The wait to advertise in `Retry-After` (in ms, sent in whole seconds
   * rounded up) when a refusal gives none of its own: a full bulkhead, a
   * throttle, a half-open breaker. Default none: no header for those.
   * Rate limits and open breakers always send their own wait.
   */
  retryAfter?: number;
  /** The routing key for keyed policies (`ctx.key`), e.g. `req => req.ip` for one limit per client. */
  key?: (req: Req) => unknown;
  /** The request's priority (`ctx.priority`) for policies that shed low priorities first (`throttle`). Default 0. */
  priority?: (req: Req) => number;
  /**
   * Whether a finished response counts as a failure for the policy (a breaker,
   * a throttle, an adaptive limit learn from it), by status code. Default:
   * `status >= 500`. It does not change the response.
   */
  isFailure?: (status: number) => boolean;
}

/** The option names every server integration accepts for protected requests. */
export const SERVE_OPTIONS = [
  'timeoutStatus',
  'onReject',
  'retryAfter',
  'key',
  'priority',
  'isFailure',
] as const;

/** {@link ServeOptions} checked, with defaults applied. @internal */
export interface ServeConfig<Req, Res> {
  readonly owner: string;
  readonly timeoutStatus: number;
  readonly retryAfter: number | undefined;
  readonly onReject: ((error: ResilienceError, req: Req, res: Res) => void | Promise<void>) | undefined;
  readonly key: ((req: Req) => unknown) | undefined;
  readonly priority: ((req: Req) => number) | undefined;
  readonly isFailure: (status: number) => boolean;
}

const serverError = (status: number): boolean => status >= 500;

/** Checks the options shared by every server integration (the caller rejects unknown keys). @internal */
export function serveConfig<Req, Res>(owner: string, options: ServeOptions<Req, Res>): ServeConfig<Req, Res> {
  return {
    owner,
    timeoutStatus: checkNumber(
      owner,
      'timeoutStatus',
      options.timeoutStatus,
      { min: 400, max: 599, integer: true },
      503,
    ),
    retryAfter:
      options.retryAfter === undefined
        ? undefined
        : checkNumber(owner, 'retryAfter', options.retryAfter, { min: 0, exclusiveMin: true }),
    onReject: checkFunction(owner, 'onReject', options.onReject),
    key: checkFunction(owner, 'key', options.key),
    priority: checkFunction(owner, 'priority', options.priority),
    isFailure:
      checkFunction<(status: number) => boolean>(owner, 'isFailure', options.isFailure) ?? serverError,
  };
}

/** Status codes of a health endpoint. */
export interface HealthResponseOptions {
  /** Status while some policy is degraded (shedding, half-open). Default 200: the instance still serves. */
  degradedStatus?: number;
  /** Status while some policy is down (an open or isolated breaker). Default 503: take it out of rotation. */
  downStatus?: number;
}

/** The option names of a health endpoint. */
export const HEALTH_RESPONSE_OPTIONS = ['degradedStatus', 'downStatus'] as const;

/** Status code per health status. @internal */
export interface HealthCodes {
  readonly ok: number;
  readonly degraded: number;
  readonly down: number;
}

/** Checks the status codes of a health endpoint. @internal */
export function healthCodes(owner: string, options: HealthResponseOptions): HealthCodes {
  const code = { min: 200, max: 599, integer: true };
  return {
    ok: 200,
    degraded: checkNumber(owner, 'degradedStatus', options.degradedStatus, code, 200),
    down: checkNumber(owner, 'downStatus', options.downStatus, code, 503),
  };
}

/**
 * Checks that `policy` can guard a response. A response happens once: a
 * `retry` or `hedge` would run the rest of the request (the route handler)
 * again, and a `fallback` would answer in its place with a value no client
 * ever sees. Those belong around the calls a handler makes.
 * @internal
 */
export function checkServedPolicy(owner: string, option: string, policy: unknown): PolicyBase<any> {
  if (!(policy instanceof PolicyBase)) {
    throw new TypeError(`${owner}: ${option} must be a policy, got ${show(policy)}`);
  }
  const culprit = rerunning(policy, new Set());
  if (culprit !== undefined) {
    throw new TypeError(
      `${owner}: ${option} contains a ${culprit.kind} policy (${JSON.stringify(culprit.name)}), which would run ` +
        'the route handler again or answer in its place; protect a route with admission, timeout and ' +
        'shedding policies, and put retry, hedge and fallback around the calls the handler makes',
    );
  }
  return policy;
}

/** The first policy in the tree that re-runs or replaces the work, if any. */
function rerunning(policy: PolicyBase<any>, seen: Set<PolicyBase<any>>): PolicyBase<any> | undefined {
  if (seen.has(policy)) return undefined;
  seen.add(policy);
  // Wrappers (retry, fallback) recover from failures by re-running or replacing; hedge races copies.
  if (policy._mode === LayerMode.Wrapper || policy.kind === 'hedge') return policy;
  for (const inner of [...policy._layers, ...policy._children()]) {
    if (inner === policy) continue;
    const found = rerunning(inner, seen);
    if (found !== undefined) return found;
  }
  return undefined;
}
