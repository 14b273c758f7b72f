import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/index.js';

const paths = (config: unknown) => validateConfig(config).map((i) => i.path);

describe('cross-policy checks (as Microsoft’s standard HTTP pipeline validates)', () => {
  it('a per-attempt timeout longer than the total timeout is an error', () => {
    expect(validateConfig({ p: { totalTimeout: '2s', timeout: '5s' } })).toEqual([
      {
        path: 'p.timeout',
        message:
          'the attempt timeout (5000 ms) must be ≤ totalTimeout (2000 ms): a longer one can never fire',
        expected: '≤ 2000 ms',
        received: '5000 ms',
      },
    ]);
    expect(paths({ p: { totalTimeout: '2s', timeout: '2s' } })).toEqual([]);
  });

  it('retry maxDuration longer than the total timeout around it is an error', () => {
    expect(paths({ p: { totalTimeout: '10s', retry: { maxDuration: '20s' } } })).toEqual([
      'p.retry.maxDuration',
    ]);
    expect(paths({ p: { totalTimeout: '10s', retry: { maxDuration: '10s' } } })).toEqual([]);
  });

  it('retry backoff waits that alone reach the total timeout are an error (before jitter)', () => {
    // 1 s + 2 s + 4 s = 7 s of waits for 4 attempts, inside a 5 s total timeout.
    const [issue] = validateConfig({
      p: { totalTimeout: '5s', retry: { maxAttempts: 4, backoff: { type: 'exponential', initial: '1s' } } },
    });
    expect(issue).toMatchObject({
      path: 'p.retry',
      received: '7000 ms',
      expected: 'backoff waits < 5000 ms',
    });
    expect(issue!.message).toMatch(/reach 7000 ms after 3 of its 3 retries, and totalTimeout is 5000 ms/);
    expect(
      paths({
        p: { totalTimeout: '8s', retry: { maxAttempts: 4, backoff: { type: 'exponential', initial: '1s' } } },
      }),
    ).toEqual([]);
  });

  it('the backoff sum counts every kind of backoff, the default one included', () => {
    expect(paths({ p: { totalTimeout: '1s', retry: { maxAttempts: 3, backoff: '500ms' } } })).toEqual([
      'p.retry',
    ]);
    expect(paths({ p: { totalTimeout: '1s', retry: { maxAttempts: 2, backoff: '500ms' } } })).toEqual([]);
    expect(
      paths({
        p: { totalTimeout: '1s', retry: { maxAttempts: 3, backoff: { type: 'constant', ms: '500ms' } } },
      }),
    ).toEqual(['p.retry']);
    expect(
      paths({
        p: {
          totalTimeout: '1s',
          retry: { maxAttempts: 3, backoff: { type: 'linear', initial: '400ms', step: '200ms' } },
        },
      }),
    ).toEqual(['p.retry']);
    // Decorrelated jitter counts its lowest draws (initial each time).
    expect(
      paths({
        p: {
          totalTimeout: '1s',
          retry: { maxAttempts: 3, backoff: { type: 'decorrelatedJitter', initial: '500ms' } },
        },
      }),
    ).toEqual(['p.retry']);
    expect(
      paths({
        p: {
          totalTimeout: '1s',
          retry: { maxAttempts: 3, backoff: { type: 'decorrelatedJitter', initial: '400ms' } },
        },
      }),
    ).toEqual([]);
    // Default: exponential from 100 ms (100 + 200 + 400 + 800 ms for 5 attempts).
    expect(paths({ p: { totalTimeout: '1.5s', retry: { maxAttempts: 5 } } })).toEqual(['p.retry']);
    expect(paths({ p: { totalTimeout: '1.5s', retry: { maxAttempts: 4 } } })).toEqual([]);
  });

  it('with maxDuration set, retry bounds its own waits: the backoff sum is not checked', () => {
    expect(
      paths({ p: { totalTimeout: '1s', retry: { maxAttempts: 10, backoff: '500ms', maxDuration: '1s' } } }),
    ).toEqual([]);
  });

  it('checks that depend on nesting follow the pipeline’s order', () => {
    // Retry outside the total timeout: each retry gets a fresh total, so neither check applies.
    expect(
      paths({
        p: {
          order: ['retry', 'totalTimeout'],
          totalTimeout: '1s',
          retry: { maxAttempts: 5, backoff: '1s', maxDuration: '1m' },
        },
      }),
    ).toEqual([]);
  });

  it('a time-window breaker must see at least twice the attempt timeout', () => {
    expect(
      validateConfig({
        p: { timeout: '10s', circuitBreaker: { window: { type: 'time', duration: '15s' } } },
      }),
    ).toEqual([
      {
        path: 'p.circuitBreaker.window.duration',
        message:
          "must be at least twice the attempt timeout (2 × 10000 ms): a shorter window drops a slow call's outcome before it is known, got 15000 ms",
        expected: '≥ 20000 ms',
        received: '15000 ms',
      },
    ]);
    expect(
      paths({ p: { timeout: '10s', circuitBreaker: { window: { type: 'time', duration: '30s' } } } }),
    ).toEqual([]);
    expect(paths({ p: { timeout: '10s', circuitBreaker: { window: { type: 'count', size: 10 } } } })).toEqual(
      [],
    );
  });

  it('a hedge delay that reaches the total timeout could never start a hedge', () => {
    expect(paths({ p: { totalTimeout: '1s', hedge: { delay: '1s' } } })).toEqual(['p.hedge.delay']);
    expect(paths({ p: { totalTimeout: '1s', hedge: { delay: '900ms' } } })).toEqual([]);
    expect(paths({ p: { totalTimeout: '1s', hedge: { delay: 'p99' } } })).toEqual([]);
  });

  it('a queue wait longer than the timeout enclosing it can never end by itself', () => {
    expect(
      validateConfig({ p: { timeout: '1s', bulkhead: { limit: 1, queue: 10, queueTimeout: '5s' } } })[0],
    ).toMatchObject({
      path: 'p.bulkhead.queueTimeout',
      message: 'must be ≤ the enclosing timeout (1000 ms), which ends the wait first, got 5000 ms',
    });
    expect(
      paths({ p: { totalTimeout: '2s', adaptiveConcurrency: { queue: 5, queueTimeout: '3s' } } }),
    ).toEqual(['p.adaptiveConcurrency.queueTimeout']);
    // The rate limiter sits outside the total timeout by convention; moved inside, its wait is checked.
    const limiter = { type: 'tokenBucket', rate: 1, mode: 'wait', maxWait: '10s' };
    expect(paths({ p: { totalTimeout: '2s', rateLimit: limiter } })).toEqual([]);
    expect(
      paths({ p: { order: ['totalTimeout', 'rateLimit'], totalTimeout: '2s', rateLimit: limiter } }),
    ).toEqual(['p.rateLimit.maxWait']);
    expect(paths({ p: { timeout: '1s', bulkhead: { limit: 1, queue: 10, queueTimeout: '1s' } } })).toEqual(
      [],
    );
  });

  it('cross-checks run only on sections that are valid on their own', () => {
    expect(paths({ p: { totalTimeout: '2s', timeout: 'five seconds' } })).toEqual(['p.timeout']);
  });
});
