import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BulkheadFullError, type BulkheadPolicy, bulkhead } from '../../src/index.js';

/** Lets every queued promise reaction run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Call {
  readonly id: number;
  readonly controller: AbortController | undefined;
  resolve(value: string): void;
  reject(error: unknown): void;
  started: boolean;
  callerAborted: boolean;
  /** How many times the promise `execute` returned has settled (must end at exactly 1). */
  settled: number;
  outcome: { ok: true; value: unknown } | { ok: false; error: unknown } | undefined;
}

/** What the bulkhead should be doing. */
interface Model {
  readonly limit: number;
  readonly queue: number;
  /** Calls holding a slot: work started and not settled (a caller's abort does not free it). */
  running: Call[];
  /** Calls waiting, in arrival order. */
  queued: Call[];
}

/** The bulkhead itself and what the work observed. */
interface Real {
  readonly policy: BulkheadPolicy;
  readonly calls: Call[];
  /** Work functions in flight right now. */
  active: number;
  maxActive: number;
  /** Ids in the order their work started. */
  readonly startOrder: number[];
}

function check(m: Model, r: Real): void {
  expect(r.maxActive).toBeLessThanOrEqual(m.limit);
  expect(r.active).toBe(m.running.length);
  expect(r.policy.stats).toEqual({
    running: m.running.length,
    queued: m.queued.length,
    limit: m.limit,
    queue: m.queue,
  });
  for (const call of r.calls) expect(call.settled).toBeLessThanOrEqual(1);
}

/** Moves queue heads into freed slots in the model, as the bulkhead should. */
function promote(m: Model): void {
  while (m.running.length < m.limit && m.queued.length > 0) m.running.push(m.queued.shift()!);
}

class Start implements fc.AsyncCommand<Model, Real> {
  constructor(readonly abortable: boolean) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const controller = this.abortable ? new AbortController() : undefined;
    let resolveWork!: (value: string) => void;
    let rejectWork!: (error: unknown) => void;
    const work = new Promise<string>((res, rej) => {
      resolveWork = res;
      rejectWork = rej;
    });
    const call: Call = {
      id: r.calls.length,
      controller,
      resolve: resolveWork,
      reject: rejectWork,
      started: false,
      callerAborted: false,
      settled: 0,
      outcome: undefined,
    };
    r.calls.push(call);
    const result = r.policy.execute(
      () => {
        expect(call.started).toBe(false);
        call.started = true;
        r.startOrder.push(call.id);
        r.active += 1;
        r.maxActive = Math.max(r.maxActive, r.active);
        const settle = () => {
          r.active -= 1;
        };
        work.then(settle, settle);
        return work;
      },
      { signal: controller?.signal },
    );
    result.then(
      (value) => {
        call.settled += 1;
        call.outcome = { ok: true, value };
      },
      (error: unknown) => {
        call.settled += 1;
        call.outcome = { ok: false, error };
      },
    );
    const expected =
      m.running.length < m.limit ? 'run' : m.queued.length < m.queue ? 'queue' : ('reject' as const);
    if (expected === 'run') m.running.push(call);
    else if (expected === 'queue') m.queued.push(call);
    await flush();
    if (expected === 'run') {
      expect(call.started).toBe(true);
    } else if (expected === 'queue') {
      expect(call.started).toBe(false);
      expect(call.settled).toBe(0);
    } else {
      expect(call.started).toBe(false);
      expect(call.outcome).toEqual({ ok: false, error: expect.any(BulkheadFullError) });
    }
    check(m, r);
  }
  toString(): string {
    return `start(${this.abortable ? 'abortable' : 'plain'})`;
  }
}

class Settle implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly pick: number,
    readonly ok: boolean,
  ) {}
  check(m: Readonly<Model>): boolean {
    return m.running.length > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const index = this.pick % m.running.length;
    const call = m.running[index]!;
    const error = new Error(`fail ${call.id}`);
    if (this.ok) call.resolve(`ok ${call.id}`);
    else call.reject(error);
    m.running.splice(index, 1);
    promote(m);
    await flush();
    // A caller that aborted already got its answer; otherwise the work's outcome comes through.
    if (!call.callerAborted) {
      expect(call.outcome).toEqual(this.ok ? { ok: true, value: `ok ${call.id}` } : { ok: false, error });
    }
    for (const running of m.running) expect(running.started).toBe(true);
    check(m, r);
  }
  toString(): string {
    return `${this.ok ? 'succeed' : 'fail'}(${this.pick})`;
  }
}

class AbortQueued implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  private candidates(m: Readonly<Model>): Call[] {
    return m.queued.filter((c) => c.controller !== undefined);
  }
  check(m: Readonly<Model>): boolean {
    return this.candidates(m).length > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const candidates = this.candidates(m);
    const call = candidates[this.pick % candidates.length]!;
    const reason = new Error(`abort ${call.id}`);
    call.controller!.abort(reason);
    call.callerAborted = true;
    m.queued.splice(m.queued.indexOf(call), 1);
    // It leaves the queue at once, not when a slot frees.
    expect(r.policy.stats.queued).toBe(m.queued.length);
    await flush();
    expect(call.outcome).toEqual({ ok: false, error: reason });
    expect(call.started).toBe(false);
    check(m, r);
  }
  toString(): string {
    return `abortQueued(${this.pick})`;
  }
}

class AbortRunning implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  private candidates(m: Readonly<Model>): Call[] {
    return m.running.filter((c) => c.controller !== undefined && !c.callerAborted);
  }
  check(m: Readonly<Model>): boolean {
    return this.candidates(m).length > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const candidates = this.candidates(m);
    const call = candidates[this.pick % candidates.length]!;
    const reason = new Error(`abort ${call.id}`);
    call.controller!.abort(reason);
    call.callerAborted = true;
    await flush();
    // The caller gets its answer at once, but the work still runs and keeps its slot.
    expect(call.outcome).toEqual({ ok: false, error: reason });
    check(m, r);
  }
  toString(): string {
    return `abortRunning(${this.pick})`;
  }
}

// Starts are listed twice so that queues fill up often enough for aborts of queued calls to matter.
const commands = [
  fc.boolean().map((abortable) => new Start(abortable)),
  fc.boolean().map((abortable) => new Start(abortable)),
  fc.nat(8).map((pick) => new Settle(pick, true)),
  fc.nat(8).map((pick) => new Settle(pick, false)),
  fc.nat(8).map((pick) => new AbortQueued(pick)),
  fc.nat(8).map((pick) => new AbortRunning(pick)),
];

describe('bulkhead properties', () => {
  it('under random interleavings of starts, successes, failures and aborts: never over limit, FIFO, no call lost', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 6 }),
        fc.commands(commands, { maxCommands: 60, size: 'max' }),
        async (limit, queue, cmds) => {
          const model: Model = { limit, queue, running: [], queued: [] };
          const real: Real = {
            policy: bulkhead({ limit, queue }),
            calls: [],
            active: 0,
            maxActive: 0,
            startOrder: [],
          };
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          // Drain: settle every running call until nothing is left.
          while (model.running.length > 0) {
            const call = model.running.shift()!;
            call.resolve('drain');
            promote(model);
            await flush();
          }
          check(model, real);
          expect(real.policy.stats).toMatchObject({ running: 0, queued: 0 });
          // Every call settled exactly once, whichever way.
          for (const call of real.calls) expect(call.settled).toBe(1);
          // Work started in arrival order (FIFO): later callers never overtake earlier ones.
          expect(real.startOrder).toEqual([...real.startOrder].sort((a, b) => a - b));
          // Exactly the calls neither rejected nor aborted while queued ran.
          const rejectedOrAbortedWaiting = real.calls.filter((c) => !c.started).length;
          expect(real.startOrder.length + rejectedOrAbortedWaiting).toBe(real.calls.length);
          for (const call of real.calls) {
            if (!call.started) {
              expect(call.outcome?.ok).toBe(false);
              const error = call.outcome?.ok === false ? call.outcome.error : undefined;
              expect(error instanceof BulkheadFullError || call.callerAborted).toBe(true);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
