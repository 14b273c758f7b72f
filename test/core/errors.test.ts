import { describe, expect, it } from 'vitest';
import { retryAfterOf } from '../../src/core/errors.js';
import {
  BulkheadFullError,
  ChaosError,
  CircuitOpenError,
  isRetryable,
  RateLimitedError,
  ResilienceError,
  ThrottledError,
  TimeoutError,
} from '../../src/index.js';

describe('errors', () => {
  it.each([
    [new TimeoutError(250), 'TimeoutError', 'ERR_TIMEOUT', true],
    [new CircuitOpenError('open', 1_000), 'CircuitOpenError', 'ERR_CIRCUIT_OPEN', false],
    [new BulkheadFullError(), 'BulkheadFullError', 'ERR_BULKHEAD_FULL', false],
    [new RateLimitedError(300), 'RateLimitedError', 'ERR_RATE_LIMITED', true],
    [new ThrottledError(), 'ThrottledError', 'ERR_THROTTLED', false],
    [new ChaosError(), 'ChaosError', 'ERR_CHAOS', true],
  ] as const)('%s has a stable code, its class name and a retryable flag', (error, name, code, retryable) => {
    expect(error).toBeInstanceOf(ResilienceError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(isRetryable(error)).toBe(retryable);
    expect(error.message.length).toBeGreaterThan(0);
  });

  it('TimeoutError names its deadline and keeps a cause', () => {
    const cause = new Error('socket hang up');
    const error = new TimeoutError(250, { cause });
    expect(error.timeout).toBe(250);
    expect(error.message).toBe('Operation timed out after 250 ms');
    expect(error.cause).toBe(cause);
    expect('cause' in new TimeoutError(1)).toBe(false);
  });

  it('CircuitOpenError and RateLimitedError carry retryAfter in ms', () => {
    const open = new CircuitOpenError('halfOpen', 1_500);
    expect(open.state).toBe('halfOpen');
    expect(open.retryAfter).toBe(1_500);
    expect(open.message).toMatch(/halfOpen/);
    const limited = new RateLimitedError(300);
    expect(limited.retryAfter).toBe(300);
    expect(limited.message).toBe('Rate limit exceeded; retry after 300 ms');
    expect(new RateLimitedError(1, 'custom').message).toBe('custom');
  });

  it('BulkheadFullError stays non-retryable whatever the options', () => {
    const error = new BulkheadFullError('queue full', { cause: 'x' });
    expect(error.message).toBe('queue full');
    expect(error.cause).toBe('x');
    expect(error.retryable).toBe(false);
  });

  it('ResilienceError defaults to retryable and accepts a cause', () => {
    const error = new ResilienceError('ERR_CUSTOM', 'custom', { cause: 1 });
    expect(error.retryable).toBe(true);
    expect(error.cause).toBe(1);
    expect(error.name).toBe('ResilienceError');
    expect(new ResilienceError('ERR_X', 'x', { retryable: false }).retryable).toBe(false);
    class MyError extends ResilienceError {}
    expect(new MyError('ERR_MINE', 'm').name).toBe('MyError');
  });

  it('isRetryable treats errors that are not bulwark’s own as retryable', () => {
    expect(isRetryable(new Error('x'))).toBe(true);
    expect(isRetryable(new TypeError('fetch failed'))).toBe(true);
    expect(isRetryable('a string')).toBe(true);
    expect(isRetryable(undefined)).toBe(true);
  });

  it('retryAfterOf reads a finite retryAfter ≥ 0 from errors and results alike', () => {
    expect(retryAfterOf(new RateLimitedError(300))).toBe(300);
    expect(retryAfterOf({ status: 503, retryAfter: 0 })).toBe(0);
    expect(retryAfterOf({ retryAfter: 1.5 })).toBe(1.5);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '100', null]) {
      expect(retryAfterOf({ retryAfter: bad })).toBeUndefined();
    }
    expect(retryAfterOf(null)).toBeUndefined();
    expect(retryAfterOf(42)).toBeUndefined();
    expect(retryAfterOf(new Error('plain'))).toBeUndefined();
  });
});
