/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/bulkhead (see docs/testing.md, "Mutation testing"): each pins a
 * behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { type WaitNode, WaitList } from '../../src/bulkhead/wait-list.js';
import type { Clock } from '../../src/core/clock.js';
import { BulkheadFullError, bulkhead } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

class Node implements WaitNode<Node> {
  prev: Node | undefined = undefined;
  next: Node | undefined = undefined;
  queued = false;
  constructor(readonly id: number) {}
}

function ids(list: WaitList<Node>): number[] {
  const out: number[] = [];
  for (let n = list.head; n !== undefined; n = n.next) out.push(n.id);
  return out;
}

describe('bulkhead wait list', () => {
  it('removing a node twice, or one never pushed, returns false and leaves the list whole', () => {
    const list = new WaitList<Node>();
    const [a, b, c] = [new Node(1), new Node(2), new Node(3)];
    list.push(a);
    list.push(b);
    expect(list.remove(a)).toBe(true);
    expect(list.remove(a)).toBe(false);
    expect(list.remove(c)).toBe(false);
    expect(ids(list)).toEqual([2]);
    expect(list.size).toBe(1);
    list.push(c);
    expect(ids(list)).toEqual([2, 3]);
  });
});

describe('bulkhead options', () => {
  it('names the option in every message', () => {
    expect(() => bulkhead('x' as never)).toThrow(/^bulkhead: options must be an object, got "x"$/);
    expect(() => bulkhead(undefined as never)).toThrow(
      new TypeError('bulkhead: expected a limit or { limit }, got undefined'),
    );
  });

  it('queueTimeout must be above 0', () => {
    expect(() => bulkhead({ limit: 1, queueTimeout: 0 })).toThrow(RangeError);
  });

  it('queueTimeout may be Infinity', () => {
    expect(bulkhead({ limit: 1, queue: 1, queueTimeout: Infinity }).queueTimeout).toBe(Infinity);
  });
});

describe('bulkhead queue', () => {
  it('emits queued to a listener of queued alone', async () => {
    const b = bulkhead({ limit: 1, queue: 1 });
    const queued: unknown[] = [];
    b.on('queued', (e) => queued.push(e));
    let release!: () => void;
    const first = b.execute(() => new Promise<void>((resolve) => (release = resolve)));
    const second = b.execute(() => 'second');
    expect(queued).toEqual([{ queued: 1 }]);
    release();
    await Promise.all([first, second]);
  });

  it('holds no timer for a waiting call when queueTimeout is unbounded', async () => {
    const clock = new VirtualClock();
    const b = bulkhead({ limit: 1, queue: 1, clock });
    let release!: () => void;
    const first = b.execute(() => new Promise<void>((resolve) => (release = resolve)));
    const second = b.execute(() => 'second');
    expect(clock.pending).toBe(0);
    release();
    await Promise.all([first, second]);
  });

  it('never asks the clock to clear a timer it did not set (a queue without queueTimeout)', async () => {
    const virtual = new VirtualClock();
    const cleared: unknown[] = [];
    const clock: Clock = {
      now: () => virtual.now(),
      setTimeout: (callback, ms) => virtual.setTimeout(callback, ms),
      clearTimeout: (handle) => {
        cleared.push(handle);
        virtual.clearTimeout(handle);
      },
    };
    const b = bulkhead({ limit: 1, queue: 1, clock });
    let release!: () => void;
    const first = b.execute(() => new Promise<void>((resolve) => (release = resolve)));
    const second = b.execute(() => 'second');
    release();
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, 'second']);
    expect(cleared).toEqual([]);
  });

  it('a call queued by a reject listener while the queue timer fires leaves one timer, cleared when it is admitted', async () => {
    const clock = new VirtualClock();
    const b = bulkhead({ limit: 1, queue: 1, queueTimeout: 100, clock });
    let release!: () => void;
    const first = b.execute(() => new Promise<void>((resolve) => (release = resolve)));
    let late: Promise<unknown> | undefined;
    b.on('reject', () => {
      late ??= b.execute(() => 'late');
    });
    const timedOut = b.execute(() => 'never').catch((error: unknown) => error);
    await clock.advance(100);
    expect(await timedOut).toBeInstanceOf(BulkheadFullError);
    expect(b.stats).toMatchObject({ running: 1, queued: 1 });
    expect(clock.pending).toBe(1);
    release();
    await expect(Promise.all([first, late])).resolves.toEqual([undefined, 'late']);
    expect(clock.pending).toBe(0);
  });

  it('a queue timer that fires early still rejects the calls due by its deadline', async () => {
    const virtual = new VirtualClock();
    // Fires every timer 5 ms early, as some platforms do.
    const early: Clock = {
      now: () => virtual.now(),
      setTimeout: (callback, ms) => virtual.setTimeout(callback, Math.max(0, ms - 5)),
      clearTimeout: (handle) => virtual.clearTimeout(handle),
    };
    const b = bulkhead({ limit: 1, queue: 1, queueTimeout: 100, clock: early });
    const first = b.execute(() => new Promise(() => {}));
    let outcome: unknown;
    void b
      .execute(() => 'late')
      .then(
        (value) => (outcome = value),
        (error: unknown) => (outcome = error),
      );
    await virtual.advance(95);
    expect(outcome).toBeInstanceOf(BulkheadFullError);
    void first;
  });
});
