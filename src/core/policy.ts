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
  /** @internal The layers `execute` runs: `[this]` for a strategy, flattened for a pipeline. */
  _layers: readonly PolicyBase<any>[];
  /** @internal */
  _mode: LayerMode = LayerMode.Step;
  /** @internal When true, `_enter` returns a child `ExecutionContext` that the inner layers receive. */
  _scoped = false;

  constructor(kind: string, name: string | undefined) {
    super(kind, name);
    this._layers = [this];
  }

  execute<T>(fn: Work<T>, options?: ExecuteOptions): Promise<T> {
    if (typeof fn !== 'function') {
      return Promise.reject(new TypeError(`${this.kind}: execute needs a function, got ${typeof fn}`));
    }
    const signal = options?.signal;
    const ctx = new ExecutionContext(signal, options?.key, options?.priority ?? 0);
    if (signal === undefined) return runLayers(this._layers, 0, ctx, fn) as Promise<T>;
    if (signal.aborted) return Promise.reject(signal.reason);
    return settleOrAbort(runLayers(this._layers, 0, ctx, fn) as Promise<T>, signal);
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

  /** @internal Runs after the inner work succeeded. Wrappers may return `RECOVER`. */
  _success(_ctx: ExecutionContext, _token: unknown, value: unknown): unknown {
    if (this.listening('success')) this.emit('success', { value } as E['success']);
    return undefined;
  }

  /** @internal Runs after the inner work failed; returns the error to pass outwards. */
  _failure(_ctx: ExecutionContext, _token: unknown, error: unknown): unknown {
    if (this.listening('failure')) this.emit('failure', { error } as E['failure']);
    return error;
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
  layers: readonly PolicyBase<any>[],
  from: number,
  ctx: ExecutionContext,
  fn: Work<unknown>,
): Promise<unknown> {
  return enterFrom(layers, from, from, ctx, fn, undefined);
}

/** Enters `layers[i..]`, runs the work, and arranges the exits. */
function enterFrom(
  layers: readonly PolicyBase<any>[],
  from: number,
  i: number,
  ctx: ExecutionContext,
  fn: Work<unknown>,
  tokens: unknown[] | undefined,
): Promise<unknown> {
  const n = layers.length;
  let result: unknown;
  try {
    for (; i < n; i++) {
      const layer = layers[i]!;
      if (layer._mode === LayerMode.Around) break;
      const token = layer._enter(ctx);
      if (token !== undefined) {
        if (token instanceof Promise) return enterLater(layers, from, i, ctx, fn, tokens, token);
        (tokens ??= [])[i] = token;
        if (layer._scoped) ctx = token as ExecutionContext;
      }
    }
    if (i < n) {
      const inner = i + 1;
      result = layers[i]!._around(ctx, (c) => runLayers(layers, inner, c, fn));
    } else {
      result = fn(ctx);
    }
  } catch (error) {
    return settleNow(layers, from, i, ctx, fn, tokens, true, error);
  }
  // A plain value settles a tick later, as `await` would: slot holders see
  // the same timing whether the work is synchronous or not.
  const entered = i;
  const innerCtx = ctx;
  return Promise.resolve(result).then(
    (value) => exitLayers(layers, from, entered, innerCtx, fn, tokens, false, value),
    (error: unknown) => exitLayers(layers, from, entered, innerCtx, fn, tokens, true, error),
  );
}

/** Waits for layer `i`'s pending admission (a queue, a rate-limit wait), then goes on entering. */
async function enterLater(
  layers: readonly PolicyBase<any>[],
  from: number,
  i: number,
  ctx: ExecutionContext,
  fn: Work<unknown>,
  tokens: unknown[] | undefined,
  pending: Promise<unknown>,
): Promise<unknown> {
  let token: unknown;
  try {
    token = await pending;
  } catch (error) {
    return exitLayers(layers, from, i, ctx, fn, tokens, true, error);
  }
  if (token !== undefined) {
    (tokens ??= [])[i] = token;
    if (layers[i]!._scoped) ctx = token as ExecutionContext;
  }
  return enterFrom(layers, from, i + 1, ctx, fn, tokens);
}

/** {@link exitLayers} for an outcome known synchronously, as a promise. */
function settleNow(
  layers: readonly PolicyBase<any>[],
  from: number,
  entered: number,
  ctx: ExecutionContext,
  fn: Work<unknown>,
  tokens: unknown[] | undefined,
  failed: boolean,
  outcome: unknown,
): Promise<unknown> {
  try {
    return Promise.resolve(exitLayers(layers, from, entered, ctx, fn, tokens, failed, outcome));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Runs the exit steps of `layers[from..entered)`, innermost first, and
 * returns the outcome (or throws it). A wrapper that must recover hands the
 * rest over to {@link recoverAt}, and a promise is returned.
 */
function exitLayers(
  layers: readonly PolicyBase<any>[],
  from: number,
  entered: number,
  ctx: ExecutionContext,
  fn: Work<unknown>,
  tokens: unknown[] | undefined,
  failed: boolean,
  outcome: unknown,
): unknown {
  for (let j = entered - 1; j >= from; j--) {
    const layer = layers[j]!;
    const token = tokens?.[j];
    const layerCtx = layer._scoped && token !== undefined ? (token as ExecutionContext).parent! : ctx;
    ctx = layerCtx;
    try {
      if (
        layer._mode === LayerMode.Wrapper &&
        (failed || layer._success(layerCtx, token, outcome) === RECOVER)
      ) {
        return recoverAt(layers, from, j, layerCtx, fn, tokens, failed, outcome);
      }
      if (failed) {
        outcome = layer._failure(layerCtx, token, outcome);
      } else if (layer._mode !== LayerMode.Wrapper) {
        layer._success(layerCtx, token, outcome);
      }
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
  layers: readonly PolicyBase<any>[],
  from: number,
  j: number,
  ctx: ExecutionContext,
  fn: Work<unknown>,
  tokens: unknown[] | undefined,
  failed: boolean,
  outcome: unknown,
): Promise<unknown> {
  const inner = j + 1;
  try {
    outcome = await layers[j]!._recover(ctx, tokens?.[j], failed, outcome, (c) =>
      runLayers(layers, inner, c, fn),
    );
    failed = false;
  } catch (error) {
    failed = true;
    outcome = error;
  }
  return exitLayers(layers, from, j, ctx, fn, tokens, failed, outcome);
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
