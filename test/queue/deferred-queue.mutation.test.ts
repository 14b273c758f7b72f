/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/queue/deferred-queue.ts (see docs/testing.md, "Mutation testing"): each
 * pins a behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { MemoryQueue, memoryQueue, QueueFullError } from '../../src/index.js';

describe('memoryQueue', () => {
  it('QueueFullError says which capacity refused the item', () => {
    const error = new QueueFullError(3);
    expect(error.message).toBe('Queue is full (capacity 3); the item was not stored');
    expect(error.code).toBe('ERR_QUEUE_FULL');
  });

  it('option errors name memoryQueue and the option', () => {
    expect(() => memoryQueue(5 as never)).toThrow(
      new TypeError('memoryQueue: options must be an object, got 5'),
    );
    expect(() => memoryQueue({ size: 1 } as never)).toThrow(
      new TypeError('memoryQueue: unknown option "size" (expected one of: capacity)'),
    );
    expect(() => memoryQueue({ capacity: 0 })).toThrow(
      new RangeError('memoryQueue: capacity must be an integer ≥ 1, got 0'),
    );
    expect(() => new MemoryQueue({ capacity: 1.5 })).toThrow(
      new RangeError('memoryQueue: capacity must be an integer ≥ 1, got 1.5'),
    );
  });

  it('an infinite capacity is accepted and never refuses an item', async () => {
    const queue = memoryQueue<number>({ capacity: Number.POSITIVE_INFINITY });
    expect(queue.capacity).toBe(Number.POSITIVE_INFINITY);
    for (let n = 0; n < 20_000; n++) await queue.enqueue(n);
    expect(queue.size()).toBe(20_000);
  });

  it('an item removed by a drain frees its room at once, even when the drain then stops', async () => {
    const queue = memoryQueue<number>({ capacity: 2 });
    await queue.enqueue(1);
    await queue.enqueue(2);
    // During the drain: item 1 is removed while 2 is handled, so one slot is free.
    const seen: number[] = [];
    await expect(
      queue.drain(async (n) => {
        seen.push(n);
        if (n === 2) {
          await queue.enqueue(3);
          throw new Error('stop');
        }
      }),
    ).rejects.toThrow('stop');
    expect(seen).toEqual([1, 2]);
    expect(queue.size()).toBe(2);
    await expect(queue.enqueue(4)).rejects.toBeInstanceOf(QueueFullError);

    // After a drain that stopped: the removed item's slot is free too.
    const other = memoryQueue<number>({ capacity: 3 });
    for (const n of [1, 2]) await other.enqueue(n);
    await expect(
      other.drain(async (n) => {
        if (n === 2) throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    expect(other.size()).toBe(1);
    await other.enqueue(3);
    await other.enqueue(4);
    await expect(other.enqueue(5)).rejects.toBeInstanceOf(QueueFullError);
    const rest: number[] = [];
    expect(
      await other.drain(async (n) => {
        rest.push(n);
      }),
    ).toBe(3);
    expect(rest).toEqual([2, 3, 4]);
  });
});
