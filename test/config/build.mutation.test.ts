/**
 * Tests written to kill mutants that survived the config mutation run on
 * src/config/build.ts (see docs/testing.md, "Mutation testing"): each pins a
 * behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { type ConfigIssue, registry, validateConfig } from '../../src/config/index.js';
import { type KeyedPolicy, RateLimitedError } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { fail, settle } from './helpers.js';

const LAYERS =
  'fallback, rateLimit, totalTimeout, retry, hedge, circuitBreaker, throttle, timeout, bulkhead, adaptiveConcurrency, chaos';
const KEYABLE = 'rateLimit, hedge, circuitBreaker, throttle, bulkhead, adaptiveConcurrency';

function issuesOf(config: unknown, code?: unknown): readonly ConfigIssue[] {
  return validateConfig(config, code === undefined ? {} : { code: code as never });
}

describe('building a configuration (src/config/build.ts)', () => {
  describe('a fallback value is compared as data on update', () => {
    async function valueAfterUpdate(before: unknown, after: unknown): Promise<unknown> {
      const policies = registry({ p: { fallback: { value: before as never } } });
      policies.update({ p: { fallback: { value: after as never } } });
      return policies.get('p').execute(fail);
    }

    it('an object value replaced by a number is rebuilt: the new value is served', async () => {
      expect(await valueAfterUpdate({}, 5)).toBe(5);
      expect(await valueAfterUpdate({}, 'text')).toBe('text');
    });

    it('null replaced by an object, and an object replaced by null, are rebuilt', async () => {
      expect(await valueAfterUpdate(null, {})).toEqual({});
      expect(await valueAfterUpdate({}, null)).toBe(null);
    });

    it('an array replaced by an object with the same entries is rebuilt', async () => {
      const fromArray = await valueAfterUpdate([], {});
      expect(Array.isArray(fromArray)).toBe(false);
      expect(fromArray).toEqual({});
      const fromObject = await valueAfterUpdate({ 0: 'a' }, ['a']);
      expect(Array.isArray(fromObject)).toBe(true);
      expect(fromObject).toEqual(['a']);
    });
  });

  describe('the code option', () => {
    it('code that is not an object is reported at "code", with expected and received', () => {
      expect(issuesOf({ p: {} }, 5)).toEqual([
        {
          path: 'code',
          message: 'must be an object of pipelines, got 5',
          expected: 'an object',
          received: '5',
        },
      ]);
    });

    it('code for an undefined pipeline lists the pipelines the configuration defines', () => {
      expect(issuesOf({ a: {}, b: {} }, { c: { retry: {} } })).toEqual([
        {
          path: 'code.c',
          message: 'extends pipeline "c", which the configuration does not define',
          expected: 'one of: a, b',
        },
      ]);
    });

    it('a pipeline’s code that is not an object, or a policy’s code that is not an object, expects an object', () => {
      expect(issuesOf({ p: { retry: {} }, q: {} }, { p: 5, q: { retry: 'x' } })).toEqual([
        { path: 'code.p', message: 'must be an object of policies, got 5', expected: 'an object' },
        { path: 'code.q.retry', message: 'must be an object of options, got "x"', expected: 'an object' },
      ]);
    });

    it('code for an unknown policy lists every policy key code may extend, retryBudget and keyed included', () => {
      expect(issuesOf({ p: {} }, { p: { retyr: {} } })).toEqual([
        {
          path: 'code.p.retyr',
          message: `unknown policy (expected one of: ${LAYERS}, retryBudget, keyed)`,
        },
      ]);
    });

    it('a policy whose code is undefined is accepted', () => {
      expect(issuesOf({ p: { retry: {} } }, { p: { retry: undefined } })).toEqual([]);
    });

    it('code may extend retryBudget: its options reach the budget', () => {
      const policies = registry(
        { p: { retryBudget: { ratio: 0.1 }, retry: {} } },
        { code: { p: { retryBudget: { name: 'stock-budget' } } } },
      );
      expect(policies.get('p').retryBudget?.name).toBe('stock-budget');
    });

    it('code may extend keyed: its options reach the per-key wrappers', () => {
      const policies = registry(
        { p: { keyed: { policies: ['circuitBreaker'] }, circuitBreaker: {} } },
        { code: { p: { keyed: { name: 'tenants' } } } },
      );
      expect(policies.get('p').policy('circuitBreaker')?.name).toBe('tenants.circuitBreaker');
    });
  });

  describe('code options are compared by identity on update', () => {
    // Code cannot be passed to update(); these change the object given to registry() in place.
    it('a code option added to the registry’s code object is used by the next update', async () => {
      const code: { p: { retry: { retryOn?: (error: unknown) => boolean } } } = { p: { retry: {} } };
      const policies = registry({ p: { retry: { maxAttempts: 3, backoff: 0 } } }, { code });
      const handle = policies.get('p');
      const before = handle.policy('retry');
      code.p.retry.retryOn = () => false;
      policies.update({ p: { retry: { maxAttempts: 3, backoff: 0 } } });
      expect(handle.policy('retry')).not.toBe(before);
      let attempts = 0;
      const result = await settle(
        handle.execute(() => {
          attempts++;
          return fail();
        }),
      );
      expect(result.ok).toBe(false);
      expect(attempts).toBe(1);
    });

    it('a code option added inside a nested code object (a chaos strategy) is used by the next update', async () => {
      const code: { p: { chaos: { fault: { error?: () => Error } } } } = { p: { chaos: { fault: {} } } };
      const config = { p: { chaos: { fault: { rate: 1 } } } };
      const policies = registry(config, { code });
      code.p.chaos.fault.error = () => new RangeError('injected');
      policies.update(config);
      const result = await settle(policies.get('p').execute(() => 'ok'));
      expect((result as { error: Error }).error).toBeInstanceOf(RangeError);
      expect((result as { error: Error }).error.message).toBe('injected');
    });

    it('the same code options in another key order keep the policy', () => {
      const retryOn = () => true;
      const retryOnResult = () => false;
      const code: { p: { retry: { retryOn?: () => boolean; retryOnResult?: () => boolean } } } = {
        p: { retry: { retryOn, retryOnResult } },
      };
      const policies = registry({ p: { retry: {} } }, { code });
      const before = policies.get('p').policy('retry');
      delete code.p.retry.retryOn;
      code.p.retry.retryOn = retryOn; // now after retryOnResult
      policies.update({ p: { retry: {} } });
      expect(policies.get('p').policy('retry')).toBe(before);
    });
  });

  describe('order', () => {
    const expected = `an array of policy names, outermost first (${LAYERS})`;

    it('an order that is not an array: the message, expected and received', () => {
      expect(issuesOf({ p: { order: 'retry', retry: {} } })).toEqual([
        { path: 'p.order', message: `must be ${expected}, got "retry"`, expected, received: '"retry"' },
      ]);
    });

    it('each bad entry reports the value it found', () => {
      expect(issuesOf({ p: { order: ['retry', 'retry', 'hedge', 'fallbak', 7], retry: {} } })).toEqual([
        { path: 'p.order[1]', message: 'lists retry twice', received: '"retry"' },
        {
          path: 'p.order[2]',
          message: 'names hedge, which this pipeline does not configure',
          received: '"hedge"',
        },
        {
          path: 'p.order[3]',
          message: `must be one of ${LAYERS}, got "fallbak"`,
          expected: `one of ${LAYERS}`,
          received: '"fallbak"',
        },
        {
          path: 'p.order[4]',
          message: `must be one of ${LAYERS}, got 7`,
          expected: `one of ${LAYERS}`,
          received: '7',
        },
      ]);
    });

    it('the missing policies are listed, comma-separated', () => {
      expect(issuesOf({ p: { order: ['retry'], retry: {}, timeout: '1s', bulkhead: 1 } })).toEqual([
        {
          path: 'p.order',
          message: 'must list every policy the pipeline configures; missing: timeout, bulkhead',
        },
      ]);
    });

    it('an invalid order is not used for the cross-policy checks: the conventional one is', () => {
      // In the conventional order totalTimeout encloses retry, so maxDuration is checked against it.
      expect(
        issuesOf({
          p: { order: ['retry', 'totalTimeout', 'bogus'], totalTimeout: '1s', retry: { maxDuration: '5s' } },
        }),
      ).toEqual([
        {
          path: 'p.order[2]',
          message: `must be one of ${LAYERS}, got "bogus"`,
          expected: `one of ${LAYERS}`,
          received: '"bogus"',
        },
        {
          path: 'p.retry.maxDuration',
          message: 'must be ≤ totalTimeout (1000 ms), which ends the call first, got 5000 ms',
          expected: '≤ 1000 ms',
          received: '5000 ms',
        },
      ]);
    });
  });

  describe('keyed', () => {
    const expected = `a non-empty array of: ${KEYABLE}`;

    it('policies missing, not an array, or empty: the message, expected and received', () => {
      expect(issuesOf({ p: { keyed: {}, bulkhead: 1 } })).toEqual([
        {
          path: 'p.keyed.policies',
          message: `must be ${expected}, got undefined`,
          expected,
          received: 'undefined',
        },
      ]);
      expect(issuesOf({ p: { keyed: { policies: [] }, bulkhead: 1 } })).toEqual([
        {
          path: 'p.keyed.policies',
          message: `must be ${expected}, got an array`,
          expected,
          received: 'an array',
        },
      ]);
    });

    it('each bad entry reports the value it found; a policy without per-key state is refused even if configured', () => {
      expect(
        issuesOf({
          p: { keyed: { policies: ['retry', 'bulkhead', 'bulkhead', 'throttle'] }, retry: {}, bulkhead: 1 },
        }),
      ).toEqual([
        {
          path: 'p.keyed.policies[0]',
          message: `must be a policy that keeps state per key (${KEYABLE}), got "retry"`,
          expected: `one of ${KEYABLE}`,
          received: '"retry"',
        },
        { path: 'p.keyed.policies[2]', message: 'lists bulkhead twice', received: '"bulkhead"' },
        {
          path: 'p.keyed.policies[3]',
          message: 'names throttle, which this pipeline does not configure',
          received: '"throttle"',
        },
      ]);
    });

    it('the keyed wrappers read the registry’s clock: an idle key is evicted after idleTtl of virtual time', async () => {
      const clock = new VirtualClock();
      const policies = registry(
        {
          p: {
            keyed: { policies: ['rateLimit'], idleTtl: '1m' },
            rateLimit: { type: 'tokenBucket', rate: 1, per: '1h', burst: 1 },
          },
        },
        { clock },
      );
      const handle = policies.get('p');
      expect(await handle.execute(() => 'first', { key: 'a' })).toBe('first');
      const spent = await settle(handle.execute(() => 'second', { key: 'a' }));
      expect((spent as { error: unknown }).error).toBeInstanceOf(RateLimitedError);
      await clock.advance(120_000);
      // The bucket of "a" would refill only after an hour, but the key was idle for 2 min: a fresh one.
      expect(await handle.execute(() => 'fresh', { key: 'a' })).toBe('fresh');
      expect((handle.policy('rateLimit') as KeyedPolicy).kind).toBe('keyed');
    });
  });
});
