import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type Attributes, context } from '@opentelemetry/api';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  type MetricData,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** A reader the test collects from when it decides (no export interval, no timers). */
class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** The real OpenTelemetry SDK, in memory: a meter provider read on demand and a tracer provider with an in-memory exporter. */
export class Telemetry {
  readonly reader = new ManualReader();
  readonly meterProvider = new MeterProvider({ readers: [this.reader] });
  readonly meter = this.meterProvider.getMeter('test');
  readonly spans = new InMemorySpanExporter();
  readonly tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(this.spans)],
  });
  readonly tracer = this.tracerProvider.getTracer('test');

  /** Every metric the SDK holds now, by instrument name. */
  async metrics(): Promise<Map<string, MetricData>> {
    const { resourceMetrics, errors } = await this.reader.collect();
    if (errors.length > 0) throw errors[0];
    const out = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics)
      for (const m of scope.metrics) out.set(m.descriptor.name, m);
    return out;
  }

  /** One metric, which must exist. */
  async metric(name: string): Promise<MetricData> {
    const m = (await this.metrics()).get(name);
    if (m === undefined) throw new Error(`no metric ${name}`);
    return m;
  }

  finished(): ReadableSpan[] {
    return this.spans.getFinishedSpans();
  }

  async shutdown(): Promise<void> {
    await this.meterProvider.shutdown();
    await this.tracerProvider.shutdown();
  }
}

/** The data points of `metric` as `[attributes, value]`, sorted for stable comparison. */
export function points<T>(metric: MetricData): { attributes: Attributes; value: T }[] {
  return (metric.dataPoints as DataPoint<T>[])
    .map((p) => ({ attributes: p.attributes, value: p.value }))
    .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)));
}

/** A histogram point's count and sum, enough to check what was recorded. */
export function histogram(metric: MetricData): { attributes: Attributes; count: number; sum: number }[] {
  return points<Histogram>(metric).map((p) => ({
    attributes: p.attributes,
    count: p.value.count,
    sum: Number((p.value.sum ?? 0).toFixed(9)),
  }));
}

/** Registers AsyncLocalStorage context propagation for the test file, so "the active span" means something. */
export function useContextManager(): () => void {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  return () => {
    context.disable();
  };
}
