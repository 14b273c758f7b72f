/**
 * Tests written to kill mutants that survived the config mutation run on
 * src/config/build.ts, from `buildLayer` on (see docs/testing.md, "Mutation
 * testing"): each pins a behaviour that no other test observed. Named after
 * the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { type ConfigIssue, registry, validateConfig } from '../../src/config/index.js';
import { CircuitBreakerPolicy, circuitBreaker, type RetryBudget, retryBudget } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { fail, settle } from './helpers.js';

const LAYERS =
  'fallback, rateLimit, totalTimeout, retry, hedge, circuitBreaker, throttle, timeout, bulkhead, adaptiveConcurrency, chaos';

function issuesOf(config: unknown, code?: unknown): readonly ConfigIssue[] {
  return validateConfig(config, code === undefined ? {} : { code: code as never });
}

/** Spends a budget's retries: how many it granted before refusing (at most 10). */
function spend(budget: RetryBudget): number {
  let granted = 0;
  while (granted < 10 && budget.tryRetry()) granted++;
  return granted;
}

describe('building a configuration: top level, budgets, assembly (src/config/build.ts)', () => {
  describe('the top level and pipeline sections', () => {
    it('a configuration that is not data is reported once, at the offending path, and nothing else is checked', () => {
      const issues = issuesOf({ p: () => 1, q: { retyr: {} } });
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatchObject({ path: 'p', expected: 'JSON data' });
      expect(issues[0]!.message).toMatch(/^must be JSON data, got /);
    });

    it('$schema must be a string: the message, expected and received', () => {
      expect(issuesOf({ $schema: 5 })).toEqual([
        { path: '$schema', message: 'must be a string, got 5', expected: 'a string', received: '5' },
      ]);
      expect(issuesOf({ $schema: 'https://example.com/bulwark.json', p: { timeout: 1 } })).toEqual([]);
    });

    it('an empty pipeline name, or one starting with $, is refused with its name quoted', () => {
      const message = 'is not a valid pipeline name (empty, or starting with $, which is reserved)';
      expect(issuesOf({ '': {}, $p: { timeout: 1 } })).toEqual([
        { path: '""', message },
        { path: '"$p"', message },
      ]);
    });

    it('a pipeline that is not an object: the message, expected and received', () => {
      expect(issuesOf({ p: 5, q: 'fast' })).toEqual([
        { path: 'p', message: 'must be an object of policies, got 5', expected: 'an object', received: '5' },
        {
          path: 'q',
          message: 'must be an object of policies, got "fast"',
          expected: 'an object',
          received: '"fast"',
        },
      ]);
    });

    it('an unknown pipeline key lists every key a pipeline may hold', () => {
      expect(issuesOf({ p: { retyr: {} } })).toEqual([
        {
          path: 'p.retyr',
          message: `unknown policy (expected one of: ${LAYERS}, order, retryBudget, keyed)`,
        },
      ]);
    });

    it('an unknown chaos strategy lists the strategies', () => {
      expect(issuesOf({ p: { chaos: { faults: { rate: 1 } } } })).toEqual([
        {
          path: 'p.chaos.faults',
          message: 'unknown chaos strategy (expected one of: latency, fault, result)',
        },
      ]);
    });
  });

  describe('retry budgets', () => {
    it('a budget is named after its pipeline and reads the registry’s clock', async () => {
      const clock = new VirtualClock();
      const policies = registry(
        { a: { retryBudget: { ratio: 0, minPerSecond: 0.1, window: '10s' }, retry: {} } },
        { clock },
      );
      const budget = policies.get('a').retryBudget!;
      expect(budget.name).toBe('a.retryBudget');
      expect(spend(budget)).toBe(1);
      await clock.advance(11_000);
      expect(spend(budget)).toBe(1);
    });

    it('code given for retryBudget reaches the budget: a clock in code is the one it reads', async () => {
      const budgetClock = new VirtualClock();
      const policies = registry(
        { a: { retryBudget: { ratio: 0, minPerSecond: 0.1, window: '10s' }, retry: {} } },
        { code: { a: { retryBudget: { clock: budgetClock } } } },
      );
      const budget = policies.get('a').retryBudget!;
      expect(spend(budget)).toBe(1);
      await budgetClock.advance(11_000);
      expect(spend(budget)).toBe(1);
    });

    it('an update may add a pipeline that declares a budget', () => {
      const policies = registry({ a: { timeout: '1s' } });
      policies.update({ a: { timeout: '1s' }, b: { retryBudget: { ratio: 0.5 }, retry: {} } });
      expect(policies.get('b').retryBudget?.ratio).toBe(0.5);
    });

    it('sharing an invalid budget reports only the budget’s own problem', () => {
      expect(issuesOf({ a: { retryBudget: { ratio: -1 } }, b: { retryBudget: 'a', retry: {} } })).toEqual([
        {
          path: 'a.retryBudget.ratio',
          message: 'must be a number ≥ 0, got -1',
          expected: 'a number ≥ 0',
          received: '-1',
        },
      ]);
    });

    it('sharing a pipeline without a budget: the message, expected and received', () => {
      expect(issuesOf({ a: { retryBudget: 'b', retry: {} }, b: { retry: {} } })).toEqual([
        {
          path: 'a.retryBudget',
          message: 'names pipeline "b", which declares no retryBudget of its own to share',
          expected: 'a budget { ratio, minPerSecond, window } or the name of a pipeline declaring one',
          received: '"b"',
        },
      ]);
    });

    it('a budget in code conflicts with a retryBudget in data, for retry and hedge alike', () => {
      const message = "conflicts with the pipeline's retryBudget; give the budget in one place";
      const budget = retryBudget();
      expect(
        issuesOf(
          { a: { retryBudget: {}, retry: {}, hedge: { delay: 10 } } },
          { a: { retry: { budget }, hedge: { budget } } },
        ),
      ).toEqual([
        { path: 'code.a.retry.budget', message },
        { path: 'code.a.hedge.budget', message },
      ]);
    });

    it('without a retryBudget in data, a budget in code is accepted and drawn from', async () => {
      const clock = new VirtualClock();
      const budget = retryBudget({ clock });
      const policies = registry(
        { a: { retry: { maxAttempts: 2, backoff: 0 } } },
        { clock, code: { a: { retry: { budget } } } },
      );
      expect(policies.get('a').retryBudget).toBeUndefined();
      const call = settle(policies.get('a').execute(fail));
      await clock.runAll();
      expect((await call).ok).toBe(false);
      expect(budget.stats).toEqual({ attempts: 1, retries: 1, available: 99 });
    });

    it('a pipeline’s hedge draws from its budget: no hedge starts once the budget is spent', async () => {
      const clock = new VirtualClock();
      const policies = registry(
        { a: { retryBudget: { ratio: 0, minPerSecond: 0 }, hedge: { delay: '50ms' } } },
        { clock },
      );
      let starts = 0;
      const call = settle(
        policies.get('a').execute(() => {
          starts++;
          return new Promise<string>((resolve) => clock.setTimeout(() => resolve('ok'), 100));
        }),
      );
      await clock.runAll();
      expect(await call).toEqual({ ok: true, value: 'ok' });
      expect(starts).toBe(1);
      expect(policies.get('a').retryBudget?.stats).toEqual({ attempts: 1, retries: 0, available: 0 });
    });
  });

  describe('assembling the pipelines', () => {
    it('cross-policy checks skip a section that is invalid on its own', () => {
      expect(issuesOf({ p: { totalTimeout: '1s', timeout: { ms: '5s', bogus: 1 } } })).toEqual([
        {
          path: 'p.timeout.bogus',
          message: 'unknown option (expected one of: ms, strategy, clock, name)',
          expected: 'one of: ms, strategy, clock, name',
          received: '1',
        },
      ]);
    });

    it('a changed breaker whose state cannot be carried over starts fresh (its clock read NaN)', async () => {
      const virtual = new VirtualClock();
      let broken = false;
      const clock = {
        now: () => (broken ? Number.NaN : virtual.now()),
        setTimeout: (callback: () => void, ms: number) => virtual.setTimeout(callback, ms),
        clearTimeout: (handle: unknown) => virtual.clearTimeout(handle as never),
      };
      const policies = registry({ p: { circuitBreaker: { consecutiveFailures: 1 } } }, { clock });
      const handle = policies.get('p');
      broken = true;
      await settle(handle.execute(fail));
      broken = false;
      const before = handle.policy('circuitBreaker') as CircuitBreakerPolicy;
      expect(before.state).toBe('open');
      expect(() => circuitBreaker({ initialState: before.snapshot() })).toThrow(
        'circuitBreaker: initialState.openedAt must be a number, got NaN',
      );
      policies.update({ p: { circuitBreaker: { consecutiveFailures: 2 } } });
      const breaker = handle.policy('circuitBreaker');
      expect(breaker).toBeInstanceOf(CircuitBreakerPolicy);
      expect((breaker as CircuitBreakerPolicy).state).toBe('closed');
      expect(await settle(handle.execute(() => Promise.resolve('ok')))).toEqual({ ok: true, value: 'ok' });
    });
  });
});
