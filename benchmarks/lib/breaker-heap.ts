import CircuitBreaker from 'opossum';
import { breakerOptions, cockatielBreaker } from './cases.js';
import type { Bulwark } from './load.js';
import { freshWork } from './measure.js';
import { heapPerInstance } from './memory.js';

export interface HeapRow {
  readonly name: string;
  readonly bytes: number;
}

export interface BreakerHeap {
  readonly rows: readonly HeapRow[];
  /** Bytes per key of `keyed(() => circuitBreaker({ consecutiveFailures: 5 }))`, if `keyed` exists. */
  readonly keyed: number | undefined;
  /** The same with the breaker's default options (a count window of 100 calls). */
  readonly keyedDefaults: number | undefined;
}

/**
 * Heap bytes per idle breaker: `n` breakers, each used for one successful
 * call and then left alone, for bulwark's `keyed` (a key each), plain
 * bulwark breakers, cockatiel and opossum.
 */
export async function breakerHeap(lib: Bulwark, n: number): Promise<BreakerHeap> {
  const work = freshWork();
  const rows: HeapRow[] = [];
  const { keyed, circuitBreaker } = lib;
  let perKey: number | undefined;
  let perKeyDefaults: number | undefined;
  if (keyed && circuitBreaker) {
    // One keyed policy holding n breakers, measured as one instance, divided by n.
    // Keys are small integers, so the figure is the breakers' and the bookkeeping's, not the keys'.
    const keyedOf = (options?: object) => async () => {
      const k = keyed(() => circuitBreaker(options), { maxKeys: n * 2 });
      for (let i = 0; i < n; i++) await k.execute(i, work);
      return k;
    };
    perKey = (await heapPerInstance(1, keyedOf(breakerOptions))) / n;
    perKeyDefaults = (await heapPerInstance(1, keyedOf())) / n;
    rows.push({ name: 'bulwark keyed(() => circuitBreaker({ consecutiveFailures: 5 }))', bytes: perKey });
    rows.push({ name: 'bulwark keyed(() => circuitBreaker()) (defaults)', bytes: perKeyDefaults });
  }
  if (circuitBreaker) {
    const bytes = await heapPerInstance(n, async () => {
      const b = circuitBreaker(breakerOptions);
      await b.execute(work);
      return b;
    });
    rows.push({ name: 'bulwark circuitBreaker({ consecutiveFailures: 5 })', bytes });
  }
  const cockatiel = await heapPerInstance(n, async () => {
    const b = cockatielBreaker(30_000);
    await b.execute(work);
    return b;
  });
  rows.push({
    name: 'cockatiel circuitBreaker(handleAll, { breaker: ConsecutiveBreaker(5) })',
    bytes: cockatiel,
  });
  const opossum = await heapPerInstance(
    n,
    async () => {
      const b = new CircuitBreaker(work, { timeout: false, resetTimeout: 30_000 });
      await b.fire();
      return b;
    },
    (items) => {
      for (const b of items) b.shutdown();
    },
  );
  rows.push({ name: 'opossum new CircuitBreaker(fn, { timeout: false })', bytes: opossum });
  return { rows, keyed: perKey, keyedDefaults: perKeyDefaults };
}
