import { describe, expect, it, vi } from 'vitest';
import {
  ADAPTIVE_CONCURRENCY_OPTIONS,
  adaptiveConcurrency,
  BulkheadFullError,
  pipeline,
  RateLimitedError,
  retry,
  ThrottledError,
  TimeoutError,
  timeout,
} from '../../src/index.js';
import { ExecutionContext } from '../../src/core/context.js';
import { VirtualClock } from '../../src/testing/index.js';
import { track } from '../helpers/work.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T = string>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued promise reaction run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Work that takes `ms` on the virtual clock, then resolves or throws `error`. */
const workFor = (clock: VirtualClock, ms: number, error?: unknown) => (): Promise<string> =>
  new Promise((resolve, reject) =>
    clock.setTimeout(() => (error === undefined ? resolve('ok') : reject(error)), ms),
  );

describe('adaptiveConcurrency options', () => {
  it('defaults to the gradient algorithm, limit 20 within [1, 200], no queue', () => {
    const p = adaptiveConcurrency();
    expect(p.kind).toBe('adaptiveConcurrency');
    expect(p.name).toBe('adaptiveConcurrency');
    expect(p.algorithm).toBe('gradient');
    expect(p.limit).toBe(20);
    expect([p.minLimit, p.maxLimit, p.queue, p.queueTimeout]).toEqual([1, 200, 0, Number.POSITIVE_INFINITY]);
    expect(p.inflight).toBe(0);
    expect(p.queued).toBe(0);
  });

  it('clamps the default initial limit into [minLimit, maxLimit]', () => {
    expect(adaptiveConcurrency({ maxLimit: 8 }).limit).toBe(8);
    expect(adaptiveConcurrency({ minLimit: 50 }).limit).toBe(50);
    expect(adaptiveConcurrency({ minLimit: 300 }).maxLimit).toBe(300);
  });

  it('exports its option names', () => {
    expect(ADAPTIVE_CONCURRENCY_OPTIONS).toContain('algorithm');
    expect(ADAPTIVE_CONCURRENCY_OPTIONS).toContain('isDrop');
  });

  it('rejects unknown options, naming them', () => {
    expect(() => adaptiveConcurrency({ limit: 3 } as never)).toThrow(
      /adaptiveConcurrency: unknown option "limit"/,
    );
  });

  it.each([
    [{ algorithm: 'vegas' }, TypeError, /algorithm must be one of "aimd", "gradient", got "vegas"/],
    [{ minLimit: 0 }, RangeError, /minLimit must be an integer ≥ 1, got 0/],
    [{ minLimit: 5, maxLimit: 4 }, RangeError, /maxLimit must be an integer ≥ 5, got 4/],
    [{ initialLimit: 300 }, RangeError, /initialLimit must be an integer ≥ 1 and ≤ 200, got 300/],
    [{ initialLimit: 2.5 }, RangeError, /initialLimit must be an integer/],
    [{ queue: -1 }, RangeError, /queue must be an integer ≥ 0, got -1/],
    [{ queueTimeout: 0 }, RangeError, /queueTimeout must be a number > 0, got 0/],
    [{ isDrop: true }, TypeError, /isDrop must be a function, got true/],
    [{ tolerance: 0.9 }, RangeError, /tolerance must be a number ≥ 1 and ≤ 10, got 0.9/],
    [{ smoothing: 0 }, RangeError, /smoothing must be a number > 0 and ≤ 1, got 0/],
    [{ algorithm: 'aimd', backoffRatio: 0.4 }, RangeError, /backoffRatio must be a number ≥ 0.5 and ≤ 1/],
    [
      { algorithm: 'aimd', backoffRatio: 1 },
      RangeError,
      /backoffRatio must be a number ≥ 0.5 and < 1, got 1/,
    ],
    [{ algorithm: 'aimd', latencyThreshold: -5 }, RangeError, /latencyThreshold must be a number > 0/],
    [{ name: '' }, TypeError, /name must be a non-empty string/],
    [{ clock: {} }, TypeError, /clock must have now\(\)/],
  ])('validates %j', (options, type, message) => {
    expect(() => adaptiveConcurrency(options as never)).toThrow(type);
    expect(() => adaptiveConcurrency(options as never)).toThrow(message);
  });

  it('rejects an option of the other algorithm instead of ignoring it', () => {
    expect(() => adaptiveConcurrency({ backoffRatio: 0.8 })).toThrow(
      /backoffRatio applies only to algorithm "aimd", got algorithm "gradient"/,
    );
    expect(() => adaptiveConcurrency({ algorithm: 'aimd', tolerance: 2 })).toThrow(
      /tolerance applies only to algorithm "gradient"/,
    );
  });

  it('rejects non-object options', () => {
    expect(() => adaptiveConcurrency(5 as never)).toThrow(/options must be an object, got 5/);
  });
});

describe('adaptiveConcurrency slots', () => {
  it('never runs more than the limit and rejects with BulkheadFullError when full', async () => {
    const p = adaptiveConcurrency({ initialLimit: 2 });
    const rejects: unknown[] = [];
    p.on('reject', (e) => rejects.push(e));
    const gates = [deferred(), deferred()];
    const running = gates.map((gate) => track(p.execute(() => gate.promise)));
    await flush();
    expect(p.inflight).toBe(2);
    const error = await p.execute(() => 'never').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkheadFullError);
    expect((error as BulkheadFullError).retryable).toBe(false);
    expect((error as Error).message).toMatch(/limit 2/);
    expect(rejects).toEqual([{ reason: 'full', limit: 2, inflight: 2, queued: 0 }]);
    gates[0]!.resolve('a');
    await flush();
    expect(running[0]).toMatchObject({ settled: true, value: 'a' });
    expect(p.inflight).toBe(1);
    await expect(p.execute(() => 'b')).resolves.toBe('b');
    gates[1]!.resolve('c');
    await flush();
    expect(p.inflight).toBe(0);
  });

  it('queues FIFO up to `queue` and admits waiters in order as slots free', async () => {
    const p = adaptiveConcurrency({ initialLimit: 1, queue: 2 });
    const order: string[] = [];
    const queued: unknown[] = [];
    p.on('queued', (e) => queued.push(e));
    const first = deferred();
    const a = track(p.execute(() => first.promise));
    const b = track(p.execute(() => order.push('b')));
    const c = track(p.execute(() => order.push('c')));
    await flush();
    expect(p.queued).toBe(2);
    expect(queued).toEqual([{ queued: 1 }, { queued: 2 }]);
    await expect(p.execute(() => 'd')).rejects.toBeInstanceOf(BulkheadFullError);
    first.resolve('a');
    await flush();
    expect(order).toEqual(['b', 'c']);
    expect([a.settled, b.settled, c.settled]).toEqual([true, true, true]);
    expect(p.queued).toBe(0);
    expect(p.inflight).toBe(0);
  });

  it("a queued call rejects at once with the caller's reason when the caller aborts, and leaves the queue", async () => {
    const p = adaptiveConcurrency({ initialLimit: 1, queue: 5 });
    const gate = deferred();
    void p.execute(() => gate.promise);
    const controller = new AbortController();
    const work = vi.fn();
    const waiting = track(p.execute(work, { signal: controller.signal }));
    await flush();
    expect(p.queued).toBe(1);
    controller.abort(new Error('caller gave up'));
    await flush();
    expect((waiting.error as Error).message).toBe('caller gave up');
    expect(p.queued).toBe(0);
    gate.resolve('x');
    await flush();
    expect(work).not.toHaveBeenCalled();
    expect(p.inflight).toBe(0);
  });

  it('rejects a call whose context is already aborted instead of queueing it', async () => {
    const p = adaptiveConcurrency({ initialLimit: 1, queue: 5 });
    const gate = deferred();
    void p.execute(() => gate.promise);
    const controller = new AbortController();
    controller.abort(new Error('already'));
    // The executor rejects such calls itself; an enclosing scope aborted mid-pipeline reaches the enter step.
    const entered = p._enter(new ExecutionContext(controller.signal, undefined, 0)) as Promise<unknown>;
    await expect(entered).rejects.toThrow('already');
    expect(p.queued).toBe(0);
    gate.resolve('done');
  });

  it('rejects a waiter with BulkheadFullError after queueTimeout, and holds no timer afterwards', async () => {
    const clock = new VirtualClock();
    const p = adaptiveConcurrency({ initialLimit: 1, queue: 3, queueTimeout: 100, clock });
    const rejects: unknown[] = [];
    p.on('reject', (e) => rejects.push(e));
    const gate = deferred();
    void p.execute(() => gate.promise);
    const a = track(p.execute(() => 'a'));
    await clock.advance(50);
    const b = track(p.execute(() => 'b'));
    await clock.advance(50);
    expect(a.error).toBeInstanceOf(BulkheadFullError);
    expect((a.error as Error).message).toMatch(/queue timeout: no slot within 100 ms/);
    expect(b.settled).toBe(false);
    await clock.advance(50);
    expect(b.error).toBeInstanceOf(BulkheadFullError);
    expect(rejects).toHaveLength(2);
    expect(rejects[0]).toMatchObject({ reason: 'queueTimeout' });
    expect(clock.pending).toBe(0);
    gate.resolve('x');
    await clock.settle();
    expect(p.inflight).toBe(0);
  });

  it('clears the queue timer once the queue empties', async () => {
    const clock = new VirtualClock();
    const p = adaptiveConcurrency({ initialLimit: 1, queue: 3, queueTimeout: 100, clock });
    const gate = deferred();
    void p.execute(() => gate.promise);
    const a = track(p.execute(() => 'a'));
    await clock.settle();
    expect(clock.pending).toBe(1);
    gate.resolve('x');
    await clock.settle();
    expect(a.value).toBe('a');
    expect(clock.pending).toBe(0);
  });

  it('keeps the slot until lingering work settles (an aggressive timeout inside gave up on it)', async () => {
    const clock = new VirtualClock();
    const p = adaptiveConcurrency({ initialLimit: 1, clock });
    const policy = pipeline(p, timeout({ ms: 10, strategy: 'aggressive', clock }));
    const call = track(policy.execute(workFor(clock, 100)));
    await clock.advance(10);
    expect(call.error).toBeInstanceOf(TimeoutError);
    expect(p.inflight).toBe(1);
    await expect(p.execute(() => 'x')).rejects.toBeInstanceOf(BulkheadFullError);
    await clock.advance(90);
    expect(p.inflight).toBe(0);
    await expect(p.execute(() => 'x')).resolves.toBe('x');
  });

  it("a retry's later attempt does not wait for an earlier attempt's lingering work", async () => {
    const clock = new VirtualClock();
    // minLimit 2: the first attempt's timeout is a drop, which must not shrink the limit here.
    const p = adaptiveConcurrency({ initialLimit: 2, minLimit: 2, clock });
    let attempt = 0;
    const policy = pipeline(
      retry({ maxAttempts: 2, backoff: 0, clock }),
      p,
      timeout({ ms: 10, strategy: 'aggressive', clock }),
    );
    const call = track(
      policy.execute(() => {
        attempt += 1;
        return attempt === 1 ? workFor(clock, 100)() : 'second';
      }),
    );
    await clock.advance(10);
    await clock.settle();
    expect(call.value).toBe('second');
    // The first attempt's work still runs; the second attempt's slot is free.
    expect(p.inflight).toBe(1);
    await clock.advance(90);
    expect(p.inflight).toBe(0);
  });

  it('hands slots freed by a rising limit to waiters', async () => {
    const p = adaptiveConcurrency({ algorithm: 'aimd', initialLimit: 1, queue: 5 });
    const changes: unknown[] = [];
    p.on('limitChanged', (e) => changes.push(e));
    const gates = [deferred(), deferred(), deferred()];
    const calls = gates.map((gate) => track(p.execute(() => gate.promise)));
    await flush();
    expect([p.inflight, p.queued]).toEqual([1, 2]);
    // One success fills the window of 1 while the limit was reached: limit 2.
    gates[0]!.resolve('a');
    await flush();
    expect(changes).toEqual([{ from: 1, to: 2, reason: 'increase' }]);
    expect([p.inflight, p.queued]).toEqual([2, 0]);
    gates[1]!.resolve('b');
    gates[2]!.resolve('c');
    await flush();
    expect(calls.map((c) => c.value)).toEqual(['a', 'b', 'c']);
  });

  it('reports limit, inflight and queued in health, degraded while full', async () => {
    const p = adaptiveConcurrency({ initialLimit: 1, queue: Number.POSITIVE_INFINITY, name: 'db' });
    expect(p._health()).toEqual({
      kind: 'adaptiveConcurrency',
      name: 'db',
      status: 'ok',
      algorithm: 'gradient',
      limit: 1,
      inflight: 0,
      queued: 0,
      minLimit: 1,
      maxLimit: 200,
      queue: null,
      rejected: 0,
      baselineRtt: 0,
      probing: false,
    });
    const gate = deferred();
    void p.execute(() => gate.promise);
    void p.execute(() => 'queued');
    await flush();
    expect(p._health()).toMatchObject({ status: 'degraded', limit: 1, inflight: 1, queued: 1 });
    gate.resolve('x');
    await flush();
    expect(p._health()).toMatchObject({ status: 'ok', inflight: 0, queued: 0 });
  });

  it('emits success and failure', async () => {
    const p = adaptiveConcurrency();
    const seen: string[] = [];
    p.on('success', () => seen.push('success'));
    p.on('failure', () => seen.push('failure'));
    await p.execute(() => 1);
    await p.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    expect(seen).toEqual(['success', 'failure']);
  });
});

describe('adaptiveConcurrency measurement', () => {
  const aimd = (clock: VirtualClock, extra: object = {}) =>
    adaptiveConcurrency({ algorithm: 'aimd', initialLimit: 10, backoffRatio: 0.5, clock, ...extra });

  it('measures RTT from the moment the call gets a slot, not from when it queued', async () => {
    const clock = new VirtualClock();
    const p = aimd(clock, { initialLimit: 1, queue: 1, latencyThreshold: 50 });
    const first = track(p.execute(workFor(clock, 40)));
    const second = track(p.execute(workFor(clock, 40)));
    await clock.advance(80);
    expect([first.value, second.value]).toEqual(['ok', 'ok']);
    // The second call spent 80 ms in total, 40 of them queued: not over the threshold.
    expect(p.limit).toBeGreaterThanOrEqual(1);
    const slow = track(p.execute(workFor(clock, 60)));
    await clock.advance(60);
    expect(slow.value).toBe('ok');
    const changes: unknown[] = [];
    p.on('limitChanged', (e) => changes.push(e));
    const p2 = aimd(clock, { latencyThreshold: 50 });
    p2.on('limitChanged', (e) => changes.push(e));
    const call = track(p2.execute(workFor(clock, 60)));
    await clock.advance(60);
    expect(call.value).toBe('ok');
    expect(changes).toEqual([{ from: 10, to: 5, reason: 'decrease' }]);
  });

  it.each([
    ['TimeoutError', new TimeoutError(5)],
    ['BulkheadFullError from inside', new BulkheadFullError()],
    ['RateLimitedError from inside', new RateLimitedError(100)],
    ['ThrottledError from inside', new ThrottledError()],
  ])('counts a %s as a drop', async (_name, error) => {
    const clock = new VirtualClock();
    const p = aimd(clock);
    const call = track(p.execute(workFor(clock, 5, error)));
    await clock.advance(5);
    expect(call.error).toBe(error);
    expect(p.limit).toBe(5);
  });

  it('leaves the limit alone on other errors (application errors say nothing about overload)', async () => {
    const clock = new VirtualClock();
    const p = aimd(clock);
    for (let i = 0; i < 5; i++) {
      const call = track(p.execute(workFor(clock, 5, new Error('404'))));
      await clock.advance(5);
      expect(call.error).toBeInstanceOf(Error);
    }
    expect(p.limit).toBe(10);
  });

  it('counts errors isDrop matches as drops', async () => {
    const clock = new VirtualClock();
    const p = aimd(clock, { isDrop: (e: unknown) => (e as Error).message === '503' });
    void p.execute(workFor(clock, 5, new Error('400'))).catch(() => {});
    await clock.advance(5);
    expect(p.limit).toBe(10);
    void p.execute(workFor(clock, 5, new Error('503'))).catch(() => {});
    await clock.advance(5);
    expect(p.limit).toBe(5);
  });

  it("ignores the caller's abort, even when isDrop would match the error", async () => {
    const clock = new VirtualClock();
    const isDrop = vi.fn(() => true);
    const p = aimd(clock, { isDrop });
    const controller = new AbortController();
    const call = track(
      p.execute(
        ({ signal }) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
        { signal: controller.signal },
      ),
    );
    await clock.settle();
    controller.abort(new Error('user left'));
    await clock.settle();
    expect((call.error as Error).message).toBe('user left');
    expect(p.limit).toBe(10);
    expect(isDrop).not.toHaveBeenCalled();
    expect(p.inflight).toBe(0);
  });

  it("counts an enclosing timeout's abort as a drop, whatever error the work ends with", async () => {
    const clock = new VirtualClock();
    const p = aimd(clock);
    const policy = pipeline(timeout({ ms: 20, clock }), p);
    const call = track(
      policy.execute(
        ({ signal }) =>
          new Promise((_, reject) =>
            signal.addEventListener('abort', () => reject(new Error('socket closed'))),
          ),
      ),
    );
    await clock.advance(20);
    expect(call.error).toBeInstanceOf(TimeoutError);
    expect(p.limit).toBe(5);
  });

  it('frees the slot even when isDrop throws, and fails the call with its error', async () => {
    const clock = new VirtualClock();
    const p = aimd(clock, {
      isDrop: () => {
        throw new Error('bad predicate');
      },
    });
    const call = track(p.execute(workFor(clock, 5, new Error('x'))));
    await clock.advance(5);
    expect((call.error as Error).message).toBe('bad predicate');
    expect(p.inflight).toBe(0);
    expect(p.limit).toBe(10);
  });

  it('builds no event payload when nobody listens', async () => {
    const clock = new VirtualClock();
    const p = aimd(clock);
    const emit = vi.spyOn(p as unknown as { emit: () => void }, 'emit');
    void p.execute(workFor(clock, 5, new TimeoutError(5))).catch(() => {});
    await clock.advance(5);
    expect(p.limit).toBe(5);
    expect(emit).not.toHaveBeenCalled();
  });
});

describe('adaptiveConcurrency gradient probes', () => {
  it('halves the concurrency for a probe, measures calls started under it, then restores the limit', async () => {
    const clock = new VirtualClock();
    const p = adaptiveConcurrency({ initialLimit: 4, maxLimit: 4, clock });
    const changes: unknown[] = [];
    p.on('limitChanged', (e) => changes.push(e));
    // 16 windows of 10 calls at 10 ms, 4 at a time: the first probe starts.
    for (let i = 0; i < 40; i++) {
      const calls = [1, 2, 3, 4].map(() => track(p.execute(workFor(clock, 10))));
      await clock.advance(10);
      expect(calls.map((c) => c.value)).toEqual(['ok', 'ok', 'ok', 'ok']);
    }
    expect(changes).toEqual([{ from: 4, to: 2, reason: 'probe' }]);
    expect(p._health()).toMatchObject({ probing: true, limit: 2, baselineRtt: 10 });
    // Ten probe calls at 20 ms become the new baseline.
    for (let i = 0; i < 5; i++) {
      const calls = [track(p.execute(workFor(clock, 20))), track(p.execute(workFor(clock, 20)))];
      await expect(p.execute(() => 'over')).rejects.toBeInstanceOf(BulkheadFullError);
      await clock.advance(20);
      expect(calls.map((c) => c.value)).toEqual(['ok', 'ok']);
    }
    expect(changes).toEqual([
      { from: 4, to: 2, reason: 'probe' },
      { from: 2, to: 4, reason: 'probeEnd' },
    ]);
    expect(p._health()).toMatchObject({ probing: false, limit: 4, baselineRtt: 20 });
  });
});
