import type { AdaptiveConcurrencyPolicy } from '../adaptive/adaptive-concurrency.js';
import type { CircuitBreakerPolicy } from '../breaker/breaker.js';
import type { RetryBudget } from '../budget/budget.js';
import type { BulkheadPolicy } from '../bulkhead/bulkhead.js';
import type { ExecuteOptions, ExecutionContext } from '../core/context.js';
import { ResilienceError } from '../core/errors.js';
import type { AnyListener } from '../core/events.js';
import { observeTree } from '../core/observe.js';
import type { PipelineEvent } from '../core/pipeline.js';
import {
  LayerMode,
  PolicyBase,
  type PolicyEvents,
  type PolicyHealth,
  runLayers,
  type Work,
} from '../core/policy.js';
import type { FallbackPolicy } from '../fallback/fallback.js';
import type { HedgePolicy } from '../hedge/hedge.js';
import type { KeyedPolicy } from '../keyed/keyed.js';
import type { RateLimitPolicy } from '../rate-limit/rate-limit.js';
import type { RetryPolicy } from '../retry/retry.js';
import type { ThrottlePolicy } from '../throttle/throttle.js';
import type { TimeoutPolicy } from '../timeout/timeout.js';
import type { PipelineState } from './build.js';
import type { LayerKey } from './order.js';

/** Events of a pipeline handle, besides `success` and `failure` of its calls. */
export interface PipelineHandleEvents extends PolicyEvents {
  /**
   * An update changed this pipeline: `changed` lists the policies rebuilt
   * (and `order` when the order changed); `removed` is true when the update
   * removed the pipeline from the configuration.
   */
  reload: { readonly changed: readonly string[]; readonly removed: boolean };
}

/** The policy each configuration key builds. */
export interface ConfiguredPolicies {
  /** Built from `fallback`. */
  fallback: FallbackPolicy;
  /** Built from `rateLimit`. */
  rateLimit: RateLimitPolicy;
  /** Built from `totalTimeout`. */
  totalTimeout: TimeoutPolicy;
  /** Built from `retry`. */
  retry: RetryPolicy;
  /** Built from `hedge`. */
  hedge: HedgePolicy;
  /** Built from `circuitBreaker`. */
  circuitBreaker: CircuitBreakerPolicy;
  /** Built from `throttle`. */
  throttle: ThrottlePolicy;
  /** Built from `timeout`. */
  timeout: TimeoutPolicy;
  /** Built from `bulkhead`. */
  bulkhead: BulkheadPolicy;
  /** Built from `adaptiveConcurrency`. */
  adaptiveConcurrency: AdaptiveConcurrencyPolicy;
}

const STATUS_RANK: Readonly<Record<PolicyHealth['status'], number>> = { ok: 0, degraded: 1, down: 2 };

/**
 * A named pipeline of a registry, as a stable handle: `registry.get(name)`
 * returns the same object for the registry's whole life, and each call runs
 * under the policies configured when it starts. After an update, new calls
 * use the new policies while calls in flight finish under the old ones.
 * A handle is a policy: it can be nested in a `pipeline(...)`, wrapped,
 * instrumented and passed to `health()`, and it follows every update.
 */
export class PipelineHandle extends PolicyBase<PipelineHandleEvents> {
  /** @internal The pipeline now configured under this name; undefined once removed. */
  _state: PipelineState | undefined;

  /** @internal Handles are made by the registry. */
  constructor(name: string, state: PipelineState) {
    super('pipeline', name);
    this._state = state;
    // Nested in another pipeline, the handle still delegates at call time,
    // so that pipeline follows updates too.
    this._mode = LayerMode.Around;
  }

  /** Whether the configuration (still) defines this pipeline. */
  get configured(): boolean {
    return this._state !== undefined;
  }

  /** The policies now configured, outermost first. */
  get policies(): readonly PolicyBase<any>[] {
    return this._state?.pipeline.policies ?? [];
  }

  /** The configuration keys in the order their policies run, outermost first. */
  get order(): readonly LayerKey[] {
    return this._state?.order ?? [];
  }

  /** The retry budget the pipeline's retry and hedge draw from, if any. */
  get retryBudget(): RetryBudget | undefined {
    return this._state?.budget;
  }

  /**
   * The policy now configured under `key`, e.g. `policy('circuitBreaker')` to
   * read its `state` or call `isolate()`; the keyed wrapper when the key is in
   * `keyed.policies`. Look it up again after an update: it may be replaced.
   */
  policy<K extends keyof ConfiguredPolicies>(
    key: K,
  ): ConfiguredPolicies[K] | KeyedPolicy<unknown, ConfiguredPolicies[K]> | undefined {
    return this._state?.sections.get(key)?.policies[0] as ConfiguredPolicies[K] | undefined;
  }

  override execute<T>(fn: Work<T>, options?: ExecuteOptions): Promise<T> {
    const state = this._state;
    if (state === undefined) return Promise.reject(this.removed());
    const result = state.pipeline.execute(fn, options);
    return this.listening('success') || this.listening('failure') ? this.observed(result) : result;
  }

  override _around(
    ctx: ExecutionContext,
    next: (ctx: ExecutionContext) => Promise<unknown>,
  ): Promise<unknown> {
    const state = this._state;
    if (state === undefined) return Promise.reject(this.removed());
    const result = runLayers(state.pipeline._plan, 0, ctx, next as Work<unknown>);
    return this.listening('success') || this.listening('failure') ? this.observed(result) : result;
  }

  override _children(): readonly PolicyBase<any>[] {
    return this.policies;
  }

  /** A container's health: the worst of its policies; `down` once removed, since every call then fails. */
  override _health(): PolicyHealth {
    if (this._state === undefined)
      return { kind: this.kind, name: this.name, status: 'down', configured: false };
    let status: PolicyHealth['status'] = 'ok';
    for (const policy of this.policies) {
      const own = policy._health().status;
      if (STATUS_RANK[own] > STATUS_RANK[status]) status = own;
    }
    return { kind: this.kind, name: this.name, status, configured: true };
  }

  /**
   * Sees every event of every policy of this pipeline, across updates: after
   * an update the listener follows the new policies. Events of calls still in
   * flight under replaced policies are not forwarded. Returns a function that
   * unsubscribes.
   */
  onEvent(listener: (event: PipelineEvent) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('pipeline: onEvent needs a function listener');
    const forward: AnyListener = (event, data, source) =>
      listener({ pipeline: this.name, policy: source.kind, policyName: source.name, event, data });
    // The tree walk follows this handle's `reload` events to the new policies.
    return observeTree(this, forward, false);
  }

  /** @internal Points the handle at the updated pipeline (undefined: removed). */
  _swap(state: PipelineState | undefined, changed: readonly string[]): void {
    this._state = state;
    if (this.listening('reload')) this.emit('reload', { changed, removed: state === undefined });
  }

  private removed(): ResilienceError {
    return new ResilienceError(
      'ERR_PIPELINE_REMOVED',
      `bulwark/config: pipeline ${JSON.stringify(this.name)} is no longer in the configuration`,
      { retryable: false },
    );
  }

  private observed<T>(result: Promise<T>): Promise<T> {
    return result.then(
      (value) => {
        if (this.listening('success')) this.emit('success', { value });
        return value;
      },
      (error: unknown) => {
        if (this.listening('failure')) this.emit('failure', { error });
        throw error;
      },
    );
  }
}
