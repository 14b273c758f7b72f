import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SoakReport } from '../../benchmarks/soak.js';

// The CI-sized soak: the same run as `npm run soak`, with 50 000 calls. It
// runs in a child process because the heap is measured after `gc()`, which
// needs `--expose-gc`, and because a test runner's own allocations would blur it.
const script = fileURLToPath(new URL('../../benchmarks/soak.ts', import.meta.url));
const CALLS = 50_000;
const REAL_CALLS = 2_000;

let report: SoakReport;

beforeAll(async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      script,
      '--calls',
      String(CALLS),
      '--real',
      String(REAL_CALLS),
      '--seed',
      '7',
      '--json',
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  ).catch((error: { stdout?: string }) => {
    // A broken invariant exits with 1 but still prints the report: check it below.
    if (typeof error.stdout === 'string' && error.stdout.trim().startsWith('{'))
      return { stdout: error.stdout };
    throw error;
  });
  report = JSON.parse(stdout) as SoakReport;
}, 180_000);

describe('soak (50 000 calls through two six-policy pipelines)', () => {
  it('holds every invariant it checks', () => {
    expect(report.failures).toEqual([]);
  });

  it('settles every call exactly once, each with an outcome of a known kind', () => {
    expect(report.settled).toBe(CALLS);
    const total = Object.values(report.outcomes).reduce((a, b) => a + b, 0);
    expect(total).toBe(CALLS);
    expect(report.outcomes.unexpectedError ?? 0).toBe(0);
    expect(report.outcomes.unexpectedValue ?? 0).toBe(0);
  });

  it('keeps heap growth between two idle points under 5 MB', () => {
    expect(report.heap.baselineMB).toBeGreaterThan(0);
    expect(report.heap.growthMB).toBeLessThan(5);
  });

  it('leaves no unhandled rejection and no throwing listener', () => {
    expect(report.unhandledRejections).toBe(0);
    expect(report.listenerErrors).toBe(0);
  });

  it('leaves no abort listener on the long-lived caller signal, nor on any settled call’s signal', () => {
    // Calls in flight did hold listeners on it: the end count is not vacuous.
    expect(report.sharedSignalListeners.max).toBeGreaterThan(0);
    expect(report.sharedSignalListeners.end).toBe(0);
    expect(report.callerSignalsWithListenersAfterSettle).toBe(0);
  });

  it('holds no timer once idle: none pending on the virtual clock, no live Timeout on the system clock', () => {
    expect(report.pendingTimersWhenIdle).toBe(0);
    expect(report.real.settled).toBe(REAL_CALLS);
    expect(report.real.activeTimeoutsAfter).toBe(0);
  });

  it('rejects a call at once with its caller’s abort reason, and starts no work after it', () => {
    expect(report.callerAborts).toBeGreaterThan(100);
    expect(report.outcomes.callerAbort).toBe(report.callerAborts);
    expect(report.abortsNotReportedAtOnce).toBe(0);
    expect(report.worksStartedAfterAbort).toBe(0);
  });

  it('lets every work it started settle', () => {
    expect(report.worksStarted).toBeGreaterThan(CALLS / 2);
    expect(report.worksSettled).toBe(report.worksStarted);
  });

  it('went through every failure path (the run is not vacuous)', () => {
    for (const kind of [
      'ok',
      'fallback',
      'dependencyError',
      'thrownString',
      'timeout',
      'circuitOpen',
      'bulkheadFull',
      'callerAbort',
    ]) {
      expect(report.outcomes[kind] ?? 0, kind).toBeGreaterThan(0);
    }
    for (const event of [
      'a.circuitBreaker.open',
      'a.circuitBreaker.halfOpen',
      'a.circuitBreaker.close',
      'a.retry.retry',
      'a.bulkhead.queued',
      'a.bulkhead.reject',
      'a.chaos.chaos',
      'a.timeout.timeout',
      'b.timeout.timeout',
      'b.hedge.hedge',
      'b.keyed.evict',
      'b.adaptiveConcurrency.limitChanged',
      'b.rateLimit.wait',
      // A rate-limit rejection is retryable: hedge and retry absorb it before the caller sees it.
      'b.rateLimit.reject',
    ]) {
      expect(report.events[event] ?? 0, event).toBeGreaterThan(0);
    }
  });
});
