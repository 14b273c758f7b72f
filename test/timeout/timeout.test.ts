import { describe, expect, it, vi } from 'vitest';
import type { ExecutionContext } from '../../src/core/context.js';
import { PolicyBase } from '../../src/core/policy.js';
import {
  pipeline,
  retry,
  TimeoutError,
  type TimeoutEvents,
  TimeoutPolicy,
  timeout,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { honours } from '../helpers/work.js';

/** Work that ignores its signal and settles after `ms` on `clock`. */
function ignores<T>(clock: VirtualClock, ms: number, outcome: { value: T } | { error: unknown }) {
  return () =>
    new Promise<T>((resolve, reject) =>
      clock.setTimeout(() => ('value' in outcome ? resolve(outcome.value) : reject(outcome.error)), ms),
    );
}

function observe<T>(p: Promise<T>): { outcome?: { value: T } | { error: unknown } } {
  const box: { outcome?: { value: T } | { error: unknown } } = {};
  p.then(
    (value) => (box.outcome = { value }),
    (error: unknown) => (box.outcome = { error }),
  );
  return box;
}

function events(policy: TimeoutPolicy): unknown[] {
  const seen: unknown[] = [];
  for (const name of ['timeout', 'success', 'failure'] as const) {
    policy.on(name, (e: TimeoutEvents[typeof name]) => seen.push([name, e]));
  }
  return seen;
}

describe('timeout', () => {
  it('accepts ms or { ms, strategy }, cooperative by default', () => {
    const a = timeout(100);
    expect(a).toBeInstanceOf(TimeoutPolicy);
    expect([a.kind, a.ms, a.strategy]).toEqual(['timeout', 100, 'cooperative']);
    const b = timeout({ ms: 5, strategy: 'aggressive', name: 'db' });
    expect([b.ms, b.strategy, b.name]).toEqual([5, 'aggressive', 'db']);
  });

  describe('cooperative', () => {
    it('aborts ctx.signal with a TimeoutError at the deadline and rejects with it', async () => {
      const clock = new VirtualClock();
      const policy = timeout({ ms: 100, clock });
      let signal: AbortSignal | undefined;
      const box = observe(
        policy.execute((ctx) => {
          signal = ctx.signal;
          return honours(ctx);
        }),
      );
      await clock.advance(99);
      expect(signal!.aborted).toBe(false);
      expect(box.outcome).toBeUndefined();
      await clock.advance(1);
      expect(signal!.aborted).toBe(true);
      expect(signal!.reason).toBeInstanceOf(TimeoutError);
      expect(box.outcome).toEqual({ error: signal!.reason });
      expect((signal!.reason as TimeoutError).timeout).toBe(100);
      expect((signal!.reason as TimeoutError).code).toBe('ERR_TIMEOUT');
    });

    it('waits for the work: a late success still returns its value', async () => {
      const clock = new VirtualClock();
      const policy = timeout({ ms: 100, clock });
      const seen = events(policy);
      const box = observe(policy.execute(ignores(clock, 300, { value: 'late but fine' })));
      await clock.advance(100);
      expect(box.outcome).toBeUndefined();
      expect(seen).toEqual([['timeout', { timeout: 100, attempt: 1 }]]);
      await clock.advance(200);
      expect(box.outcome).toEqual({ value: 'late but fine' });
    });

    it('a late failure becomes a TimeoutError with the failure as its cause', async () => {
      const clock = new VirtualClock();
      const policy = timeout({ ms: 100, clock });
      const seen = events(policy);
      const cause = new Error('AbortError from the driver');
      const box = observe(policy.execute(ignores(clock, 150, { error: cause })));
      await clock.advance(150);
      const error = (box.outcome as { error: TimeoutError }).error;
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error.cause).toBe(cause);
      expect(seen).toEqual([
        ['timeout', { timeout: 100, attempt: 1 }],
        ['failure', { error }],
      ]);
    });

    it('before the deadline, results and errors pass through untouched and no timeout fires', async () => {
      const clock = new VirtualClock();
      const policy = timeout({ ms: 100, clock });
      const seen = events(policy);
      await expect(policy.execute(() => 'fast')).resolves.toBe('fast');
      const error = new Error('fast failure');
      await expect(policy.execute(() => Promise.reject(error))).rejects.toBe(error);
      await clock.advance(1_000);
      expect(seen).toEqual([
        ['success', { value: 'fast' }],
        ['failure', { error }],
      ]);
    });

    it('the timeout event carries the attempt number of a retry outside it', async () => {
      const clock = new VirtualClock();
      const t = timeout({ ms: 10, clock });
      const attempts: number[] = [];
      t.on('timeout', (e) => attempts.push(e.attempt));
      const box = observe(pipeline(retry({ maxAttempts: 3, backoff: 0, clock }), t).execute(honours));
      await clock.runAll();
      expect(attempts).toEqual([1, 2, 3]);
      expect((box.outcome as { error: unknown }).error).toBeInstanceOf(TimeoutError);
    });

    it('works on the default clock with vi.useFakeTimers', async () => {
      vi.useFakeTimers();
      try {
        const box = observe(timeout(1_000).execute(honours));
        await vi.advanceTimersByTimeAsync(999);
        expect(box.outcome).toBeUndefined();
        await vi.advanceTimersByTimeAsync(1);
        expect((box.outcome as { error: unknown }).error).toBeInstanceOf(TimeoutError);
      } finally {
        vi.useRealTimers();
      }
    });
  });

  describe('aggressive', () => {
    it('rejects at once at the deadline while the work goes on, and aborts its signal', async () => {
      const clock = new VirtualClock();
      const policy = timeout({ ms: 100, strategy: 'aggressive', clock });
      const seen = events(policy);
      let signal: AbortSignal | undefined;
      let finished = false;
      const box = observe(
        policy.execute(async (ctx) => {
          signal = ctx.signal;
          await new Promise<void>((r) => clock.setTimeout(r, 1_000));
          finished = true;
          return 'too late';
        }),
      );
      await clock.advance(100);
      const error = (box.outcome as { error: TimeoutError }).error;
      expect(error).toBeInstanceOf(TimeoutError);
      expect(signal!.reason).toBe(error);
      expect(finished).toBe(false);
      expect(seen).toEqual([
        ['timeout', { timeout: 100, attempt: 1 }],
        ['failure', { error }],
      ]);
      await clock.advance(900);
      expect(finished).toBe(true);
      // The late success is not reported as the call's outcome.
      expect(seen).toHaveLength(2);
    });

    it('records the work it stopped waiting for in ctx.lingering for slot holders outside', async () => {
      const clock = new VirtualClock();
      const seenByOuter: (Promise<void> | undefined)[] = [];
      class SlotHolder extends PolicyBase {
        constructor() {
          super('slotHolder', undefined);
        }
        override _failure(ctx: ExecutionContext, token: unknown, error: unknown): unknown {
          seenByOuter.push(ctx.lingering);
          return super._failure(ctx, token, error);
        }
      }
      let release!: () => void;
      const p = pipeline(new SlotHolder(), timeout({ ms: 50, strategy: 'aggressive', clock }));
      const box = observe(p.execute(() => new Promise<void>((r) => (release = r))));
      await clock.advance(50);
      expect((box.outcome as { error: unknown }).error).toBeInstanceOf(TimeoutError);
      expect(seenByOuter).toHaveLength(1);
      const lingering = seenByOuter[0]!;
      expect(lingering).toBeInstanceOf(Promise);
      let settled = false;
      void lingering.then(() => (settled = true));
      await clock.settle();
      expect(settled).toBe(false);
      release();
      await clock.settle();
      expect(settled).toBe(true);
    });

    it('a late failure of the abandoned work is swallowed, not an unhandled rejection', async () => {
      const clock = new VirtualClock();
      const box = observe(
        timeout({ ms: 10, strategy: 'aggressive', clock }).execute(
          ignores(clock, 20, { error: new Error('late') }),
        ),
      );
      await clock.advance(20);
      expect((box.outcome as { error: unknown }).error).toBeInstanceOf(TimeoutError);
    });

    it('before the deadline, results and errors pass through and the deadline is dropped', async () => {
      const clock = new VirtualClock();
      const policy = timeout({ ms: 100, strategy: 'aggressive', clock });
      const seen = events(policy);
      await expect(policy.execute(() => 'fast')).resolves.toBe('fast');
      const error = new Error('fast failure');
      await expect(policy.execute(() => Promise.reject(error))).rejects.toBe(error);
      await clock.runAll();
      expect(seen).toEqual([
        ['success', { value: 'fast' }],
        ['failure', { error }],
      ]);
    });

    it('inside a retry, each attempt gets its own deadline', async () => {
      const clock = new VirtualClock();
      const startedAt: number[] = [];
      const p = pipeline(
        retry({ maxAttempts: 3, backoff: 0, clock }),
        timeout({ ms: 10, strategy: 'aggressive', clock }),
      );
      const box = observe(
        p.execute(async () => {
          startedAt.push(clock.now());
          if (startedAt.length < 3) return new Promise(() => {});
          return 'third';
        }),
      );
      await clock.runAll();
      expect(box.outcome).toEqual({ value: 'third' });
      expect(startedAt).toEqual([0, 10, 20]);
    });
  });
});
