import { describe, expect, it } from 'vitest';
import { registry } from '../../src/config/index.js';
import {
  CircuitOpenError,
  circuitBreaker,
  type DeferredQueue,
  memoryQueue,
  pipeline,
  QueueForLater,
  QueueFullError,
  queueForLater,
  retry,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

/** A dependency that is down until told otherwise, recording what it processed. */
class Gateway {
  up = false;
  readonly done: string[] = [];
  readonly calls: [string, number][] = [];
  constructor(private readonly clock: VirtualClock) {}
  handle = async (item: string): Promise<string> => {
    this.calls.push([item, this.clock.now()]);
    if (!this.up) throw new Error('gateway down');
    this.done.push(item);
    return `ok ${item}`;
  };
}

function setup(options: { openFor?: number; retryInterval?: number } = {}) {
  const clock = new VirtualClock();
  const gateway = new Gateway(clock);
  const breaker = circuitBreaker({ consecutiveFailures: 1, openFor: options.openFor ?? 10_000, clock });
  const queue = memoryQueue<string>();
  const later = queueForLater<string, string>({
    policy: pipeline(breaker),
    handler: gateway.handle,
    queue,
    clock,
    ...(options.retryInterval === undefined ? {} : { retryInterval: options.retryInterval }),
  });
  const events: unknown[] = [];
  for (const name of ['queued', 'drained', 'paused', 'deadLettered'] as const) {
    later.on(name, (e) => events.push([name, e]));
  }
  return { clock, gateway, breaker, queue, later, events };
}

describe('queue for later', () => {
  it('a call that succeeds returns its value; nothing is queued', async () => {
    const { gateway, later, queue, clock } = setup();
    gateway.up = true;
    await clock.settle();
    expect(await later.submit('a')).toEqual({ queued: false, value: 'ok a' });
    expect(queue.size()).toBe(0);
  });

  it('a failed call is stored for later instead of failing the caller', async () => {
    const { later, queue, events, clock } = setup();
    await clock.settle();
    const outcome = await later.submit('order-1');
    expect(outcome.queued).toBe(true);
    expect((outcome as { error: Error }).error.message).toBe('gateway down');
    expect(queue.size()).toBe(1);
    expect(events).toContainEqual([
      'queued',
      { item: 'order-1', error: (outcome as { error: unknown }).error },
    ]);
  });

  it('re-driven when the breaker closes: a live probe that succeeds drains the queue', async () => {
    const { gateway, later, queue, clock, events } = setup({ openFor: 10_000, retryInterval: 60_000 });
    await clock.settle();
    await later.submit('a'); // fails and opens the breaker; the timer would re-drive only at 60 s
    gateway.up = true;
    await clock.advance(10_000);
    expect(gateway.done).toEqual([]);
    // The live call is the half-open probe; its success closes the breaker, which re-drives the queue.
    expect(await later.submit('live')).toEqual({ queued: false, value: 'ok live' });
    await clock.settle();
    expect(gateway.done).toEqual(['live', 'a']);
    expect(queue.size()).toBe(0);
    expect(events.at(-1)).toEqual(['drained', { removed: 1 }]);
    expect(clock.pending).toBe(0);
  });

  it('with no live traffic, the oldest queued item is sent as the half-open probe when the open period ends', async () => {
    const { gateway, later, clock } = setup({ openFor: 10_000 });
    await clock.settle();
    await later.submit('a'); // fails at 0: the breaker opens until 10 s
    await clock.advance(3_000);
    await later.submit('b'); // rejected: 7 s left, which arms the re-drive timer
    gateway.up = true;
    await clock.advance(6_999);
    expect(gateway.done).toEqual([]);
    await clock.advance(1);
    expect(gateway.done).toEqual(['a', 'b']);
    expect(gateway.calls.filter(([item]) => item === 'a').map(([, at]) => at)).toEqual([0, 10_000]);
  });

  it('at-least-once: an item is removed only after its work succeeded; a failed drain pauses and retries later', async () => {
    const { gateway, later, queue, clock, events } = setup({ openFor: 1_000, retryInterval: 5_000 });
    await clock.settle();
    await later.submit('a'); // fails, opens the breaker; no retryAfter on the error: re-drive in 5 s
    await clock.advance(5_000); // the re-drive: 'a' is the half-open probe and fails again
    expect(queue.size()).toBe(1);
    const paused = events.find((e) => (e as [string])[0] === 'paused') as [
      string,
      { removed: number; retryIn: number },
    ];
    expect(paused[1]).toMatchObject({ removed: 0, retryIn: 5_000 });
    gateway.up = true;
    await clock.advance(4_999);
    expect(gateway.done).toEqual([]);
    await clock.advance(1);
    expect(gateway.done).toEqual(['a']);
    expect(queue.size()).toBe(0);
  });

  it('a drain stops at the first failure and keeps the order of the items', async () => {
    const clock = new VirtualClock();
    const handled: string[] = [];
    const later = queueForLater<string>({
      policy: retry({ maxAttempts: 1 }),
      handler: (item) => {
        handled.push(item);
        if (item === 'b') throw new Error('b fails');
      },
      clock,
      drainOnStart: false,
    });
    for (const item of ['a', 'b', 'c']) await later.queue.enqueue(item);
    expect(await later.drain()).toBe(1);
    expect(handled).toEqual(['a', 'b']);
    expect(await later.queue.size()).toBe(2);
    later.close();
  });

  it('queueOn: failures that waiting will not fix are rejected, not queued', async () => {
    const clock = new VirtualClock();
    const later = queueForLater({
      policy: retry({ maxAttempts: 1 }),
      handler: () => {
        throw new Error('card declined');
      },
      queueOn: (error) => (error as Error).message !== 'card declined',
      clock,
    });
    await expect(later.submit('order')).rejects.toThrow('card declined');
    expect(await later.queue.size()).toBe(0);
  });

  it('deadLetter takes a queued item whose work can never succeed, so it stops blocking the queue', async () => {
    const clock = new VirtualClock();
    const dead: unknown[] = [];
    let declined = false;
    const later = queueForLater<string>({
      policy: retry({ maxAttempts: 1 }),
      handler: (item) => {
        if (item === 'x' && declined) throw new Error('card declined');
        if (!declined) throw new Error('down');
      },
      queueOn: (error) => (error as Error).message !== 'card declined',
      deadLetter: (item, error) => {
        dead.push([item, (error as Error).message]);
      },
      clock,
    });
    const events: unknown[] = [];
    later.on('deadLettered', (e) => events.push(e));
    await later.submit('x');
    await later.submit('y');
    declined = true;
    expect(await later.drain()).toBe(2);
    expect(dead).toEqual([['x', 'card declined']]);
    expect(events).toHaveLength(1);
    expect(await later.queue.size()).toBe(0);
  });

  it('without deadLetter, an item that fails for good stays at the head', async () => {
    const clock = new VirtualClock();
    let mode = 'down';
    const later = queueForLater<string>({
      policy: retry({ maxAttempts: 1 }),
      handler: () => {
        throw new Error(mode);
      },
      queueOn: (error) => (error as Error).message === 'down',
      clock,
    });
    await later.submit('x');
    mode = 'declined';
    expect(await later.drain()).toBe(0);
    expect(await later.queue.size()).toBe(1);
    later.close();
  });

  it('a deadLetter that fails keeps the item', async () => {
    const clock = new VirtualClock();
    let declined = false;
    const later = queueForLater<string>({
      policy: retry({ maxAttempts: 1 }),
      handler: () => {
        throw new Error(declined ? 'declined' : 'down');
      },
      queueOn: (error) => (error as Error).message === 'down',
      deadLetter: () => Promise.reject(new Error('dead-letter store down')),
      clock,
    });
    await later.submit('x');
    declined = true;
    expect(await later.drain()).toBe(0);
    expect(await later.queue.size()).toBe(1);
    later.close();
  });

  it('the caller’s abort is never queued', async () => {
    const { later, queue, clock } = setup();
    await clock.settle();
    const controller = new AbortController();
    const call = later.submit('a', { signal: controller.signal });
    controller.abort(new Error('client gone'));
    await expect(call).rejects.toThrow('client gone');
    await clock.settle();
    expect(queue.size()).toBe(0);
  });

  it('when the queue refuses the item, submit rejects with its error: neither done nor queued', async () => {
    const clock = new VirtualClock();
    const later = queueForLater({
      policy: retry({ maxAttempts: 1 }),
      handler: () => {
        throw new Error('down');
      },
      queue: memoryQueue({ capacity: 1 }),
      clock,
    });
    expect((await later.submit(1)).queued).toBe(true);
    await expect(later.submit(2)).rejects.toBeInstanceOf(QueueFullError);
    later.close();
  });

  it('a live success while items wait starts a drain (the breaker may never have opened)', async () => {
    const clock = new VirtualClock();
    let up = false;
    const done: string[] = [];
    const later = queueForLater<string>({
      policy: retry({ maxAttempts: 1 }),
      handler: (item) => {
        if (!up) throw new Error('blip');
        done.push(item);
      },
      clock,
    });
    await later.submit('queued');
    up = true;
    await later.submit('live');
    await clock.settle();
    expect(done).toEqual(['live', 'queued']);
    later.close();
  });

  it('one drain at a time: a second call joins the one under way', async () => {
    const clock = new VirtualClock();
    let release: () => void = () => {};
    const later = queueForLater<string>({
      policy: retry({ maxAttempts: 1 }),
      handler: () => new Promise<void>((resolve) => (release = resolve)),
      clock,
      drainOnStart: false,
    });
    await later.queue.enqueue('a');
    const first = later.drain();
    expect(later.drain()).toBe(first);
    release();
    expect(await first).toBe(1);
  });

  it('an item stored while a drain finishes is drained by it', async () => {
    const clock = new VirtualClock();
    const handled: string[] = [];
    // A queue that reports emptiness once too early, as a remote queue might.
    const inner = memoryQueue<string>();
    const queue: DeferredQueue<string> = {
      enqueue: (item) => inner.enqueue(item),
      drain: async (handler) => {
        const removed = await inner.drain(handler);
        if (handled.length === 1) await inner.enqueue('late');
        return removed;
      },
      size: () => inner.size(),
    };
    const later = queueForLater<string>({
      policy: retry({ maxAttempts: 1 }),
      handler: (item) => {
        handled.push(item);
      },
      queue,
      clock,
      drainOnStart: false,
    });
    await queue.enqueue('first');
    await later.drain();
    expect(handled).toEqual(['first', 'late']);
  });

  it('drainOnStart: what a previous process left in a durable queue is drained at start', async () => {
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
    });
    // Not inside the constructor: after it returned.
    expect(done).toEqual([]);
    await clock.settle();
    expect(done).toEqual(['left over']);
    later.close();
  });

  it('close() stops re-driving: no timer, no reaction to the breaker', async () => {
    const { gateway, later, queue, clock } = setup({ openFor: 1_000 });
    await clock.settle();
    await later.submit('a');
    expect(clock.pending).toBe(1);
    later.close();
    expect(clock.pending).toBe(0);
    gateway.up = true;
    await clock.advance(1_000);
    await later.submit('live'); // closes the breaker
    await clock.settle();
    expect(queue.size()).toBe(1);
  });

  it('the re-drive timer does not keep the process alive (unref)', async () => {
    const clock = new VirtualClock();
    const unrefs: unknown[] = [];
    const spy = {
      now: () => clock.now(),
      setTimeout: (cb: () => void, ms: number, unref?: boolean) => {
        unrefs.push(unref);
        return clock.setTimeout(cb, ms);
      },
      clearTimeout: (h: unknown) => clock.clearTimeout(h),
    };
    const later = queueForLater({
      policy: retry({ maxAttempts: 1 }),
      handler: () => {
        throw new Error('down');
      },
      clock: spy,
    });
    await later.submit(1);
    expect(unrefs).toEqual([true]);
    later.close();
  });

  it('an earlier retry hint (the breaker opened since) re-arms the timer sooner', async () => {
    const { later, clock, gateway } = setup({ openFor: 2_000, retryInterval: 60_000 });
    await clock.settle();
    await later.submit('a'); // a plain failure: re-drive in 60 s
    await later.submit('b'); // the open breaker says 2 s
    gateway.up = true;
    await clock.advance(2_000);
    expect(gateway.done).toEqual(['a', 'b']);
  });

  it('follows a registry pipeline across updates: the new breaker’s close re-drives too', async () => {
    const clock = new VirtualClock();
    const policies = registry(
      { pay: { circuitBreaker: { consecutiveFailures: 1, openFor: '1m' } } },
      { clock },
    );
    let up = false;
    const done: string[] = [];
    const later = queueForLater<string>({
      policy: policies.get('pay'),
      handler: (item) => {
        if (!up) throw new Error('down');
        done.push(item);
      },
      clock,
      retryInterval: 3_600_000,
    });
    await clock.settle();
    await later.submit('a');
    policies.update({ pay: { circuitBreaker: { consecutiveFailures: 1, openFor: '1s' } } });
    up = true;
    await clock.advance(60_000); // the carried-over open period ends
    await later.submit('live');
    await clock.settle();
    expect(done).toEqual(['live', 'a']);
    later.close();
  });

  it('validates its options', () => {
    const policy = retry();
    const handler = () => 1;
    expect(() => queueForLater(undefined as never)).toThrow(TypeError);
    expect(() => queueForLater({ policy, handler, retryIntervl: 1 } as never)).toThrow(
      /queueForLater: unknown option "retryIntervl"/,
    );
    expect(() => queueForLater({ policy: {} as never, handler })).toThrow(
      'queueForLater: policy must be a bulwark policy, got {}',
    );
    expect(() => queueForLater({ policy, handler: undefined as never })).toThrow(
      'queueForLater: handler must be a function, got undefined',
    );
    expect(() => queueForLater({ policy, handler, queue: { enqueue() {} } as never })).toThrow(
      /queue must have enqueue\(\), drain\(\) and size\(\)/,
    );
    expect(() => queueForLater({ policy, handler, retryInterval: 0 })).toThrow(RangeError);
    expect(() => queueForLater({ policy, handler, drainOnStart: 'yes' as never })).toThrow(
      'queueForLater: drainOnStart must be a boolean, got "yes"',
    );
    expect(new QueueForLater({ policy, handler, drainOnStart: false, name: 'orders' }).name).toBe('orders');
  });

  it('the breaker rejection it waits on is the open breaker’s', async () => {
    const { later, clock } = setup();
    await clock.settle();
    await later.submit('a');
    const second = await later.submit('b');
    expect((second as { error: unknown }).error).toBeInstanceOf(CircuitOpenError);
  });
});
