/** What `fn` receives: read `signal` and pass it on to the work you start. */
export interface Context {
  /**
   * Aborted when the call should stop: its timeout passed, a hedge won, the
   * caller aborted, or the client went away. Created only when first read.
   */
  readonly signal: AbortSignal;
  /** 1-based number of this attempt. */
  readonly attempt: number;
  /** The key a keyed policy routed this call by, if any. */
  readonly key: unknown;
  /** The call's priority (higher is more important; default 0). */
  readonly priority: number;
}

/** Options accepted by every `execute`. */
export interface ExecuteOptions {
  /** The caller's signal: aborting it rejects the call at once with its reason. */
  signal?: AbortSignal | undefined;
  /** Priority for policies that shed load (`throttle`): lower is shed first. Default 0. */
  priority?: number | undefined;
  /** Routing key for keyed policies inside a pipeline. */
  key?: unknown;
}

const NOT_ABORTED: unique symbol = Symbol('not aborted');

/**
 * The per-call context. A root context wraps the caller's signal; a scope
 * (`fork()`) adds an abort of its own (a timeout, a hedge) that reaches only
 * the work below it. Signals are materialised only when somebody reads them.
 * @internal
 */
export class ExecutionContext implements Context {
  // One of these is built per call (and per timeout scope). Its fields are
  // `declare`d and assigned in the constructor: plain stores, where class
  // field definitions cost noticeably more per object (A/B in
  // docs/benchmarks.md). Every field is assigned, so all contexts share one shape.
  declare attempt: number;
  declare key: unknown;
  declare priority: number;
  /** Enclosing scope; undefined at the root. */
  declare readonly parent: ExecutionContext | undefined;
  /** The caller's signal (root only). */
  declare private readonly callerSignal: AbortSignal | undefined;
  declare private controller: AbortController | undefined;
  declare private ownReason: unknown;
  declare private unlink: (() => void) | undefined;
  /**
   * Work below this context that a policy stopped waiting for but could not
   * stop (an aggressive timeout, a losing hedge). Slot-holding policies outside
   * release only once it has settled.
   */
  declare lingering: Promise<void> | undefined;
  /** Retry budgets this call's first attempt was recorded in (root only; see `recordFirstAttempt`). */
  declare budgets: unknown;

  constructor(
    callerSignal: AbortSignal | undefined,
    key: unknown,
    priority: number,
    parent?: ExecutionContext,
  ) {
    this.attempt = 1;
    this.key = key;
    this.priority = priority;
    this.parent = parent;
    this.callerSignal = callerSignal;
    this.controller = undefined;
    this.ownReason = NOT_ABORTED;
    this.unlink = undefined;
    this.lingering = undefined;
    this.budgets = undefined;
  }

  /** A child scope that can be aborted on its own, without touching siblings. */
  fork(): ExecutionContext {
    const child = new ExecutionContext(undefined, this.key, this.priority, this);
    child.attempt = this.attempt;
    return child;
  }

  get signal(): AbortSignal {
    if (this.controller !== undefined) return this.controller.signal;
    if (this.parent === undefined && this.callerSignal !== undefined) return this.callerSignal;
    return this.materialize().signal;
  }

  /** Whether this scope, or anything above it, has been aborted. */
  get aborted(): boolean {
    if (this.ownReason !== NOT_ABORTED) return true;
    if (this.parent !== undefined) return this.parent.aborted;
    return this.callerSignal?.aborted === true;
  }

  /** The reason this scope (or the nearest aborted one above it) was aborted. */
  get reason(): unknown {
    if (this.ownReason !== NOT_ABORTED) return this.ownReason;
    if (this.parent !== undefined) return this.parent.reason;
    return this.callerSignal?.reason;
  }

  /** Whether anything can ever abort this context (a root without a caller signal cannot). */
  get abortable(): boolean {
    return this.parent !== undefined || this.callerSignal !== undefined;
  }

  /** Aborts this scope only. */
  abort(reason: unknown): void {
    if (this.ownReason !== NOT_ABORTED) return;
    this.ownReason = reason;
    this.controller?.abort(reason);
    // An aborted scope needs nothing more from its parent: unlink now, so work
    // that never settles (an aggressive timeout's, a losing hedge's) cannot
    // leave a listener on a long-lived caller signal.
    this.dispose();
  }

  /**
   * Calls `listener` once when this context aborts; returns a function that
   * removes it. Used by waits (backoff, queues) that must end at once.
   */
  onAbort(listener: (reason: unknown) => void): () => void {
    if (!this.abortable) return noop;
    const signal = this.signal;
    const handler = () => listener(signal.reason);
    signal.addEventListener('abort', handler, { once: true });
    return () => signal.removeEventListener('abort', handler);
  }

  /** Records work that goes on after this call stopped waiting for it (see `lingering`). */
  linger(work: Promise<unknown>): void {
    const settled = work.then(noop, noop);
    const previous = this.lingering;
    this.lingering = previous === undefined ? settled : Promise.all([previous, settled]).then(noop);
    // Slot holders in any enclosing scope must wait for it too.
    this.parent?.linger(settled);
  }

  /** Ends the scope: removes its listener from the parent signal. */
  dispose(): void {
    if (this.unlink !== undefined) {
      this.unlink();
      this.unlink = undefined;
    }
  }

  private materialize(): AbortController {
    const controller = new AbortController();
    this.controller = controller;
    if (this.ownReason !== NOT_ABORTED) {
      controller.abort(this.ownReason);
    } else if (this.parent !== undefined && (this.parent.abortable || this.parent.aborted)) {
      // A parent that can never abort (a root without a caller signal) needs no
      // signal of its own and no link: that saves an AbortController per call.
      const parentSignal = this.parent.signal;
      if (parentSignal.aborted) {
        controller.abort(parentSignal.reason);
      } else {
        const forward = () => controller.abort(parentSignal.reason);
        parentSignal.addEventListener('abort', forward, { once: true });
        this.unlink = () => parentSignal.removeEventListener('abort', forward);
      }
    }
    return controller;
  }
}

function noop(): void {}
