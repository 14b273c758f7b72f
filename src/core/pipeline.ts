import type { ExecuteOptions } from './context.js';
import { observeTree } from './observe.js';
import { LayerFlag, PolicyBase, type PolicyEvents, type Work } from './policy.js';
import { show } from './validate.js';

/** One event seen through a pipeline's `onEvent` hook. */
export interface PipelineEvent {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The emitting policy's kind, e.g. `retry`. */
  readonly policy: string;
  /** The emitting policy's name (its kind unless named). */
  readonly policyName: string;
  /** The event, e.g. `retry`, `open`, `timeout`. */
  readonly event: string;
  /** The event's payload, as the policy's own listeners receive it. */
  readonly data: unknown;
}

/** Options a pipeline takes as its first argument: `pipeline({ name }, ...policies)`. */
export interface PipelineOptions {
  /** A name for telemetry and logs; default `pipeline`. */
  name?: string;
}

/**
 * Policies composed outermost first. A pipeline is a policy: it can be
 * executed, wrapped, nested in another pipeline, and observed with `onEvent`.
 */
export class Pipeline extends PolicyBase<PolicyEvents> {
  /** The composed policies, outermost first (nested pipelines flattened). */
  readonly policies: readonly PolicyBase<any>[];

  constructor(policies: readonly PolicyBase<any>[], name: string | undefined) {
    super('pipeline', name);
    const layers: PolicyBase<any>[] = [];
    for (const policy of policies) layers.push(...policy._layers);
    this._layers = layers;
    this.policies = policies;
  }

  override execute<T>(fn: Work<T>, options?: ExecuteOptions): Promise<T> {
    const result = super.execute(fn, options);
    // The flag is kept by the listeners themselves: one read when nobody listens.
    if ((this._layer.flags & LayerFlag.Observed) === 0) return result;
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

  override _children(): readonly PolicyBase<any>[] {
    return this.policies;
  }

  /**
   * Sees every event of every policy in this pipeline (nested ones included,
   * and the per-key policies a keyed policy creates later), tagged with the
   * pipeline's name: one place to forward events to a logger. Returns a
   * function that unsubscribes.
   */
  onEvent(listener: (event: PipelineEvent) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('pipeline: onEvent needs a function listener');
    return observeTree(
      this,
      (event, data, source) =>
        listener({ pipeline: this.name, policy: source.kind, policyName: source.name, event, data }),
      { includeRoot: false },
    );
  }
}

function isPolicy(value: unknown): value is PolicyBase<any> {
  return value instanceof PolicyBase;
}

/**
 * Composes policies, outermost first:
 * `pipeline(fallback(...), retry(...), circuitBreaker(...), timeout(...), bulkhead(...))`.
 * Pass `{ name }` as the first argument to name it for telemetry.
 */
export function pipeline(...policies: PolicyBase<any>[]): Pipeline;
export function pipeline(options: PipelineOptions, ...policies: PolicyBase<any>[]): Pipeline;
export function pipeline(...args: (PolicyBase<any> | PipelineOptions)[]): Pipeline {
  let name: string | undefined;
  if (args.length > 0 && !isPolicy(args[0])) {
    const options = args.shift() as PipelineOptions;
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`pipeline: expected policies or { name } first, got ${show(options)}`);
    }
    for (const key of Object.keys(options)) {
      if (key !== 'name')
        throw new TypeError(`pipeline: unknown option ${JSON.stringify(key)} (expected: name)`);
    }
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
      throw new TypeError(`pipeline: name must be a non-empty string, got ${show(options.name)}`);
    }
    name = options.name;
  }
  args.forEach((policy, index) => {
    if (!isPolicy(policy))
      throw new TypeError(`pipeline: argument ${index + 1} is not a policy, got ${show(policy)}`);
  });
  return new Pipeline(args as PolicyBase<any>[], name);
}
