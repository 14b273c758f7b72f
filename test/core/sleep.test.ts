import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ExecutionContext } from '../../src/core/context.js';
import { sleep } from '../../src/core/sleep.js';
import { VirtualClock } from '../../src/testing/index.js';

describe('sleep', () => {
  it('resolves after ms on the clock and removes its abort listener', async () => {
    const clock = new VirtualClock();
    const caller = new AbortController();
    const ctx = new ExecutionContext(caller.signal, undefined, 0);
    let done = false;
    const waiting = sleep(clock, 100, ctx).then(() => {
      done = true;
    });
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
    await clock.advance(99);
    expect(done).toBe(false);
    await clock.advance(1);
    await waiting;
    expect(done).toBe(true);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects at once with the reason when the context aborts, and clears its timer', async () => {
    const clock = new VirtualClock();
    const caller = new AbortController();
    const ctx = new ExecutionContext(caller.signal, undefined, 0);
    const waiting = sleep(clock, 10_000, ctx);
    const outcome = waiting.catch((error: unknown) => error);
    expect(clock.pending).toBe(1);
    caller.abort('stop');
    expect(await outcome).toBe('stop');
    expect(clock.pending).toBe(0);
    expect(clock.now()).toBe(0);
  });

  it('rejects without scheduling a timer when already aborted', async () => {
    const clock = new VirtualClock();
    const ctx = new ExecutionContext(undefined, undefined, 0).fork();
    ctx.abort('already');
    await expect(sleep(clock, 10, ctx)).rejects.toBe('already');
    expect(clock.pending).toBe(0);
  });

  it('adds no listener when nothing can abort the context', async () => {
    const clock = new VirtualClock();
    const ctx = new ExecutionContext(undefined, undefined, 0);
    const waiting = sleep(clock, 5, ctx);
    await clock.advance(5);
    await expect(waiting).resolves.toBeUndefined();
  });
});
