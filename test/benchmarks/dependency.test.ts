/**
 * The simulated dependency (benchmarks/lib/dependency.ts) must enforce its
 * capacity: never more requests in service than workers, never more waiting
 * than the queue holds, FIFO, and a fast 503 past that. The fault scenarios'
 * conclusions rest on it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DependencySpec,
  DependencyError,
  SimulatedDependency,
} from '../../benchmarks/lib/dependency.js';
import { mulberry32 } from '../../benchmarks/lib/random.js';
import { VirtualClock } from '../../src/testing/index.js';

function spec(overrides: Partial<DependencySpec> = {}): DependencySpec {
  return {
    workers: 2,
    queue: 3,
    serviceTime: () => 10,
    failureRate: () => 0,
    down: () => false,
    ...overrides,
  };
}

/** Sends `count` requests at once; returns their outcomes ('ok' or the error status) in order. */
async function burst(dependency: SimulatedDependency, clock: VirtualClock, count: number) {
  const outcomes: (string | number)[] = new Array(count);
  const finished: number[] = [];
  const calls = Array.from({ length: count }, (_, i) =>
    dependency.call({}).then(
      (value) => {
        outcomes[i] = value;
        finished.push(i);
      },
      (error: DependencyError) => {
        outcomes[i] = error.status;
        finished.push(i);
      },
    ),
  );
  await clock.runAll();
  await Promise.all(calls);
  return { outcomes, finished };
}

describe('SimulatedDependency', () => {
  it('enforces capacity: workers serve, the queue waits, a full queue refuses with a fast 503', async () => {
    const clock = new VirtualClock();
    const dependency = new SimulatedDependency(clock, mulberry32(1), spec());
    const pending = Array.from({ length: 7 }, () => dependency.call({}).catch((e: DependencyError) => e));
    expect(dependency.inService).toBe(2);
    expect(dependency.queued).toBe(3);
    expect(dependency.refused).toBe(2);
    await clock.runAll();
    const outcomes = (await Promise.all(pending)).map((o) => (o instanceof DependencyError ? o.status : o));
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 503, 503]);
    expect(dependency.served).toBe(5);
    expect(dependency.arrivals).toBe(7);
    expect(dependency.maxQueued).toBe(3);
  });

  it('serves the queue first in, first out', async () => {
    const clock = new VirtualClock();
    const dependency = new SimulatedDependency(clock, mulberry32(1), spec({ workers: 1, queue: 10 }));
    const { finished } = await burst(dependency, clock, 6);
    expect(finished).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('property: never more in service than workers, never more waiting than the queue, every request answered once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 4 })), {
          maxLength: 40,
        }),
        async (workers, queue, arrivals) => {
          const clock = new VirtualClock();
          const random = mulberry32(7);
          const dependency = new SimulatedDependency(clock, random, {
            workers,
            queue,
            serviceTime: () => 1 + Math.floor(random() * 20),
            failureRate: () => 0.2,
            down: () => false,
          });
          let maxBusy = 0;
          let maxWaiting = 0;
          let answers = 0;
          const observe = () => {
            maxBusy = Math.max(maxBusy, dependency.inService);
            maxWaiting = Math.max(maxWaiting, dependency.queued);
          };
          let at = 0;
          for (const [gap, count] of arrivals) {
            at += gap;
            clock.setTimeout(() => {
              for (let k = 0; k < count; k++) {
                dependency.call({}).then(
                  () => (answers += 1),
                  () => (answers += 1),
                );
                observe();
              }
            }, at);
          }
          await clock.runAll();
          const sent = arrivals.reduce((sum, [, count]) => sum + count, 0);
          expect(maxBusy).toBeLessThanOrEqual(workers);
          expect(maxWaiting).toBeLessThanOrEqual(queue);
          expect(answers).toBe(sent);
          expect(dependency.served + dependency.refused).toBe(sent);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reads a changing capacity on every arrival and completion, letting the queue in first', async () => {
    const clock = new VirtualClock();
    const dependency = new SimulatedDependency(
      clock,
      mulberry32(1),
      spec({ workers: (now) => (now < 100 ? 1 : 4), queue: 10, serviceTime: () => 1_000 }),
    );
    const calls = Array.from({ length: 5 }, () => dependency.call({}));
    expect([dependency.inService, dependency.queued]).toEqual([1, 4]);
    await clock.advance(100);
    // Nothing happened since the capacity grew; the next arrival lets three queued requests in first.
    const late = dependency.call({});
    expect([dependency.inService, dependency.queued]).toEqual([4, 2]);
    await clock.runAll();
    await Promise.all([...calls, late]);
    expect(dependency.served).toBe(6);
  });

  it('a down dependency refuses every request in refuseMs, without a worker', async () => {
    const clock = new VirtualClock();
    const dependency = new SimulatedDependency(clock, mulberry32(1), spec({ down: () => true, refuseMs: 3 }));
    const outcome = dependency.call({}).catch((e: DependencyError) => e);
    expect(dependency.inService).toBe(0);
    await clock.advance(3);
    expect(await outcome).toBeInstanceOf(DependencyError);
    expect(((await outcome) as DependencyError).status).toBe('ECONNREFUSED');
  });

  it('failing requests answer failureStatus after their service time (default 503)', async () => {
    for (const [failureStatus, expected] of [
      [undefined, 503],
      [500, 500],
    ] as const) {
      const clock = new VirtualClock();
      const dependency = new SimulatedDependency(
        clock,
        mulberry32(1),
        spec({ failureRate: () => 1, ...(failureStatus === undefined ? {} : { failureStatus }) }),
      );
      const outcome = dependency.call({}).catch((e: DependencyError) => e);
      await clock.advance(9);
      expect(dependency.inService).toBe(1);
      await clock.advance(1);
      expect(((await outcome) as DependencyError).status).toBe(expected);
    }
  });

  it('a client that gives up is answered at once, but its request still takes a worker (wasted work)', async () => {
    const clock = new VirtualClock();
    const dependency = new SimulatedDependency(clock, mulberry32(1), spec({ workers: 1 }));
    const controller = new AbortController();
    const outcome = dependency.call({ signal: controller.signal }).catch((e: unknown) => e);
    controller.abort(new Error('gave up'));
    expect(((await outcome) as Error).message).toBe('gave up');
    expect(dependency.inService).toBe(1);
    await clock.runAll();
    expect(dependency.wasted).toBe(1);
  });

  it('a request whose signal is already aborted is never sent, as with fetch', async () => {
    const clock = new VirtualClock();
    const dependency = new SimulatedDependency(clock, mulberry32(1), spec());
    const reason = new Error('too late');
    await expect(dependency.call({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(dependency.arrivals).toBe(0);
  });
});
