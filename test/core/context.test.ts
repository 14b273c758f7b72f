import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExecutionContext } from '../../src/core/context.js';
import { pipeline, retry, timeout } from '../../src/index.js';

/** Counts AbortControllers created while installed. */
function countControllers(): { readonly count: number } {
  const Original = globalThis.AbortController;
  const counter = { count: 0 };
  class Counting extends Original {
    constructor() {
      super();
      counter.count++;
    }
  }
  vi.stubGlobal('AbortController', Counting);
  return counter;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('ExecutionContext', () => {
  it('creates no AbortController when nobody reads the signal', async () => {
    const created = countControllers();
    const policy = pipeline(retry({ maxAttempts: 2, backoff: 0 }), timeout(1_000));
    await policy.execute((ctx) => ctx.attempt);
    await policy.execute(() => 'x');
    expect(created.count).toBe(0);
  });

  it('creates exactly one AbortController when the signal is read, however often', async () => {
    const created = countControllers();
    await timeout(1_000).execute((ctx) => {
      expect(ctx.signal).toBe(ctx.signal);
      return ctx.signal.aborted;
    });
    expect(created.count).toBe(1);
  });

  it('a root context hands out the caller signal itself', () => {
    const created = countControllers();
    const caller = new AbortController();
    const ctx = new ExecutionContext(caller.signal, undefined, 0);
    expect(ctx.signal).toBe(caller.signal);
    expect(created.count).toBe(1); // the caller's own
  });

  it('a root without a caller signal materialises a signal only on read, and it never aborts', () => {
    const ctx = new ExecutionContext(undefined, 'k', 3);
    expect(ctx.abortable).toBe(false);
    expect(ctx.aborted).toBe(false);
    expect(ctx.reason).toBeUndefined();
    expect(ctx.key).toBe('k');
    expect(ctx.priority).toBe(3);
    expect(ctx.signal.aborted).toBe(false);
    // Nothing can abort it, so waiting for its abort adds nothing.
    const remove = ctx.onAbort(() => {});
    remove();
  });

  it('a fork copies attempt, key and priority and can be aborted on its own', () => {
    const caller = new AbortController();
    const root = new ExecutionContext(caller.signal, 'key', 2);
    root.attempt = 4;
    const a = root.fork();
    const b = root.fork();
    expect([a.attempt, a.key, a.priority, a.parent]).toEqual([4, 'key', 2, root]);
    expect(a.abortable).toBe(true);
    const signalA = a.signal;
    const signalB = b.signal;
    a.abort('mine');
    expect(signalA.aborted).toBe(true);
    expect(signalA.reason).toBe('mine');
    expect(a.reason).toBe('mine');
    expect(b.aborted).toBe(false);
    expect(signalB.aborted).toBe(false);
    expect(caller.signal.aborted).toBe(false);
    // A second abort keeps the first reason.
    a.abort('other');
    expect(a.reason).toBe('mine');
  });

  it('a fork aborted before its signal is read hands out an already aborted signal', () => {
    const child = new ExecutionContext(undefined, undefined, 0).fork();
    child.abort('early');
    expect(child.signal.aborted).toBe(true);
    expect(child.signal.reason).toBe('early');
  });

  it('a fork follows its parent: aborted, reason, and its signal', () => {
    const caller = new AbortController();
    const root = new ExecutionContext(caller.signal, undefined, 0);
    const child = root.fork();
    const grandchild = child.fork();
    const signal = grandchild.signal;
    caller.abort('caller gone');
    expect(child.aborted).toBe(true);
    expect(grandchild.reason).toBe('caller gone');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('caller gone');
  });

  it('a fork of an already aborted parent starts aborted', () => {
    const caller = new AbortController();
    caller.abort('before');
    const child = new ExecutionContext(caller.signal, undefined, 0).fork();
    expect(child.signal.aborted).toBe(true);
    expect(child.signal.reason).toBe('before');
  });

  it('a fork of a root aborted by a policy starts aborted too', () => {
    const root = new ExecutionContext(undefined, undefined, 0);
    root.abort('by a policy');
    expect(root.fork().signal.reason).toBe('by a policy');
  });

  it('a fork of a root that cannot abort needs no AbortController for the root', () => {
    const root = new ExecutionContext(undefined, undefined, 0);
    const created = countControllers();
    const child = root.fork();
    expect(child.signal.aborted).toBe(false);
    expect(created.count).toBe(1);
  });

  it('dispose removes the fork’s listener from the parent signal', () => {
    const caller = new AbortController();
    const child = new ExecutionContext(caller.signal, undefined, 0).fork();
    void child.signal;
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
    child.dispose();
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    child.dispose();
    // Disposed, it no longer follows the parent.
    caller.abort('late');
    expect(child.signal.aborted).toBe(false);
  });

  it('abort removes the fork’s listener from the parent signal', () => {
    const caller = new AbortController();
    const child = new ExecutionContext(caller.signal, undefined, 0).fork();
    void child.signal;
    child.abort('own');
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('onAbort calls the listener once with the reason and its remover takes it off', () => {
    const caller = new AbortController();
    const ctx = new ExecutionContext(caller.signal, undefined, 0);
    const kept = vi.fn();
    const removed = vi.fn();
    ctx.onAbort(kept);
    const remove = ctx.onAbort(removed);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(2);
    remove();
    caller.abort('why');
    caller.signal.dispatchEvent(new Event('abort'));
    expect(kept).toHaveBeenCalledTimes(1);
    expect(kept).toHaveBeenCalledWith('why');
    expect(removed).not.toHaveBeenCalled();
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('linger collects work that goes on after the call stopped waiting, failures included', async () => {
    const ctx = new ExecutionContext(undefined, undefined, 0);
    expect(ctx.lingering).toBeUndefined();
    let finishA!: () => void;
    let failB!: (e: Error) => void;
    ctx.linger(new Promise<void>((r) => (finishA = r)));
    ctx.linger(new Promise<void>((_, reject) => (failB = reject)));
    let settled = false;
    void ctx.lingering!.then(() => {
      settled = true;
    });
    finishA();
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(false);
    failB(new Error('late failure is swallowed'));
    await ctx.lingering;
    expect(settled).toBe(true);
  });
});
