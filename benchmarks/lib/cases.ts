import * as ck from 'cockatiel';
import CircuitBreaker from 'opossum';
import pRetry from 'p-retry';
import type { Bulwark } from './load.js';
import { type Case, freshWork, type Work } from './measure.js';

/** Row names the report and the targets refer to. */
export const BARE = 'bare: await fn()';
export const BARE_REJECT = 'bare: try { await Promise.reject(err) } catch {}';
export const P3 = 'bulwark pipeline(fallback, retry, timeout)';
export const C3 = 'cockatiel wrap(fallback, retry, timeout)';
export const P5 = 'bulwark pipeline(fallback, retry, circuitBreaker, timeout, bulkhead)';
export const C5 = 'cockatiel wrap(fallback, retry, circuitBreaker, timeout, bulkhead)';
export const O5 = 'opossum fire() (breaker, timeout, capacity, fallback)';
export const OPEN = 'bulwark circuitBreaker, open';

/** The same settings on every side: a breaker opening after 5 failures in a row, 10 concurrent calls. */
export const breakerOptions = { consecutiveFailures: 5, openFor: 30_000 };
export const bulkheadOptions = { limit: 10, queue: 0 };
export const cockatielBreaker = (halfOpenAfter: number) =>
  ck.circuitBreaker(ck.handleAll, { halfOpenAfter, breaker: new ck.ConsecutiveBreaker(5) });

export type Section = 'floor' | 'single' | 'pipeline' | 'reject';
export interface Row extends Case {
  readonly section: Section;
}

export interface Suite {
  readonly rows: readonly Row[];
  /** [bulwark row, peer row] pairs for the speedup table. */
  readonly comparisons: readonly (readonly [string, string])[];
  /** Strategies not exported by bulwark yet (their rows are left out). */
  readonly missing: readonly string[];
  /** Stops the peers' background timers (opossum's rolling windows). */
  close(): void;
}

const HOUR = 3_600_000;
const failure = new Error('boom');
const failing = async () => {
  throw failure;
};

/**
 * The issue's "five policies' synchronous steps fused into one async frame":
 * five objects of five classes, each with an enter and an exit step that
 * touch a counter, entered before the work and exited in one reaction. No
 * context, no scope, no events: the floor any fused pipeline stands on.
 */
function fusedSteps(work: () => Promise<number>): () => Promise<number> {
  interface Step {
    enter(): void;
    exit(): void;
  }
  const make = (tag: number): Step => {
    // Five classes, so the calls below see five shapes as a pipeline does.
    const classes = [
      class {
        n = 0;
        enter() {
          this.n += tag;
        }
        exit() {
          this.n -= tag;
        }
      },
      class {
        m = 0;
        enter() {
          this.m += tag;
        }
        exit() {
          this.m -= tag;
        }
      },
      class {
        k = 0;
        enter() {
          this.k++;
        }
        exit() {
          this.k--;
        }
      },
      class {
        a = 0;
        b = 0;
        enter() {
          this.a++;
        }
        exit() {
          this.b++;
        }
      },
      class {
        open = false;
        count = 0;
        enter() {
          if (!this.open) this.count++;
        }
        exit() {
          this.count--;
        }
      },
    ];
    return new classes[tag]!();
  };
  const steps: Step[] = [0, 1, 2, 3, 4].map(make);
  const exit = (value: number) => {
    for (let i = steps.length - 1; i >= 0; i--) steps[i]!.exit();
    return value;
  };
  const fail = (error: unknown) => {
    for (let i = steps.length - 1; i >= 0; i--) steps[i]!.exit();
    throw error;
  };
  return () => {
    for (let i = 0; i < steps.length; i++) steps[i]!.enter();
    return work().then(exit, fail);
  };
}

/**
 * Every case, each with its own policy instance (no shared state): the
 * floors, each policy alone, the pipelines, and an open breaker rejecting.
 */
export async function buildSuite(lib: Bulwark): Promise<Suite> {
  const rows: Row[] = [];
  const add = (section: Section, name: string, run: (work: Work) => Promise<unknown>, outcome?: 'reject') => {
    rows.push(outcome === undefined ? { section, name, run } : { section, name, run, outcome });
  };
  const opossums: CircuitBreaker[] = [];
  const opossum = (options: CircuitBreaker.Options) => {
    // Opossum binds its function at construction: give it its own work.
    const breaker = new CircuitBreaker(freshWork(), options);
    opossums.push(breaker);
    return breaker;
  };
  const { circuitBreaker, bulkhead, rateLimit } = lib;

  // Floors: what any wrapper costs on this machine.
  const nest = (fn: () => Promise<number>) => async () => await fn();
  const nested5 = nest(nest(nest(nest(nest(freshWork())))));
  add('floor', BARE, (w) => w());
  add('floor', 'floor: one .then reaction', (w) => w().then((v) => v));
  add('floor', 'floor: one async wrapper', async (w) => await w());
  add('floor', 'floor: five nested async wrappers', () => nested5());
  const fused = fusedSteps(freshWork());
  add('floor', 'floor: five sync steps fused around one .then', () => fused());
  add('floor', BARE_REJECT, () => Promise.reject(failure), 'reject');

  // Each policy alone, happy path.
  const retry = lib.retry();
  const timeout = lib.timeout(1000);
  const fallback = lib.fallback({ value: 0 });
  add('single', 'bulwark retry', (w) => retry.execute(w));
  add('single', 'bulwark timeout', (w) => timeout.execute(w));
  add('single', 'bulwark fallback', (w) => fallback.execute(w));
  // cockatiel's maxAttempts counts retries: 2 retries = bulwark's default 3 attempts.
  const cRetry = ck.retry(ck.handleAll, { maxAttempts: 2 });
  const cTimeout = ck.timeout(1000, ck.TimeoutStrategy.Cooperative);
  const cFallback = ck.fallback(ck.handleAll, 0);
  add('single', 'cockatiel retry', (w) => cRetry.execute(w));
  add('single', 'cockatiel timeout', (w) => cTimeout.execute(w));
  add('single', 'cockatiel fallback', (w) => cFallback.execute(w));
  add('single', 'p-retry', (w) => pRetry(w, { retries: 2 }));
  if (circuitBreaker) {
    const b = circuitBreaker(breakerOptions);
    add('single', 'bulwark circuitBreaker', (w) => b.execute(w));
  }
  const cBreaker = cockatielBreaker(30_000);
  add('single', 'cockatiel circuitBreaker', (w) => cBreaker.execute(w));
  const oBreaker = opossum({ timeout: false, resetTimeout: 30_000 });
  add('single', 'opossum fire() (breaker only)', () => oBreaker.fire());
  if (bulkhead) {
    const b = bulkhead(bulkheadOptions);
    add('single', 'bulwark bulkhead', (w) => b.execute(w));
  }
  const cBulkhead = ck.bulkhead(10, 0);
  add('single', 'cockatiel bulkhead', (w) => cBulkhead.execute(w));
  if (rateLimit) {
    // A rate the benchmark never reaches: every call takes the admit path.
    const r = rateLimit({ type: 'tokenBucket', rate: 1e9, per: 1000 });
    add('single', 'bulwark rateLimit', (w) => r.execute(w));
  }

  // Pipelines, happy path.
  const p3 = lib.pipeline(lib.fallback({ value: 0 }), lib.retry(), lib.timeout(1000));
  add('pipeline', P3, (w) => p3.execute(w));
  const c3 = ck.wrap(
    ck.fallback(ck.handleAll, 0),
    ck.retry(ck.handleAll, { maxAttempts: 2 }),
    ck.timeout(1000, ck.TimeoutStrategy.Cooperative),
  );
  add('pipeline', C3, (w) => c3.execute(w));
  if (circuitBreaker && bulkhead) {
    const p5 = lib.pipeline(
      lib.fallback({ value: 0 }),
      lib.retry(),
      circuitBreaker(breakerOptions),
      lib.timeout(1000),
      bulkhead(bulkheadOptions),
    );
    add('pipeline', P5, (w) => p5.execute(w));
  }
  const c5 = ck.wrap(
    ck.fallback(ck.handleAll, 0),
    ck.retry(ck.handleAll, { maxAttempts: 2 }),
    cockatielBreaker(30_000),
    ck.timeout(1000, ck.TimeoutStrategy.Cooperative),
    ck.bulkhead(10, 0),
  );
  add('pipeline', C5, (w) => c5.execute(w));
  // Opossum has no retry; its closest to the five is one breaker with a timeout, a capacity and a fallback.
  const oFull = opossum({ timeout: 1000, capacity: 10, resetTimeout: 30_000 });
  oFull.fallback(() => 0);
  add('pipeline', O5, () => oFull.fire());

  // The failure path: a breaker opened by 5 failures, rejecting at once.
  const openedBy = async (execute: () => Promise<unknown>) => {
    for (let i = 0; i < 5; i++) await execute().catch(() => {});
  };
  if (circuitBreaker) {
    const b = circuitBreaker({ ...breakerOptions, openFor: HOUR });
    await openedBy(() => b.execute(failing));
    if (b.state !== 'open') throw new Error(`the bulwark breaker should be open, is ${b.state}`);
    add('reject', OPEN, (w) => b.execute(w), 'reject');
  }
  const cOpen = cockatielBreaker(HOUR);
  await openedBy(() => cOpen.execute(failing));
  add('reject', 'cockatiel circuitBreaker, open', (w) => cOpen.execute(w), 'reject');
  const oOpen = opossum({ timeout: false, resetTimeout: HOUR });
  oOpen.open();
  add('reject', 'opossum fire(), open', () => oOpen.fire(), 'reject');

  return {
    rows,
    comparisons: [
      ['bulwark retry', 'cockatiel retry'],
      ['bulwark retry', 'p-retry'],
      ['bulwark timeout', 'cockatiel timeout'],
      ['bulwark fallback', 'cockatiel fallback'],
      ['bulwark circuitBreaker', 'cockatiel circuitBreaker'],
      ['bulwark circuitBreaker', 'opossum fire() (breaker only)'],
      ['bulwark bulkhead', 'cockatiel bulkhead'],
      [P3, C3],
      [P5, C5],
      [P5, O5],
      [OPEN, 'cockatiel circuitBreaker, open'],
      [OPEN, 'opossum fire(), open'],
    ],
    missing: (['circuitBreaker', 'bulkhead', 'rateLimit', 'keyed'] as const).filter(
      (name) => typeof lib[name] !== 'function',
    ),
    close: () => {
      for (const breaker of opossums) breaker.shutdown();
    },
  };
}

/** Runs every row once and checks it does what its label says, before anything is timed. */
export async function checkRows(rows: readonly Row[]): Promise<void> {
  for (const r of rows) {
    const outcome = await r.run(freshWork()).then(
      (value) => ({ ok: true, value }),
      (error: unknown) => ({ ok: false, value: error }),
    );
    const expected = r.outcome !== 'reject';
    if (outcome.ok !== expected || (expected && outcome.value !== 1)) {
      const wanted = expected ? 'the value 1' : 'a rejection';
      throw new Error(`${r.name}: expected ${wanted}, got ${String(outcome.value)}`);
    }
  }
}
