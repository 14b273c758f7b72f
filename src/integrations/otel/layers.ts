import type { ExecutionContext } from '../../core/context.js';
import { LayerMode, PolicyBase, type PolicyEvents } from '../../core/policy.js';
import type { Recorder } from './recorder.js';

/**
 * The outermost layer of an instrumented policy: times the whole execution.
 * A plain step (no extra async frame) unless pipeline spans are on, where it
 * must run the inner layers inside the span's context.
 * @internal
 */
export class PipelineLayer extends PolicyBase<PolicyEvents> {
  private readonly recorder: Recorder;

  constructor(recorder: Recorder) {
    super('instrument', recorder.name);
    this.recorder = recorder;
    if (recorder.pipelineSpans) this._mode = LayerMode.Around;
  }

  override _enter(ctx: ExecutionContext): unknown {
    this.recorder.enterCall(ctx);
    // Here only for attempt spans (no metrics to record): no start time, no token.
    return this.recorder.timing ? this.recorder.now() : undefined;
  }

  override _success(_ctx: ExecutionContext, token: unknown): unknown {
    if (token !== undefined) this.recorder.pipelineDone(token as number, false, undefined);
    return undefined;
  }

  override _failure(_ctx: ExecutionContext, token: unknown, error: unknown): unknown {
    if (token !== undefined) this.recorder.pipelineDone(token as number, true, error);
    return error;
  }

  override _around(
    ctx: ExecutionContext,
    next: (ctx: ExecutionContext) => Promise<unknown>,
  ): Promise<unknown> {
    return this.recorder.pipelineSpan(ctx, () => next(ctx));
  }
}

/**
 * The innermost layer: every attempt of the work passes through it (the
 * executor re-runs the layers inside a retry, and a hedge runs them once per
 * attempt), so timing its steps times each attempt without touching `fn`.
 * @internal
 */
export class AttemptLayer extends PolicyBase<PolicyEvents> {
  private readonly recorder: Recorder;

  constructor(recorder: Recorder) {
    super('instrument', recorder.name);
    this.recorder = recorder;
    if (recorder.attemptSpans) this._mode = LayerMode.Around;
  }

  override _enter(): unknown {
    return this.recorder.now();
  }

  override _success(_ctx: ExecutionContext, token: unknown): unknown {
    this.recorder.attemptDone(token as number, false, undefined);
    return undefined;
  }

  override _failure(_ctx: ExecutionContext, token: unknown, error: unknown): unknown {
    this.recorder.attemptDone(token as number, true, error);
    return error;
  }

  override _around(
    ctx: ExecutionContext,
    next: (ctx: ExecutionContext) => Promise<unknown>,
  ): Promise<unknown> {
    return this.recorder.attemptSpan(ctx, () => next(ctx));
  }
}
