/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/queue/queue-for-later.ts, its submit/drain/re-drive/timer part (see
 * docs/testing.md, "Mutation testing"): each pins a behaviour that no other
 * test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import {
  type DeferredQueue,
  memoryQueue,
  type QueueForLaterEvents,
  type QueueForLaterOptions,
  queueForLater,
  retry,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

/** An error carrying a retry hint, as an open breaker's rejection does. */
function hinted(message: string, retryAfter: number): Error {
  return Object.assign(new Error(message), { retryAfter });
}

/**
 * A queueForLater over a single-attempt policy whose handler runs `work`,
 * recording the events and the items handled.
 */
function setup(
  work: (item: string) => unknown,
  options: Omit<Partial<QueueForLaterOptions<string, unknown>>, 'policy' | 'handler'> = {},
) {
  const clock = (options.clock as VirtualClock | undefined) ?? new VirtualClock();
  const handled: string[] = [];
  const later = queueForLater<string>({
    policy: retry({ maxAttempts: 1 }),
    handler: async (item) => {
      handled.push(item);
      return work(item);
    },
    clock,
    ...options,
  });
  const events: [keyof QueueForLaterEvents, unknown][] = [];
  for (const name of ['queued', 'drained', 'paused', 'deadLettered'] as const) {
    later.on(name, (e) => events.push([name, e]));
  }
  return { clock, later, handled, events };
}

describe('queueForLater: submit, drains and the re-drive timer', () => {
  it('submit with options but no signal still queues a failure', async () => {
    const { later } = setup(() => {
      throw new Error('down');
    });
    const outcome = await later.submit('a', { priority: 1 });
    expect(outcome.queued).toBe(true);
    expect(await later.queue.size()).toBe(1);
    later.close();
  });

  it('a failure stored while a drain runs arms no timer once that drain empties the queue', async () => {
    let release: () => void = () => {};
    let failB = true;
    const { later, clock, events, handled } = setup(
      (item) => {
        if (item === 'a') return new Promise<void>((resolve) => (release = resolve));
        if (item === 'b' && failB) {
          failB = false;
          throw new Error('blip');
        }
        return undefined;
      },
      { drainOnStart: false, retryInterval: 5_000 },
    );
    await later.queue.enqueue('a');
    const drain = later.drain();
    await clock.settle();
    expect((await later.submit('b')).queued).toBe(true);
    release();
    expect(await drain).toBe(2);
    expect(handled).toEqual(['a', 'b', 'b']);
    expect(clock.pending).toBe(0);
    await clock.advance(5_000);
    expect(events.filter(([name]) => name === 'drained')).toEqual([['drained', { removed: 2 }]]);
  });

  it('a live success after the queue was drained starts no new drain', async () => {
    const { later, clock, events } = setup(() => 'ok');
    await clock.settle(); // the drain at start empties the queue
    expect(events).toEqual([['drained', { removed: 0 }]]);
    expect(await later.submit('live')).toEqual({ queued: false, value: 'ok' });
    await clock.settle();
    expect(events).toEqual([['drained', { removed: 0 }]]);
    later.close();
  });

  it('a live success after a drain paused starts a drain at once', async () => {
    let up = false;
    const { later, clock, handled } = setup(
      () => {
        if (!up) throw new Error('down');
      },
      { drainOnStart: false },
    );
    await later.queue.enqueue('a');
    expect(await later.drain()).toBe(0);
    up = true;
    await later.submit('live');
    await clock.settle(); // the 30 s timer has not fired: the live success drained the queue
    expect(handled).toEqual(['a', 'live', 'a']);
    expect(await later.queue.size()).toBe(0);
    later.close();
  });

  it('an item stored while the drain reads the queue size is drained by that drain', async () => {
    const inner = memoryQueue<string>();
    let submitLate: (() => Promise<unknown>) | undefined;
    // A remote queue whose size is read before a concurrent write lands.
    const queue: DeferredQueue<string> = {
      enqueue: (item) => inner.enqueue(item),
      drain: (handler) => inner.drain(handler),
      size: async () => {
        const size = inner.size();
        const late = submitLate;
        submitLate = undefined;
        if (late !== undefined) await late();
        return size;
      },
    };
    let lateFails = true;
    const { later, handled, events } = setup(
      (item) => {
        if (item === 'late' && lateFails) {
          lateFails = false;
          throw new Error('blip');
        }
      },
      { queue, drainOnStart: false },
    );
    await inner.enqueue('first');
    submitLate = () => later.submit('late');
    expect(await later.drain()).toBe(2);
    expect(handled).toEqual(['first', 'late', 'late']);
    expect(inner.size()).toBe(0);
    expect(events.at(-1)).toEqual(['drained', { removed: 2 }]);
    later.close();
  });

  it('with a deadLetter, a re-driven failure that queueOn accepts keeps the item and pauses the drain', async () => {
    const dead: unknown[] = [];
    const down = new Error('down');
    const { later, events } = setup(
      () => {
        throw down;
      },
      {
        queueOn: (error) => error === down,
        deadLetter: (item) => {
          dead.push(item);
        },
        drainOnStart: false,
        retryInterval: 4_000,
      },
    );
    await later.queue.enqueue('a');
    expect(await later.drain()).toBe(0);
    expect(dead).toEqual([]);
    expect(await later.queue.size()).toBe(1);
    expect(events).toEqual([['paused', { removed: 0, error: down, retryIn: 4_000 }]]);
    later.close();
  });

  it('without a deadLetter, a re-driven failure that queueOn refuses pauses the drain with that failure', async () => {
    const declined = new Error('declined');
    const { later, events } = setup(
      () => {
        throw declined;
      },
      { queueOn: () => false, drainOnStart: false, retryInterval: 4_000 },
    );
    await later.queue.enqueue('a');
    expect(await later.drain()).toBe(0);
    expect(events).toEqual([['paused', { removed: 0, error: declined, retryIn: 4_000 }]]);
    later.close();
  });

  it('deadLettered reports the item and the failure', async () => {
    const declined = new Error('declined');
    const { later, events } = setup(
      () => {
        throw declined;
      },
      { queueOn: () => false, deadLetter: () => {}, drainOnStart: false },
    );
    await later.queue.enqueue('x');
    expect(await later.drain()).toBe(1);
    expect(events).toEqual([
      ['deadLettered', { item: 'x', error: declined }],
      ['drained', { removed: 1 }],
    ]);
    later.close();
  });

  it('a failure with no retryAfter, or a retryAfter of 0, re-drives after retryInterval', async () => {
    for (const error of [new Error('plain'), hinted('zero', 0)]) {
      const { later, clock, events, handled } = setup(
        () => {
          throw error;
        },
        { drainOnStart: false, retryInterval: 7_000 },
      );
      await later.queue.enqueue('a');
      expect(await later.drain()).toBe(0);
      expect(events).toEqual([['paused', { removed: 0, error, retryIn: 7_000 }]]);
      await clock.advance(6_999);
      expect(handled).toEqual(['a']);
      await clock.advance(1);
      expect(handled).toEqual(['a', 'a']);
      later.close();
    }
  });

  it('a positive retryAfter sets the re-drive delay', async () => {
    const error = hinted('open', 1_500);
    const { later, events } = setup(
      () => {
        throw error;
      },
      { drainOnStart: false, retryInterval: 7_000 },
    );
    await later.queue.enqueue('a');
    await later.drain();
    expect(events).toEqual([['paused', { removed: 0, error, retryIn: 1_500 }]]);
    later.close();
  });

  it('after close(), a failed submit is stored but arms no timer', async () => {
    const { later, clock, handled } = setup(
      () => {
        throw new Error('down');
      },
      { retryInterval: 1_000 },
    );
    await clock.settle();
    later.close();
    expect((await later.submit('a')).queued).toBe(true);
    expect(clock.pending).toBe(0);
    await clock.advance(10_000);
    expect(handled).toEqual(['a']);
  });

  it('a later or equal retry hint keeps the timer already armed', async () => {
    const virtual = new VirtualClock();
    const armed: [number, number][] = [];
    const clock: Clock = {
      now: () => virtual.now(),
      setTimeout: (callback, ms) => {
        armed.push([virtual.now(), ms]);
        return virtual.setTimeout(callback, ms);
      },
      clearTimeout: (handle) => virtual.clearTimeout(handle),
    };
    const failures = [hinted('open', 1_000), new Error('plain'), hinted('open', 1_000)];
    let up = false;
    const { later, handled } = setup(
      () => {
        if (!up) throw failures.shift();
      },
      { clock, retryInterval: 60_000, drainOnStart: false },
    );
    await later.submit('a'); // due at 1 s
    await later.submit('b'); // would be due at 60 s: later
    await later.submit('c'); // due at 1 s: the same
    expect(armed).toEqual([[0, 1_000]]);
    up = true;
    await virtual.advance(1_000);
    expect(handled).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    expect(virtual.pending).toBe(0);
    later.close();
  });
});
