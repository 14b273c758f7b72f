import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Context,
  health,
  type PolicyBase,
  ResilienceError,
  retryBudget,
  setListenerErrorHandler,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { InjectedError, Sentinel } from './hostile.js';
import { type Build, busy, JUNK_VALUES, pipelineBuild, policyBuild, walk } from './policies.js';

/** How a call's work behaves. */
type WorkKind =
  | 'value'
  | 'throw'
  | 'throwJunk'
  | 'resolveLater'
  | 'rejectLater'
  | 'honoursAbort'
  | 'ignoresAbort';

interface CallSpec {
  /** Virtual ms at which the call starts. */
  readonly at: number;
  readonly work: WorkKind;
  /** How long asynchronous work takes, in virtual ms. */
  readonly ms: number;
  /** No signal, the long-lived shared one (never aborted), or its own, aborted at `abortAt` (if set). */
  readonly signal: 'none' | 'shared' | 'own';
  readonly abortAt: number | undefined;
  readonly key: number;
  readonly priority: number;
}

const callSpec: fc.Arbitrary<CallSpec> = fc.record({
  at: fc.integer({ min: 0, max: 60 }),
  work: fc.constantFrom<WorkKind>(
    'value',
    'throw',
    'throwJunk',
    'resolveLater',
    'rejectLater',
    'honoursAbort',
    'ignoresAbort',
  ),
  ms: fc.oneof(fc.integer({ min: 0, max: 80 }), fc.constant(Number.MIN_VALUE)),
  signal: fc.constantFrom('none', 'shared', 'own'),
  abortAt: fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }),
  key: fc.integer({ min: 0, max: 3 }),
  priority: fc.integer({ min: -2, max: 2 }),
});

/** A call as observed from outside. */
interface Observed {
  readonly spec: CallSpec;
  readonly controller: AbortController | undefined;
  settledTimes: number;
  ok: boolean;
  outcome: unknown;
  /** The abort reason, when the caller aborted while the call was still pending. */
  abortedWhilePending: unknown;
  worksStarted: number;
  worksStartedAfterAbort: number;
}

const POLICY_NAMES = [
  'retry',
  'timeout',
  'fallback',
  'circuitBreaker',
  'bulkhead',
  'rateLimit',
  'hedge',
  'chaos.fault',
  'chaos.latency',
  'chaos.result',
  'adaptiveConcurrency',
  'throttle',
  'keyed',
  'pipeline',
];

/** A TypeError or RangeError a policy raises itself names it first (e.g. `rateLimit: cost() must be ...`). */
function isPolicyValidationError(error: unknown): boolean {
  return (
    (error instanceof TypeError || error instanceof RangeError) &&
    POLICY_NAMES.some((name) => error.message.startsWith(`${name}: `))
  );
}

/** What the runs went through, summed: the properties must not hold only because nothing happened. */
const seen = { abortsWon: 0, resolved: 0, rejected: 0, bulwarkErrors: 0, validationErrors: 0 };

let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let restoreListenerErrors: (error: unknown) => void;

beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
  // Hostile callbacks include event listeners below; their errors are reported, not fatal.
  restoreListenerErrors = setListenerErrorHandler(() => {});
});

afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  setListenerErrorHandler(restoreListenerErrors);
});

/**
 * Runs `specs` through a policy built by `build` on a virtual clock, drives
 * time until no timer is left, and checks the execution contract: every call
 * settles exactly once, with an outcome it may legitimately have; a caller's
 * abort wins at once and no work starts after it; nothing is left behind
 * (listeners, slots, unhandled rejections).
 */
async function runAndCheck(
  build: Build,
  specs: readonly CallSpec[],
  listenerThrows: boolean,
  operations: readonly { at: number; op: Op; key: number }[] = [],
): Promise<void> {
  unhandled = [];
  const clock = new VirtualClock();
  const junk = new Set<unknown>(JUNK_VALUES);
  const policy: PolicyBase<any> = build({ clock, budget: retryBudget({ clock, minPerSecond: 100 }), junk });
  if (listenerThrows) {
    policy.onAny(() => {
      throw new Sentinel();
    });
  }
  const shared = new AbortController();
  const observed: Observed[] = [];
  /** Values works resolve with and throw: legitimate outcomes. */
  const known = new Set<unknown>([...junk, 'fallback value', 'chaos value', 'junk']);

  for (const [index, spec] of specs.entries()) {
    const controller = spec.signal === 'own' ? new AbortController() : undefined;
    const call: Observed = {
      spec,
      controller,
      settledTimes: 0,
      ok: false,
      outcome: undefined,
      abortedWhilePending: undefined,
      worksStarted: 0,
      worksStartedAfterAbort: 0,
    };
    observed.push(call);
    const value = { call: index };
    const failure = new Error(`work ${index} failed`);
    const thrownJunk = index % 2 === 0 ? `string thrown by ${index}` : index;
    known.add(value).add(failure).add(thrownJunk);

    const work = ({ signal }: Context): unknown => {
      call.worksStarted++;
      if (controller?.signal.aborted === true && call.abortedWhilePending !== undefined) {
        call.worksStartedAfterAbort++;
      }
      switch (spec.work) {
        case 'value':
          return value;
        case 'throw':
          throw failure;
        case 'throwJunk':
          throw thrownJunk;
        case 'resolveLater':
        case 'rejectLater':
        case 'ignoresAbort':
          return new Promise((resolve, reject) => {
            clock.setTimeout(() => (spec.work === 'rejectLater' ? reject(failure) : resolve(value)), spec.ms);
          });
        case 'honoursAbort':
          return new Promise((resolve, reject) => {
            if (signal.aborted) return reject(signal.reason);
            const onAbort = () => {
              clock.clearTimeout(handle);
              reject(signal.reason);
            };
            const handle = clock.setTimeout(() => {
              signal.removeEventListener('abort', onAbort);
              resolve(value);
            }, spec.ms);
            signal.addEventListener('abort', onAbort, { once: true });
          });
      }
    };

    clock.setTimeout(() => {
      const signal = spec.signal === 'shared' ? shared.signal : controller?.signal;
      const promise = policy.execute(work, { signal, key: `k${spec.key}`, priority: spec.priority });
      promise.then(
        (result) => {
          call.settledTimes++;
          call.ok = true;
          call.outcome = result;
        },
        (error: unknown) => {
          call.settledTimes++;
          call.ok = false;
          call.outcome = error;
        },
      );
    }, spec.at);
    if (controller !== undefined && spec.abortAt !== undefined) {
      const reason = new Error(`caller ${index} aborted`);
      clock.setTimeout(() => {
        const pending = call.settledTimes === 0 && clock.now() >= spec.at;
        controller.abort(reason);
        if (pending) call.abortedWhilePending = reason;
      }, spec.abortAt);
    }
  }

  const releases: (() => void)[] = [];
  for (const { at, op, key } of operations) {
    clock.setTimeout(() => {
      // Policies created later (per key) are reached too: walk the tree when the operation runs.
      for (const p of walk(policy)) {
        const any = p as unknown as Record<string, (...args: unknown[]) => unknown>;
        if (op === 'isolate' && p.kind === 'circuitBreaker') releases.push(any.isolate!() as () => void);
        if (op === 'release') releases.shift()?.();
        if (op === 'reset' && p.kind === 'circuitBreaker') any.reset!();
        if (op === 'deleteKey' && p.kind === 'keyed') any.delete!(`k${key}`);
        if (op === 'clearLastKnownGood' && p.kind === 'fallback') any.clearLastKnownGood!();
        if (op === 'stats') void (p as unknown as { stats?: unknown }).stats;
      }
      if (op === 'health') expect(() => JSON.stringify(health([policy]))).not.toThrow();
    }, at);
  }

  // No call may hang and no timer may re-arm itself forever.
  await clock.runAll(20_000);
  await new Promise((resolve) => setImmediate(resolve));

  for (const [index, call] of observed.entries()) {
    const where = `call ${index} (${JSON.stringify(call.spec)})`;
    expect(call.settledTimes, `${where} settled ${call.settledTimes} times`).toBe(1);
    if (call.abortedWhilePending !== undefined) seen.abortsWon++;
    else if (call.ok) seen.resolved++;
    else seen.rejected++;
    if (call.outcome instanceof ResilienceError) seen.bulwarkErrors++;
    if (isPolicyValidationError(call.outcome)) seen.validationErrors++;
    if (call.abortedWhilePending !== undefined) {
      expect(call.outcome, `${where}: a caller's abort must win`).toBe(call.abortedWhilePending);
      expect(call.worksStartedAfterAbort, `${where}: work started after the caller aborted`).toBe(0);
    } else if (call.ok) {
      expect(known.has(call.outcome), `${where} resolved with ${String(call.outcome)}`).toBe(true);
    } else {
      const error = call.outcome;
      const allowed =
        known.has(error) ||
        error instanceof Sentinel ||
        error instanceof InjectedError ||
        error instanceof ResilienceError ||
        isPolicyValidationError(error) ||
        (call.controller !== undefined && error === call.controller.signal.reason);
      expect(allowed, `${where} rejected with ${error instanceof Error ? error.stack : String(error)}`).toBe(
        true,
      );
    }
    if (call.controller !== undefined) {
      expect(getEventListeners(call.controller.signal, 'abort'), `${where} left listeners`).toHaveLength(0);
    }
  }
  expect(getEventListeners(shared.signal, 'abort'), 'listeners left on the shared signal').toHaveLength(0);
  for (const p of walk(policy)) {
    const left = busy(p);
    expect(left, 'slots left taken once idle').toBeUndefined();
  }
  expect(clock.pending).toBe(0);
  expect(unhandled, 'unhandled rejections').toEqual([]);
  for (const release of releases) release();
}

/** Things an operator does while calls run: isolate or reset a breaker, drop a key, read health. */
type Op = 'isolate' | 'release' | 'reset' | 'deleteKey' | 'clearLastKnownGood' | 'health' | 'stats';
const opSpec = fc.record({
  at: fc.integer({ min: 0, max: 100 }),
  op: fc.constantFrom<Op>(
    'isolate',
    'release',
    'reset',
    'deleteKey',
    'clearLastKnownGood',
    'health',
    'stats',
  ),
  key: fc.integer({ min: 0, max: 3 }),
});

const calls = fc.array(callSpec, { minLength: 1, maxLength: 8 });
const ops = fc.array(opSpec, { maxLength: 4 });

describe('fuzzing executions (odd options, hostile callbacks, random call sequences and aborts)', () => {
  it('every strategy: calls settle exactly once, aborts win, nothing leaks, nothing hangs', async () => {
    await fc.assert(
      fc.asyncProperty(policyBuild, calls, fc.boolean(), ops, (build, specs, throws, o) =>
        runAndCheck(build, specs, throws, o),
      ),
      { numRuns: 600 },
    );
  }, 120_000);

  it('pipelines of one to four strategies in any order: the same contract', async () => {
    await fc.assert(
      fc.asyncProperty(pipelineBuild, calls, fc.boolean(), ops, (build, specs, throws, o) =>
        runAndCheck(build, specs, throws, o),
      ),
      { numRuns: 600 },
    );
  }, 120_000);

  it('(the runs above reached aborts, successes, failures, bulwark errors and call-time validation)', () => {
    expect(seen.abortsWon).toBeGreaterThan(0);
    expect(seen.resolved).toBeGreaterThan(0);
    expect(seen.rejected).toBeGreaterThan(0);
    expect(seen.bulwarkErrors).toBeGreaterThan(0);
    expect(seen.validationErrors).toBeGreaterThan(0);
  });
});
