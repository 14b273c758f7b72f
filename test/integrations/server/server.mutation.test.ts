// Edge cases of the server integrations' shared code (exchange, errors, options), driven without sockets.
import { describe, expect, it } from 'vitest';
import { bulkhead, circuitBreaker, PolicyBase, retry, timeout } from '../../../src/index.js';
import { clientClosed, ResponseStatusError } from '../../../src/integrations/server/errors.js';
import {
  checkServedPolicy,
  healthCodes,
  type ServeOptions,
  serveConfig,
} from '../../../src/integrations/server/options.js';
import { VirtualClock } from '../../../src/testing/index.js';
import { FakeExchange } from './fake-exchange.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('server/errors', () => {
  it('says which status a failing response finished with', () => {
    expect(new ResponseStatusError(502).message).toBe('The response finished with status 502');
  });

  it('aborts with an AbortError saying the client closed the connection', () => {
    const reason = clientClosed();
    expect(reason).toBeInstanceOf(DOMException);
    expect(reason.name).toBe('AbortError');
    expect(reason.message).toBe('The client closed the connection before the response finished');
  });
});

describe('server/exchange', () => {
  it('aborts the request signal with clientClosed() when the response closes unfinished', async () => {
    const limiter = bulkhead({ limit: 1 });
    const failures: unknown[] = [];
    limiter.on('failure', ({ error }) => failures.push(error));
    const exchange = new FakeExchange(limiter);
    exchange.run();
    await tick();
    exchange.closed(false);
    await tick();
    expect(exchange.signal.aborted).toBe(true);
    const reason = exchange.signal.reason as DOMException;
    expect([reason.name, reason.message]).toEqual([
      'AbortError',
      'The client closed the connection before the response finished',
    ]);
    expect(failures).toEqual([reason]);
    expect(limiter.stats.running).toBe(0);
  });

  it('reports a disconnect to the policy as a failure with its reason', async () => {
    const limiter = bulkhead({ limit: 1 });
    const failures: unknown[] = [];
    const successes: number[] = [];
    limiter.on('failure', ({ error }) => failures.push(error));
    limiter.on('success', () => successes.push(1));
    const outer = new AbortController();
    // With an outer signal that stays live, only the exchange's own verdict settles the work.
    const exchange = new FakeExchange(limiter, {}, outer.signal);
    exchange.run();
    await tick();
    const gone = new Error('gone');
    exchange.disconnected(gone);
    await tick();
    expect(failures).toEqual([gone]);
    expect(successes).toEqual([]);
    expect(limiter.stats.running).toBe(0);
  });

  it('uses the outer signal as the request signal, without an abort controller of its own', async () => {
    const limiter = bulkhead({ limit: 1 });
    const outer = new AbortController();
    const exchange = new FakeExchange(limiter, {}, outer.signal);
    expect(exchange.signal).toBe(outer.signal);
    exchange.run();
    await tick();
    expect(exchange.log).toEqual(['proceed']);
    // No controller to abort: the outer signal's owner aborts it, the exchange only releases.
    expect(() => exchange.disconnected(new Error('gone'))).not.toThrow();
    await tick();
    expect(outer.signal.aborted).toBe(false);
    expect(limiter.stats.running).toBe(0);
  });

  it('does not run the request of a client that left while it waited for admission under a live outer signal', async () => {
    const limiter = bulkhead({ limit: 1, queue: 1 });
    const first = new FakeExchange(limiter);
    first.run();
    await tick();
    const outer = new AbortController();
    const waiting = new FakeExchange(limiter, {}, outer.signal);
    waiting.run();
    await tick();
    expect(limiter.stats.queued).toBe(1);
    waiting.closed(false);
    first.finished();
    await tick();
    await tick();
    expect(waiting.log).toEqual([]);
    expect(limiter.stats.running).toBe(0);
  });

  it('asks isFailure once, however many times the response reports it finished or closed', async () => {
    const statuses: number[] = [];
    const exchange = new FakeExchange(bulkhead({ limit: 1 }), {
      isFailure: (status) => {
        statuses.push(status);
        return false;
      },
    });
    exchange.run();
    await tick();
    exchange.finished();
    exchange.finished();
    exchange.closed(true);
    await tick();
    expect(statuses).toEqual([200]);
  });

  it('does not abort the request signal when the connection closes after the response finished', async () => {
    const exchange = new FakeExchange(bulkhead({ limit: 1 }));
    exchange.run();
    await tick();
    exchange.finished();
    exchange.closed(false);
    exchange.disconnected(new Error('late'));
    await tick();
    expect(exchange.signal.aborted).toBe(false);
  });

  it('leaves the response alone when a handler finished it from its own abort listener', async () => {
    const clock = new VirtualClock();
    const exchange = new FakeExchange(timeout({ ms: 10, clock }));
    exchange.run();
    await tick();
    expect(exchange.log).toEqual(['proceed']);
    exchange.signal.addEventListener('abort', () => exchange.finished());
    await clock.advance(10);
    await tick();
    expect(exchange.log).toEqual(['proceed']);
  });

  it('does not answer a timeout after the response started: it cuts it once', async () => {
    const clock = new VirtualClock();
    // Aggressive: the policy rejects at the deadline, before the cut response closes.
    const exchange = new FakeExchange(timeout({ ms: 10, strategy: 'aggressive', clock }));
    exchange.run();
    await tick();
    exchange.sent = true;
    await clock.advance(10);
    await tick();
    expect(exchange.log).toEqual(['proceed', 'destroy']);
  });

  it('sends the default reply after a sync onReject that returns a non-promise value', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1 });
    breaker.isolate();
    const seen: string[] = [];
    const exchange = new FakeExchange(breaker, {
      // Express handlers often return `res` itself; it is not a promise.
      onReject: ((error: { code: string }) => {
        seen.push(error.code);
        return 'res';
      }) as never,
    });
    exchange.run();
    await tick();
    expect(seen).toEqual(['ERR_CIRCUIT_OPEN']);
    expect(exchange.log).toEqual(['send 503 ERR_CIRCUIT_OPEN']);
  });
});

describe('server/options', () => {
  it('counts only 5xx statuses as failures by default', () => {
    const { isFailure } = serveConfig('o', {});
    expect([200, 404, 499, 500, 503, 599].map(isFailure)).toEqual([false, false, false, true, true, true]);
  });

  it('names the option in every validation message', () => {
    const attempts: [ServeOptions<unknown, unknown>, string][] = [
      [{ retryAfter: 0 }, 'o: retryAfter must be a number > 0, got 0'],
      [{ retryAfter: -5 }, 'o: retryAfter must be a number > 0, got -5'],
      [{ key: 5 as never }, 'o: key must be a function, got 5'],
      [{ priority: 'high' as never }, 'o: priority must be a function, got "high"'],
      [{ isFailure: true as never }, 'o: isFailure must be a function, got true'],
    ];
    for (const [options, message] of attempts) {
      expect(() => serveConfig('o', options)).toThrow(message);
    }
    expect(serveConfig('o', { retryAfter: 0.5 }).retryAfter).toBe(0.5);
    expect(() => healthCodes('h', { degradedStatus: 100 })).toThrow(
      'h: degradedStatus must be an integer ≥ 200 and ≤ 599, got 100',
    );
  });

  it('explains why a retry cannot guard a response, and what to do instead', () => {
    expect(() => checkServedPolicy('o', 'policy', retry({ name: 'again' }))).toThrow(
      new TypeError(
        'o: policy contains a retry policy ("again"), which would run the route handler again or answer ' +
          'in its place; protect a route with admission, timeout and shedding policies, and put retry, ' +
          'hedge and fallback around the calls the handler makes',
      ),
    );
  });

  it('accepts a policy tree whose children refer back to each other', () => {
    class Linked extends PolicyBase {
      next: PolicyBase<any> | undefined = undefined;
      constructor(name: string) {
        super('linked', name);
      }
      override _children(): readonly PolicyBase<any>[] {
        return this.next === undefined ? [] : [this.next];
      }
    }
    const a = new Linked('a');
    const b = new Linked('b');
    a.next = b;
    b.next = a;
    expect(checkServedPolicy('o', 'policy', a)).toBe(a);
  });
});
