import {
  type Attributes,
  type Context as OtelContext,
  type BatchObservableCallback,
  type Counter,
  context,
  type Histogram,
  type Meter,
  type ObservableGauge,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
  createNoopMeter,
} from '@opentelemetry/api';
import type { ExecutionContext } from '../../core/context.js';
import type { EventSource } from '../../core/events.js';
import { observeTree } from '../../core/observe.js';
import type { PolicyBase } from '../../core/policy.js';
import { errorType, eventCounterAttributes, spanEventAttributes } from './attributes.js';
import { readGauges } from './gauges.js';
import { ATTRIBUTE_NAMES, METRIC_NAMES } from './names.js';

/**
 * Bucket boundaries (seconds) offered to the SDK for both duration
 * histograms: OpenTelemetry's HTTP boundaries from 1 ms, extended to a
 * minute because a pipeline's duration includes backoff waits and queues.
 * An SDK View can replace them.
 */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60,
]);

/**
 * The class of the API's no-op histogram, what `metrics.getMeter()` hands out
 * while no SDK is registered. Recording into it is pointless, so the
 * instrumented policy then skips timing altogether (no clock reads per call).
 */
const NOOP_HISTOGRAM: unknown = createNoopMeter().createHistogram('bulwark.noop').constructor;

/** What the recorder needs; validated by `instrument()`. @internal */
export interface RecorderConfig {
  readonly name: string;
  readonly meter: Meter;
  readonly tracer: Tracer;
  readonly pipelineSpans: boolean;
  readonly attemptSpans: boolean;
  readonly now: () => number;
}

/**
 * Turns one instrumented policy's calls and events into metrics, spans and
 * span events. Everything per call is synchronous: two clock reads and a
 * histogram record per pipeline execution and per attempt; with no SDK
 * registered (no-op histograms) not even that.
 * @internal
 */
export class Recorder {
  readonly name: string;
  readonly pipelineSpans: boolean;
  readonly attemptSpans: boolean;
  readonly now: () => number;
  /** False when both duration histograms are no-ops: the timing layers are left out. */
  readonly timing: boolean;
  closed = false;
  private readonly tracer: Tracer;
  private readonly meter: Meter;
  private readonly events: Counter;
  private readonly attemptDuration: Histogram;
  private readonly pipelineDuration: Histogram;
  private readonly gauges: {
    readonly state: ObservableGauge;
    readonly health: ObservableGauge;
    readonly active: ObservableGauge;
    readonly limit: ObservableGauge;
    readonly queued: ObservableGauge;
    readonly available: ObservableGauge;
    readonly probability: ObservableGauge;
  };
  private readonly observe: BatchObservableCallback;
  private readonly unsubscribe: () => void;
  /** Built once: the success path allocates no attributes. */
  private readonly successAttributes: Attributes;
  private readonly spanName: string;
  private readonly attemptSpanName: string;
  /**
   * Each call's OpenTelemetry context as it entered the pipeline (with the
   * pipeline span, if any), kept only when attempt spans are on. A hedge
   * starts attempts from a timer shared by all calls, whose callback runs in
   * whichever call's context armed it; attempt spans take their parent from
   * here instead, so they always hang under their own call.
   */
  private readonly callContexts: WeakMap<ExecutionContext, OtelContext> | undefined;

  constructor(root: PolicyBase<any>, config: RecorderConfig) {
    this.name = config.name;
    this.tracer = config.tracer;
    this.meter = config.meter;
    this.pipelineSpans = config.pipelineSpans;
    this.attemptSpans = config.attemptSpans;
    this.now = config.now;
    this.callContexts = config.attemptSpans ? new WeakMap() : undefined;
    this.spanName = `bulwark ${config.name}`;
    this.attemptSpanName = `bulwark ${config.name} attempt`;
    this.successAttributes = {
      [ATTRIBUTE_NAMES.pipeline]: config.name,
      [ATTRIBUTE_NAMES.outcome]: 'success',
    };
    const meter = config.meter;
    const advice = { explicitBucketBoundaries: [...DURATION_BUCKETS] };
    this.events = meter.createCounter(METRIC_NAMES.events, {
      description: 'Events emitted by resilience policies (retries, rejections, timeouts, state changes...).',
      unit: '{event}',
    });
    this.attemptDuration = meter.createHistogram(METRIC_NAMES.attemptDuration, {
      description: 'Duration of each attempt of the protected work.',
      unit: 's',
      advice,
    });
    this.pipelineDuration = meter.createHistogram(METRIC_NAMES.pipelineDuration, {
      description: 'Duration of each execution through the pipeline, retries and waits included.',
      unit: 's',
      advice,
    });
    this.timing =
      this.attemptDuration.constructor !== NOOP_HISTOGRAM ||
      this.pipelineDuration.constructor !== NOOP_HISTOGRAM;
    this.gauges = {
      state: meter.createObservableGauge(METRIC_NAMES.breakerState, {
        description: 'Circuit breaker state: 0 closed, 1 half-open, 2 open, 3 isolated.',
        unit: '{state}',
      }),
      health: meter.createObservableGauge(METRIC_NAMES.policyHealth, {
        description: 'Policy health: 0 ok, 1 degraded, 2 down.',
        unit: '{status}',
      }),
      active: meter.createObservableGauge(METRIC_NAMES.concurrencyActive, {
        description: 'Calls running inside a concurrency-limiting policy.',
        unit: '{call}',
      }),
      limit: meter.createObservableGauge(METRIC_NAMES.concurrencyLimit, {
        description: 'Current concurrency limit of a concurrency-limiting policy.',
        unit: '{call}',
      }),
      queued: meter.createObservableGauge(METRIC_NAMES.queueLength, {
        description: "Calls waiting in a policy's queue.",
        unit: '{call}',
      }),
      available: meter.createObservableGauge(METRIC_NAMES.rateLimitAvailable, {
        description: 'Permits a rate limiter could hand out now.',
        unit: '{permit}',
      }),
      probability: meter.createObservableGauge(METRIC_NAMES.throttleProbability, {
        description: 'Probability that a client-side throttle rejects a call now.',
        unit: '1',
      }),
    };
    const g = this.gauges;
    this.observe = (observer) => {
      for (const group of readGauges(root, this.name).values()) {
        const a = group.attributes;
        observer.observe(g.health, group.health, a);
        if (group.state !== undefined) observer.observe(g.state, group.state, a);
        if (group.active !== undefined) observer.observe(g.active, group.active, a);
        if (group.limit !== undefined) observer.observe(g.limit, group.limit, a);
        if (group.queued !== undefined) observer.observe(g.queued, group.queued, a);
        if (group.available !== undefined) observer.observe(g.available, group.available, a);
        if (group.probability !== undefined) observer.observe(g.probability, group.probability, a);
      }
    };
    meter.addBatchObservableCallback(this.observe, Object.values(g));
    // Every call's `success` and `failure` are left out: the duration
    // histograms record outcomes, and listening to them would make every
    // policy build an event object on every call.
    this.unsubscribe = observeTree(root, (event, data, source) => this.onEvent(event, data, source), {
      includeRoot: true,
      outcomes: false,
    });
  }

  /** Stops recording; calls through the instrumented policy still run. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.meter.removeBatchObservableCallback(this.observe, Object.values(this.gauges));
  }

  /** Every policy event reaches here, through the same tree walk as `pipeline.onEvent`. */
  private onEvent(event: string, data: unknown, source: EventSource): void {
    this.events.add(1, eventCounterAttributes(this.name, source.kind, source.name, event, data));
    // Events are emitted synchronously inside the call, so the active span is
    // the call's; except events fired by a timer a policy shares between calls
    // (a timeout's deadline, a hedge's delay), which run in the context of the
    // call that armed it (see docs/telemetry.md, "Limits worth knowing").
    const span = trace.getActiveSpan();
    if (span?.isRecording() === true) {
      span.addEvent(
        `bulwark.${event}`,
        spanEventAttributes(this.name, source.kind, source.name, event, data),
      );
    }
  }

  /** Records one pipeline execution that started at `start`. */
  pipelineDone(start: number, failed: boolean, error: unknown): void {
    if (this.closed) return;
    const seconds = (this.now() - start) / 1000;
    this.pipelineDuration.record(seconds, failed ? this.failureAttributes(error) : this.successAttributes);
  }

  /** Records one attempt that started at `start`. */
  attemptDone(start: number, failed: boolean, error: unknown): void {
    if (this.closed) return;
    const seconds = (this.now() - start) / 1000;
    this.attemptDuration.record(seconds, failed ? this.failureAttributes(error) : this.successAttributes);
  }

  /** Notes the call's context at pipeline entry, for its attempt spans (see `callContexts`). */
  enterCall(ctx: ExecutionContext): void {
    if (this.callContexts !== undefined) this.callContexts.set(ctx, context.active());
  }

  /** The context the call entered with: the nearest noted one up the scope chain. */
  private callContext(ctx: ExecutionContext): OtelContext {
    for (let c: ExecutionContext | undefined = ctx; c !== undefined; c = c.parent) {
      const noted = this.callContexts?.get(c);
      if (noted !== undefined) return noted;
    }
    return context.active();
  }

  /** Runs the call inside a `bulwark <name>` span, active for everything below. */
  pipelineSpan(ctx: ExecutionContext, next: () => Promise<unknown>): Promise<unknown> {
    if (this.closed) return next();
    const parent = context.active();
    const span = this.tracer.startSpan(
      this.spanName,
      { kind: SpanKind.INTERNAL, attributes: { [ATTRIBUTE_NAMES.pipeline]: this.name } },
      parent,
    );
    const inner = trace.setSpan(parent, span);
    this.callContexts?.set(ctx, inner);
    return this.traced(span, inner, next, this.pipelineDone);
  }

  /** Runs one attempt inside a `bulwark <name> attempt` span, a child of its own call's context. */
  attemptSpan(ctx: ExecutionContext, next: () => Promise<unknown>): Promise<unknown> {
    if (this.closed) return next();
    const parent = this.callContext(ctx);
    const span = this.tracer.startSpan(
      this.attemptSpanName,
      {
        kind: SpanKind.INTERNAL,
        attributes: { [ATTRIBUTE_NAMES.pipeline]: this.name, [ATTRIBUTE_NAMES.attempt]: ctx.attempt },
      },
      parent,
    );
    return this.traced(span, trace.setSpan(parent, span), next, this.attemptDone);
  }

  private traced(
    span: Span,
    inner: OtelContext,
    next: () => Promise<unknown>,
    done: (start: number, failed: boolean, error: unknown) => void,
  ): Promise<unknown> {
    // No tracer provider (or a sampled-out trace): nothing to record or to
    // make active; the durations are still taken when metrics are recorded.
    if (!span.isRecording()) return this.timing ? this.timed(next, done) : next();
    const start = this.now();
    // `next` runs the inner layers, an async function: it never throws, it rejects.
    return context.with(inner, next).then(
      (value) => {
        span.end();
        done.call(this, start, false, undefined);
        return value;
      },
      (error: unknown) => {
        endFailed(span, error);
        done.call(this, start, true, error);
        throw error;
      },
    );
  }

  private timed(
    next: () => Promise<unknown>,
    done: (start: number, failed: boolean, error: unknown) => void,
  ): Promise<unknown> {
    const start = this.now();
    return next().then(
      (value) => {
        done.call(this, start, false, undefined);
        return value;
      },
      (error: unknown) => {
        done.call(this, start, true, error);
        throw error;
      },
    );
  }

  private failureAttributes(error: unknown): Attributes {
    return {
      [ATTRIBUTE_NAMES.pipeline]: this.name,
      [ATTRIBUTE_NAMES.outcome]: 'failure',
      [ATTRIBUTE_NAMES.errorType]: errorType(error),
    };
  }
}

function endFailed(span: Span, error: unknown): void {
  const type = errorType(error);
  span.setAttribute(ATTRIBUTE_NAMES.errorType, type);
  if (error instanceof Error) {
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  } else {
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}
