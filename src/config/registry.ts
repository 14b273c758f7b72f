import { checkClock, type Clock } from '../core/clock.js';
import { Emitter } from '../core/events.js';
import type { PipelineEvent } from '../core/pipeline.js';
import { checkKeys, checkObject, show } from '../core/validate.js';
import { buildState, type RegistryState } from './build.js';
import { type ConfigIssue, ConfigError } from './errors.js';
import { PipelineHandle } from './handle.js';
import type { CodeConfig, RegistryConfig } from './types.js';

/** Options of {@link registry}. */
export interface RegistryOptions {
  /** The clock every policy reads time from. Default `systemClock`; pass a `VirtualClock` in tests. */
  clock?: Clock;
  /**
   * Options that data cannot hold, per pipeline and policy: predicates
   * (`retryOn`, `failOn`), a fallback function, a backoff object. They are
   * merged into the sections the data configures; an option set both in data
   * and in code is an error. Code cannot be changed by `update()`.
   */
  code?: CodeConfig;
}

/** The option names `registry()` accepts. */
export const REGISTRY_OPTIONS = ['clock', 'code'] as const;

/** Events of a registry. */
export interface RegistryEvents {
  /** An update was applied: pipelines added, removed, and changed (any policy rebuilt or reordered). */
  update: {
    readonly added: readonly string[];
    readonly removed: readonly string[];
    readonly changed: readonly string[];
  };
}

/**
 * Named pipelines built from configuration data. Create it with
 * `registry(config)`; get a pipeline with `get(name)`; apply a new
 * configuration with `update(config)`.
 */
export class Registry extends Emitter<RegistryEvents> {
  private state: RegistryState;
  private readonly clock: Clock | undefined;
  private readonly code: CodeConfig | undefined;
  /** One handle per name ever configured, so a name removed and added again keeps its handle. */
  private readonly handles = new Map<string, PipelineHandle>();
  private readonly observers = new Set<(event: PipelineEvent) => void>();
  private readonly subscriptions = new Map<(event: PipelineEvent) => void, (() => void)[]>();

  /** Validates `config` and builds every pipeline; throws a {@link ConfigError} listing every problem. */
  constructor(config: RegistryConfig, options: RegistryOptions = {}) {
    checkObject('registry', 'options', options);
    checkKeys('registry', options, REGISTRY_OPTIONS);
    super('registry', undefined);
    this.clock = options.clock === undefined ? undefined : checkClock('registry', options.clock);
    this.code = options.code;
    const { state, issues } = buildState(config, { clock: this.clock, code: this.code }, undefined);
    if (state === undefined) throw new ConfigError(issues);
    this.state = state;
    for (const [name, pipeline] of state.pipelines)
      this.handles.set(name, new PipelineHandle(name, pipeline));
  }

  /**
   * The pipeline named `name`, as a stable handle: the same object before and
   * after every update, always running the configuration current when a call
   * starts. Throws a `RangeError` for a name the configuration does not define.
   */
  get(name: string): PipelineHandle {
    const handle = this.state.pipelines.has(name) ? this.handles.get(name) : undefined;
    if (handle === undefined) {
      throw new RangeError(
        `registry: no pipeline named ${show(name)} (configured: ${this.names().join(', ')})`,
      );
    }
    return handle;
  }

  /** Whether the configuration defines a pipeline named `name`. */
  has(name: string): boolean {
    return this.state.pipelines.has(name);
  }

  /** The names of the configured pipelines, in configuration order. */
  names(): string[] {
    return [...this.state.pipelines.keys()];
  }

  /**
   * Applies a new configuration. It is validated whole first: if anything is
   * wrong, a {@link ConfigError} is thrown and nothing changes. Otherwise new
   * calls use the new policies and calls in flight finish under the old ones.
   * A policy whose section is unchanged is kept as it is, with its state (an
   * open breaker stays open, a limiter keeps its permits); a circuit breaker
   * whose options changed starts from its predecessor's state.
   */
  update(config: RegistryConfig): void {
    const { state, issues } = buildState(config, { clock: this.clock, code: this.code }, this.state);
    if (state === undefined) throw new ConfigError(issues);
    const previous = this.state;
    this.state = state;
    const added: string[] = [];
    const changed: string[] = [];
    const removed: string[] = [];
    for (const [name, pipeline] of state.pipelines) {
      const before = previous.pipelines.get(name);
      let handle = this.handles.get(name);
      if (handle === undefined) {
        handle = new PipelineHandle(name, pipeline);
        this.handles.set(name, handle);
        added.push(name);
        for (const listener of this.observers)
          this.subscriptions.get(listener)!.push(handle.onEvent(listener));
      } else if (before === undefined) {
        added.push(name);
        handle._swap(pipeline, pipeline.order.slice());
      } else if (before.pipeline !== pipeline.pipeline) {
        changed.push(name);
        const keys: string[] = [
          ...pipeline.order.filter((key) => before.sections.get(key) !== pipeline.sections.get(key)),
          ...before.order.filter((key) => !pipeline.sections.has(key)),
        ];
        // Added and removed policies are listed as such; `order` means the kept ones moved.
        const kept = before.order.filter((key) => pipeline.order.includes(key));
        if (kept.join() !== pipeline.order.filter((key) => before.order.includes(key)).join())
          keys.push('order');
        handle._swap(pipeline, keys);
      }
    }
    for (const name of previous.pipelines.keys()) {
      if (!state.pipelines.has(name)) {
        removed.push(name);
        this.handles.get(name)!._swap(undefined, []);
      }
    }
    if (this.listening('update')) this.emit('update', { added, removed, changed });
  }

  /**
   * Sees every event of every pipeline, those added by later updates
   * included, tagged with the pipeline's name. Returns a function that
   * unsubscribes.
   */
  onEvent(listener: (event: PipelineEvent) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('registry: onEvent needs a function listener');
    const wrapped = (event: PipelineEvent) => listener(event);
    this.observers.add(wrapped);
    this.subscriptions.set(
      wrapped,
      [...this.handles.values()].map((handle) => handle.onEvent(wrapped)),
    );
    return () => {
      if (!this.observers.delete(wrapped)) return;
      for (const unsubscribe of this.subscriptions.get(wrapped)!) unsubscribe();
      this.subscriptions.delete(wrapped);
    };
  }
}

/**
 * Builds named pipelines from plain data (parsed JSON or YAML), e.g.
 * `{ "payments": { "timeout": "2s", "retry": { "maxAttempts": 3 }, "circuitBreaker": { "failureRate": 0.5 } } }`.
 * Every option is checked by its policy's own validation; all problems are
 * reported at once in a {@link ConfigError}, each with its path. Policies
 * run in the conventional order (see `DEFAULT_ORDER`) unless a pipeline
 * gives its own `order`.
 */
export function registry(config: RegistryConfig, options?: RegistryOptions): Registry {
  return new Registry(config, options);
}

/**
 * Checks a configuration without keeping anything: the problems
 * `registry(config, options)` would report, or an empty list. Handy in CI, to
 * reject a bad configuration file before it is deployed.
 */
export function validateConfig(config: unknown, options: RegistryOptions = {}): readonly ConfigIssue[] {
  return buildState(config, { clock: options.clock, code: options.code }, undefined).issues;
}
