import type { Context, ExecuteOptions } from '../../core/context.js';
import type { ResilienceError } from '../../core/errors.js';
import type { PolicyBase } from '../../core/policy.js';
import { clientClosed, ResponseStatusError } from './errors.js';
import type { ServeConfig } from './options.js';
import { type ErrorReply, errorReply } from './reply.js';

/**
 * One request run under a policy: the rest of the request is the policy's
 * work, from the moment the framework is told to go on until the response
 * finishes or the client goes away. Admission slots (bulkhead, rate limit,
 * adaptive concurrency) are held exactly that long.
 *
 * The framework adapters (Express, Fastify) supply how to go on, how to read
 * the response's progress and how to answer; the state machine is shared.
 * @internal
 */
export abstract class Exchange<Req, Res> {
  /** The policy's work has started: the framework was told to go on. */
  protected entered = false;
  /** The client can receive nothing more: the response finished, or the connection is gone. */
  protected gone = false;
  private settled = false;
  /** An error reply (or the framework's error handling) has taken over the response. */
  private answered = false;
  private resolveWork: (() => void) | undefined = undefined;
  private rejectWork: ((error: unknown) => void) | undefined = undefined;
  private removeAbortListener: (() => void) | undefined = undefined;
  /** Aborted when the client goes away; absent when an outer signal already covers that. */
  private readonly controller: AbortController | undefined;
  private readonly callerSignal: AbortSignal;
  private ctxSignal: AbortSignal | undefined = undefined;

  constructor(
    protected readonly cfg: ServeConfig<Req, Res>,
    readonly policy: PolicyBase<any>,
    readonly req: Req,
    readonly res: Res,
    outerSignal: AbortSignal | undefined,
  ) {
    if (outerSignal === undefined) {
      this.controller = new AbortController();
      this.callerSignal = this.controller.signal;
    } else {
      this.controller = undefined;
      this.callerSignal = outerSignal;
    }
  }

  /** Aborted on client disconnect, on a timeout in the policy, or on the framework's connection timeout. */
  get signal(): AbortSignal {
    return this.ctxSignal ?? this.callerSignal;
  }

  // ---- what each framework supplies ---------------------------------------

  /** Lets the framework go on with the request (Express `next()`, Fastify `done()`). */
  protected abstract proceed(): void;
  /** Hands an error that is not bulwark's to the framework's error handling. */
  protected abstract fail(error: unknown): void;
  /** Sends an error reply (only called while no response has started). */
  protected abstract send(reply: ErrorReply): void;
  /** Makes the request's signal visible to handlers. */
  protected abstract expose(signal: AbortSignal): void;
  /** Whether the response's head is out. */
  protected abstract get headersSent(): boolean;
  /** Whether the response has been ended (it may still be flushing). */
  protected abstract get ended(): boolean;
  /** The response's status code. */
  protected abstract get statusCode(): number;
  /** Cuts a response that started but must not go on. */
  protected abstract destroy(): void;

  // ---- lifecycle ----------------------------------------------------------

  /** Starts the request under the policy. The adapter must route the response's `close` to {@link closed}. */
  run(): void {
    let options: ExecuteOptions;
    try {
      options = {
        signal: this.callerSignal,
        key: this.cfg.key?.(this.req),
        priority: this.cfg.priority?.(this.req),
      };
    } catch (error) {
      this.fail(error);
      return;
    }
    this.policy
      .execute((ctx) => this.enter(ctx), options)
      .then(
        () => this.admittedWithoutWork(),
        (error: unknown) => this.rejected(error),
      );
  }

  /** The response's `close`: it finished, or the connection went away before it did. */
  closed(finished: boolean): void {
    if (finished) this.finished();
    else this.disconnected(clientClosed());
  }

  /** The response has been sent: the work is over, successfully unless `isFailure` says otherwise. */
  finished(): void {
    if (this.gone) return;
    this.gone = true;
    const status = this.statusCode;
    let failed: boolean;
    try {
      failed = this.cfg.isFailure(status) === true;
    } catch {
      // A throwing predicate must not hold the slot forever; the call counts as it ended.
      failed = false;
    }
    this.settle(failed ? new ResponseStatusError(status) : undefined);
  }

  /** The client went away (or the framework's connection timeout hung up): abort and release. */
  disconnected(reason: unknown): void {
    if (this.gone) return;
    this.gone = true;
    this.controller?.abort(reason);
    this.settle(reason, true);
  }

  private enter(ctx: Context): Promise<void> {
    if (this.entered) {
      // A policy the construction check could not see (created later by a keyed factory) re-ran the work.
      return Promise.reject(
        new TypeError(
          `${this.cfg.owner}: the policy ran the request twice; retry and hedge cannot guard a response`,
        ),
      );
    }
    this.entered = true;
    const signal = ctx.signal;
    // The client left, or the deadline passed, while the request waited for admission.
    if (this.gone || signal.aborted) return Promise.reject(signal.aborted ? signal.reason : clientClosed());
    return new Promise<void>((resolve, reject) => {
      this.resolveWork = resolve;
      this.rejectWork = reject;
      this.ctxSignal = signal;
      this.expose(signal);
      // Deferred, so the handler's own abort listeners run first and may answer themselves.
      const onAbort = () => {
        const reason = signal.reason;
        queueMicrotask(() => this.aborted(reason));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.removeAbortListener = () => signal.removeEventListener('abort', onAbort);
      this.proceed();
    });
  }

  /**
   * The request's signal aborted (a timeout, usually). Handlers listening to
   * it ran first; if one of them ended the response, it stands. A started
   * response is cut: half a body with a success status must not pass for a
   * whole one. An unstarted one gets the error reply at once, before a
   * handler that rethrows the abort reaches the framework's error handling.
   */
  private aborted(reason: unknown): void {
    if (this.settled || this.gone || this.ended) return;
    if (this.headersSent) {
      this.destroy();
      return;
    }
    this.settle(reason);
    this.answer(reason);
  }

  private settle(error: unknown, failed = error !== undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.removeAbortListener?.();
    const resolve = this.resolveWork;
    const reject = this.rejectWork;
    this.resolveWork = undefined;
    this.rejectWork = undefined;
    if (failed) reject?.(error);
    else resolve?.();
  }

  /** The policy resolved: normally after the response finished; if it never ran the work, it answered in its place. */
  private admittedWithoutWork(): void {
    if (this.entered) return;
    this.fail(
      new TypeError(
        `${this.cfg.owner}: the policy answered without running the request (a fallback or chaos.result inside?)`,
      ),
    );
  }

  /** The policy rejected: a refusal, a timeout, or the work's own failure after the response. */
  private rejected(error: unknown): void {
    // Nobody to answer, or the response is already on its way (it ended or was cut).
    if (this.gone || (this.entered && this.headersSent)) return;
    this.answer(error);
  }

  /** Answers for `error` once: the default reply, `onReject`, or the framework's error handling. */
  private answer(error: unknown): void {
    if (this.answered) return;
    this.answered = true;
    const reply = errorReply(error, this.cfg.timeoutStatus, this.cfg.retryAfter);
    if (reply === undefined) {
      this.fail(error);
      return;
    }
    const onReject = this.cfg.onReject;
    if (onReject === undefined) {
      this.send(reply);
      return;
    }
    let outcome: void | Promise<void>;
    try {
      outcome = onReject(error as ResilienceError, this.req, this.res);
    } catch (thrown) {
      this.fail(thrown);
      return;
    }
    if (outcome !== undefined && typeof (outcome as Promise<void>).then === 'function') {
      (outcome as Promise<void>).then(
        () => this.replyUnlessAnswered(reply),
        (thrown: unknown) => this.fail(thrown),
      );
    } else {
      this.replyUnlessAnswered(reply);
    }
  }

  private replyUnlessAnswered(reply: ErrorReply): void {
    if (!this.gone && !this.headersSent) this.send(reply);
  }
}
