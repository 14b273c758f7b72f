/**
 * A small Fastify 5 service guarded by bulwark.
 *
 *   npx tsx examples/fastify/server.ts                      serves on PORT (default 3000)
 *   EXAMPLE_SELFTEST=1 npx tsx examples/fastify/server.ts   starts, calls itself, prints, exits
 *
 * GET /report?ms=N does N ms of work (a stand-in for a database query) that
 * honours the request's signal; GET /export has its own, smaller bulkhead;
 * GET /health is the readiness probe.
 */
import Fastify from 'fastify';
import { bulkhead, pipeline, rateLimit, timeout } from '../../src/index.js';
import bulwark from '../../src/integrations/fastify/index.js';

// Outermost first: refuse floods cheaply, bound each request, then cap the work running at once.
const api = pipeline(
  { name: 'api' },
  rateLimit({ type: 'tokenBucket', rate: 20, burst: 20, name: 'api-rate' }),
  timeout({ ms: 500, name: 'api-deadline' }),
  bulkhead({ limit: 4, queue: 2, name: 'api-slots' }),
);
// Exports are heavy (200 ms here): one at a time, nobody waits.
const exports = bulkhead({ limit: 1, name: 'export-slots' });

/** Work that stops as soon as its signal aborts (a client that left, a deadline that passed). */
function work(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
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

const app = Fastify({ logger: false });
await app.register(bulwark, { policy: api, healthRoute: '/health' });

app.get<{ Querystring: { ms?: string } }>('/report', async (request) => {
  const ms = Math.min(Number(request.query.ms ?? 10) || 0, 5_000);
  await work(ms, request.bulwark.signal);
  return { report: `took ${ms} ms` };
});
app.get('/export', { config: { bulwark: exports } }, async (request) => {
  await work(200, request.bulwark.signal);
  return { export: 'done' };
});

const selfTest = process.env.EXAMPLE_SELFTEST === '1';
const base = await app.listen({ host: '127.0.0.1', port: selfTest ? 0 : Number(process.env.PORT ?? 3000) });

if (!selfTest) {
  console.log(`Listening on ${base}: try ${base}/report?ms=50, ${base}/export and ${base}/health`);
} else {
  /** One line per answer: status, body, and Retry-After when present. */
  const call = async (path: string) => {
    const response = await fetch(base + path);
    const retryAfter = response.headers.get('retry-after');
    return `${response.status} ${await response.text()}${retryAfter === null ? '' : ` Retry-After: ${retryAfter}`}`;
  };
  /** Identical answers counted, e.g. `6 × 200, 4 × 503 {"error":"ERR_BULKHEAD_FULL"}`. */
  const tally = (answers: string[]) => {
    const counts = new Map<string, number>();
    for (const answer of answers) {
      const key = answer.startsWith('200') ? '200' : answer;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([answer, n]) => `${n} × ${answer}`).join(', ');
  };
  const many = (n: number, path: string) => Promise.all(Array.from({ length: n }, () => call(path)));

  console.log('one request:       ', await call('/report?ms=10'));
  console.log('past the deadline: ', await call('/report?ms=1000'));
  // 10 at once: 4 run, 2 wait in the queue, 4 are shed.
  console.log('a burst of 10:     ', tally(await many(10, '/report?ms=50')));
  console.log('3 exports at once: ', tally(await many(3, '/export')));
  // The token bucket holds 20: a flood of 60 instant requests overdraws it.
  console.log('a flood of 60:     ', tally(await many(60, '/report?ms=0')));
  console.log('health:            ', await call('/health'));
  await app.close();
}
