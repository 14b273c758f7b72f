/**
 * A small service instrumented end to end with bulwark/otel: metrics scraped
 * by Prometheus, span events on each request's span, a readiness endpoint and
 * a log line per resilience event.
 *
 *   npx tsx examples/telemetry/server.ts                      serves on PORT (default 3000)
 *   EXAMPLE_SELFTEST=1 npx tsx examples/telemetry/server.ts   starts, calls itself, scrapes /metrics once,
 *                                                             prints the bulwark lines and exits
 *
 *   GET /stock/:sku   reads stock from a flaky inventory service through a resilience pipeline
 *   GET /health       readiness: 200 while ok or degraded, 503 once a breaker is open
 *   GET /metrics      Prometheus text format (all bulwark_* series live here)
 *
 * The inventory service is simulated in process: it answers in a few ms,
 * fails now and then, and can be switched off (POST /inventory/down, /up).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import {
  backoff,
  bulkhead,
  circuitBreaker,
  fallback,
  health,
  pipeline,
  retry,
  timeout,
} from '../../src/index.js';
import { instrument } from '../../src/integrations/otel/index.js';

const selftest = process.env.EXAMPLE_SELFTEST === '1';

// ---- OpenTelemetry SDK: register it before instrument() -------------------

// /metrics is served by our own server (preventServerStart), so one port serves the API and the metrics.
const prometheus = new PrometheusExporter({
  preventServerStart: true,
  withoutScopeInfo: true,
  withoutTargetInfo: true,
});
const meterProvider = new MeterProvider({ readers: [prometheus] });

// A stand-in for an OTLP exporter: counts spans and the bulwark events on them.
let spansExported = 0;
const spanEvents = new Map<string, number>();
const countingExporter: SpanExporter = {
  export(spans: ReadableSpan[], done) {
    for (const span of spans) {
      spansExported++;
      for (const event of span.events) spanEvents.set(event.name, (spanEvents.get(event.name) ?? 0) + 1);
    }
    done({ code: 0 });
  },
  shutdown: async () => {},
};
const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(countingExporter)],
});
// Without a context manager there is no "active span" across awaits.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracer = tracerProvider.getTracer('example');

// ---- the dependency, simulated --------------------------------------------

let inventoryUp = true;
let served = 0;

/** The inventory service: a few ms per call, every 4th call fails, all fail while "down". */
function inventoryService(sku: string, signal: AbortSignal): Promise<{ sku: string; stock: number }> {
  return new Promise((resolve, reject) => {
    const n = ++served;
    const timer = setTimeout(() => {
      if (!inventoryUp) reject(Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' }));
      else if (n % 4 === 0) reject(new Error('inventory: 503 Service Unavailable'));
      else resolve({ sku, stock: sku.length * 7 });
    }, 2);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

// ---- the resilience pipeline, instrumented --------------------------------

const breaker = circuitBreaker({ consecutiveFailures: 5, openFor: 10_000, name: 'inventory-breaker' });
const slots = bulkhead({ limit: 8, queue: 16, name: 'inventory-slots' });
const stockPolicy = pipeline(
  { name: 'inventory' },
  fallback({ value: () => ({ sku: 'unknown', stock: 0, stale: true }) }),
  retry({ maxAttempts: 3, backoff: backoff.exponential({ initial: 5, max: 50 }) }),
  breaker,
  timeout({ ms: 500 }),
  slots,
);
const inventory = instrument(stockPolicy, {
  name: 'inventory',
  meter: meterProvider.getMeter('bulwark'),
  tracer: tracerProvider.getTracer('bulwark'),
});

// The logging hook: one structured line per resilience event, as pino or winston would write it.
let logged = 0;
stockPolicy.onEvent(({ pipeline: name, policy, policyName, event, data }) => {
  if (event === 'success' || event === 'failure') return;
  logged++;
  if (!selftest) {
    const error = (data as { error?: unknown }).error;
    console.log(
      JSON.stringify({
        level: 'warn',
        pipeline: name,
        policy,
        policyName,
        event,
        error: String(error ?? ''),
      }),
    );
  }
});

// ---- HTTP -----------------------------------------------------------------

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/metrics') {
    prometheus.getMetricsRequestHandler(req, res);
  } else if (url.pathname === '/health') {
    const report = health({ inventory });
    send(res, report.status === 'down' ? 503 : 200, report);
  } else if (req.method === 'POST' && url.pathname.startsWith('/inventory/')) {
    inventoryUp = url.pathname === '/inventory/up';
    send(res, 200, { inventoryUp });
  } else {
    const match = /^\/stock\/([\w-]+)$/.exec(url.pathname);
    if (match === null) send(res, 404, { error: 'not found' });
    else stock(match[1]!, res);
  }
}

/** GET /stock/:sku under a server span, as HTTP auto-instrumentation would create it. */
function stock(sku: string, res: ServerResponse): void {
  const span = tracer.startSpan('GET /stock/:sku', { kind: SpanKind.SERVER });
  void context.with(trace.setSpan(context.active(), span), async () => {
    try {
      const answer = await inventory.execute(({ signal }) => inventoryService(sku, signal));
      send(res, 200, answer);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      send(res, 503, { error: String(error) });
    } finally {
      span.end();
    }
  });
}

const server = createServer(handle);
const port = selftest ? 0 : Number(process.env.PORT ?? 3000);
server.listen(port, '127.0.0.1', () => {
  const { port: actual } = server.address() as AddressInfo;
  console.log(`telemetry example on http://127.0.0.1:${actual} (/stock/:sku, /health, /metrics)`);
  if (selftest) void selfTest(actual);
});

// ---- self-test: a few calls, one scrape, then exit -------------------------

async function selfTest(at: number): Promise<void> {
  const base = `http://127.0.0.1:${at}`;
  let exitCode = 0;
  try {
    // Healthy traffic, with a failure every 4th upstream call (retried).
    for (let i = 0; i < 12; i++) await fetch(`${base}/stock/sku-${i}`).then((r) => r.text());
    // The dependency goes down: retries give up, the breaker opens, the fallback answers.
    await fetch(`${base}/inventory/down`, { method: 'POST' });
    for (let i = 0; i < 6; i++) await fetch(`${base}/stock/sku-down-${i}`).then((r) => r.text());
    const ready = await fetch(`${base}/health`);
    const report = (await ready.json()) as { status: string };
    console.log(`health: HTTP ${ready.status} status=${report.status}`);

    const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
    // Histogram buckets are left out to keep the output short; _count and _sum are printed.
    let buckets = 0;
    for (const line of metrics.split('\n')) {
      if (!line.startsWith('bulwark_')) continue;
      if (line.includes('_bucket{')) buckets++;
      else console.log(line);
    }
    console.log(`(${buckets} histogram bucket lines not shown)`);
    console.log(`log lines: ${logged}`);
    console.log(`spans: ${spansExported}; span events: ${JSON.stringify(Object.fromEntries(spanEvents))}`);
  } catch (error) {
    console.error(error);
    exitCode = 1;
  } finally {
    inventory.close();
    server.close();
    await meterProvider.shutdown();
    await tracerProvider.shutdown();
    process.exitCode = exitCode;
  }
}
