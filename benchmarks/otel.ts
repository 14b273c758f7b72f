/**
 * Per-call cost of `bulwark/otel`'s `instrument()`: with no OpenTelemetry SDK
 * registered (the API's no-op meter and tracer) and, for reference, with the
 * real metrics SDK recording.
 *
 *   node --expose-gc --import tsx benchmarks/otel.ts
 *
 * Environment: BENCH_ROUNDS (5), BENCH_TIME (ms per case per round, 200),
 * BENCH_WARMUP (ms per case, 100), BENCH_CLOCK (cpu | wall). Uses the same
 * interleaved-rounds method as benchmarks/bench.ts (see lib/measure.ts).
 */
import os from 'node:os';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { bulkhead, circuitBreaker, pipeline, retry, timeout } from '../src/index.js';
import { instrument } from '../src/integrations/otel/index.js';
import { type Case, measure } from './lib/measure.js';
import { ns, ratio, table } from './lib/table.js';

const env = process.env;
const int = (value: string | undefined, fallback: number) =>
  value === undefined || value === '' ? fallback : Number(value);

const work = async () => 1;
const stack = () =>
  pipeline(
    retry({ maxAttempts: 3, backoff: 0 }),
    circuitBreaker({ failureRate: 0.5, minimumCalls: 20 }),
    timeout(1_000),
    bulkhead({ limit: 100 }),
  );

class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}
const sdk = new MeterProvider({ readers: [new ManualReader()] });

const plain = stack();
const noSdk = instrument(stack(), { name: 'no-sdk' });
const noSdkSpans = instrument(stack(), { name: 'no-sdk-spans', spans: { pipeline: true, attempt: true } });
const withSdk = instrument(stack(), { name: 'sdk', meter: sdk.getMeter('bench') });
const single = retry({ maxAttempts: 3, backoff: 0 });
const singleNoSdk = instrument(retry({ maxAttempts: 3, backoff: 0 }), { name: 'retry-no-sdk' });

const BARE = 'bare: await fn()';
const cases: Case[] = [
  { name: BARE, run: work },
  { name: 'retry', run: () => single.execute(work) },
  { name: 'retry, instrumented, no SDK', run: () => singleNoSdk.execute(work) },
  { name: '4 policies', run: () => plain.execute(work) },
  { name: '4 policies, instrumented, no SDK', run: () => noSdk.execute(work) },
  { name: '4 policies, instrumented + spans, no SDK', run: () => noSdkSpans.execute(work) },
  { name: '4 policies, instrumented, metrics SDK', run: () => withSdk.execute(work) },
];

const results = await measure(cases, {
  clock: env.BENCH_CLOCK === 'wall' ? 'wall' : 'cpu',
  rounds: int(env.BENCH_ROUNDS, 5),
  time: int(env.BENCH_TIME, 200),
  warmup: int(env.BENCH_WARMUP, 100),
  sampleMs: 1,
});
const byName = new Map(results.map((r) => [r.name, r]));
const baseline: Record<string, string> = {
  'retry, instrumented, no SDK': 'retry',
  '4 policies, instrumented, no SDK': '4 policies',
  '4 policies, instrumented + spans, no SDK': '4 policies',
  '4 policies, instrumented, metrics SDK': '4 policies',
};
console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown cpu'}, ${os.cpus().length} cores`);
console.log(
  table(
    ['case', 'ns/call', 'p50', 'p99', 'vs bare', 'added vs uninstrumented'],
    results.map((r) => {
      const base = baseline[r.name];
      const added =
        base === undefined ? '' : `${ns(r.mean - byName.get(base)!.mean)} ns (${ratio(r.ratio(base))})`;
      return [r.name, ns(r.mean), ns(r.p50), ns(r.p99), ratio(r.ratio(BARE)), added];
    }),
  ),
);
await sdk.shutdown();
