// Run by test/keyed/memory.test.ts as `node --expose-gc --import tsx memory-probe.mts <scenario>`:
// builds 10 000 keyed circuit breakers, each having run one call, and prints
// the heap they retain per breaker (key strings, map entries and bookkeeping
// included) as JSON.
import { circuitBreaker, keyed } from '../../src/index.js';

const KEYS = 10_000;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

function heapUsed(): number {
  gc!();
  gc!();
  const memory = process.memoryUsage();
  return memory.heapUsed + memory.arrayBuffers;
}

const scenario = process.argv[2] ?? 'healthy';
const options =
  scenario === 'time' ? { window: { type: 'time', duration: 60_000 } as const } : { failureRate: 0.5 };
const failing = scenario === 'failure';

const before = heapUsed();
const policy = keyed(() => circuitBreaker(options), { maxKeys: KEYS });
for (let i = 0; i < KEYS; i++) {
  await policy
    .execute(`host-${i}.example.com`, () => {
      if (failing) throw new Error('down');
      return i;
    })
    .catch(() => {});
}
const after = heapUsed();
if (policy.size !== KEYS) throw new Error(`expected ${KEYS} keys, got ${policy.size}`);
process.stdout.write(`${JSON.stringify({ scenario, bytesPerBreaker: (after - before) / KEYS })}\n`);
