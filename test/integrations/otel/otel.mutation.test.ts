import {
  context,
  createNoopMeter,
  type DiagLogger,
  DiagLogLevel,
  diag,
  type Meter,
  metrics,
  trace,
} from '@opentelemetry/api';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import { AlwaysOffSampler, BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  bulkhead,
  circuitBreaker,
  PolicyBase,
  type PolicyHealth,
  pipeline,
  rateLimit,
  retry,
  setListenerErrorHandler,
  throttle,
} from '../../../src/index.js';
import { eventCounterAttributes, spanEventAttributes } from '../../../src/integrations/otel/attributes.js';
import { readGauges } from '../../../src/integrations/otel/gauges.js';
import { ATTRIBUTE_NAMES, instrument, METRIC_NAMES } from '../../../src/integrations/otel/index.js';
import { VirtualClock } from '../../../src/testing/index.js';
import { manualClock, ReadCountingClock } from '../../helpers/clocks.js';
import { histogram, points, Telemetry, useContextManager } from './harness.js';

let disableContext: () => void;
beforeAll(() => {
  disableContext = useContextManager();
});
afterAll(() => disableContext());

let t: Telemetry;
afterEach(async () => {
  vi.restoreAllMocks();
  await t?.shutdown();
});

const P = ATTRIBUTE_NAMES.pipeline;
const OUTCOME = ATTRIBUTE_NAMES.outcome;
const ERR = ATTRIBUTE_NAMES.errorType;

/** A policy from elsewhere that reports the given health details. */
class Reporting extends PolicyBase {
  constructor(
    name: string,
    private readonly details: Record<string, unknown>,
  ) {
    super('custom', name);
  }
  override _health(): PolicyHealth {
    return { kind: this.kind, name: this.name, status: 'ok', ...this.details };
  }
}

/** `meter`, except that `createHistogram` hands out the API's no-op histogram for `noopName`. */
function withNoopHistogram(meter: Meter, noopName: string): Meter {
  const noop = createNoopMeter();
  return new Proxy(meter, {
    get(target, prop) {
      if (prop === 'createHistogram') {
        return (name: string, options?: object) =>
          name === noopName ? noop.createHistogram(name, options) : target.createHistogram(name, options);
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('otel attributes', () => {
  it('a null payload gives a span event only the fixed attributes', () => {
    expect(spanEventAttributes('p', 'k', 'n', 'e', null)).toEqual({
      'bulwark.pipeline.name': 'p',
      'bulwark.policy.kind': 'k',
      'bulwark.policy.name': 'n',
      'bulwark.event.name': 'e',
    });
  });

  it('a payload that is not an object gives the events counter only the fixed attributes', () => {
    const fixed = {
      'bulwark.pipeline.name': 'p',
      'bulwark.policy.kind': 'k',
      'bulwark.policy.name': 'n',
      'bulwark.event.name': 'e',
    };
    expect(eventCounterAttributes('p', 'k', 'n', 'e', undefined)).toEqual(fixed);
    expect(eventCounterAttributes('p', 'k', 'n', 'e', 'error')).toEqual(fixed);
    expect(eventCounterAttributes('p', 'k', 'n', 'e', 3)).toEqual(fixed);
  });
});

describe('otel gauges', () => {
  it('a state that is not a string is not a breaker state, even one that names a state once stringified', () => {
    const groups = readGauges(
      pipeline(
        new Reporting('array', { state: ['open'] }),
        new Reporting('object', { state: { toString: () => 'isolated' } }),
        new Reporting('string', { state: 'open' }),
      ),
      'svc',
    );
    expect([...groups.values()].map((g) => [g.attributes['bulwark.policy.name'], g.state])).toEqual([
      ['array', undefined],
      ['object', undefined],
      ['string', 2],
    ]);
  });
});

describe('otel instrument', () => {
  it('the instrumented pipeline holds the policy: its children, and its events reach onEvent', async () => {
    t = new Telemetry();
    const inner = retry({ maxAttempts: 2, backoff: 0, name: 'r' });
    const p = instrument(inner, { name: 'svc', meter: t.meter });
    expect(p.policies).toEqual([inner]);
    expect(p._children()).toEqual([inner]);
    const seen: string[] = [];
    p.onEvent((e) => seen.push(`${e.pipeline}:${e.policy}.${e.event}`));
    let n = 0;
    await expect(p.execute(() => (n++ === 0 ? Promise.reject(new Error('x')) : 'ok'))).resolves.toBe('ok');
    expect(seen).toEqual(['svc:retry.retry', 'svc:retry.success']);
  });

  it('a meter or tracer must be an object: a function carrying the methods is refused', () => {
    const r = retry();
    const tracer = Object.assign(() => {}, { startSpan: () => {} });
    expect(() => instrument(r, { tracer: tracer as never })).toThrow(
      new TypeError('instrument: tracer must be an OpenTelemetry tracer (with startSpan), got a function'),
    );
    const noop = createNoopMeter();
    const meter = Object.assign(() => {}, {
      createCounter: noop.createCounter.bind(noop),
      createHistogram: noop.createHistogram.bind(noop),
      createObservableGauge: noop.createObservableGauge.bind(noop),
      addBatchObservableCallback: noop.addBatchObservableCallback.bind(noop),
      removeBatchObservableCallback: noop.removeBatchObservableCallback.bind(noop),
    });
    expect(() => instrument(r, { meter: meter as never })).toThrow(
      new TypeError(
        `instrument: meter must be an OpenTelemetry meter (with ${Object.keys(meter).join(', ')}), got a function`,
      ),
    );
  });

  it('a meter missing any one of its methods is refused', () => {
    const noop = createNoopMeter();
    const methods = [
      'createCounter',
      'createHistogram',
      'createObservableGauge',
      'addBatchObservableCallback',
      'removeBatchObservableCallback',
    ] as const;
    for (const missing of methods) {
      const meter: Record<string, unknown> = {};
      for (const m of methods) if (m !== missing) meter[m] = noop[m].bind(noop);
      expect(() => instrument(retry(), { meter: meter as never })).toThrow(
        new TypeError(
          `instrument: meter must be an OpenTelemetry meter (with ${methods.join(', ')}), got {}`,
        ),
      );
    }
  });

  it('spans.attempt is validated under its own name', () => {
    expect(() => instrument(retry(), { spans: { attempt: 1 as never } })).toThrow(
      new TypeError('instrument: spans.attempt must be a boolean, got 1'),
    );
  });

  it('without a clock option, durations are read from performance.now()', async () => {
    t = new Telemetry();
    const readings = [100, 110, 130, 350];
    vi.spyOn(performance, 'now').mockImplementation(() => readings.shift() ?? 1_000_000);
    const p = instrument(retry({ maxAttempts: 1 }), { name: 'perf', meter: t.meter });
    await expect(p.execute(() => 'ok')).resolves.toBe('ok');
    vi.restoreAllMocks();
    const all = await t.metrics();
    expect(histogram(all.get(METRIC_NAMES.attemptDuration)!)).toEqual([
      { attributes: { [P]: 'perf', [OUTCOME]: 'success' }, count: 1, sum: 0.02 },
    ]);
    expect(histogram(all.get(METRIC_NAMES.pipelineDuration)!)).toEqual([
      { attributes: { [P]: 'perf', [OUTCOME]: 'success' }, count: 1, sum: 0.25 },
    ]);
  });

  it("without meter or tracer options, metrics and spans come under the instrumentation scope 'bulwark'", async () => {
    t = new Telemetry();
    expect(metrics.setGlobalMeterProvider(t.meterProvider)).toBe(true);
    expect(trace.setGlobalTracerProvider(t.tracerProvider)).toBe(true);
    try {
      const p = instrument(retry({ maxAttempts: 1 }), { name: 'scoped', spans: { pipeline: true } });
      await p.execute(() => 'ok');
      const { resourceMetrics } = await t.reader.collect();
      expect(resourceMetrics.scopeMetrics.map((s) => s.scope.name)).toEqual(['bulwark']);
      expect(t.finished().map((s) => [s.name, s.instrumentationScope.name])).toEqual([
        ['bulwark scoped', 'bulwark'],
      ]);
    } finally {
      metrics.disable();
      trace.disable();
    }
  });
});

describe('otel layers', () => {
  it('with attempt spans but no metrics SDK, a call reads the clock for its attempt span only, never for the whole call', async () => {
    t = new Telemetry();
    const clock = new ReadCountingClock();
    const p = instrument(retry({ maxAttempts: 1 }), {
      name: 'spans-only',
      meter: createNoopMeter(),
      tracer: t.tracer,
      spans: { attempt: true },
      clock,
    });
    await expect(p.execute(() => 'ok')).resolves.toBe('ok');
    // The attempt span's start and end (read even without metrics); none for the whole call.
    expect(clock.reads).toBe(2);
    await expect(p.execute(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(clock.reads).toBe(4);
    expect(t.finished().map((s) => s.name)).toEqual([
      'bulwark spans-only attempt',
      'bulwark spans-only attempt',
    ]);
  });
});

describe('otel recorder', () => {
  it('duration histograms offer the fixed bucket boundaries, from 1 ms to a minute', async () => {
    t = new Telemetry();
    const p = instrument(retry({ maxAttempts: 1 }), { name: 'b', meter: t.meter });
    await p.execute(() => 'ok');
    const all = await t.metrics();
    const expected = [
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60,
    ];
    for (const name of [METRIC_NAMES.attemptDuration, METRIC_NAMES.pipelineDuration]) {
      expect((all.get(name)!.dataPoints[0]!.value as Histogram).buckets.boundaries).toEqual(expected);
    }
  });

  it('every instrument has its description and unit', async () => {
    t = new Telemetry();
    const clock = new VirtualClock();
    const p = instrument(
      pipeline(
        retry({ maxAttempts: 2, backoff: 0 }),
        circuitBreaker({ consecutiveFailures: 5, clock }),
        throttle({ clock, random: () => 0.99 }),
        rateLimit({ type: 'tokenBucket', rate: 5, per: 1_000, burst: 5, clock }),
        bulkhead({ limit: 2, queue: 1 }),
      ),
      { name: 'all', meter: t.meter, clock },
    );
    let n = 0;
    await expect(p.execute(() => (n++ === 0 ? Promise.reject(new Error('x')) : 'ok'))).resolves.toBe('ok');
    const all = await t.metrics();
    const descriptors = Object.fromEntries(
      [...all.values()].map((m) => [m.descriptor.name, [m.descriptor.description, m.descriptor.unit]]),
    );
    expect(descriptors).toEqual({
      [METRIC_NAMES.events]: [
        'Events emitted by resilience policies (retries, rejections, timeouts, state changes...).',
        '{event}',
      ],
      [METRIC_NAMES.attemptDuration]: ['Duration of each attempt of the protected work.', 's'],
      [METRIC_NAMES.pipelineDuration]: [
        'Duration of each execution through the pipeline, retries and waits included.',
        's',
      ],
      [METRIC_NAMES.breakerState]: [
        'Circuit breaker state: 0 closed, 1 half-open, 2 open, 3 isolated.',
        '{state}',
      ],
      [METRIC_NAMES.policyHealth]: ['Policy health: 0 ok, 1 degraded, 2 down.', '{status}'],
      [METRIC_NAMES.concurrencyActive]: ['Calls running inside a concurrency-limiting policy.', '{call}'],
      [METRIC_NAMES.concurrencyLimit]: [
        'Current concurrency limit of a concurrency-limiting policy.',
        '{call}',
      ],
      [METRIC_NAMES.queueLength]: ["Calls waiting in a policy's queue.", '{call}'],
      [METRIC_NAMES.rateLimitAvailable]: ['Permits a rate limiter could hand out now.', '{permit}'],
      [METRIC_NAMES.throttleProbability]: [
        'Probability that a client-side throttle rejects a call now.',
        '1',
      ],
    });
  });

  it('a meter that drops one of the two duration histograms still gets the other one timed', async () => {
    t = new Telemetry();
    const pipelineOnly = instrument(retry({ maxAttempts: 1 }), {
      name: 'whole',
      meter: withNoopHistogram(t.meter, METRIC_NAMES.attemptDuration),
      clock: manualClock(),
    });
    const attemptsOnly = instrument(retry({ maxAttempts: 1 }), {
      name: 'each',
      meter: withNoopHistogram(t.meter, METRIC_NAMES.pipelineDuration),
      clock: manualClock(),
    });
    await pipelineOnly.execute(() => 'ok');
    await attemptsOnly.execute(() => 'ok');
    const all = await t.metrics();
    expect(histogram(all.get(METRIC_NAMES.pipelineDuration)!)).toEqual([
      { attributes: { [P]: 'whole', [OUTCOME]: 'success' }, count: 1, sum: 0 },
    ]);
    expect(histogram(all.get(METRIC_NAMES.attemptDuration)!)).toEqual([
      { attributes: { [P]: 'each', [OUTCOME]: 'success' }, count: 1, sum: 0 },
    ]);
  });

  it('gauges a policy does not report are not observed at all (the SDK would warn of a non-number)', async () => {
    t = new Telemetry();
    const warnings: string[] = [];
    const log = (message: string) => warnings.push(message);
    const logger: DiagLogger = { error: log, warn: log, info: () => {}, debug: () => {}, verbose: () => {} };
    diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
    try {
      instrument(new Reporting('bare', {}), { name: 'g', meter: t.meter });
      const all = await t.metrics();
      expect(points(all.get(METRIC_NAMES.policyHealth)!)).toEqual([
        {
          attributes: { [P]: 'g', 'bulwark.policy.kind': 'custom', 'bulwark.policy.name': 'bare' },
          value: 0,
        },
      ]);
      expect(warnings).toEqual([]);
    } finally {
      diag.disable();
    }
  });

  it('events with no active span go nowhere, without a listener error', async () => {
    t = new Telemetry();
    const listenerErrors: unknown[] = [];
    const previous = setListenerErrorHandler((error) => listenerErrors.push(error));
    try {
      const p = instrument(retry({ maxAttempts: 2, backoff: 0 }), {
        name: 'q',
        meter: t.meter,
        tracer: t.tracer,
      });
      let n = 0;
      await expect(p.execute(() => (n++ === 0 ? Promise.reject(new Error('x')) : 'ok'))).resolves.toBe('ok');
      expect(points(await t.metric(METRIC_NAMES.events))).toHaveLength(1);
    } finally {
      setListenerErrorHandler(previous);
    }
    expect(listenerErrors).toEqual([]);
  });

  it('a pipeline duration is the time from entry to exit on a clock that did not start at 0', async () => {
    t = new Telemetry();
    const clock = manualClock(5_000);
    const p = instrument(retry({ maxAttempts: 1 }), { name: 'late', meter: t.meter, clock });
    await p.execute(() => {
      clock.time += 40;
      return 'ok';
    });
    const all = await t.metrics();
    expect(histogram(all.get(METRIC_NAMES.pipelineDuration)!)).toEqual([
      { attributes: { [P]: 'late', [OUTCOME]: 'success' }, count: 1, sum: 0.04 },
    ]);
    expect(histogram(all.get(METRIC_NAMES.attemptDuration)!)).toEqual([
      { attributes: { [P]: 'late', [OUTCOME]: 'success' }, count: 1, sum: 0.04 },
    ]);
  });

  it('after close(), no pipeline or attempt span is started', async () => {
    t = new Telemetry();
    const p = instrument(retry({ maxAttempts: 1 }), {
      name: 'closed',
      meter: t.meter,
      tracer: t.tracer,
      spans: { pipeline: true, attempt: true },
    });
    await p.execute(() => 'before');
    expect(t.finished().map((s) => s.name)).toEqual(['bulwark closed attempt', 'bulwark closed']);
    p.close();
    await expect(p.execute(() => 'after')).resolves.toBe('after');
    await expect(p.execute(() => Promise.reject(new Error('after')))).rejects.toThrow('after');
    expect(t.finished()).toHaveLength(2);
  });

  it("a sampled-out span is not made active: the caller's span still gets the events and the work's spans", async () => {
    t = new Telemetry();
    const sampledOut = new BasicTracerProvider({ sampler: new AlwaysOffSampler() });
    const p = instrument(retry({ maxAttempts: 2, backoff: 0, name: 'r' }), {
      name: 'off',
      meter: t.meter,
      tracer: sampledOut.getTracer('off'),
      spans: { pipeline: true, attempt: true },
    });
    const request = t.tracer.startSpan('request');
    let n = 0;
    const call = context.with(trace.setSpan(context.active(), request), () =>
      p.execute(() => {
        const own = t.tracer.startSpan('work');
        own.end();
        return n++ === 0 ? Promise.reject(new Error('x')) : 'ok';
      }),
    );
    await expect(call).resolves.toBe('ok');
    request.end();
    const spans = t.finished();
    const requestId = request.spanContext().spanId;
    expect(spans.map((s) => [s.name, s.parentSpanContext?.spanId === requestId])).toEqual([
      ['work', true],
      ['work', true],
      ['request', false],
    ]);
    expect(spans[2]!.events.map((e) => [e.name, e.attributes?.[ERR]])).toEqual([['bulwark.retry', 'Error']]);
    await sampledOut.shutdown();
  });
});
