import { describe, expect, it } from 'vitest';
import {
  type ConfigError,
  DEFAULT_ORDER,
  PipelineHandle,
  type RegistryConfig,
  registry,
  validateConfig,
} from '../../src/config/index.js';
import {
  type BulkheadPolicy,
  ChaosError,
  CircuitBreakerPolicy,
  CircuitOpenError,
  health,
  KeyedPolicy,
  pipeline,
  RateLimitPolicy,
  RetryBudget,
  RetryPolicy,
  retry,
  TimeoutError,
  type TimeoutPolicy,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

/** Work that never settles on its own but honours its signal. */
function hang(ctx: { signal: AbortSignal }): Promise<never> {
  return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

async function outcome<T>(
  clock: VirtualClock,
  call: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  const settled = call.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  await clock.runAll();
  return settled;
}

describe('registry: named pipelines from configuration', () => {
  it('builds named pipelines from plain data (JSON-compatible objects)', async () => {
    const text = JSON.stringify({
      payments: {
        timeout: '2s',
        retry: { maxAttempts: 3, backoff: { type: 'exponential', initial: '100ms' } },
        circuitBreaker: { failureRate: 0.5, minimumCalls: 10 },
      },
      search: { bulkhead: 4 },
    });
    const policies = registry(JSON.parse(text));
    expect(policies.names()).toEqual(['payments', 'search']);
    expect(policies.has('payments')).toBe(true);
    expect(policies.has('nope')).toBe(false);
    const payments = policies.get('payments');
    expect(payments).toBeInstanceOf(PipelineHandle);
    expect(payments.name).toBe('payments');
    expect(payments.policies.map((p) => p.kind)).toEqual(['retry', 'circuitBreaker', 'timeout']);
    expect(await payments.execute(() => 'charged')).toBe('charged');
    expect(await policies.get('search').wrap((a: number, b: number) => a + b)(2, 3)).toBe(5);
  });

  it('a $schema key for editors is accepted and ignored', () => {
    const policies = registry({ $schema: './node_modules/bulwark/schema/bulwark-config.schema.json', a: {} });
    expect(policies.names()).toEqual(['a']);
  });

  it('get() of an unknown name throws a RangeError naming the configured ones', () => {
    const policies = registry({ a: {}, b: {} });
    expect(() => policies.get('c')).toThrow(
      new RangeError('registry: no pipeline named "c" (configured: a, b)'),
    );
  });

  it('policies run in the conventional order, outermost first', () => {
    const all: RegistryConfig = {
      p: {
        chaos: { fault: { rate: 0, enabled: false } },
        adaptiveConcurrency: {},
        bulkhead: 10,
        timeout: '1s',
        throttle: {},
        circuitBreaker: {},
        hedge: { delay: '500ms' },
        retry: {},
        totalTimeout: '10s',
        rateLimit: { type: 'tokenBucket', rate: 100 },
        fallback: { value: null },
      },
    };
    const handle = registry(all).get('p');
    expect(handle.order).toEqual(DEFAULT_ORDER);
    expect(handle.policies.map((p) => p.name)).toEqual([
      'p.fallback',
      'p.rateLimit',
      'p.totalTimeout',
      'p.retry',
      'p.hedge',
      'p.circuitBreaker',
      'p.throttle',
      'p.timeout',
      'p.bulkhead',
      'p.adaptiveConcurrency',
      'p.chaos.fault',
    ]);
  });

  it('attempt timeout vs total timeout: timeout bounds each attempt (inside retry), totalTimeout the whole call', async () => {
    const clock = new VirtualClock();
    const handle = registry(
      { p: { totalTimeout: '1s', retry: { maxAttempts: 5, backoff: '100ms' }, timeout: '300ms' } },
      { clock },
    ).get('p');
    const starts: number[] = [];
    const result = await outcome(
      clock,
      handle.execute((ctx) => {
        starts.push(clock.now());
        return hang(ctx);
      }),
    );
    // Attempts time out at 300 ms each, 100 ms apart; the total timeout ends the third at 1 s.
    expect(starts).toEqual([0, 400, 800]);
    expect(result.ok).toBe(false);
    expect((result as { error: TimeoutError }).error).toBeInstanceOf(TimeoutError);
    expect((result as { error: TimeoutError }).error.timeout).toBe(1_000);
  });

  it('the breaker sits inside retry: once it opens, its rejection stops the retries', async () => {
    const clock = new VirtualClock();
    const handle = registry(
      { p: { retry: { maxAttempts: 10, backoff: 0 }, circuitBreaker: { consecutiveFailures: 2 } } },
      { clock },
    ).get('p');
    let calls = 0;
    const result = await outcome(
      clock,
      handle.execute(() => {
        calls++;
        throw new Error('down');
      }),
    );
    expect(calls).toBe(2);
    expect((result as { error: unknown }).error).toBeInstanceOf(CircuitOpenError);
  });

  it('an explicit order replaces the convention', async () => {
    const clock = new VirtualClock();
    const handle = registry(
      { p: { order: ['timeout', 'retry'], timeout: '250ms', retry: { maxAttempts: 5, backoff: '100ms' } } },
      { clock },
    ).get('p');
    expect(handle.order).toEqual(['timeout', 'retry']);
    const starts: number[] = [];
    const result = await outcome(
      clock,
      handle.execute((ctx) => {
        starts.push(clock.now());
        return hang(ctx);
      }),
    );
    // The timeout now bounds everything: the first attempt hangs until 250 ms and nothing is retried after.
    expect(starts).toEqual([0]);
    expect((result as { error: TimeoutError }).error.timeout).toBe(250);
  });

  it('shorthands: a timeout may be a duration, a bulkhead a limit', () => {
    const handle = registry({
      p: { timeout: '1.5s', totalTimeout: { ms: '3s', strategy: 'aggressive' }, bulkhead: 3 },
    }).get('p');
    const timeout = handle.policy('timeout') as TimeoutPolicy;
    expect(timeout.ms).toBe(1_500);
    expect(timeout.strategy).toBe('cooperative');
    const total = handle.policy('totalTimeout') as TimeoutPolicy;
    expect([total.ms, total.strategy]).toEqual([3_000, 'aggressive']);
    expect((handle.policy('bulkhead') as BulkheadPolicy).limit).toBe(3);
  });

  it('durations and "Infinity" are converted wherever a policy takes ms', () => {
    const handle = registry({
      p: {
        bulkhead: { limit: 2, queue: 'Infinity', queueTimeout: '1m' },
        keyed: { policies: ['rateLimit'], idleTtl: '10m' },
        rateLimit: { type: 'tokenBucket', rate: 5, per: '1s' },
      },
    }).get('p');
    const bulkhead = handle.policy('bulkhead') as BulkheadPolicy;
    expect([bulkhead.queue, bulkhead.queueTimeout]).toEqual([Number.POSITIVE_INFINITY, 60_000]);
    const keyed = handle.policy('rateLimit') as KeyedPolicy;
    expect(keyed).toBeInstanceOf(KeyedPolicy);
    expect(keyed.idleTtl).toBe(600_000);
  });

  it('policies are named <pipeline>.<key> unless the data names them', () => {
    const handle = registry({ p: { retry: { name: 'charge-retry' }, timeout: '1s' } }).get('p');
    expect(handle.policies.map((p) => p.name)).toEqual(['charge-retry', 'p.timeout']);
  });

  it('the registry clock reaches every policy', async () => {
    const clock = new VirtualClock();
    const handle = registry({ p: { timeout: '5s' } }, { clock }).get('p');
    const call = outcome(clock, handle.execute(hang));
    expect(clock.pending).toBe(1);
    const result = await call;
    expect(clock.now()).toBe(5_000);
    expect((result as { error: unknown }).error).toBeInstanceOf(TimeoutError);
  });

  it('a fallback value from data is served, and frozen so one caller cannot change it for the next', async () => {
    const handle = registry({ p: { fallback: { value: { stock: [], stale: true } } } }).get('p');
    const value = (await handle.execute(() => {
      throw new Error('down');
    })) as { stock: unknown[]; stale: boolean };
    expect(value).toEqual({ stock: [], stale: true });
    expect(Object.isFrozen(value) && Object.isFrozen(value.stock)).toBe(true);
  });

  it('chaos from data: latency, fault and result', async () => {
    const clock = new VirtualClock();
    const policies = registry(
      {
        fault: { chaos: { fault: { rate: 1 } } },
        slow: { chaos: { latency: { rate: 1, ms: '2s' } } },
        canned: { chaos: { result: { rate: 1, value: 'canned' } } },
      },
      { clock },
    );
    await expect(policies.get('fault').execute(() => 'real')).rejects.toBeInstanceOf(ChaosError);
    expect(await policies.get('canned').execute(() => 'real')).toBe('canned');
    const slow = await outcome(
      clock,
      policies.get('slow').execute(() => clock.now()),
    );
    expect(slow).toEqual({ ok: true, value: 2_000 });
  });
});

describe('registry: options given in code', () => {
  it('code options are merged into the sections the data configures (predicates, fallback functions)', async () => {
    const policies = registry(
      { p: { retry: { maxAttempts: 3, backoff: 0 }, fallback: {} } },
      {
        code: {
          p: {
            retry: { retryOn: (error) => (error as Error).message !== 'fatal' },
            fallback: { value: (error: unknown) => `degraded: ${(error as Error).message}` },
          },
        },
      },
    );
    let calls = 0;
    const fatal = await policies.get('p').execute(() => {
      calls++;
      throw new Error('fatal');
    });
    expect(fatal).toBe('degraded: fatal');
    expect(calls).toBe(1);
  });

  it('code for a policy the data does not configure is ignored: the data decides which policies exist', () => {
    const handle = registry(
      { p: { timeout: '1s' } },
      { code: { p: { retry: { retryOn: () => true } } } },
    ).get('p');
    expect(handle.policies.map((p) => p.kind)).toEqual(['timeout']);
  });

  it('an option set both in data and in code is an error', () => {
    const error = configError(() =>
      registry({ p: { retry: { maxAttempts: 2 } } }, { code: { p: { retry: { maxAttempts: 3 } } } }),
    );
    expect(error.issues).toEqual([
      {
        path: 'p.retry.maxAttempts',
        message: 'is given both in the configuration and in code; give it in one place',
        received: '2',
      },
    ]);
  });

  it('code for an unknown pipeline or policy is an error', () => {
    const error = configError(() =>
      registry({ p: {} }, { code: { q: { retry: {} }, p: { retyr: {} } as never, r: 5 as never } }),
    );
    expect(error.issues.map((i) => i.path)).toEqual(['code.q', 'code.p.retyr', 'code.r']);
    const notObjects = configError(() =>
      registry(
        { p: {}, q: {} },
        { code: { p: 5 as never, q: { retry: 5 as never }, r: undefined as never } },
      ),
    );
    expect(notObjects.issues.map((i) => [i.path, i.message])).toEqual([
      ['code.p', 'must be an object of policies, got 5'],
      ['code.q.retry', 'must be an object of options, got 5'],
    ]);
  });

  it('registry options are validated', () => {
    expect(() => registry({}, { clok: 1 } as never)).toThrow(
      new TypeError('registry: unknown option "clok" (expected one of: clock, code)'),
    );
    expect(() => registry({}, { clock: {} as never })).toThrow(TypeError);
    expect(() => registry({}, { code: 5 as never })).toThrow(/code: must be an object of pipelines/);
  });
});

describe('registry: retry budgets and keyed policies', () => {
  it('retryBudget gives the pipeline’s retry and hedge a budget; another pipeline can share it by name', () => {
    const policies = registry({
      stock: { retryBudget: { ratio: 0.1, minPerSecond: 1, window: '10s' }, retry: {} },
      price: { retryBudget: 'stock', retry: {}, hedge: { delay: '50ms' } },
    });
    const budget = policies.get('stock').retryBudget;
    expect(budget).toBeInstanceOf(RetryBudget);
    expect(budget?.window).toBe(10_000);
    expect(policies.get('price').retryBudget).toBe(budget);
  });

  it('a shared budget limits the retries of every pipeline drawing from it', async () => {
    const clock = new VirtualClock();
    const policies = registry(
      {
        a: {
          retryBudget: { ratio: 0, minPerSecond: 0.1, window: '10s' },
          retry: { maxAttempts: 5, backoff: 0 },
        },
        b: { retryBudget: 'a', retry: { maxAttempts: 5, backoff: 0 } },
      },
      { clock },
    );
    let calls = 0;
    const fail = () => {
      calls++;
      throw new Error('x');
    };
    await outcome(clock, policies.get('a').execute(fail));
    await outcome(clock, policies.get('b').execute(fail));
    // The floor is 0.1/s over 10 s: one retry in all, for both pipelines together.
    expect(calls).toBe(3);
  });

  it('keyed: the listed policies are built once per call key', async () => {
    const clock = new VirtualClock();
    const handle = registry(
      {
        hosts: {
          keyed: { policies: ['circuitBreaker'], maxKeys: 10 },
          circuitBreaker: { consecutiveFailures: 1 },
        },
      },
      { clock },
    ).get('hosts');
    await expect(handle.execute(() => Promise.reject(new Error('a down')), { key: 'a' })).rejects.toThrow(
      'a down',
    );
    await expect(handle.execute(() => 'a', { key: 'a' })).rejects.toBeInstanceOf(CircuitOpenError);
    expect(await handle.execute(() => 'b ok', { key: 'b' })).toBe('b ok');
    const keyed = handle.policy('circuitBreaker') as KeyedPolicy<string, CircuitBreakerPolicy>;
    expect(keyed.name).toBe('hosts.circuitBreaker');
    expect(keyed.get('a').state).toBe('open');
    expect(keyed.get('b').name).toBe('hosts.circuitBreaker');
    await expect(handle.execute(() => 'no key')).rejects.toThrow(/no key for this call/);
  });

  it('keyed.name prefixes the keyed policies’ names', () => {
    const handle = registry({ p: { keyed: { policies: ['bulkhead'], name: 'tenant' }, bulkhead: 2 } }).get(
      'p',
    );
    expect(handle.policies.map((p) => p.name)).toEqual(['tenant.bulkhead']);
  });
});

describe('pipeline handles', () => {
  it('a handle is a policy: nested in a pipeline, it runs its policies there', async () => {
    const handle = registry({ p: { retry: { maxAttempts: 2, backoff: 0 } } }).get('p');
    const outer = pipeline(retry({ maxAttempts: 2, backoff: 0 }), handle);
    let calls = 0;
    await expect(
      outer.execute(() => {
        calls++;
        throw new Error('x');
      }),
    ).rejects.toThrow('x');
    expect(calls).toBe(4);
  });

  it('policy(key) returns the configured policy; health() reports through the handle', () => {
    const handle = registry({ p: { circuitBreaker: {}, rateLimit: { type: 'tokenBucket', rate: 1 } } }).get(
      'p',
    );
    const breaker = handle.policy('circuitBreaker') as CircuitBreakerPolicy;
    expect(breaker).toBeInstanceOf(CircuitBreakerPolicy);
    expect(handle.policy('rateLimit')).toBeInstanceOf(RateLimitPolicy);
    expect(handle.policy('retry')).toBeUndefined();
    expect(health([handle]).status).toBe('ok');
    const release = breaker.isolate();
    const report = health({ payments: handle });
    expect(report.status).toBe('down');
    expect(report.policies.map((p) => [p.path, p.status])).toEqual([
      ['payments', 'down'],
      ['payments/p.rateLimit', 'ok'],
      ['payments/p.circuitBreaker', 'down'],
    ]);
    release();
  });

  it('emits success and failure for its calls when listened to', async () => {
    const handle = registry({ p: {} }).get('p');
    const seen: string[] = [];
    handle.on('success', ({ value }) => seen.push(`ok ${value}`));
    handle.on('failure', ({ error }) => seen.push(`failed ${(error as Error).message}`));
    await handle.execute(() => 1);
    await expect(handle.execute(() => Promise.reject(new Error('x')))).rejects.toThrow();
    await pipeline(handle).execute(() => 2);
    expect(seen).toEqual(['ok 1', 'failed x', 'ok 2']);
  });

  it('onEvent forwards every policy’s events tagged with the pipeline name', async () => {
    const clock = new VirtualClock();
    const handle = registry({ p: { retry: { maxAttempts: 2, backoff: 0 } } }, { clock }).get('p');
    const events: unknown[] = [];
    const stop = handle.onEvent((e) => events.push([e.pipeline, e.policyName, e.event]));
    await outcome(
      clock,
      handle.execute(() => {
        throw new Error('x');
      }),
    );
    stop();
    await outcome(
      clock,
      handle.execute(() => {
        throw new Error('x');
      }),
    );
    expect(events).toEqual([
      ['p', 'p.retry', 'retry'],
      ['p', 'p.retry', 'giveUp'],
      ['p', 'p.retry', 'failure'],
    ]);
    expect(() => handle.onEvent(5 as never)).toThrow(TypeError);
  });
});

describe('validateConfig', () => {
  it('returns every issue without building a registry, or none', () => {
    expect(validateConfig({ p: { retry: { maxAttempts: 2 } } })).toEqual([]);
    expect(validateConfig({ p: { retry: { maxAttempts: 0 } } })).toEqual([
      {
        path: 'p.retry.maxAttempts',
        message: 'must be an integer ≥ 1, got 0',
        expected: 'an integer ≥ 1',
        received: '0',
      },
    ]);
  });

  it('the retry policy built from data is a real RetryPolicy with the configured attempts', () => {
    const r = registry({ p: { retry: { maxAttempts: 7 } } })
      .get('p')
      .policy('retry') as RetryPolicy;
    expect(r).toBeInstanceOf(RetryPolicy);
    expect(r.maxAttempts).toBe(7);
  });
});
