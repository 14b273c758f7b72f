import { median } from './measure.js';

const gc = (globalThis as { gc?: () => void }).gc;

/** Whether heap figures can be taken (`node --expose-gc`). */
export const canMeasureHeap = gc !== undefined;

function settledHeap(): number {
  // Two passes: the first may only schedule finalization of weak structures.
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** One measurement, in its own frame: an async frame can keep its last awaited value alive. */
async function trial<T>(
  count: number,
  make: (index: number) => T | Promise<T>,
  dispose: (items: readonly T[]) => void,
): Promise<number> {
  const items = new Array<T | undefined>(count).fill(undefined);
  const before = settledHeap();
  for (let i = 0; i < count; i++) items[i] = await make(i);
  const after = settledHeap();
  dispose(items as T[]);
  return (after - before) / count;
}

/**
 * Heap bytes per instance: makes `count` instances (each may run a call, so
 * they are measured used and idle, not fresh), keeps them reachable, and
 * divides the growth of `heapUsed` after a full GC. The median of `trials`
 * runs; `dispose` releases what the instances hold (timers) after each.
 */
export async function heapPerInstance<T>(
  count: number,
  make: (index: number) => T | Promise<T>,
  dispose: (items: readonly T[]) => void = () => {},
  trials = 3,
): Promise<number> {
  if (gc === undefined) throw new Error('heap figures need node --expose-gc');
  const results: number[] = [];
  for (let i = 0; i < trials; i++) results.push(await trial(count, make, dispose));
  settledHeap();
  return median(results);
}
