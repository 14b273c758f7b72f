// The request state machine shared by the Express and Fastify integrations, driven without sockets.
import { describe, expect, it } from 'vitest';
import {
  BulkheadFullError,
  bulkhead,
  ChaosError,
  CircuitOpenError,
  circuitBreaker,
  RateLimitedError,
  ResilienceError,
  ThrottledError,
  TimeoutError,
  timeout,
} from '../../../src/index.js';
import { until } from './helpers.js';
import type { ExecutionContext } from '../../../src/core/context.js';
import { LayerMode, PolicyBase } from '../../../src/core/policy.js';
import { ResponseStatusError } from '../../../src/integrations/server/errors.js';
import { errorReply } from '../../../src/integrations/server/reply.js';
import { FakeExchange } from './fake-exchange.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('errorReply', () => {
  it('maps bulwark errors to 503, rate limits to 429 and timeouts to the configured status', () => {
    expect(errorReply(new BulkheadFullError(), 503)).toEqual({
      status: 503,
      code: 'ERR_BULKHEAD_FULL',
      retryAfter: undefined,
    });
    expect(errorReply(new ThrottledError(), 503)?.status).toBe(503);
    expect(errorReply(new ChaosError(), 503)).toMatchObject({ status: 503, code: 'ERR_CHAOS' });
    expect(errorReply(new TimeoutError(10), 504)).toMatchObject({ status: 504, code: 'ERR_TIMEOUT' });
    expect(errorReply(new RateLimitedError(1), 503)).toMatchObject({ status: 429, code: 'ERR_RATE_LIMITED' });
  });

  it('rounds retryAfter up to whole seconds, and gives none for 0 (unknown)', () => {
    expect(errorReply(new RateLimitedError(1), 503)?.retryAfter).toBe(1);
    expect(errorReply(new RateLimitedError(1_000), 503)?.retryAfter).toBe(1);
    expect(errorReply(new RateLimitedError(1_001), 503)?.retryAfter).toBe(2);
    expect(errorReply(new CircuitOpenError('open', 29_500), 503)?.retryAfter).toBe(30);
    expect(errorReply(new CircuitOpenError('halfOpen', 0), 503)?.retryAfter).toBeUndefined();
  });

  it('advertises the fallback retryAfter only for refusals without a wait of their own', () => {
    expect(errorReply(new BulkheadFullError(), 503, 1_500)?.retryAfter).toBe(2);
    expect(errorReply(new CircuitOpenError('halfOpen', 0), 503, 1_500)?.retryAfter).toBe(2);
    expect(errorReply(new RateLimitedError(200), 503, 10_000)?.retryAfter).toBe(1);
    expect(errorReply(new TimeoutError(10), 503, 10_000)?.retryAfter).toBeUndefined();
  });

  it('leaves errors that are not bulwark’s to the framework', () => {
    expect(errorReply(new Error('db'), 503)).toBeUndefined();
    expect(errorReply('text', 503)).toBeUndefined();
    expect(errorReply(new ResilienceError('ERR_X', 'x'), 503)?.code).toBe('ERR_X');
  });
});

describe('ResponseStatusError', () => {
  it('carries the status and a stable code', () => {
    const error = new ResponseStatusError(502);
    expect(error).toBeInstanceOf(ResilienceError);
    expect(error).toMatchObject({ code: 'ERR_RESPONSE_STATUS', status: 502, name: 'ResponseStatusError' });
  });
});

describe('Exchange', () => {
  it('settles the work once when the response finishes, whichever signal comes first', async () => {
    const limiter = bulkhead({ limit: 1 });
    const exchange = new FakeExchange(limiter);
    exchange.run();
    await tick();
    expect(exchange.log).toEqual(['proceed']);
    expect(limiter.stats.running).toBe(1);
    exchange.finished();
    exchange.closed(true);
    await tick();
    expect(limiter.stats.running).toBe(0);
    expect(exchange.log).toEqual(['proceed']);
  });

  it('counts the call as ended when isFailure throws, so the slot never stays taken', async () => {
    const limiter = bulkhead({ limit: 1 });
    const failures: unknown[] = [];
    limiter.on('failure', ({ error }) => failures.push(error));
    const exchange = new FakeExchange(limiter, {
      isFailure: () => {
        throw new Error('bad predicate');
      },
    });
    exchange.run();
    await tick();
    exchange.finished();
    await tick();
    expect(limiter.stats.running).toBe(0);
    expect(failures).toEqual([]);
  });

  it('reports failing statuses to the policy as ResponseStatusError', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1 });
    const exchange = new FakeExchange(breaker);
    exchange.status = 503;
    exchange.run();
    await tick();
    exchange.finished();
    await tick();
    expect(breaker.state).toBe('open');
  });

  it('hands an async onReject failure to the framework', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1 });
    breaker.isolate();
    const exchange = new FakeExchange(breaker, {
      onReject: () => Promise.reject(new Error('async onReject')),
    });
    exchange.run();
    await tick();
    expect(exchange.log).toEqual(['fail async onReject']);
  });

  it('does not answer a client that left while the request was refused', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1 });
    breaker.isolate();
    const exchange = new FakeExchange(breaker);
    exchange.run();
    exchange.closed(false);
    await tick();
    expect(exchange.log).toEqual([]);
  });

  it('refuses a second run of the work and hands the error to the framework', async () => {
    const twice = new (class extends PolicyBase {
      constructor() {
        super('twice', undefined);
        this._mode = LayerMode.Around;
      }
      override _around(ctx: ExecutionContext, next: (ctx: ExecutionContext) => Promise<unknown>) {
        return Promise.all([next(ctx), next(ctx)]);
      }
    })();
    const exchange = new FakeExchange(twice);
    exchange.run();
    await tick();
    expect(exchange.log).toEqual([
      'proceed',
      'fail test: the policy ran the request twice; retry and hedge cannot guard a response',
    ]);
  });

  it('answers a timeout once, even when onReject is slow', async () => {
    let calls = 0;
    const exchange = new FakeExchange(timeout(5), {
      onReject: async () => {
        calls += 1;
        await tick();
      },
    });
    exchange.run();
    await until(() => exchange.log.length === 2, 'the timeout reply');
    expect(exchange.log).toEqual(['proceed', 'send 503 ERR_TIMEOUT']);
    expect(calls).toBe(1);
  });

  it('exposes the caller signal before admission and aborts it on disconnect', async () => {
    const exchange = new FakeExchange(bulkhead({ limit: 1 }));
    const before = exchange.signal;
    exchange.disconnected(new Error('gone'));
    exchange.disconnected(new Error('twice'));
    expect(before.aborted).toBe(true);
    expect((before.reason as Error).message).toBe('gone');
  });
});
