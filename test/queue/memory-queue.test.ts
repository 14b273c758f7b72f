import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryQueue, memoryQueue, QueueFullError } from '../../src/index.js';

describe('memoryQueue', () => {
  it('drains items oldest first, removing each after its handler resolved', async () => {
    const queue = memoryQueue<number>();
    for (const n of [1, 2, 3]) await queue.enqueue(n);
    const seen: [number, number][] = [];
    expect(
      await queue.drain(async (n) => {
        seen.push([n, queue.size()]);
      }),
    ).toBe(3);
    // While an item is handled it is still stored.
    expect(seen).toEqual([
      [1, 3],
      [2, 2],
      [3, 1],
    ]);
    expect(queue.size()).toBe(0);
  });

  it('stops at the first rejection, keeping that item and the rest', async () => {
    const queue = memoryQueue<number>();
    for (const n of [1, 2, 3]) await queue.enqueue(n);
    await expect(
      queue.drain(async (n) => {
        if (n === 2) throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(queue.size()).toBe(2);
    const rest: number[] = [];
    await queue.drain(async (n) => {
      rest.push(n);
    });
    expect(rest).toEqual([2, 3]);
  });

  it('items stored during a drain are drained too', async () => {
    const queue = memoryQueue<number>();
    await queue.enqueue(1);
    const seen: number[] = [];
    await queue.drain(async (n) => {
      seen.push(n);
      if (n < 3) await queue.enqueue(n + 1);
    });
    expect(seen).toEqual([1, 2, 3]);
  });

  it('is bounded: past its capacity it refuses items with QueueFullError', async () => {
    const queue = memoryQueue<number>({ capacity: 2 });
    await queue.enqueue(1);
    await queue.enqueue(2);
    const error = await queue.enqueue(3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueFullError);
    expect((error as QueueFullError).code).toBe('ERR_QUEUE_FULL');
    expect((error as QueueFullError).capacity).toBe(2);
    expect((error as QueueFullError).retryable).toBe(false);
    expect(new MemoryQueue().capacity).toBe(10_000);
    expect(memoryQueue({ capacity: Number.POSITIVE_INFINITY }).capacity).toBe(Number.POSITIVE_INFINITY);
  });

  it('refuses a second drain while one runs', async () => {
    const queue = memoryQueue<number>();
    await queue.enqueue(1);
    let release: () => void = () => {};
    const first = queue.drain(() => new Promise<void>((r) => (release = r)));
    await expect(queue.drain(async () => {})).rejects.toThrow('memoryQueue: a drain is already running');
    release();
    expect(await first).toBe(1);
  });

  it('validates its options', () => {
    expect(() => memoryQueue({ capacity: 0 })).toThrow(RangeError);
    expect(() => memoryQueue({ size: 1 } as never)).toThrow(TypeError);
  });

  it('is FIFO and loses nothing over any mix of enqueues and partial drains (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constant<'drain'>('drain'), fc.integer({ min: 0, max: 2_000 })), {
          maxLength: 30,
        }),
        fc.integer({ min: 0, max: 5 }),
        async (steps, failEvery) => {
          const queue = memoryQueue<number>({ capacity: Number.POSITIVE_INFINITY });
          const model: number[] = [];
          let next = 0;
          let handled = 0;
          for (const step of steps) {
            if (step === 'drain') {
              await queue
                .drain(async (n) => {
                  expect(n).toBe(model[0]);
                  if (failEvery > 0 && ++handled % failEvery === 0) throw new Error('stop');
                  model.shift();
                })
                .catch(() => {});
            } else {
              for (let i = 0; i < step; i++) {
                await queue.enqueue(next);
                model.push(next++);
              }
            }
            expect(queue.size()).toBe(model.length);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
