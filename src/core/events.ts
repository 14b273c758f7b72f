/** A listener for one event type. */
export type Listener<T> = (event: T) => void;

/** A listener that sees every event of a policy: its name, payload and the emitting policy. */
export type AnyListener = (name: string, event: unknown, source: EventSource) => void;

/** What every policy exposes for events. */
export interface EventSource {
  /** The strategy, e.g. `retry`, `circuitBreaker`, `pipeline`. */
  readonly kind: string;
  /** A name for telemetry; defaults to `kind`. */
  readonly name: string;
}

const printListenerError = (error: unknown): void => {
  // A listener is user code observing a call; its failure must not change the
  // call's outcome, but it must not vanish either.
  console.error('bulwark: an event listener threw', error);
};
let reportListenerError: (error: unknown) => void = printListenerError;

/**
 * Reports the error of a user callback that no caller can see any more (an
 * Express `onReject` that failed after the request reached its handler) the
 * way a listener's error is reported: to the handler set with
 * {@link setListenerErrorHandler}, or printed after `what` by default.
 */
export function reportCallbackError(error: unknown, what: string): void {
  if (reportListenerError === printListenerError) console.error(`bulwark: ${what}`, error);
  else reportListenerError(error);
}

/**
 * Replaces what happens when an event listener, or a user callback whose
 * error no caller can see (see {@link reportCallbackError}), throws (default:
 * `console.error`). Returns the previous handler.
 */
export function setListenerErrorHandler(handler: (error: unknown) => void): (error: unknown) => void {
  const previous = reportListenerError;
  reportListenerError = handler;
  return previous;
}

type ListenerTable = Record<string, Listener<never>[] | undefined>;

/** An emitter's listeners. Arrays are replaced, never mutated, so removing during emit is safe. */
interface Subscriptions {
  readonly table: ListenerTable;
  any: AnyListener[] | undefined;
  /** `onAny` listeners that skip `success` and `failure`, so those stay unbuilt when only these listen. */
  quiet: AnyListener[] | undefined;
}

/**
 * Typed events with no cost when nobody listens: policies call
 * `this.listening(name)` before they build an event object.
 */
export class Emitter<E extends object> implements EventSource {
  readonly kind: string;
  readonly name: string;
  /** Created at the first subscription: an idle policy without listeners carries one empty field. */
  private subs: Subscriptions | undefined;

  constructor(kind: string, name: string | undefined) {
    this.kind = kind;
    this.name = name ?? kind;
  }

  /** Subscribes to one event; returns a function that unsubscribes. */
  on<K extends keyof E & string>(event: K, listener: Listener<E[K]>): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(`${this.kind}: on(${JSON.stringify(event)}) needs a function listener`);
    }
    const table = (this.subs ??= { table: {}, any: undefined, quiet: undefined }).table;
    table[event] = [...(table[event] ?? []), listener as Listener<never>];
    this._listenersChanged();
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const rest = (table[event] ?? []).filter((l) => l !== listener);
      table[event] = rest.length > 0 ? rest : undefined;
      this._listenersChanged();
    };
  }

  /**
   * Subscribes to every event this policy emits. With `{ outcomes: false }`
   * the listener skips `success` and `failure`, which every call emits: a
   * listener interested only in what policies *do* (retries, rejections,
   * state changes) then costs the calls nothing.
   */
  onAny(listener: AnyListener, options?: { readonly outcomes?: boolean }): () => void {
    const quiet = options?.outcomes === false;
    const subs = (this.subs ??= { table: {}, any: undefined, quiet: undefined });
    if (quiet) subs.quiet = [...(subs.quiet ?? []), listener];
    else subs.any = [...(subs.any ?? []), listener];
    this._listenersChanged();
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const rest = ((quiet ? subs.quiet : subs.any) ?? []).filter((l) => l !== listener);
      if (quiet) subs.quiet = rest.length > 0 ? rest : undefined;
      else subs.any = rest.length > 0 ? rest : undefined;
      this._listenersChanged();
    };
  }

  /** @internal Called after a listener was added or removed (policies keep a flag for the executor). */
  protected _listenersChanged(): void {}

  /** Whether anyone would receive `event`: check it before building the payload. */
  protected listening(event: keyof E & string): boolean {
    const subs = this.subs;
    return (
      subs !== undefined &&
      (subs.any !== undefined ||
        subs.table[event] !== undefined ||
        (subs.quiet !== undefined && !isOutcome(event)))
    );
  }

  protected emit<K extends keyof E & string>(event: K, payload: E[K]): void {
    const subs = this.subs;
    if (subs === undefined) return;
    const specific = subs.table[event] as Listener<E[K]>[] | undefined;
    if (specific !== undefined) {
      for (const listener of specific) {
        try {
          listener(payload);
        } catch (error) {
          reportListenerError(error);
        }
      }
    }
    const any = subs.any;
    if (any !== undefined) {
      for (const listener of any) {
        try {
          listener(event, payload, this);
        } catch (error) {
          reportListenerError(error);
        }
      }
    }
    const quiet = subs.quiet;
    if (quiet !== undefined && !isOutcome(event)) {
      for (const listener of quiet) {
        try {
          listener(event, payload, this);
        } catch (error) {
          reportListenerError(error);
        }
      }
    }
  }
}

/** `success` and `failure`: emitted by every call, skipped by quiet `onAny` listeners. */
function isOutcome(event: string): boolean {
  return event === 'success' || event === 'failure';
}
