import { context, metrics, trace } from '@opentelemetry/api';
import { DataPointType, type Histogram, type SumMetricData } from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adaptiveConcurrency } from '../../../src/adaptive/adaptive-concurrency.js';
import {
  BulkheadFullError,
  bulkhead,
  CircuitOpenError,
  circuitBreaker,
  fallback,
  keyed,
  pipeline,
  rateLimit,
  retry,
  timeout,
} from '../../../src/index.js';
import {
  ATTRIBUTE_NAMES,
  DURATION_BUCKETS,
  INSTRUMENT_OPTIONS,
  InstrumentedPipeline,
  instrument,
  METRIC_NAMES,
} from '../../../src/integrations/otel/index.js';
import { VirtualClock } from '../../../src/testing/index.js';
import { histogram, points, Telemetry, useContextManager } from './harness.js';

let disableContext: () => void;
beforeAll(() => {
  disableContext = useContextManager();
});
afterAll(() => disableContext());

let t: Telemetry;
afterEach(async () => {
  await t?.shutdown();
});

function setup(): { clock: VirtualClock; wait: (ms: number) => Promise<void> } {
  t = new Telemetry();
  const clock = new VirtualClock();
  return { clock, wait: (ms) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms)) };
}

/** A promise settled when the test says, with a no-op catch so a refused call leaves no unhandled rejection. */
function deferred<T = string>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

const P = ATTRIBUTE_NAMES.pipeline;
const KIND = ATTRIBUTE_NAMES.policyKind;
const NAME = ATTRIBUTE_NAMES.policyName;
const EVENT = ATTRIBUTE_NAMES.event;
const OUTCOME = ATTRIBUTE_NAMES.outcome;
const ERR = ATTRIBUTE_NAMES.errorType;

describe('instrument: metrics', () => {
  it('retries (2 retries then success): events counter, attempt and pipeline durations with exact names, units and attributes', async () => {
    const { clock, wait } = setup();
    const p = instrument(pipeline({ name: 'inventory' }, retry({ maxAttempts: 3, backoff: 100, clock })), {
      meter: t.meter,
      tracer: t.tracer,
      clock,
    });
    let calls = 0;
    const call = p.execute(async () => {
      calls++;
      await wait(calls < 3 ? 10 : 20);
      if (calls < 3) throw new Error('flaky');
      return 'ok';
    });
    await clock.runAll();
    await expect(call).resolves.toBe('ok');

    const all = await t.metrics();
    const events = all.get('bulwark.policy.events')!;
    expect(events.descriptor).toMatchObject({ name: 'bulwark.policy.events', unit: '{event}' });
    expect(events.dataPointType).toBe(DataPointType.SUM);
    expect((events as SumMetricData).isMonotonic).toBe(true);
    expect(points(events)).toEqual([
      {
        attributes: { [P]: 'inventory', [KIND]: 'retry', [NAME]: 'retry', [EVENT]: 'retry', [ERR]: 'Error' },
        value: 2,
      },
    ]);

    const attempts = all.get('bulwark.attempt.duration')!;
    expect(attempts.descriptor).toMatchObject({ name: 'bulwark.attempt.duration', unit: 's' });
    expect(attempts.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(histogram(attempts)).toEqual([
      { attributes: { [P]: 'inventory', [OUTCOME]: 'failure', [ERR]: 'Error' }, count: 2, sum: 0.02 },
      { attributes: { [P]: 'inventory', [OUTCOME]: 'success' }, count: 1, sum: 0.02 },
    ]);

    const whole = all.get('bulwark.pipeline.duration')!;
    expect(whole.descriptor).toMatchObject({ name: 'bulwark.pipeline.duration', unit: 's' });
    // 10 ms attempt, 100 ms backoff, 10 ms attempt, 100 ms backoff, 20 ms attempt.
    expect(histogram(whole)).toEqual([
      { attributes: { [P]: 'inventory', [OUTCOME]: 'success' }, count: 1, sum: 0.24 },
    ]);
    const buckets = (whole.dataPoints[0]!.value as Histogram).buckets.boundaries;
    expect(buckets).toEqual(DURATION_BUCKETS);
  });

  it('an open breaker: open, stateChange and reject events; the rejected call has no attempt; state gauge 2 then 3 when isolated', async () => {
    const { clock } = setup();
    const breaker = circuitBreaker({ consecutiveFailures: 2, openFor: 1_000, clock, name: 'payments-cb' });
    const p = instrument(breaker, { name: 'payments', meter: t.meter, tracer: t.tracer, clock });
    const boom = () => Promise.reject(new Error('down'));
    await expect(p.execute(boom)).rejects.toThrow('down');
    await expect(p.execute(boom)).rejects.toThrow('down');
    await expect(p.execute(boom)).rejects.toBeInstanceOf(CircuitOpenError);

    const all = await t.metrics();
    const base = { [P]: 'payments', [KIND]: 'circuitBreaker', [NAME]: 'payments-cb' };
    expect(points(all.get(METRIC_NAMES.events)!)).toEqual([
      { attributes: { ...base, [EVENT]: 'open' }, value: 1 },
      { attributes: { ...base, [EVENT]: 'reject' }, value: 1 },
      { attributes: { ...base, [EVENT]: 'stateChange' }, value: 1 },
    ]);
    expect(histogram(all.get(METRIC_NAMES.attemptDuration)!)).toEqual([
      { attributes: { [P]: 'payments', [OUTCOME]: 'failure', [ERR]: 'Error' }, count: 2, sum: 0 },
    ]);
    expect(histogram(all.get(METRIC_NAMES.pipelineDuration)!)).toEqual([
      { attributes: { [P]: 'payments', [OUTCOME]: 'failure', [ERR]: 'CircuitOpenError' }, count: 1, sum: 0 },
      { attributes: { [P]: 'payments', [OUTCOME]: 'failure', [ERR]: 'Error' }, count: 2, sum: 0 },
    ]);
    const state = all.get('bulwark.circuit_breaker.state')!;
    expect(state.descriptor).toMatchObject({ unit: '{state}' });
    expect(state.dataPointType).toBe(DataPointType.GAUGE);
    expect(points(state)).toEqual([{ attributes: base, value: 2 }]);
    expect(points(all.get('bulwark.policy.health')!)).toEqual([{ attributes: base, value: 2 }]);

    const release = breaker.isolate();
    expect(points(await t.metric(METRIC_NAMES.breakerState))).toEqual([{ attributes: base, value: 3 }]);
    release();
    expect(points(await t.metric(METRIC_NAMES.breakerState))).toEqual([{ attributes: base, value: 0 }]);
    expect(points(await t.metric(METRIC_NAMES.policyHealth))).toEqual([{ attributes: base, value: 0 }]);
  });

  it('a shed request (bulkhead full): reject event, BulkheadFullError duration, in-flight, limit and queue gauges', async () => {
    setup();
    const bh = bulkhead({ limit: 1, queue: 1, name: 'db-pool' });
    const p = instrument(bh, { name: 'db', meter: t.meter, tracer: t.tracer });
    const first = deferred();
    const running = p.execute(() => first.promise);
    const queued = p.execute(() => 'second');
    await expect(p.execute(() => 'shed')).rejects.toBeInstanceOf(BulkheadFullError);

    const base = { [P]: 'db', [KIND]: 'bulkhead', [NAME]: 'db-pool' };
    const all = await t.metrics();
    expect(points(all.get(METRIC_NAMES.events)!)).toEqual([
      { attributes: { ...base, [EVENT]: 'queued' }, value: 1 },
      { attributes: { ...base, [EVENT]: 'reject' }, value: 1 },
    ]);
    expect(
      histogram(all.get(METRIC_NAMES.pipelineDuration)!).map((h) => [h.attributes[ERR], h.count]),
    ).toEqual([['BulkheadFullError', 1]]);
    expect(points(all.get('bulwark.concurrency.active')!)).toEqual([{ attributes: base, value: 1 }]);
    expect(points(all.get('bulwark.concurrency.limit')!)).toEqual([{ attributes: base, value: 1 }]);
    expect(points(all.get('bulwark.queue.length')!)).toEqual([{ attributes: base, value: 1 }]);
    expect(points(all.get(METRIC_NAMES.policyHealth)!)).toEqual([{ attributes: base, value: 1 }]);
    for (const name of ['bulwark.concurrency.active', 'bulwark.concurrency.limit', 'bulwark.queue.length']) {
      expect(all.get(name)!.descriptor.unit).toBe('{call}');
    }

    first.resolve('first');
    await expect(running).resolves.toBe('first');
    await expect(queued).resolves.toBe('second');
    const after = await t.metrics();
    expect(points(after.get(METRIC_NAMES.concurrencyActive)!)).toEqual([{ attributes: base, value: 0 }]);
    expect(points(after.get(METRIC_NAMES.queueLength)!)).toEqual([{ attributes: base, value: 0 }]);
    expect(points(after.get(METRIC_NAMES.policyHealth)!)).toEqual([{ attributes: base, value: 0 }]);
  });

  it('gauges cover every policy in the tree: rate limiter permits and queue, adaptive limit and in-flight', async () => {
    const { clock } = setup();
    const limiter = rateLimit({
      type: 'tokenBucket',
      rate: 5,
      per: 1_000,
      burst: 5,
      clock,
      name: 'api-quota',
    });
    const adaptive = adaptiveConcurrency({ initialLimit: 7, clock, name: 'auto' });
    const p = instrument(pipeline({ name: 'search' }, limiter, adaptive), {
      meter: t.meter,
      tracer: t.tracer,
      clock,
    });
    const held = deferred();
    const call = p.execute(() => held.promise);
    await p.execute(() => 'ok');

    const all = await t.metrics();
    const quota = { [P]: 'search', [KIND]: 'rateLimit', [NAME]: 'api-quota' };
    const auto = { [P]: 'search', [KIND]: 'adaptiveConcurrency', [NAME]: 'auto' };
    expect(points(all.get('bulwark.rate_limit.available')!)).toEqual([{ attributes: quota, value: 3 }]);
    expect(all.get('bulwark.rate_limit.available')!.descriptor.unit).toBe('{permit}');
    expect(points(all.get(METRIC_NAMES.queueLength)!)).toEqual([
      { attributes: auto, value: 0 },
      { attributes: quota, value: 0 },
    ]);
    expect(points(all.get(METRIC_NAMES.concurrencyActive)!)).toEqual([{ attributes: auto, value: 1 }]);
    expect(points(all.get(METRIC_NAMES.concurrencyLimit)!)).toEqual([
      { attributes: auto, value: adaptive._health().limit },
    ]);
    // The pipeline is a container: health series only for the policies in it.
    expect(points(all.get(METRIC_NAMES.policyHealth)!).map((x) => x.attributes[KIND])).toEqual([
      'adaptiveConcurrency',
      'rateLimit',
    ]);
    held.resolve('done');
    await call;
  });

  it("a throttle's rejection probability is a gauge, and its throttle events are counted", async () => {
    const { throttle } = await import('../../../src/index.js');
    const { clock } = setup();
    const th = throttle({ k: 1.1, clock, random: () => 0, name: 'backend' });
    const p = instrument(th, { name: 'api', meter: t.meter });
    for (let i = 0; i < 20; i++) await p.execute(() => Promise.reject(new Error('503'))).catch(() => {});
    const all = await t.metrics();
    const attrs = { [P]: 'api', [KIND]: 'throttle', [NAME]: 'backend' };
    const gauge = all.get('bulwark.throttle.probability')!;
    expect(gauge.descriptor.unit).toBe('1');
    const probability = th._health().probability as number;
    expect(probability).toBeGreaterThan(0);
    expect(points(gauge)).toEqual([{ attributes: attrs, value: probability }]);
    const throttled = points<number>(all.get(METRIC_NAMES.events)!).find(
      (x) => x.attributes[EVENT] === 'throttle',
    );
    expect(throttled?.value).toBeGreaterThan(0);
    expect(throttled?.attributes).toEqual({ ...attrs, [EVENT]: 'throttle' });
  });

  it("a keyed policy's per-key policies are heard from their first call and folded into one series per name", async () => {
    const { clock } = setup();
    const perHost = keyed(
      (_host: string) => circuitBreaker({ consecutiveFailures: 1, clock, name: 'host-cb' }),
      {
        clock,
      },
    );
    const p = instrument(pipeline({ name: 'http' }, perHost), { meter: t.meter, tracer: t.tracer, clock });
    await expect(p.execute(() => Promise.reject(new Error('a down')), { key: 'a' })).rejects.toThrow();
    await p.execute(() => 'b ok', { key: 'b' });
    await expect(p.execute(() => 'a again', { key: 'a' })).rejects.toBeInstanceOf(CircuitOpenError);

    const all = await t.metrics();
    const cb = { [P]: 'http', [KIND]: 'circuitBreaker', [NAME]: 'host-cb' };
    const k = { [P]: 'http', [KIND]: 'keyed', [NAME]: 'keyed' };
    expect(points(all.get(METRIC_NAMES.events)!)).toEqual([
      { attributes: { ...cb, [EVENT]: 'open' }, value: 1 },
      { attributes: { ...cb, [EVENT]: 'reject' }, value: 1 },
      { attributes: { ...cb, [EVENT]: 'stateChange' }, value: 1 },
      { attributes: { ...k, [EVENT]: 'create' }, value: 2 },
    ]);
    // One open breaker (a) and one closed (b): one series, the worst state.
    expect(points(all.get(METRIC_NAMES.breakerState)!)).toEqual([{ attributes: cb, value: 2 }]);
    expect(points(all.get(METRIC_NAMES.policyHealth)!)).toEqual([
      { attributes: cb, value: 2 },
      { attributes: k, value: 1 },
    ]);
  });

  it('concurrency counts of policies sharing a name add up', async () => {
    setup();
    const perTenant = keyed((_tenant: string) => bulkhead({ limit: 2, queue: 0, name: 'tenant' }));
    const p = instrument(perTenant, { name: 'api', meter: t.meter, tracer: t.tracer });
    const held = deferred();
    const calls = ['a', 'a', 'b'].map((key) => p.execute(() => held.promise, { key }));
    const tenant = { [P]: 'api', [KIND]: 'bulkhead', [NAME]: 'tenant' };
    const all = await t.metrics();
    expect(points(all.get(METRIC_NAMES.concurrencyActive)!)).toEqual([{ attributes: tenant, value: 3 }]);
    expect(points(all.get(METRIC_NAMES.concurrencyLimit)!)).toEqual([{ attributes: tenant, value: 4 }]);
    held.resolve('x');
    await Promise.all(calls);
  });

  it('attempt duration times each attempt of the work, also when nested in an outer pipeline', async () => {
    const { clock, wait } = setup();
    const inner = instrument(retry({ maxAttempts: 2, backoff: 0, clock, name: 'r' }), {
      name: 'inner',
      meter: t.meter,
      tracer: t.tracer,
      clock,
    });
    const outer = pipeline(fallback({ value: 'fb' }), inner);
    const call = outer.execute(async (ctx) => {
      await wait(ctx.attempt * 5);
      throw new Error(`attempt ${ctx.attempt}`);
    });
    await clock.runAll();
    await expect(call).resolves.toBe('fb');
    const all = await t.metrics();
    expect(histogram(all.get(METRIC_NAMES.attemptDuration)!)).toEqual([
      { attributes: { [P]: 'inner', [OUTCOME]: 'failure', [ERR]: 'Error' }, count: 2, sum: 0.015 },
    ]);
    // The fallback is outside the instrumented policy: this pipeline failed.
    expect(histogram(all.get(METRIC_NAMES.pipelineDuration)!)).toEqual([
      { attributes: { [P]: 'inner', [OUTCOME]: 'failure', [ERR]: 'Error' }, count: 1, sum: 0.015 },
    ]);
    // retry's giveUp is counted; the fallback's events are not (it is not inside `inner`).
    expect(points(all.get(METRIC_NAMES.events)!).map((x) => x.attributes[EVENT])).toEqual([
      'giveUp',
      'retry',
    ]);
  });

  it('instrumentation invariant: attempts recorded = work calls, executions recorded = calls made, retries = attempts - executions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 8 }),
        async (failures) => {
          t = new Telemetry();
          const p = instrument(retry({ maxAttempts: 3, backoff: 0 }), { name: 'prop', meter: t.meter });
          let work = 0;
          for (const n of failures) {
            let left = n;
            await p
              .execute(() => {
                work++;
                if (left-- > 0) throw new Error('x');
                return 'ok';
              })
              .catch(() => {});
          }
          const all = await t.metrics();
          const count = (name: string) => histogram(all.get(name)!).reduce((sum, h) => sum + h.count, 0);
          expect(count(METRIC_NAMES.attemptDuration)).toBe(work);
          expect(count(METRIC_NAMES.pipelineDuration)).toBe(failures.length);
          const events = all.get(METRIC_NAMES.events);
          const retries = (events === undefined ? [] : points<number>(events))
            .filter((x) => x.attributes[EVENT] === 'retry')
            .reduce((sum, x) => sum + x.value, 0);
          expect(retries).toBe(work - failures.length);
          expect(
            histogram(all.get(METRIC_NAMES.pipelineDuration)!).find(
              (h) => h.attributes[OUTCOME] === 'failure',
            )?.count ?? 0,
          ).toBe(failures.filter((n) => n >= 3).length);
          await t.shutdown();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('close() stops recording: no more events, durations or gauge readings; calls still run', async () => {
    setup();
    const bh = bulkhead({ limit: 1, queue: 0 });
    const p = instrument(pipeline(retry({ maxAttempts: 2, backoff: 0 }), bh), { name: 'c', meter: t.meter });
    let n = 0;
    await p.execute(() => (n++ === 0 ? Promise.reject(new Error('once')) : 'ok'));
    const before = await t.metrics();
    expect(histogram(before.get(METRIC_NAMES.pipelineDuration)!)[0]!.count).toBe(1);
    expect(points(before.get(METRIC_NAMES.concurrencyActive)!)[0]!.value).toBe(0);
    p.close();
    p.close();
    n = 0;
    await expect(p.execute(() => (n++ === 0 ? Promise.reject(new Error('once')) : 'again'))).resolves.toBe(
      'again',
    );
    const held = deferred();
    const busy = p.execute(() => held.promise);
    const after = await t.metrics();
    expect(histogram(after.get(METRIC_NAMES.pipelineDuration)!)[0]!.count).toBe(1);
    expect(histogram(after.get(METRIC_NAMES.attemptDuration)!).reduce((s, h) => s + h.count, 0)).toBe(2);
    expect(points<number>(after.get(METRIC_NAMES.events)!)[0]!.value).toBe(1);
    // The bulkhead is busy now, but the gauge is no longer read.
    expect(bh.stats.running).toBe(1);
    expect(points(after.get(METRIC_NAMES.concurrencyActive)!).map((x) => x.value)).not.toContain(1);
    held.resolve('x');
    await busy;
  });

  it('without a meter option it uses the global meter provider; without an SDK it still runs every call', async () => {
    setup();
    const unrecorded = instrument(retry({ maxAttempts: 2, backoff: 0 }), { name: 'noop' });
    let n = 0;
    await expect(unrecorded.execute(() => (n++ === 0 ? Promise.reject(new Error('x')) : 'ok'))).resolves.toBe(
      'ok',
    );
    expect((await t.metrics()).size).toBe(0);

    expect(metrics.setGlobalMeterProvider(t.meterProvider)).toBe(true);
    try {
      const recorded = instrument(retry({ maxAttempts: 1 }), { name: 'global' });
      await recorded.execute(() => 'ok');
      const all = await t.metrics();
      expect(histogram(all.get(METRIC_NAMES.pipelineDuration)!)[0]!.attributes).toEqual({
        [P]: 'global',
        [OUTCOME]: 'success',
      });
    } finally {
      metrics.disable();
    }
  });

  it('without an SDK the timing layers are left out: the call runs exactly the policy’s own layers', () => {
    setup();
    const policy = pipeline(retry(), timeout(1_000));
    expect(instrument(policy, { name: 'noop' })._layers).toEqual(policy._layers);
    expect(instrument(policy, { name: 'noop', meter: metrics.getMeter('x') })._layers).toEqual(
      policy._layers,
    );
    const recorded = instrument(policy, { name: 'sdk', meter: t.meter })._layers;
    expect(recorded).toHaveLength(policy._layers.length + 2);
    expect(recorded.slice(1, -1)).toEqual(policy._layers);
    // Spans need the layers even without metrics.
    expect(instrument(policy, { name: 's', spans: { attempt: true } })._layers).toHaveLength(
      policy._layers.length + 2,
    );
    expect(instrument(policy, { name: 's', spans: { pipeline: true } })._layers).toHaveLength(
      policy._layers.length + 1,
    );
  });

  it('the pipeline name defaults to the policy name', async () => {
    setup();
    const p = instrument(timeout({ ms: 1_000, name: 'deadline' }), { meter: t.meter });
    expect(p).toBeInstanceOf(InstrumentedPipeline);
    expect(p.name).toBe('deadline');
    await p.execute(() => 1);
    expect(histogram(await t.metric(METRIC_NAMES.pipelineDuration))[0]!.attributes[P]).toBe('deadline');
  });
});

describe('instrument: traces', () => {
  it('the active span gets span events for retries, with the payload as attributes', async () => {
    const { clock, wait } = setup();
    const p = instrument(retry({ maxAttempts: 3, backoff: 100, clock, name: 'r' }), {
      name: 'inventory',
      meter: t.meter,
      tracer: t.tracer,
      clock,
    });
    const request = t.tracer.startSpan('request');
    let calls = 0;
    const call = context.with(trace.setSpan(context.active(), request), () =>
      p.execute(async () => {
        await wait(1);
        if (++calls < 3) throw new TypeError('flaky');
        return 'ok';
      }),
    );
    await clock.runAll();
    await expect(call).resolves.toBe('ok');
    request.end();
    const [span] = t.finished();
    expect(span!.name).toBe('request');
    expect(span!.events.map((e) => [e.name, e.attributes])).toEqual(
      [1, 2].map((attempt) => [
        'bulwark.retry',
        {
          [P]: 'inventory',
          [KIND]: 'retry',
          [NAME]: 'r',
          [EVENT]: 'retry',
          'bulwark.event.attempt': attempt,
          'bulwark.event.delay': 100,
          [ERR]: 'TypeError',
        },
      ]),
    );
  });

  it('span events for breaker rejections, timeouts and fallbacks', async () => {
    const { clock } = setup();
    const breaker = circuitBreaker({ consecutiveFailures: 1, openFor: 5_000, clock });
    const p = instrument(
      pipeline({ name: 'quotes' }, fallback({ value: 'cached' }), breaker, timeout({ ms: 50, clock })),
      { meter: t.meter, tracer: t.tracer, clock },
    );
    const request = t.tracer.startSpan('request');
    const hang = ({ signal }: { signal: AbortSignal }) =>
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    await context.with(trace.setSpan(context.active(), request), async () => {
      const first = p.execute(hang);
      await clock.advance(50);
      await expect(first).resolves.toBe('cached');
      await expect(p.execute(() => 'live')).resolves.toBe('cached');
    });
    request.end();
    const events = t.finished()[0]!.events.map((e) => ({ name: e.name, ...e.attributes }));
    const common = { [P]: 'quotes' };
    expect(events).toEqual([
      {
        name: 'bulwark.timeout',
        ...common,
        [KIND]: 'timeout',
        [NAME]: 'timeout',
        [EVENT]: 'timeout',
        'bulwark.event.timeout': 50,
        'bulwark.event.attempt': 1,
      },
      {
        name: 'bulwark.stateChange',
        ...common,
        [KIND]: 'circuitBreaker',
        [NAME]: 'circuitBreaker',
        [EVENT]: 'stateChange',
        'bulwark.event.from': 'closed',
        'bulwark.event.to': 'open',
      },
      {
        name: 'bulwark.open',
        ...common,
        [KIND]: 'circuitBreaker',
        [NAME]: 'circuitBreaker',
        [EVENT]: 'open',
        'bulwark.event.reason': 'consecutiveFailures',
        'bulwark.event.failure_rate': 0,
        'bulwark.event.slow_call_rate': 0,
        'bulwark.event.calls': 0,
        'bulwark.event.retry_after': 5_000,
      },
      {
        name: 'bulwark.fallback',
        ...common,
        [KIND]: 'fallback',
        [NAME]: 'fallback',
        [EVENT]: 'fallback',
        [ERR]: 'TimeoutError',
        'bulwark.event.source': 'value',
      },
      {
        name: 'bulwark.reject',
        ...common,
        [KIND]: 'circuitBreaker',
        [NAME]: 'circuitBreaker',
        [EVENT]: 'reject',
        'bulwark.event.state': 'open',
        'bulwark.event.retry_after': 5_000,
      },
      {
        name: 'bulwark.fallback',
        ...common,
        [KIND]: 'fallback',
        [NAME]: 'fallback',
        [EVENT]: 'fallback',
        [ERR]: 'CircuitOpenError',
        'bulwark.event.source': 'value',
      },
    ]);
  });

  it('with real timers, a timeout fired by its deadline timer lands on the span of the call that armed it', async () => {
    setup();
    const p = instrument(timeout({ ms: 2 }), { name: 'rt', meter: t.meter, tracer: t.tracer });
    const hang = ({ signal }: { signal: AbortSignal }) =>
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    const request = t.tracer.startSpan('request');
    const error = await context.with(trace.setSpan(context.active(), request), () =>
      p.execute(hang).catch((e: unknown) => e),
    );
    request.end();
    expect((error as Error).name).toBe('TimeoutError');
    expect(t.finished().map((s) => [s.name, s.events.map((e) => e.name)])).toEqual([
      ['request', ['bulwark.timeout']],
    ]);
  });

  it('attempt spans hang under their own call even when a timer shared by all calls starts them (hedges)', async () => {
    const { hedge } = await import('../../../src/index.js');
    const { clock, wait } = setup();
    const p = instrument(hedge({ delay: 10, maxHedged: 1, clock }), {
      name: 'search',
      meter: t.meter,
      tracer: t.tracer,
      clock,
      spans: { attempt: true },
    });
    const requests = [t.tracer.startSpan('a'), t.tracer.startSpan('b')];
    const calls = requests.map((span) =>
      context.with(trace.setSpan(context.active(), span), () =>
        p.execute(async (ctx) => {
          await wait(ctx.attempt === 1 ? 100 : 5);
          return ctx.attempt;
        }),
      ),
    );
    // Advanced outside both calls' contexts: the hedge timer's callback runs in neither.
    await clock.runAll();
    expect(await Promise.all(calls)).toEqual([2, 2]);
    for (const span of requests) span.end();
    const spans = t.finished();
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s.name]));
    const attempts = spans.filter((s) => s.name === 'bulwark search attempt');
    expect(
      attempts
        .map(
          (s) => `${byId.get(s.parentSpanContext?.spanId ?? '')}#${s.attributes['bulwark.attempt.number']}`,
        )
        .sort(),
    ).toEqual(['a#1', 'a#2', 'b#1', 'b#2']);
  });

  it('no span is started by default, and events without an active span go nowhere', async () => {
    setup();
    const p = instrument(retry({ maxAttempts: 2, backoff: 0 }), {
      name: 'quiet',
      meter: t.meter,
      tracer: t.tracer,
    });
    let n = 0;
    await p.execute(() => (n++ === 0 ? Promise.reject(new Error('x')) : 'ok'));
    expect(t.finished()).toEqual([]);
  });

  it('spans.pipeline and spans.attempt: one span per execution, one per attempt, the work’s own spans inside the attempt', async () => {
    const { clock, wait } = setup();
    const p = instrument(retry({ maxAttempts: 3, backoff: 10, clock }), {
      name: 'inventory',
      meter: t.meter,
      tracer: t.tracer,
      clock,
      spans: { pipeline: true, attempt: true },
    });
    const request = t.tracer.startSpan('request');
    let calls = 0;
    const call = context.with(trace.setSpan(context.active(), request), () =>
      p.execute(async () => {
        calls++;
        const own = t.tracer.startSpan('SELECT stock');
        await wait(5);
        own.end();
        if (calls < 2) throw new Error('flaky');
        return 'ok';
      }),
    );
    await clock.runAll();
    await expect(call).resolves.toBe('ok');
    request.end();

    const spans = t.finished();
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const parentName = (s: (typeof spans)[number]) => byId.get(s.parentSpanContext?.spanId ?? '')?.name;
    expect(spans.map((s) => `${s.name} < ${parentName(s) ?? '-'}`)).toEqual([
      'SELECT stock < bulwark inventory attempt',
      'bulwark inventory attempt < bulwark inventory',
      'SELECT stock < bulwark inventory attempt',
      'bulwark inventory attempt < bulwark inventory',
      'bulwark inventory < request',
      'request < -',
    ]);
    const [, failedAttempt, , okAttempt, whole] = spans;
    expect(failedAttempt!.attributes).toEqual({
      [P]: 'inventory',
      'bulwark.attempt.number': 1,
      [ERR]: 'Error',
    });
    expect(failedAttempt!.status).toEqual({ code: 2, message: 'flaky' });
    expect(failedAttempt!.events.map((e) => e.name)).toEqual(['exception']);
    expect(okAttempt!.attributes).toEqual({ [P]: 'inventory', 'bulwark.attempt.number': 2 });
    expect(okAttempt!.status.code).toBe(0);
    expect(whole!.kind).toBe(0); // INTERNAL
    expect(whole!.attributes).toEqual({ [P]: 'inventory' });
    // The retry happens between attempts, so its event lands on the execution's span.
    expect(whole!.events.map((e) => e.name)).toEqual(['bulwark.retry']);
    // Durations are still recorded when spans are on.
    const all = await t.metrics();
    expect(histogram(all.get(METRIC_NAMES.pipelineDuration)!)).toEqual([
      { attributes: { [P]: 'inventory', [OUTCOME]: 'success' }, count: 1, sum: 0.02 },
    ]);
    expect(
      histogram(all.get(METRIC_NAMES.attemptDuration)!).map((h) => [h.attributes[OUTCOME], h.count, h.sum]),
    ).toEqual([
      ['failure', 1, 0.005],
      ['success', 1, 0.005],
    ]);
  });

  it('a failed execution ends its span with an error status; a thrown non-Error gets error.type _OTHER', async () => {
    setup();
    const p = instrument(timeout({ ms: 1_000 }), {
      name: 'x',
      meter: t.meter,
      tracer: t.tracer,
      spans: { pipeline: true },
    });
    await expect(p.execute(() => Promise.reject('plain string'))).rejects.toBe('plain string');
    await expect(p.execute(() => Promise.reject(new RangeError('bad')))).rejects.toThrow('bad');
    const [first, second] = t.finished();
    expect(first!.status).toEqual({ code: 2 });
    expect(first!.attributes[ERR]).toBe('_OTHER');
    expect(first!.events).toEqual([]);
    expect(second!.status).toEqual({ code: 2, message: 'bad' });
    expect(second!.attributes[ERR]).toBe('RangeError');
  });

  it('hedges become span events on the active span, and each hedged attempt is timed', async () => {
    const { hedge } = await import('../../../src/index.js');
    const { clock, wait } = setup();
    const p = instrument(hedge({ delay: 10, maxHedged: 1, clock, name: 'h' }), {
      name: 'search',
      meter: t.meter,
      tracer: t.tracer,
      clock,
    });
    const request = t.tracer.startSpan('request');
    // The hedge is started by a timer. A real timer carries the call's context
    // into its callback; a virtual one runs in whatever context advances it,
    // so advance it inside the request's.
    await context.with(trace.setSpan(context.active(), request), async () => {
      const call = p.execute(async (ctx) => {
        await wait(ctx.attempt === 1 ? 100 : 5);
        return `attempt ${ctx.attempt}`;
      });
      await clock.runAll();
      await expect(call).resolves.toBe('attempt 2');
    });
    request.end();
    const events = t.finished().find((s) => s.name === 'request')!.events;
    expect(
      events.map((e) => [
        e.name,
        e.attributes?.['bulwark.event.attempt'],
        e.attributes?.['bulwark.event.trigger'],
      ]),
    ).toEqual([['bulwark.hedge', 2, 'delay']]);
    const attempts = histogram(await t.metric(METRIC_NAMES.attemptDuration));
    expect(attempts.reduce((n, h) => n + h.count, 0)).toBe(2);
  });

  it('spans on but no tracer provider: no span, durations still recorded, the work still runs', async () => {
    setup();
    const p = instrument(retry({ maxAttempts: 2, backoff: 0 }), {
      name: 'untraced',
      meter: t.meter,
      spans: { pipeline: true, attempt: true },
    });
    let n = 0;
    await expect(p.execute(() => (n++ === 0 ? Promise.reject(new Error('x')) : 'ok'))).resolves.toBe('ok');
    await expect(p.execute(() => Promise.reject(new Error('y')), {}))
      .resolves.toBe('ok')
      .catch(() => {});
    const all = await t.metrics();
    expect(
      histogram(all.get(METRIC_NAMES.attemptDuration)!).map((h) => [h.attributes[OUTCOME], h.count]),
    ).toEqual([
      ['failure', 3],
      ['success', 1],
    ]);
    expect(
      histogram(all.get(METRIC_NAMES.pipelineDuration)!).map((h) => [h.attributes[OUTCOME], h.count]),
    ).toEqual([
      ['failure', 1],
      ['success', 1],
    ]);
    expect(t.finished()).toEqual([]);
  });

  it('attempt spans without metrics: spans recorded, nothing timed', async () => {
    setup();
    const p = instrument(retry({ maxAttempts: 1 }), {
      name: 'spans-only',
      tracer: t.tracer,
      spans: { attempt: true },
    });
    await p.execute(() => 'ok');
    await expect(p.execute(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(t.finished().map((s) => [s.name, s.status.code])).toEqual([
      ['bulwark spans-only attempt', 0],
      ['bulwark spans-only attempt', 2],
    ]);
    expect((await t.metrics()).size).toBe(0);
  });

  it('without a tracer option spans go to the global tracer provider', async () => {
    setup();
    expect(trace.setGlobalTracerProvider(t.tracerProvider)).toBe(true);
    try {
      const p = instrument(retry({ maxAttempts: 1 }), {
        name: 'g',
        meter: t.meter,
        spans: { pipeline: true },
      });
      await p.execute(() => 'ok');
      expect(t.finished().map((s) => s.name)).toEqual(['bulwark g']);
    } finally {
      trace.disable();
    }
  });
});

describe('instrument: options', () => {
  it('every option is validated when instrument() is called', () => {
    const r = retry();
    expect(INSTRUMENT_OPTIONS).toEqual(['name', 'meter', 'tracer', 'spans', 'clock']);
    expect(() => instrument({} as never)).toThrow(new TypeError('instrument: expected a policy, got {}'));
    expect(() => instrument(r, 'x' as never)).toThrow(
      new TypeError('instrument: options must be an object, got "x"'),
    );
    expect(() => instrument(r, { nme: 'x' } as never)).toThrow(
      'instrument: unknown option "nme" (expected one of: name, meter, tracer, spans, clock)',
    );
    expect(() => instrument(r, { name: '' })).toThrow('instrument: name must be a non-empty string, got ""');
    expect(() => instrument(r, { meter: {} as never })).toThrow(
      'instrument: meter must be an OpenTelemetry meter (with createCounter, createHistogram, createObservableGauge, addBatchObservableCallback, removeBatchObservableCallback), got {}',
    );
    expect(() => instrument(r, { tracer: null as never })).toThrow(
      'instrument: tracer must be an OpenTelemetry tracer (with startSpan), got null',
    );
    expect(() => instrument(r, { spans: true as never })).toThrow(
      'instrument: spans must be an object, got true',
    );
    expect(() => instrument(r, { spans: { all: true } as never })).toThrow(
      'instrument: unknown option "spans.all" (expected one of: pipeline, attempt)',
    );
    expect(() => instrument(r, { spans: { pipeline: 1 as never } })).toThrow(
      'instrument: spans.pipeline must be a boolean, got 1',
    );
    expect(() => instrument(r, { clock: {} as never })).toThrow('instrument: clock must have now()');
  });
});
