import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AdaptiveConcurrencyOptions,
  adaptiveConcurrency,
  BulkheadFullError,
  TimeoutError,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

interface Call {
  readonly id: number;
  readonly controller: AbortController;
  started: boolean;
  settled: number;
  error: unknown;
  finish?: ((error?: unknown) => void) | undefined;
}

type Op =
  | { readonly kind: 'start' }
  | { readonly kind: 'succeed'; readonly pick: number; readonly ms: number }
  | { readonly kind: 'drop'; readonly pick: number; readonly ms: number }
  | { readonly kind: 'fail'; readonly pick: number }
  | { readonly kind: 'abort'; readonly pick: number }
  | { readonly kind: 'wait'; readonly ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'start' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('succeed' as const),
      pick: fc.nat(),
      ms: fc.integer({ min: 0, max: 200 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('drop' as const),
      pick: fc.nat(),
      ms: fc.integer({ min: 0, max: 50 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fail' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 100 }) }),
  },
);

const settings: fc.Arbitrary<AdaptiveConcurrencyOptions> = fc.oneof(
  fc.record({
    algorithm: fc.constant('aimd' as const),
    initialLimit: fc.integer({ min: 1, max: 4 }),
    maxLimit: fc.constant(6),
    minLimit: fc.constant(1),
    queue: fc.integer({ min: 0, max: 3 }),
    queueTimeout: fc.constantFrom(50, Number.POSITIVE_INFINITY),
    latencyThreshold: fc.constantFrom(100, Number.POSITIVE_INFINITY),
    backoffRatio: fc.constantFrom(0.5, 0.9),
  }),
  fc.record({
    algorithm: fc.constant('gradient' as const),
    initialLimit: fc.integer({ min: 1, max: 4 }),
    maxLimit: fc.constant(6),
    minLimit: fc.constant(1),
    queue: fc.integer({ min: 0, max: 3 }),
    queueTimeout: fc.constantFrom(50, Number.POSITIVE_INFINITY),
    smoothing: fc.constantFrom(0.2, 1),
  }),
);

describe('adaptiveConcurrency invariants', () => {
  it('admits only below the limit, in arrival order, keeps the limit in bounds, and frees every slot', async () => {
    await fc.assert(
      fc.asyncProperty(settings, fc.array(op, { minLength: 1, maxLength: 60 }), async (options, ops) => {
        const clock = new VirtualClock();
        const p = adaptiveConcurrency({ ...options, clock });
        const calls: Call[] = [];
        const startOrder: number[] = [];
        let active = 0;
        const overLimit: unknown[] = [];
        const running = () => calls.filter((c) => c.started && c.finish !== undefined);
        const check = () => {
          expect(p.limit).toBeGreaterThanOrEqual(options.minLimit!);
          expect(p.limit).toBeLessThanOrEqual(options.maxLimit!);
          expect(p.inflight).toBe(active);
          expect(p.queued).toBeLessThanOrEqual(options.queue!);
        };
        for (const step of ops) {
          if (step.kind === 'start') {
            const call: Call = {
              id: calls.length,
              controller: new AbortController(),
              started: false,
              settled: 0,
              error: undefined,
            };
            calls.push(call);
            p.execute(
              ({ signal }) => {
                call.started = true;
                startOrder.push(call.id);
                active += 1;
                // A call starts only with a free slot under the current limit.
                if (active > p.limit) overLimit.push({ id: call.id, active, limit: p.limit });
                return new Promise<string>((resolve, reject) => {
                  call.finish = (error) => {
                    call.finish = undefined;
                    active -= 1;
                    if (error === undefined) resolve('ok');
                    else reject(error);
                  };
                  signal.addEventListener('abort', () => call.finish?.(signal.reason), { once: true });
                });
              },
              { signal: call.controller.signal },
            ).then(
              () => {
                call.settled += 1;
              },
              (error: unknown) => {
                call.settled += 1;
                call.error = error;
              },
            );
          } else if (step.kind === 'wait') {
            await clock.advance(step.ms);
          } else if (step.kind === 'abort') {
            const open = calls.filter((c) => c.settled === 0 && !c.controller.signal.aborted);
            open[step.pick % Math.max(open.length, 1)]?.controller.abort(new Error('caller'));
          } else {
            const now = running();
            const call = now[step.pick % Math.max(now.length, 1)];
            if (call !== undefined) {
              if ('ms' in step) await clock.advance(step.ms);
              if (step.kind === 'succeed') call.finish?.();
              else if (step.kind === 'drop') call.finish?.(new TimeoutError(step.ms));
              else call.finish?.(new Error('application error'));
            }
          }
          await clock.settle();
          check();
        }
        // Finish everything still running (admitting waiters as slots free), then let queue timeouts fire.
        for (let guard = 0; guard < 200 && running().length > 0; guard++) {
          running()[0]!.finish?.();
          await clock.settle();
          check();
        }
        await clock.runAll();
        expect(overLimit).toEqual([]);
        expect(running()).toEqual([]);
        expect(p.inflight).toBe(0);
        expect(p.queued).toBe(0);
        // FIFO: a call that starts, starts after every earlier call that ever starts.
        expect(startOrder).toEqual([...startOrder].sort((a, b) => a - b));
        for (const call of calls) {
          expect(call.settled).toBe(1);
          // A call that never ran was rejected by the limit (or aborted by its caller).
          if (!call.started && !call.controller.signal.aborted) {
            expect(call.error).toBeInstanceOf(BulkheadFullError);
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
