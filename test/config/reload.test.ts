import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, type PipelineHandle, type RegistryConfig, registry } from '../../src/config/index.js';
import {
  CircuitBreakerPolicy,
  CircuitOpenError,
  type KeyedPolicy,
  pipeline,
  RateLimitedError,
  ResilienceError,
  type RetryPolicy,
  type TimeoutError,
  type TimeoutPolicy,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { closedSnapshot } from '../helpers/snapshots.js';
import { fail, settle } from './helpers.js';

function hang(ctx: { signal: AbortSignal }): Promise<never> {
  return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
}

describe('hot reload: registry.update(config)', () => {
  it('registry.get(name) returns a stable handle: the same object across updates', () => {
    const policies = registry({ p: { timeout: '1s' } });
    const handle = policies.get('p');
    policies.update({ p: { timeout: '2s' } });
    expect(policies.get('p')).toBe(handle);
    expect((handle.policy('timeout') as TimeoutPolicy).ms).toBe(2_000);
  });

  it('new executions use the new policies', async () => {
    const clock = new VirtualClock();
    const policies = registry({ p: { timeout: '1s' } }, { clock });
    policies.update({ p: { timeout: '3s' } });
    const call = settle(policies.get('p').execute(hang));
    await clock.runAll();
    expect(((await call) as { error: TimeoutError }).error.timeout).toBe(3_000);
  });

  it('executions in flight finish under the old policies', async () => {
    const clock = new VirtualClock();
    const policies = registry(
      { p: { retry: { maxAttempts: 3, backoff: '1s' }, timeout: '500ms' } },
      { clock },
    );
    const handle = policies.get('p');
    const starts: number[] = [];
    const old = settle(
      handle.execute((ctx) => {
        starts.push(clock.now());
        return hang(ctx);
      }),
    );
    await clock.advance(600); // the first attempt timed out; the retry waits its backoff
    policies.update({ p: { retry: { maxAttempts: 1 }, timeout: '5s' } });
    await clock.runAll();
    // Three attempts of 500 ms each, 1 s apart: the old retry and the old timeout.
    expect(starts).toEqual([0, 1_500, 3_000]);
    expect(((await old) as { error: TimeoutError }).error.timeout).toBe(500);
    // A call started now runs under the new ones: one attempt, 5 s.
    starts.length = 0;
    const fresh = settle(
      handle.execute((ctx) => {
        starts.push(clock.now());
        return hang(ctx);
      }),
    );
    await clock.runAll();
    expect(starts).toEqual([3_500]);
    expect(((await fresh) as { error: TimeoutError }).error.timeout).toBe(5_000);
  });

  it('a policy whose section is unchanged is kept, with its state: an open breaker stays open', async () => {
    const clock = new VirtualClock();
    const policies = registry(
      { p: { circuitBreaker: { consecutiveFailures: 1, openFor: '1m' }, timeout: '1s' } },
      { clock },
    );
    const handle = policies.get('p');
    const breaker = handle.policy('circuitBreaker');
    await settle(handle.execute(fail));
    // "60s" is the same duration as "1m": the section is unchanged.
    policies.update({ p: { circuitBreaker: { consecutiveFailures: 1, openFor: '60s' }, timeout: '2s' } });
    expect(handle.policy('circuitBreaker')).toBe(breaker);
    await expect(handle.execute(() => 'ok')).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('limiter state carries over when its section is unchanged: spent permits stay spent', async () => {
    const clock = new VirtualClock();
    const limiter = { type: 'tokenBucket', rate: 1, per: '1m', burst: 1 } as const;
    const policies = registry({ p: { rateLimit: limiter } }, { clock });
    const handle = policies.get('p');
    expect(await handle.execute(() => 'first')).toBe('first');
    policies.update({ p: { rateLimit: limiter, timeout: '1s' } });
    await expect(handle.execute(() => 'second')).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('a limiter whose options changed starts afresh (documented)', async () => {
    const clock = new VirtualClock();
    const policies = registry({ p: { rateLimit: { type: 'tokenBucket', rate: 1, per: '1m' } } }, { clock });
    const handle = policies.get('p');
    await handle.execute(() => 'first');
    policies.update({ p: { rateLimit: { type: 'tokenBucket', rate: 2, per: '1m' } } });
    expect(await handle.execute(() => 'fresh bucket')).toBe('fresh bucket');
  });

  it('a circuit breaker whose options changed starts from its predecessor’s state (snapshot)', async () => {
    const clock = new VirtualClock();
    const policies = registry(
      { p: { circuitBreaker: { consecutiveFailures: 1, openFor: '30s' } } },
      { clock },
    );
    const handle = policies.get('p');
    const before = handle.policy('circuitBreaker') as CircuitBreakerPolicy;
    await settle(handle.execute(fail));
    await clock.advance(10_000);
    policies.update({ p: { circuitBreaker: { consecutiveFailures: 1, openFor: '30s', halfOpenCalls: 2 } } });
    const after = handle.policy('circuitBreaker') as CircuitBreakerPolicy;
    expect(after).not.toBe(before);
    expect(after.state).toBe('open');
    const rejected = await settle(handle.execute(() => 'ok'));
    // Still the same open period: 20 s of it left.
    expect((rejected as { error: CircuitOpenError }).error.retryAfter).toBe(20_000);
    await clock.advance(20_000);
    expect(await handle.execute(() => 'probe')).toBe('probe');
    expect(after.state).toBe('halfOpen'); // two probes now, one succeeded so far
  });

  it('a changed initialState is applied rather than the carried-over state', () => {
    const closed = closedSnapshot;
    const policies = registry({ p: { circuitBreaker: { consecutiveFailures: 1, initialState: closed } } });
    (policies.get('p').policy('circuitBreaker') as CircuitBreakerPolicy).isolate();
    policies.update({
      p: {
        circuitBreaker: {
          consecutiveFailures: 1,
          initialState: { ...closed, consecutiveFailures: 0, calls: 0, openCount: 1 },
        },
      },
    });
    expect((policies.get('p').policy('circuitBreaker') as CircuitBreakerPolicy).state).toBe('closed');
  });

  it('an invalid update is rejected whole (ConfigError) and the old configuration stays', async () => {
    const policies = registry({ a: { timeout: '1s' }, b: { retry: { maxAttempts: 2 } } });
    const a = policies.get('a');
    const timeoutBefore = a.policy('timeout');
    expect(() => policies.update({ a: { timeout: '2s' }, b: { retry: { maxAttempts: 0 } }, c: {} })).toThrow(
      ConfigError,
    );
    expect(a.policy('timeout')).toBe(timeoutBefore);
    expect((a.policy('timeout') as TimeoutPolicy).ms).toBe(1_000);
    expect(policies.names()).toEqual(['a', 'b']);
    expect((policies.get('b').policy('retry') as RetryPolicy).maxAttempts).toBe(2);
  });

  it('an unchanged pipeline keeps its pipeline and emits no reload', () => {
    const policies = registry({ a: { timeout: 2000 }, b: { timeout: '1s' } });
    const reloads: unknown[] = [];
    policies.get('a').on('reload', (e) => reloads.push(['a', e]));
    policies.get('b').on('reload', (e) => reloads.push(['b', e]));
    const updates: unknown[] = [];
    policies.on('update', (e) => updates.push(e));
    policies.update({ a: { timeout: '2s' }, b: { timeout: '1s', retry: {} }, c: {} });
    expect(reloads).toEqual([['b', { changed: ['retry'], removed: false }]]);
    expect(updates).toEqual([{ added: ['c'], removed: [], changed: ['b'] }]);
  });

  it('reload lists the rebuilt policies, and order when the order changed', () => {
    const policies = registry({ p: { timeout: '1s', retry: {} } });
    const reloads: unknown[] = [];
    policies.get('p').on('reload', (e) => reloads.push(e.changed));
    policies.update({ p: { order: ['timeout', 'retry'], timeout: '1s', retry: {} } });
    policies.update({ p: { order: ['timeout', 'retry'], timeout: '1s', retry: { maxAttempts: 5 } } });
    policies.update({ p: { retry: { maxAttempts: 5 }, bulkhead: 1 } });
    expect(reloads).toEqual([['order'], ['retry'], ['bulkhead', 'timeout']]);
  });

  it('a removed pipeline’s handle rejects its calls; re-adding the name revives the same handle', async () => {
    const policies = registry({ a: {}, b: {} });
    const b = policies.get('b');
    const updates: unknown[] = [];
    policies.on('update', (e) => updates.push(e));
    policies.update({ a: {} });
    expect(policies.has('b')).toBe(false);
    expect(b.configured).toBe(false);
    expect(b.policies).toEqual([]);
    expect(b.order).toEqual([]);
    expect(b._health().status).toBe('down');
    const removed = await settle(b.execute(() => 1));
    expect((removed as { error: ResilienceError }).error).toBeInstanceOf(ResilienceError);
    expect((removed as { error: ResilienceError }).error.code).toBe('ERR_PIPELINE_REMOVED');
    await expect(pipeline(b).execute(() => 1)).rejects.toThrow(/no longer in the configuration/);
    expect(() => policies.get('b')).toThrow(RangeError);
    policies.update({ a: {}, b: { timeout: '1s' } });
    expect(policies.get('b')).toBe(b);
    expect(await b.execute(() => 'back')).toBe('back');
    expect(updates).toEqual([
      { added: [], removed: ['b'], changed: [] },
      { added: ['b'], removed: [], changed: [] },
    ]);
  });

  it('a handle nested in a pipeline follows updates', async () => {
    const clock = new VirtualClock();
    const policies = registry({ p: { timeout: '1s' } }, { clock });
    const outer = pipeline(policies.get('p'));
    policies.update({ p: { timeout: '4s' } });
    const call = settle(outer.execute(hang));
    await clock.runAll();
    expect(((await call) as { error: TimeoutError }).error.timeout).toBe(4_000);
  });

  it('onEvent follows the new policies after an update', async () => {
    const clock = new VirtualClock();
    const policies = registry({ p: { retry: { maxAttempts: 2, backoff: 0 } } }, { clock });
    const events: string[] = [];
    policies.get('p').onEvent((e) => events.push(`${e.policyName}:${e.event}`));
    policies.update({ p: { retry: { maxAttempts: 2, backoff: 0, name: 'renamed' } } });
    const call = settle(policies.get('p').execute(fail));
    await clock.runAll();
    await call;
    expect(events).toEqual(['renamed:retry', 'renamed:giveUp', 'renamed:failure']);
  });

  it('a pipeline nesting a handle hears the new policies after an update (the tree walk follows reload)', async () => {
    const policies = registry({ p: { fallback: { value: 'old' } } });
    const outer = pipeline(policies.get('p'));
    const events: string[] = [];
    outer.onEvent((e) => events.push(`${e.policyName}:${e.event}`));
    policies.update({ p: { fallback: { value: 'new', name: 'fresh' } } });
    expect(await outer.execute(fail)).toBe('new');
    // The handle is one of the outer pipeline's policies: its own events come through too.
    expect(events).toEqual(['p:reload', 'fresh:fallback', 'p:success']);
  });

  it('registry.onEvent sees every pipeline, those added by updates too', async () => {
    const policies = registry({ a: { fallback: { value: 'a' } } });
    const events: string[] = [];
    const stop = policies.onEvent((e) => events.push(`${e.pipeline}:${e.event}`));
    policies.update({ a: { fallback: { value: 'a' } }, b: { fallback: { value: 'b' } } });
    await policies.get('a').execute(fail);
    await policies.get('b').execute(fail);
    stop();
    stop();
    await policies.get('b').execute(fail);
    expect(events).toEqual(['a:fallback', 'b:fallback']);
    expect(() => policies.onEvent(null as never)).toThrow(TypeError);
  });

  it('budgets, keyed policies and code options are kept when unchanged', () => {
    const retryOn = () => true;
    const config: RegistryConfig = {
      p: {
        retryBudget: { ratio: 0.1 },
        retry: {},
        keyed: { policies: ['circuitBreaker'] },
        circuitBreaker: { consecutiveFailures: 3 },
      },
    };
    const policies = registry(config, { code: { p: { retry: { retryOn } } } });
    const handle: PipelineHandle = policies.get('p');
    const [budget, retry, keyedBreaker] = [
      handle.retryBudget,
      handle.policy('retry'),
      handle.policy('circuitBreaker'),
    ];
    policies.update({ ...config, q: {} });
    expect([handle.retryBudget, handle.policy('retry'), handle.policy('circuitBreaker')]).toEqual([
      budget,
      retry,
      keyedBreaker,
    ]);
    expect(handle.retryBudget).toBe(budget);
    expect(handle.policy('circuitBreaker')).toBe(keyedBreaker);
    // A new budget means a new retry (it holds the budget).
    policies.update({ ...config, p: { ...(config.p as object), retryBudget: { ratio: 0.2 } } });
    expect(handle.retryBudget).not.toBe(budget);
    expect(handle.policy('retry')).not.toBe(retry);
    expect(handle.policy('circuitBreaker')).toBe(keyedBreaker);
    // A keyed breaker whose options change is rebuilt; per-key state does not carry over.
    policies.update({
      p: { keyed: { policies: ['circuitBreaker'] }, circuitBreaker: { consecutiveFailures: 4 } },
    });
    expect(handle.policy('circuitBreaker')).not.toBe(keyedBreaker);
    expect((handle.policy('circuitBreaker') as KeyedPolicy).kind).toBe('keyed');
  });

  it('a breaker that becomes keyed (or stops being keyed) is rebuilt without carrying state', async () => {
    const policies = registry({ p: { circuitBreaker: { consecutiveFailures: 1 } } });
    const handle = policies.get('p');
    await settle(handle.execute(fail));
    policies.update({
      p: { keyed: { policies: ['circuitBreaker'] }, circuitBreaker: { consecutiveFailures: 1 } },
    });
    expect(await handle.execute(() => 'fresh', { key: 'k' })).toBe('fresh');
    policies.update({ p: { circuitBreaker: { consecutiveFailures: 2 } } });
    expect((handle.policy('circuitBreaker') as CircuitBreakerPolicy).state).toBe('closed');
  });

  it('a policy is kept exactly when its section is unchanged (property)', () => {
    const timeout = fc.constantFrom<unknown>(
      '1s',
      1000,
      '2s',
      { ms: '1s' },
      { ms: 1000, strategy: 'aggressive' },
    );
    const retry = fc.record({
      maxAttempts: fc.integer({ min: 1, max: 3 }),
      backoff: fc.constantFrom<unknown>(0, '0ms', '5ms'),
    });
    const bulkhead = fc.constantFrom<unknown>(1, 2, { limit: 1 }, { limit: 1, queue: 'Infinity' });
    const section = fc.record({ timeout, retry, bulkhead }, { requiredKeys: [] });
    const norm = (value: unknown): unknown =>
      JSON.stringify(value, (_k, v) =>
        v === '1s' ? 1000 : v === '0ms' ? 0 : v === '2s' ? 2000 : v === '5ms' ? 5 : v,
      );
    const expand = (key: string, value: unknown) =>
      key === 'timeout' && typeof value !== 'object'
        ? { ms: value }
        : key === 'bulkhead' && typeof value === 'number'
          ? { limit: value }
          : value;
    fc.assert(
      fc.property(section, section, (a, b) => {
        const policies = registry({ p: a as never });
        const handle = policies.get('p');
        const before = new Map(handle.order.map((k) => [k, handle.policy(k as never)]));
        policies.update({ p: b as never });
        for (const key of ['timeout', 'retry', 'bulkhead'] as const) {
          const va = (a as Record<string, unknown>)[key];
          const vb = (b as Record<string, unknown>)[key];
          if (va === undefined || vb === undefined) continue;
          const same = norm(expand(key, va)) === norm(expand(key, vb));
          expect(handle.policy(key) === before.get(key)).toBe(same);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a breaker instance carried over is a real breaker', () => {
    const policies = registry({ p: { circuitBreaker: {} } });
    policies.update({ p: { circuitBreaker: { halfOpenCalls: 3 } } });
    expect(policies.get('p').policy('circuitBreaker')).toBeInstanceOf(CircuitBreakerPolicy);
  });
});
