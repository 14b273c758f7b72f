import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/index.js';

describe('src/config/checks.ts', () => {
  it('a retry maxDuration longer than the total timeout around it: path, message, expected and received', () => {
    expect(validateConfig({ p: { totalTimeout: '10s', retry: { maxDuration: '20s' } } })).toEqual([
      {
        path: 'p.retry.maxDuration',
        message: 'must be ≤ totalTimeout (10000 ms), which ends the call first, got 20000 ms',
        expected: '≤ 10000 ms',
        received: '20000 ms',
      },
    ]);
  });

  it('a hedge delay that reaches the total timeout: path, message, expected and received', () => {
    expect(validateConfig({ p: { totalTimeout: '1s', hedge: { delay: '1500ms' } } })).toEqual([
      {
        path: 'p.hedge.delay',
        message: 'must be < totalTimeout (1000 ms), or no hedge could ever start, got 1500 ms',
        expected: '< 1000 ms',
        received: '1500 ms',
      },
    ]);
  });

  it('a hedge outside the total timeout is not bounded by it', () => {
    expect(
      validateConfig({ p: { order: ['hedge', 'totalTimeout'], totalTimeout: '1s', hedge: { delay: '2s' } } }),
    ).toEqual([]);
  });

  it('a queue wait longer than its enclosing timeout: expected and received name the bound and the wait', () => {
    expect(
      validateConfig({ p: { timeout: '1s', bulkhead: { limit: 1, queue: 10, queueTimeout: '5s' } } }),
    ).toEqual([
      {
        path: 'p.bulkhead.queueTimeout',
        message: 'must be ≤ the enclosing timeout (1000 ms), which ends the wait first, got 5000 ms',
        expected: '≤ 1000 ms',
        received: '5000 ms',
      },
    ]);
    expect(
      validateConfig({ p: { totalTimeout: '2s', adaptiveConcurrency: { queue: 5, queueTimeout: '3s' } } }),
    ).toEqual([
      {
        path: 'p.adaptiveConcurrency.queueTimeout',
        message: 'must be ≤ the enclosing totalTimeout (2000 ms), which ends the wait first, got 3000 ms',
        expected: '≤ 2000 ms',
        received: '3000 ms',
      },
    ]);
  });

  it('an unbounded queue wait (Infinity) is never reported, whatever timeout encloses it', () => {
    expect(
      validateConfig({
        p: { totalTimeout: '2s', timeout: '1s', bulkhead: { limit: 1, queue: 10, queueTimeout: 'Infinity' } },
      }),
    ).toEqual([]);
  });

  it('a timeout second in the order encloses the layers after it as well as a first one does', () => {
    // Configured order: retry, timeout, bulkhead (the timeout at index 1).
    expect(
      validateConfig({
        p: { retry: {}, timeout: '1s', bulkhead: { limit: 1, queue: 10, queueTimeout: '5s' } },
      }),
    ).toEqual([
      {
        path: 'p.bulkhead.queueTimeout',
        message: 'must be ≤ the enclosing timeout (1000 ms), which ends the wait first, got 5000 ms',
        expected: '≤ 1000 ms',
        received: '5000 ms',
      },
    ]);
    // Configured order: rateLimit, totalTimeout, retry (the total timeout at index 1).
    expect(
      validateConfig({
        p: {
          rateLimit: { type: 'tokenBucket', rate: 1 },
          totalTimeout: '10s',
          retry: { maxDuration: '20s' },
        },
      }).map((i) => i.path),
    ).toEqual(['p.retry.maxDuration']);
  });

  it('a retry section invalid on its own inside a total timeout reports only its own issue', () => {
    expect(validateConfig({ p: { totalTimeout: '1s', retry: { maxAttempts: 0 } } })).toEqual([
      {
        path: 'p.retry.maxAttempts',
        message: 'must be an integer ≥ 1, got 0',
        expected: 'an integer ≥ 1',
        received: '0',
      },
    ]);
  });

  it('a time window of exactly twice the attempt timeout is long enough', () => {
    expect(
      validateConfig({
        p: { timeout: '10s', circuitBreaker: { window: { type: 'time', duration: '20s' } } },
      }),
    ).toEqual([]);
    expect(
      validateConfig({
        p: { timeout: '10s', circuitBreaker: { window: { type: 'time', duration: '19999ms' } } },
      }).map((i) => i.received),
    ).toEqual(['19999 ms']);
  });

  it('the backoff sum stops at the first retry whose waits reach the total timeout', () => {
    // 500 ms + 500 ms reach 1 s after the 2nd of 4 retries: the 3rd and 4th are not added.
    expect(
      validateConfig({ p: { totalTimeout: '1s', retry: { maxAttempts: 5, backoff: '500ms' } } }),
    ).toEqual([
      {
        path: 'p.retry',
        message:
          'its backoff waits (before jitter) reach 1000 ms after 2 of its 4 retries, and totalTimeout is 1000 ms: the last attempts could never run; lower maxAttempts or the backoff, raise totalTimeout, or set retry.maxDuration',
        expected: 'backoff waits < 1000 ms',
        received: '1000 ms',
      },
    ]);
  });
});
