import { type Context, ExecutionContext, type ExecuteOptions } from './context.js';
import { Emitter, type Listener, type AnyListener } from './events.js';

/** The work a policy runs: receives the context, returns a value or a promise. */
export type Work<T> = (ctx: Context) => T | PromiseLike<T>;

/** Events every policy emits. */
export interface PolicyEvents {
  /** The call settled successfully through this policy. */
  success: { readonly value: unknown };
  /** The call failed through this policy (after whatever this policy did about it). */
  failure: { readonly error: unknown };
}

/** Health of one policy, JSON-ready; see `health()`. */
export interface PolicyHealth {
  /** The policy's strategy, e.g. `circuitBreaker`. */
  readonly kind: string;
  /** The policy's name. */
  readonly name: string;
  /** `down`: rejecting everything; `degraded`: shedding or recovering; `ok` otherwise. */
  readonly status: 'ok' | 'degraded' | 'down';
  readonly [detail: string]: unknown;
}

/** The one interface every strategy and every pipeline implements. */
export interface Policy<E extends PolicyEvents = PolicyEvents> {
  /** The strategy, e.g. `retry`, `circuitBreaker`, `pipeline`. */
  readonly kind: string;
  /** A name for telemetry; defaults to `kind`. */
  readonly name: string;
  /** Runs `fn(ctx)` under this policy and resolves with its result. */
  execute<T>(fn: Work<T>, options?: ExecuteOptions): Promise<T>;
  /** Returns a function with `fn`'s parameters that runs each call under this policy. */
  wrap<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => Promise<Awaited<R>>;
  /** Subscribes to an event; returns a function that unsubscribes. */
  on<K extends keyof E & string>(event: K, listener: Listener<E[K]>): () => void;
  /** Subscribes to every event of this policy (`{ outcomes: false }`: all but `success` and `failure`). */
  onAny(listener: AnyListener, options?: { readonly outcomes?: boolean }): () => void;
}

/** Returned by a wrapper's `_success` to ask for `_recover` (e.g. `retryOnResult` matched). @internal */
export const RECOVER: unique symbol = Symbol('bulwark.recover');

/** How the executor drives a layer. @internal */
export const LayerMode = {
  /** Synchronous steps before and after the inner work (breaker, bulkhead, timeout). */
  Step: 0,
  /** Steps, plus an async `_recover` on failure (retry, fallback). */
  Wrapper: 1,
  /** Takes over the inner work entirely (hedge, aggressive timeout, keyed). */
  Around: 2,
} as const;
/** @internal */
export type LayerMode = (typeof LayerMode)[keyof typeof LayerMode];

/** Bits of {@link Layer.flags}. @internal */
export const LayerFlag = {
  /** The layer's mode is `Wrapper`. */
  Wrapper: 1,
  /** The layer's mode is `Around`. */
  Around: 2,
  /** `_enter` returns a child `ExecutionContext` that the inner layers receive. */
  Scoped: 4,
  /** The policy has an enter step of its own. */
  Enters: 8,
  /** The policy has exit steps of its own. */
  Exits: 16,
  /** Someone listens to the policy's `success` or `failure`. */
  Observed: 32,
  /**
   * The policy has work to do when the inner work succeeded (it overrides
   * `_success`; a wrapper clears it when its `_success` would do nothing).
   * When no entered layer has this or `Observed`, the happy path needs no
   * callback at all: the work's value passes straight through.
   */
  Succeeds: 64,
} as const;

/**
 * One policy's entry in an executor's layer list. Every strategy gets a
 * record of this one class, so the executor reads what it needs from objects
 * of a single shape: reading `_mode` and friends from the policies themselves
 * (a dozen classes) made each read a megamorphic lookup, some thirty per call
 * of a five-policy pipeline. The flags also let the executor skip steps a
 * policy does not define. Two fields, so a thousand idle keyed breakers stay
 * small.
 * @internal
 */
export class Layer {
  /** {@link LayerFlag} bits. */
  flags: number;

  constructor(readonly policy: PolicyBase<any>) {
    const base = PolicyBase.prototype;
    this.flags =
      (policy._enter !== base._enter ? LayerFlag.Enters : 0) |
      (policy._success !== base._success || policy._failure !== base._failure ? LayerFlag.Exits : 0) |
      (policy._success !== base._success ? LayerFlag.Succeeds : 0);
  }

  /** Sets or clears `flag`. */
  set(flag: number, on: boolean): void {
    this.flags = on ? this.flags | flag : this.flags & ~flag;
  }
}

/**
 * Base of every strategy. A strategy is a *layer*: the executor calls its
 * synchronous `_enter` / `_success` / `_failure` steps around the inner work,
 * so a whole pipeline runs in one async frame on the happy path. Only a
 * failure (handled by `_recover`) or an `Around` layer costs more frames.
 */
export abstract class PolicyBase<E extends PolicyEvents = PolicyEvents>
  extends Emitter<E>
  implements Policy<E>
{
  /** @internal This policy's own layer record. */
  readonly _layer: Layer;
  /** The records `execute` runs; made at the first call for a lone strategy (one field while idle). */
  private plan: readonly Layer[] | undefined;

  constructor(kind: string, name: string | undefined) {
    super(kind, name);
    this._layer = new Layer(this);
  }

  /** @internal The policies `execute` runs as layers: `[this]` for a strategy, flattened for a pipeline. */
  get _layers(): readonly PolicyBase<any>[] {
    return this.plan?.map((layer) => layer.policy) ?? [this];
  }

  set _layers(layers: readonly PolicyBase<any>[]) {
    this.plan = layers.map((policy) => policy._layer);
  }

  /** @internal The layer records of `_layers`, as the executor runs them. */
  get _plan(): readonly Layer[] {
    return (this.plan ??= [this._layer]);
  }

  /** @internal How the executor drives this policy. */
  get _mode(): LayerMode {
    const flags = this._layer.flags;
    if ((flags & LayerFlag.Around) !== 0) return LayerMode.Around;
    return (flags & LayerFlag.Wrapper) !== 0 ? LayerMode.Wrapper : LayerMode.Step;
  }

  set _mode(mode: LayerMode) {
    this._layer.set(LayerFlag.Wrapper, mode === LayerMode.Wrapper);
    this._layer.set(LayerFlag.Around, mode === LayerMode.Around);
  }

  /**
   * @internal When true, `_enter` returns a child `ExecutionContext` (always,
   * or a promise of one) that the inner layers receive; the exit steps get
   * that scope as their token.
   */
  get _scoped(): boolean {
    return (this._layer.flags & LayerFlag.Scoped) !== 0;
  }

  set _scoped(scoped: boolean) {
    this._layer.set(LayerFlag.Scoped, scoped);
  }

  /** @internal Keeps the layer record's `observed` flag in step with the listeners. */
  protected override _listenersChanged(): void {
    this._layer.set(LayerFlag.Observed, this.listening('success') || this.listening('failure'));
  }

  execute<T>(fn: Work<T>, options?: ExecuteOptions): Promise<T> {
    if (typeof fn !== 'function') {
      return Promise.reject(new TypeError(`${this.kind}: execute needs a function, got ${typeof fn}`));
    }
    const signal = options?.signal;
    const ctx = new ExecutionContext(signal, options?.key, options?.priority ?? 0);
    const plan = this.plan ?? this._plan;
    if (signal === undefined) return runLayers(plan, 0, ctx, fn) as Promise<T>;
    if (signal.aborted) return Promise.reject(signal.reason);
    return settleOrAbort(runLayers(plan, 0, ctx, fn) as Promise<T>, signal);
  }

  wrap<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => Promise<Awaited<R>> {
    if (typeof fn !== 'function')
      throw new TypeError(`${this.kind}: wrap needs a function, got ${typeof fn}`);
    return (...args: A) => this.execute(() => fn(...args) as Awaited<R> | PromiseLike<Awaited<R>>);
  }

  /** @internal The policies this one is built from (for health and telemetry). */
  _children(): readonly PolicyBase<any>[] {
    return [];
  }

  /** @internal A health entry for `health()`. */
  _health(): PolicyHealth {
    return { kind: this.kind, name: this.name, status: 'ok' };
  }

  /** @internal Runs before the inner work; may return a token, a child context (`_scoped`) or a promise of either. */
  _enter(_ctx: ExecutionContext): unknown {
    return undefined;
  }

  /**
   * @internal Runs after the inner work succeeded. Wrappers may return
   * `RECOVER`. The `success` event is emitted by the executor afterwards (so
   * a policy with no exit work and nobody listening costs no call).
   */
  _success(_ctx: ExecutionContext, _token: unknown, _value: unknown): unknown {
    return undefined;
  }

  /** @internal Runs after the inner work failed; returns the error to pass outwards (the executor emits `failure`). */
  _failure(_ctx: ExecutionContext, _token: unknown, error: unknown): unknown {
    return error;
  }

  /** @internal Emits `success` or `failure` for a call that settled through this policy, if anyone listens. */
  _emitOutcome(failed: boolean, outcome: unknown): void {
    if (failed) {
      if (this.listening('failure')) this.emit('failure', { error: outcome } as E['failure']);
    } else if (this.listening('success')) {
      this.emit('success', { value: outcome } as E['success']);
    }
  }

  /** @internal Wrappers: handles a failure (or a `RECOVER`ed success), may re-run the inner layers. */
  _recover(
    _ctx: ExecutionContext,
    _token: unknown,
    failed: boolean,
    outcome: unknown,
    _rerun: (ctx: ExecutionContext) => Promise<unknown>,
  ): Promise<unknown> {
    return failed ? Promise.reject(outcome) : Promise.resolve(outcome);
  }

  /** @internal Around layers: runs the inner layers through `next` however it likes. */
  _around(ctx: ExecutionContext, next: (ctx: ExecutionContext) => Promise<unknown>): Promise<unknown> {
    return next(ctx);
  }
}

/**
 * Runs `layers[from..]` around `fn`: every layer's enter step, the work, then
 * every exit step from the inside out. On the happy path this costs one
 * promise reaction on the work's promise, not an async frame: the enter steps
 * run synchronously and the exit steps run in that reaction, which is
 * cheaper than resuming an async function. Only a layer that must wait
 * (`_enter` returned a promise), an `Around` layer or a wrapper's `_recover`
 * costs more frames.
 * @internal
 */
export function runLayers(
  layers: readonly Layer[],
  from: number,
  ctx: ExecutionContext,
  fn: Work<unknown>,
): Promise<unknown> {
  return enterFrom(layers, from, from, ctx, fn, -1, undefined, undefined);
}

/**
 * The tokens the entered layers returned, passed along as three values:
 * most calls have at most one (a breaker's generation), kept in `soloAt` /
 * `solo` so that no array is allocated for it; a second token moves both
 * into `tokens`, indexed by layer.
 */
function tokenAt(j: number, soloAt: number, solo: unknown, tokens: unknown[] | undefined): unknown {
  if (tokens !== undefined) return tokens[j];
  return j === soloAt ? solo : undefined;
}

/** Adds a second token: both go into an array indexed by layer. */
function spill(n: number, soloAt: number, solo: unknown, tokens: unknown[] | undefined): unknown[] {
  if (tokens !== undefined) return tokens;
  const list = new Array<unknown>(n);
  list[soloAt] = solo;
  return list;
}

/** Enters `layers[i..]`, runs the work, and arranges the exits. */
function enterFrom(
  layers: readonly Layer[],
  from: number,
  i: number,
  ctx: ExecutionContext,
  fn: Work<unknown>,
  soloAt: number,
  solo: unknown,
  tokens: unknown[] | undefined,
): Promise<unknown> {
  const n = layers.length;
  let result: unknown;
  try {
    for (; i < n; i++) {
      const layer = layers[i]!;
      const flags = layer.flags;
      if ((flags & LayerFlag.Around) !== 0) break;
      if ((flags & LayerFlag.Enters) === 0) continue;
      const token = layer.policy._enter(ctx);
      if (token !== undefined) {
        if (token instanceof Promise)
          return enterLater(layers, from, i, ctx, fn, soloAt, solo, tokens, token);
        // A scope is found again at exit as the context itself: no token kept.
        if ((flags & LayerFlag.Scoped) !== 0) ctx = token as ExecutionContext;
        else if (soloAt < 0) {
          soloAt = i;
          solo = token;
        } else (tokens = spill(n, soloAt, solo, tokens))[i] = token;
      }
    }
    if (i < n) {
      const inner = i + 1;
      result = layers[i]!.policy._around(ctx, (c) => runLayers(layers, inner, c, fn));
    } else {
      result = fn(ctx);
    }
  } catch (error) {
    return settleNow(layers, from, i, ctx, fn, soloAt, solo, tokens, true, error);
  }
  // A plain value settles a tick later, as `await` would: slot holders see
  // the same timing whether the work is synchronous or not.
  const entered = i;
  const innerCtx = ctx;
  let flags = 0;
  for (let j = from; j < entered; j++) flags |= layers[j]!.flags;
  const onFailure = (error: unknown) =>
    exitLayers(layers, from, entered, innerCtx, fn, soloAt, solo, tokens, true, error);
  if ((flags & (LayerFlag.Succeeds | LayerFlag.Observed)) === 0) {
    // Nothing to do on success (a retry, a fallback, a rate limit): the
    // value passes through without a callback.
    return Promise.resolve(result).then(undefined, onFailure);
  }
  return Promise.resolve(result).then(
    (value) => exitLayers(layers, from, entered, innerCtx, fn, soloAt, solo, tokens, false, value),
    onFailure,
  );
}

/** Waits for layer `i`'s pending admission (a queue, a rate-limit wait), then goes on entering. */
async function enterLater(
  layers: readonly Layer[],
  from: number,
  i: number,
  ctx: ExecutionContext,
  fn: Work<unknown>,
  soloAt: number,
  solo: unknown,
  tokens: unknown[] | undefined,
  pending: Promise<unknown>,
): Promise<unknown> {
  let token: unknown;
  try {
    token = await pending;
  } catch (error) {
    return exitLayers(layers, from, i, ctx, fn, soloAt, solo, tokens, true, error);
  }
  if (token !== undefined) {
    if ((layers[i]!.flags & LayerFlag.Scoped) !== 0) ctx = token as ExecutionContext;
    else if (soloAt < 0) {
      soloAt = i;
      solo = token;
    } else (tokens = spill(layers.length, soloAt, solo, tokens))[i] = token;
  }
  return enterFrom(layers, from, i + 1, ctx, fn, soloAt, solo, tokens);
}

/** {@link exitLayers} for an outcome known synchronously, as a promise. */
function settleNow(
  layers: readonly Layer[],
  from: number,
  entered: number,
  ctx: ExecutionContext,
  fn: Work<unknown>,
  soloAt: number,
  solo: unknown,
  tokens: unknown[] | undefined,
  failed: boolean,
  outcome: unknown,
): Promise<unknown> {
  try {
    return Promise.resolve(exitLayers(layers, from, entered, ctx, fn, soloAt, solo, tokens, failed, outcome));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Runs the exit steps of `layers[from..entered)`, innermost first, and
 * returns the outcome (or throws it). A wrapper that must recover hands the
 * rest over to {@link recoverAt}, and a promise is returned. A step layer
 * with no exit steps and no outcome listeners is skipped without a call.
 */
function exitLayers(
  layers: readonly Layer[],
  from: number,
  entered: number,
  ctx: ExecutionContext,
  fn: Work<unknown>,
  soloAt: number,
  solo: unknown,
  tokens: unknown[] | undefined,
  failed: boolean,
  outcome: unknown,
): unknown {
  for (let j = entered - 1; j >= from; j--) {
    const layer = layers[j]!;
    const flags = layer.flags;
    let token: unknown;
    if ((flags & LayerFlag.Scoped) !== 0) {
      // The innermost context left is this layer's own scope (see `_scoped`).
      token = ctx;
      ctx = ctx.parent!;
    } else {
      token = tokenAt(j, soloAt, solo, tokens);
    }
    if ((flags & (LayerFlag.Wrapper | LayerFlag.Exits | LayerFlag.Observed)) === 0) continue;
    const policy = layer.policy;
    try {
      if ((flags & LayerFlag.Wrapper) !== 0) {
        if (failed || policy._success(ctx, token, outcome) === RECOVER) {
          return recoverAt(layers, from, j, ctx, fn, soloAt, solo, tokens, failed, outcome, token);
        }
      } else if ((flags & LayerFlag.Exits) !== 0) {
        if (failed) outcome = policy._failure(ctx, token, outcome);
        else policy._success(ctx, token, outcome);
      }
      if ((flags & LayerFlag.Observed) !== 0) policy._emitOutcome(failed, outcome);
    } catch (error) {
      failed = true;
      outcome = error;
    }
  }
  if (failed) throw outcome;
  return outcome;
}

/** Lets wrapper `layers[j]` recover (it may re-run the layers inside it), then exits the layers outside. */
async function recoverAt(
  layers: readonly Layer[],
  from: number,
  j: number,
  ctx: ExecutionContext,
  fn: Work<unknown>,
  soloAt: number,
  solo: unknown,
  tokens: unknown[] | undefined,
  failed: boolean,
  outcome: unknown,
  /** The wrapper's token as its exit step got it (its scope, if it is scoped). */
  token: unknown,
): Promise<unknown> {
  const inner = j + 1;
  try {
    outcome = await layers[j]!.policy._recover(ctx, token, failed, outcome, (c) =>
      runLayers(layers, inner, c, fn),
    );
    failed = false;
  } catch (error) {
    failed = true;
    outcome = error;
  }
  return exitLayers(layers, from, j, ctx, fn, soloAt, solo, tokens, failed, outcome);
}

/**
 * Settles with `work`, or rejects at once with the signal's reason when the
 * caller aborts first. `work` keeps running to its own end (its slots are
 * released only then); its late outcome is observed, so it never becomes an
 * unhandled rejection.
 */
function settleOrAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
