/**
 * npm run demo: a flaky HTTP service, and two clients calling it side by
 * side at the same rate: one naked, one through a bulwark pipeline.
 *
 * Environment: DEMO_SECONDS (default 15), DEMO_RATE (calls per second per
 * client, default 20), DEMO_SEED (the service's randomness, default 1).
 */
import { nakedClient, protectedClient } from './demo/clients.js';
import { statusLine, summaryTable } from './demo/report.js';
import { seededRandom, startFlakyService } from './demo/service.js';

function setting(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < min) {
    throw new RangeError(`demo: ${name} must be a number ≥ ${min}, got ${raw}`);
  }
  return value;
}

const seconds = setting('DEMO_SECONDS', 15, 0.5);
const rate = setting('DEMO_RATE', 20, 1);
const seed = setting('DEMO_SEED', 1, 0);
/** How long a user of either client waits at most. */
const deadlineMs = 2_000;
const durationMs = seconds * 1000;
// A full outage in the middle: 3 s in a 15 s run, a quarter of shorter runs.
const outageFrom = durationMs * 0.4;
const outageMs = Math.min(3_000, durationMs * 0.25);

const startedAt = performance.now();
const elapsed = () => performance.now() - startedAt;
const serviceDown = () => elapsed() >= outageFrom && elapsed() < outageFrom + outageMs;

const service = await startFlakyService({
  errorRate: 0.2,
  slowRate: 0.07,
  fastMs: [5, 40],
  slowMs: [1_000, 2_000],
  down: serviceDown,
  random: seededRandom(seed),
});
const naked = nakedClient(service.url, deadlineMs);
const guarded = protectedClient(service.url, deadlineMs);

const out = process.stdout;
out.write(
  [
    `Flaky service on ${service.url}: 20 % errors, 7 % of answers take 1–2 s, and a`,
    `${(outageMs / 1000).toFixed(1)} s outage (503) from ${(outageFrom / 1000).toFixed(1)} s.`,
    `Two clients call it for ${seconds} s, ${rate} calls/s each; every call has a ${deadlineMs / 1000} s deadline.`,
    '  naked:   fetch() alone',
    '  bulwark: fallback(last known good) › retry(3, budget) › circuitBreaker › timeout(300 ms) › bulkhead(10)',
    '',
  ].join('\n'),
);

const calls = new Set<Promise<void>>();
const start = (call: () => Promise<void>) => {
  const running = call();
  calls.add(running);
  void running.finally(() => calls.delete(running));
};

const tty = out.isTTY === true;
let shown = '';
const render = (onlyIfChanged = false) => {
  const status = statusLine([naked.stats, guarded.stats], guarded.breaker.state, serviceDown());
  if (onlyIfChanged && status === shown) return;
  shown = status;
  const line = `${(elapsed() / 1000).toFixed(1).padStart(5)} s │ ${status}`;
  out.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
};

const progress = setInterval(() => render(), tty ? 200 : 1000);
// Open loop: calls start on schedule whether or not earlier ones finished,
// as requests from many users would.
await new Promise<void>((resolve) => {
  const stop = () => {
    clearInterval(ticker);
    process.off('SIGINT', stop);
    resolve();
  };
  const ticker = setInterval(() => {
    if (elapsed() >= durationMs) return stop();
    start(naked.call);
    start(guarded.call);
  }, 1000 / rate);
  process.once('SIGINT', stop);
});
// Calls still in flight end within their deadline.
await Promise.allSettled([...calls]);
clearInterval(progress);
render(true);
await service.close();

out.write(`${tty ? '\n' : ''}\n`);
out.write(`${summaryTable(naked.stats, guarded.stats, service.reached, guarded.events)}\n`);
out.write(
  [
    '',
    'Success: the caller got an answer (fresh, or the fallback’s last known good one).',
    'Latency: every call, failures included. Requests that reached the service include retries.',
    '',
  ].join('\n'),
);
