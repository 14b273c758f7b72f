/**
 * Tests written to kill mutants that survived `npm run mutation` on the
 * options and construction of src/queue/queue-for-later.ts (see
 * docs/testing.md, "Mutation testing"): each pins a behaviour that no other
 * test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { type DeferredQueue, memoryQueue, queueForLater, retry } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

/** A queue holding what a previous process left, and a handler recording what it was given. */
async function leftOver(options: { drainOnStart?: boolean }) {
  const clock = new VirtualClock();
  const queue = memoryQueue<string>();
  await queue.enqueue('left over');
  const done: string[] = [];
  const later = queueForLater<string>({
    policy: retry({ maxAttempts: 1 }),
    handler: (item) => {
      done.push(item);
    },
    queue,
    clock,
    ...options,
  });
  return { clock, queue, done, later };
}

describe('queueForLater options', () => {
  it('option errors name queueForLater and the option', () => {
    const policy = retry();
    const handler = () => 1;
    expect(() => queueForLater(5 as never)).toThrow(
      new TypeError('queueForLater: options must be an object, got 5'),
    );
    expect(() => queueForLater(undefined as never)).toThrow(
      new TypeError('queueForLater: options are required: { policy, handler }'),
    );
    expect(() => queueForLater({ policy, handler, name: 5 as never })).toThrow(
      new TypeError('queueForLater: name must be a non-empty string, got 5'),
    );
    expect(() => queueForLater({ policy, handler: 5 as never })).toThrow(
      new TypeError('queueForLater: handler must be a function, got 5'),
    );
    expect(() => queueForLater({ policy, handler, queueOn: 5 as never })).toThrow(
      new TypeError('queueForLater: queueOn must be a function, got 5'),
    );
    expect(() => queueForLater({ policy, handler, deadLetter: 5 as never })).toThrow(
      new TypeError('queueForLater: deadLetter must be a function, got 5'),
    );
    expect(() => queueForLater({ policy, handler, retryInterval: 0 })).toThrow(
      new RangeError('queueForLater: retryInterval must be a number > 0, got 0'),
    );
  });

  it('is named queueForLater by default', () => {
    const later = queueForLater({ policy: retry(), handler: () => 1, drainOnStart: false });
    expect(later.name).toBe('queueForLater');
  });

  it('refuses a queue that lacks any of enqueue(), drain() and size(), or is not an object', () => {
    const policy = retry();
    const handler = () => 1;
    const enqueue = async () => {};
    const drain = async () => 0;
    const size = () => 0;
    const message = /^queueForLater: queue must have enqueue\(\), drain\(\) and size\(\), got /;
    for (const queue of [
      { drain, size },
      { enqueue, size },
      { enqueue, drain },
    ]) {
      expect(() => queueForLater({ policy, handler, queue: queue as never, drainOnStart: false })).toThrow(
        message,
      );
    }
    const callable = Object.assign(() => {}, { enqueue, drain, size });
    expect(() => queueForLater({ policy, handler, queue: callable as never, drainOnStart: false })).toThrow(
      new TypeError('queueForLater: queue must have enqueue(), drain() and size(), got a function'),
    );
    expect(() => queueForLater({ policy, handler, queue: null as never, drainOnStart: false })).toThrow(
      new TypeError('queueForLater: queue must have enqueue(), drain() and size(), got null'),
    );
    const queue: DeferredQueue<unknown> = { enqueue, drain, size };
    expect(queueForLater({ policy, handler, queue, drainOnStart: false }).queue).toBe(queue);
  });

  it('drainOnStart: false leaves what the queue held at start untouched', async () => {
    const { clock, queue, done, later } = await leftOver({ drainOnStart: false });
    await clock.settle();
    expect(done).toEqual([]);
    expect(queue.size()).toBe(1);
    later.close();
  });

  it('drainOnStart: true drains what the queue held at start', async () => {
    const { clock, queue, done, later } = await leftOver({ drainOnStart: true });
    await clock.settle();
    expect(done).toEqual(['left over']);
    expect(queue.size()).toBe(0);
    later.close();
  });

  it('with drainOnStart: false, the first live success still drains what the queue held at start', async () => {
    const { clock, queue, done, later } = await leftOver({ drainOnStart: false });
    expect(await later.submit('live')).toEqual({ queued: false, value: undefined });
    await clock.settle();
    expect(done).toEqual(['live', 'left over']);
    expect(queue.size()).toBe(0);
    later.close();
  });
});
