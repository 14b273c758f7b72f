import { describe, expect, it, vi } from 'vitest';
import {
  type FallbackEvents,
  FallbackPolicy,
  fallback,
  pipeline,
  retry,
  TimeoutError,
  timeout,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

function events(policy: FallbackPolicy<any>): unknown[] {
  const seen: unknown[] = [];
  for (const name of ['fallback', 'success', 'failure'] as const) {
    policy.on(name, (e: FallbackEvents[typeof name]) => seen.push([name, e]));
  }
  return seen;
}

const down = () => Promise.reject(new Error('down'));

describe('fallback', () => {
  it('passes a success through untouched', async () => {
    const policy = fallback({ value: 'substitute' });
    expect(policy).toBeInstanceOf(FallbackPolicy);
    expect(policy.kind).toBe('fallback');
    const seen = events(policy);
    await expect(policy.execute(() => 'real')).resolves.toBe('real');
    expect(seen).toEqual([['success', { value: 'real' }]]);
  });

  it('replaces a failure with a value and emits fallback with the error', async () => {
    const policy = fallback({ value: { stock: 0 } });
    const seen = events(policy);
    const error = new Error('down');
    await expect(policy.execute(() => Promise.reject(error))).resolves.toEqual({ stock: 0 });
    expect(seen).toEqual([['fallback', { error, source: 'value' }]]);
  });

  it('a value of undefined or null is still a value', async () => {
    await expect(fallback({ value: undefined }).execute(down)).resolves.toBeUndefined();
    await expect(fallback({ value: null }).execute(down)).resolves.toBeNull();
  });

  it('calls a function value with the error, sync or async', async () => {
    const sync = vi.fn((error: unknown) => `sync: ${(error as Error).message}`);
    await expect(fallback({ value: sync }).execute(down)).resolves.toBe('sync: down');
    expect(sync).toHaveBeenCalledTimes(1);
    const async = fallback({ value: async (error: unknown) => `async: ${(error as Error).message}` });
    await expect(async.execute(down)).resolves.toBe('async: down');
  });

  it('a function value that fails makes the call fail with its error', async () => {
    const broken = new Error('cache also down');
    const policy = fallback({
      value: () => {
        throw broken;
      },
    });
    await expect(policy.execute(down)).rejects.toBe(broken);
    const rejecting = fallback({ value: () => Promise.reject(broken) });
    await expect(rejecting.execute(down)).rejects.toBe(broken);
  });

  it('fallbackOn chooses which errors to replace; the others pass with a failure event', async () => {
    const policy = fallback({ value: 'fb', fallbackOn: (error) => (error as Error).message === 'down' });
    const seen = events(policy);
    await expect(policy.execute(down)).resolves.toBe('fb');
    const other = new Error('bad request');
    await expect(policy.execute(() => Promise.reject(other))).rejects.toBe(other);
    expect(seen.map((e) => (e as [string])[0])).toEqual(['fallback', 'failure']);
    expect(seen[1]).toEqual(['failure', { error: other }]);
  });

  it('replaces a timeout too', async () => {
    const clock = new VirtualClock();
    const p = pipeline(
      fallback({ value: (e: unknown) => (e instanceof TimeoutError ? 'slow' : 'other') }),
      timeout({ ms: 10, clock }),
    );
    const call = p.execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    await clock.advance(10);
    await expect(call).resolves.toBe('slow');
  });

  it('the caller’s abort is not replaced by a fallback', async () => {
    const policy = fallback({ value: 'fb' });
    const seen = events(policy);
    const caller = new AbortController();
    const reason = new Error('user navigated away');
    let work!: Promise<unknown>;
    const call = policy.execute(
      ({ signal }) =>
        (work = new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))),
      { signal: caller.signal },
    );
    caller.abort(reason);
    await expect(call).rejects.toBe(reason);
    await work.catch(() => {});
    await Promise.resolve();
    // The inner outcome is not replaced either: no fallback event.
    expect(seen).toEqual([['failure', { error: reason }]]);
  });

  describe('lastKnownGood', () => {
    it('serves the last success while younger than ttl, then the value', async () => {
      const clock = new VirtualClock();
      const policy = fallback({ value: 'default', lastKnownGood: { ttl: 1_000 }, clock });
      const seen = events(policy);
      await policy.execute(() => 'v1');
      await clock.advance(500);
      await policy.execute(() => 'v2');
      await clock.advance(1_000);
      await expect(policy.execute(down)).resolves.toBe('v2');
      await clock.advance(1);
      await expect(policy.execute(down)).resolves.toBe('default');
      expect(
        seen
          .filter((e) => (e as [string])[0] === 'fallback')
          .map((e) => (e as [string, { source: string }])[1].source),
      ).toEqual(['lastKnownGood', 'value']);
    });

    it('without a value, a failure with no fresh result fails with the error', async () => {
      const clock = new VirtualClock();
      const policy = fallback({ lastKnownGood: { ttl: 100 }, clock });
      const seen = events(policy);
      const error = new Error('down');
      await expect(policy.execute(() => Promise.reject(error))).rejects.toBe(error);
      await policy.execute(() => 'good');
      await expect(policy.execute(down)).resolves.toBe('good');
      await clock.advance(101);
      await expect(policy.execute(() => Promise.reject(error))).rejects.toBe(error);
      expect(seen.map((e) => (e as [string])[0])).toEqual(['failure', 'success', 'fallback', 'failure']);
    });

    it('ttl: Infinity keeps the last good result forever; clearLastKnownGood forgets it', async () => {
      const clock = new VirtualClock();
      const policy = fallback({ value: 'default', lastKnownGood: { ttl: Number.POSITIVE_INFINITY }, clock });
      await policy.execute(() => 'kept');
      await clock.advance(365 * 24 * 3_600_000);
      await expect(policy.execute(down)).resolves.toBe('kept');
      policy.clearLastKnownGood();
      await expect(policy.execute(down)).resolves.toBe('default');
    });

    it('a served last known good result does not refresh its own age', async () => {
      const clock = new VirtualClock();
      const policy = fallback({ value: 'default', lastKnownGood: { ttl: 100 }, clock });
      await policy.execute(() => 'v');
      await clock.advance(90);
      await expect(policy.execute(down)).resolves.toBe('v');
      await clock.advance(20);
      await expect(policy.execute(down)).resolves.toBe('default');
    });
  });

  it('outside a retry, it replaces only the final failure', async () => {
    const clock = new VirtualClock();
    const fb = fallback({ value: 'fb' });
    const seen = events(fb);
    let n = 0;
    const p = pipeline(fb, retry({ maxAttempts: 3, backoff: 1, clock }));
    const call = p.execute(() => {
      n++;
      throw new Error(`attempt ${n}`);
    });
    await clock.runAll();
    await expect(call).resolves.toBe('fb');
    expect(n).toBe(3);
    expect(seen).toEqual([['fallback', { error: new Error('attempt 3'), source: 'value' }]]);
  });

  it('wrap keeps the parameters', async () => {
    const getPrice = fallback({ value: -1 }).wrap(async (sku: string) => {
      if (sku === 'gone') throw new Error('404');
      return sku.length;
    });
    await expect(getPrice('abc')).resolves.toBe(3);
    await expect(getPrice('gone')).resolves.toBe(-1);
  });
});
