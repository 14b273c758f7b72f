import { type Meter, metrics, type Tracer, trace } from '@opentelemetry/api';
import { checkClock, type Clock } from '../../core/clock.js';
import { Pipeline } from '../../core/pipeline.js';
import { PolicyBase } from '../../core/policy.js';
import { checkBoolean, checkKeys, checkObject, checkString, show } from '../../core/validate.js';
import { AttemptLayer, PipelineLayer } from './layers.js';
import { Recorder } from './recorder.js';

/** Which spans `instrument()` starts, besides the span events it always adds to the active span. */
export interface InstrumentSpans {
  /** One span per execution (`bulwark <name>`), parent of the attempts and of the work's own spans. Default false. */
  pipeline?: boolean;
  /** One span per attempt (`bulwark <name> attempt`), with its number; the work's own spans are its children. Default false. */
  attempt?: boolean;
}

/** Options of {@link instrument}; every one is validated when it is called. */
export interface InstrumentOptions {
  /**
   * The `bulwark.pipeline.name` attribute on every metric and span: name
   * each protected dependency (`inventory`, `payments`). Default: the
   * policy's name.
   */
  name?: string;
  /**
   * Where metrics go. Default `metrics.getMeter('bulwark')` from the global
   * meter provider as it is when `instrument()` is called: register the SDK
   * first, or pass a meter.
   */
  meter?: Meter;
  /** Where spans go. Default `trace.getTracer('bulwark')` (follows a provider registered later). */
  tracer?: Tracer;
  /** Spans to start; both off by default, since span events on the caller's span usually suffice. */
  spans?: InstrumentSpans;
  /**
   * Where durations are read. Default `performance.now()` (sub-millisecond);
   * pass a `VirtualClock` to test durations deterministically.
   */
  clock?: Clock;
}

/** The option names `instrument()` accepts. */
export const INSTRUMENT_OPTIONS = ['name', 'meter', 'tracer', 'spans', 'clock'] as const;

/** The option names of `instrument()`'s `spans`. */
export const INSTRUMENT_SPANS_OPTIONS = ['pipeline', 'attempt'] as const;

const P = 'instrument';
const SCOPE = 'bulwark';

/**
 * A policy under OpenTelemetry instrumentation: a pipeline around the
 * instrumented policy, executed (or nested in other pipelines) like any
 * policy. `close()` stops recording.
 */
export class InstrumentedPipeline extends Pipeline {
  private readonly recorder: Recorder;

  /** @internal Use {@link instrument}. */
  constructor(policy: PolicyBase<any>, name: string, recorder: Recorder) {
    super([policy], name);
    this.recorder = recorder;
    // Outermost and innermost: the first times the whole execution, the last
    // each attempt of the work (see layers.ts). Without an SDK, and without
    // spans, neither has anything to do and both are left out. (Attempt spans
    // need the outer one too: it notes each call's context.)
    const layers = [...policy._layers];
    if (recorder.timing || recorder.pipelineSpans || recorder.attemptSpans) {
      layers.unshift(new PipelineLayer(recorder));
    }
    if (recorder.timing || recorder.attemptSpans) layers.push(new AttemptLayer(recorder));
    this._layers = layers;
  }

  /**
   * Stops recording: unsubscribes from the policies' events and removes the
   * gauge callback. Calls through this policy keep running, unrecorded.
   */
  close(): void {
    this.recorder.close();
  }
}

function checkMethods<T>(option: string, value: unknown, methods: readonly string[]): T | undefined {
  if (value === undefined) return undefined;
  const v = value as Record<string, unknown> | null;
  if (typeof v !== 'object' || v === null || methods.some((m) => typeof v[m] !== 'function')) {
    throw new TypeError(
      `${P}: ${option} must be an OpenTelemetry ${option} (with ${methods.join(', ')}), got ${show(value)}`,
    );
  }
  return value as T;
}

/** Sub-millisecond, and present in browsers, Deno, Bun and workers as well as Node. */
const performanceNow = (): number => performance.now();

/**
 * Records OpenTelemetry metrics, span events and (optionally) spans for
 * every call through `policy`, which may be a single policy or a pipeline:
 *
 * - `bulwark.policy.events`: every event of every policy inside (retries,
 *   rejections, timeouts, breaker transitions...);
 * - `bulwark.attempt.duration` and `bulwark.pipeline.duration` (seconds);
 * - gauges read from the policies' health: breaker state, concurrency in use
 *   and limit, queue length, rate-limit permits, health per policy;
 * - span events on the active span for each policy event, and with `spans`
 *   one span per execution and per attempt.
 *
 * Returns a new policy to execute in place of `policy`; `policy` itself is
 * unchanged. Only `@opentelemetry/api` is used: with no SDK registered the
 * meter is a no-op, nothing is timed, and a call runs exactly the policy's
 * own steps.
 */
export function instrument(policy: PolicyBase<any>, options: InstrumentOptions = {}): InstrumentedPipeline {
  if (!(policy instanceof PolicyBase)) throw new TypeError(`${P}: expected a policy, got ${show(policy)}`);
  checkObject(P, 'options', options);
  checkKeys(P, options, INSTRUMENT_OPTIONS);
  const name = checkString(P, 'name', options.name) ?? policy.name;
  const meter = checkMethods<Meter>('meter', options.meter, [
    'createCounter',
    'createHistogram',
    'createObservableGauge',
    'addBatchObservableCallback',
    'removeBatchObservableCallback',
  ]);
  const tracer = checkMethods<Tracer>('tracer', options.tracer, ['startSpan']);
  const spans = options.spans;
  checkObject(P, 'spans', spans);
  checkKeys(P, spans, INSTRUMENT_SPANS_OPTIONS, 'spans.');
  const pipelineSpans = checkBoolean(P, 'spans.pipeline', spans?.pipeline, false);
  const attemptSpans = checkBoolean(P, 'spans.attempt', spans?.attempt, false);
  const clock = options.clock === undefined ? undefined : checkClock(P, options.clock);
  const recorder = new Recorder(policy, {
    name,
    meter: meter ?? metrics.getMeter(SCOPE),
    tracer: tracer ?? trace.getTracer(SCOPE),
    pipelineSpans,
    attemptSpans,
    now: clock === undefined ? performanceNow : () => clock.now(),
  });
  return new InstrumentedPipeline(policy, name, recorder);
}
