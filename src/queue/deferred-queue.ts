import { ResilienceError } from '../core/errors.js';
import { checkKeys, checkNumber, checkObject } from '../core/validate.js';

/**
 * Where work waits for a dependency to come back. An item is removed only
 * after the work for it succeeded (at-least-once): a crash between the work
 * and the removal hands the item out again, so the work must be idempotent
 * (send an idempotency key derived from the item).
 *
 * The in-memory default ({@link memoryQueue}) loses its items when the
 * process ends; a durable adapter (a file, a database table, a broker)
 * implements the same three methods.
 */
export interface DeferredQueue<T> {
  /** Stores an item. The promise resolves once the item is stored (durably, for a durable queue). */
  enqueue(item: T): Promise<void>;
  /**
   * Hands the stored items to `handler`, oldest first and one at a time,
   * removing each only after `handler` resolved for it; items stored during
   * the drain are handed on too. Resolves with the number of items removed
   * once the queue is empty; stops at the first rejection and rejects with
   * it, leaving that item and the ones after it stored. `queueForLater`
   * never runs two drains of one queue at once.
   */
  drain(handler: (item: T) => Promise<void>): Promise<number>;
  /** Items stored now. */
  size(): number | Promise<number>;
}

/** A queue refused an item: it is full. The item was not stored. */
export class QueueFullError extends ResilienceError {
  /** The queue's capacity. */
  readonly capacity: number;
  constructor(capacity: number) {
    super('ERR_QUEUE_FULL', `Queue is full (capacity ${capacity}); the item was not stored`, {
      retryable: false,
    });
    this.capacity = capacity;
  }
}

/** Options of {@link memoryQueue}. */
export interface MemoryQueueOptions {
  /**
   * Most items held; one more is refused with `QueueFullError`. Default
   * 10 000: a dependency down for long must not grow memory without bound.
   */
  capacity?: number;
}

/** The option names `memoryQueue()` accepts. */
export const MEMORY_QUEUE_OPTIONS = ['capacity'] as const;

/** A {@link DeferredQueue} in memory: FIFO, bounded, lost when the process ends. Create it with `memoryQueue()`. */
export class MemoryQueue<T> implements DeferredQueue<T> {
  /** Most items held. */
  readonly capacity: number;
  private items: T[] = [];
  /** Index of the oldest item: removal is O(1), the array is compacted now and then. */
  private head = 0;
  private draining = false;

  constructor(options: MemoryQueueOptions = {}) {
    checkObject('memoryQueue', 'options', options);
    checkKeys('memoryQueue', options, MEMORY_QUEUE_OPTIONS);
    this.capacity = checkNumber(
      'memoryQueue',
      'capacity',
      options.capacity,
      { min: 1, integer: true, infinite: true },
      10_000,
    );
  }

  enqueue(item: T): Promise<void> {
    if (this.items.length - this.head >= this.capacity)
      return Promise.reject(new QueueFullError(this.capacity));
    this.items.push(item);
    return Promise.resolve();
  }

  async drain(handler: (item: T) => Promise<void>): Promise<number> {
    if (this.draining) throw new Error('memoryQueue: a drain is already running');
    this.draining = true;
    let removed = 0;
    try {
      while (this.head < this.items.length) {
        await handler(this.items[this.head]!);
        this.items[this.head] = undefined as T;
        this.head++;
        removed++;
        if (this.head > 1024 && this.head * 2 > this.items.length) {
          this.items = this.items.slice(this.head);
          this.head = 0;
        }
      }
      this.items = [];
      this.head = 0;
      return removed;
    } finally {
      this.draining = false;
    }
  }

  size(): number {
    return this.items.length - this.head;
  }
}

/** An in-memory {@link DeferredQueue}: for tests, and for work that may be lost with the process. */
export function memoryQueue<T>(options?: MemoryQueueOptions): MemoryQueue<T> {
  return new MemoryQueue<T>(options);
}
