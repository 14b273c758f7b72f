// resilientFetch against a real HTTP server on 127.0.0.1 and Node's own fetch.
// Waits that involve real time are a few tens of ms at most; backoff waits run
// on a virtual clock.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BulkheadFullError,
  CircuitOpenError,
  circuitBreaker,
  keyed,
  PolicyBase,
  RateLimitedError,
  TimeoutError,
  type RetryEvents,
} from '../../../src/index.js';
import type { ExecutionContext } from '../../../src/core/context.js';
import { isNetworkError, resilientFetch } from '../../../src/integrations/fetch/index.js';
import { VirtualClock } from '../../../src/testing/index.js';
import { CHUNK, type ScriptServer, startScriptServer } from './script-server.js';
import { instantClock } from '../../helpers/clocks.js';
import { until } from '../server/helpers.js';
import { nextRetry } from './retry-events.js';

let server: ScriptServer;
beforeAll(async () => {
  server = await startScriptServer();
});
afterAll(async () => {
  await server.close();
});

const ok = { status: 200, body: 'ok' } as const;
const unavailable = { status: 503, body: 'unavailable' } as const;

describe('resilientFetch: transient statuses', () => {
  it('retries 503 and resolves with the response that succeeded', async () => {
    const { url, seen } = server.script(unavailable, unavailable, ok);
    const res = await resilientFetch({ backoff: 0, clock: instantClock })(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    expect(seen).toHaveLength(3);
  });

  it('resolves with the final response, whatever its status, when the attempts run out', async () => {
    const { url, seen } = server.script(unavailable);
    const res = await resilientFetch({ backoff: 0, clock: instantClock })(url);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('unavailable');
    expect(seen).toHaveLength(3);
  });

  it('retries 408, 429, 500, 502, 503 and 504 by default', async () => {
    for (const status of [408, 429, 500, 502, 503, 504]) {
      const { url, seen } = server.script({ status }, ok);
      const res = await resilientFetch({ backoff: 0, clock: instantClock })(url);
      expect([status, res.status, seen.length]).toEqual([status, 200, 2]);
    }
  });

  it('does not retry other statuses', async () => {
    for (const status of [400, 404, 409, 501, 505]) {
      const { url, seen } = server.script({ status }, ok);
      const res = await resilientFetch({ backoff: 0, clock: instantClock })(url);
      expect([res.status, seen.length]).toEqual([status, 1]);
    }
  });

  it('retryOnStatus replaces the list of transient statuses', async () => {
    const { url, seen } = server.script({ status: 404 }, { status: 503 }, ok);
    const res = await resilientFetch({ backoff: 0, clock: instantClock, retryOnStatus: [404] })(url);
    expect([res.status, seen.length]).toEqual([503, 2]);
  });

  it('cancels the bodies of the responses it retries past, and only those', async () => {
    const { url, seen } = server.script({ trickle: 503, chunks: 100 }, ok);
    const responses: Response[] = [];
    const http = resilientFetch({
      backoff: 0,
      clock: instantClock,
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        responses.push(res);
        return res;
      },
    });
    const res = await http(url);
    expect(res.status).toBe(200);
    expect(responses.map((r) => r.bodyUsed)).toEqual([true, false]);
    // The server saw the client leave the streamed 503 before it was complete.
    await expect(seen[0]!.closed).resolves.toBe(true);
    expect(await res.text()).toBe('ok');
  });
});

describe('resilientFetch: Retry-After', () => {
  it('waits at least the delta-seconds of Retry-After before the next attempt', async () => {
    const clock = new VirtualClock();
    const { url, seen } = server.script({ status: 429, headers: { 'retry-after': '2' } }, ok);
    const http = resilientFetch({ backoff: 0, clock });
    const retried = nextRetry(http);
    const call = http(url);
    expect((await retried).delay).toBe(2000);
    await clock.advance(1999);
    expect(seen).toHaveLength(1);
    await clock.advance(1);
    const res = await call;
    expect([res.status, seen.length]).toEqual([200, 2]);
  });

  it('waits until the HTTP-date of Retry-After', async () => {
    const clock = new VirtualClock();
    const at = new Date(Date.now() + 5_000);
    const { url, seen } = server.script({ status: 503, headers: { 'retry-after': at.toUTCString() } }, ok);
    const http = resilientFetch({ backoff: 0, clock });
    const retried = nextRetry(http);
    const call = http(url);
    const { delay } = await retried;
    // HTTP dates have whole seconds; a little real time has passed since `at` was set.
    expect(delay).toBeGreaterThan(3_000);
    expect(delay).toBeLessThanOrEqual(5_000);
    await clock.advance(delay);
    expect([(await call).status, seen.length]).toEqual([200, 2]);
  });

  it('a Retry-After beyond maxRetryAfter ends retrying and returns that response', async () => {
    const { url, seen } = server.script({ status: 503, headers: { 'retry-after': '120' } }, ok);
    const http = resilientFetch({ backoff: 0, clock: instantClock, maxRetryAfter: 60_000 });
    const reasons: unknown[] = [];
    http.policy.onEvent((e) => {
      if (e.event === 'giveUp') reasons.push((e.data as RetryEvents['giveUp']).reason);
    });
    const res = await http(url);
    expect([res.status, res.headers.get('retry-after'), seen.length]).toEqual([503, '120', 1]);
    expect(reasons).toEqual(['retryAfter']);
  });
});

describe('resilientFetch: network errors', () => {
  it('retries a connection reset and resolves with the next response', async () => {
    const { url, seen } = server.script('reset', ok);
    const res = await resilientFetch({ backoff: 0, clock: instantClock })(url);
    expect([res.status, seen.length]).toEqual([200, 2]);
  });

  it('rejects with the network error when no attempt got a response', async () => {
    const { url, seen } = server.script('reset');
    const error = await resilientFetch({ backoff: 0, clock: instantClock })(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(isNetworkError(error)).toBe(true);
    expect(seen).toHaveLength(3);
  });

  it('retries a refused connection', async () => {
    // A port that was just free: nothing listens there.
    const probe = await startScriptServer();
    const { url } = probe.script(ok);
    await probe.close();
    const attempts = vi.fn(fetch);
    const error = await resilientFetch({ backoff: 0, clock: instantClock, fetch: attempts })(url).catch(
      (e: unknown) => e,
    );
    expect(isNetworkError(error)).toBe(true);
    expect(attempts).toHaveBeenCalledTimes(3);
  });
});

describe('resilientFetch: idempotency', () => {
  it('does not retry a POST', async () => {
    const { url, seen } = server.script(unavailable, ok);
    const res = await resilientFetch({ backoff: 0, clock: instantClock })(url, {
      method: 'POST',
      body: 'order',
    });
    expect([res.status, seen.length]).toEqual([503, 1]);
  });

  it('does not retry a POST whose connection was reset', async () => {
    const { url, seen } = server.script('reset', ok);
    const error = await resilientFetch({ backoff: 0, clock: instantClock })(url, { method: 'POST' }).catch(
      (e: unknown) => e,
    );
    expect(isNetworkError(error)).toBe(true);
    expect(seen).toHaveLength(1);
  });

  it('retries a POST that carries an Idempotency-Key, sending the same body each time', async () => {
    const { url, seen } = server.script(unavailable, 'reset', ok);
    const res = await resilientFetch({ backoff: 0, clock: instantClock })(url, {
      method: 'POST',
      headers: { 'Idempotency-Key': 'order-42' },
      body: 'order',
    });
    expect([res.status, seen.length]).toEqual([200, 3]);
    expect(seen.map((s) => [s.method, s.headers['idempotency-key'], s.body])).toEqual([
      ['POST', 'order-42', 'order'],
      ['POST', 'order-42', 'order'],
      ['POST', 'order-42', 'order'],
    ]);
  });

  it('retryNonIdempotent: true retries a POST', async () => {
    const { url, seen } = server.script(unavailable, ok);
    const res = await resilientFetch({ backoff: 0, clock: instantClock, retryNonIdempotent: true })(url, {
      method: 'POST',
    });
    expect([res.status, seen.length]).toEqual([200, 2]);
  });

  it('sends a Request with a body again on each attempt', async () => {
    const { url, seen } = server.script(unavailable, ok);
    const request = new Request(url, {
      method: 'PUT',
      body: 'payload',
      headers: { 'idempotency-key': 'k' },
    });
    const res = await resilientFetch({ backoff: 0, clock: instantClock })(request);
    expect([res.status, seen.length]).toEqual([200, 2]);
    expect(seen.map((s) => [s.method, s.body])).toEqual([
      ['PUT', 'payload'],
      ['PUT', 'payload'],
    ]);
  });

  it('reads the method and Idempotency-Key of a Request input', async () => {
    const { url, seen } = server.script(unavailable, ok);
    const plain = await resilientFetch({ backoff: 0, clock: instantClock })(
      new Request(url, { method: 'POST' }),
    );
    expect([plain.status, seen.length]).toEqual([503, 1]);
    const keyed = server.script(unavailable, ok);
    const res = await resilientFetch({ backoff: 0, clock: instantClock })(
      new Request(keyed.url, { method: 'POST', headers: { 'Idempotency-Key': 'k' } }),
    );
    expect([res.status, keyed.seen.length]).toEqual([200, 2]);
  });

  it('does not retry a request whose body is a stream, which cannot be sent twice', async () => {
    const { url, seen } = server.script(unavailable, ok);
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed'));
        controller.close();
      },
    });
    const res = await resilientFetch({ backoff: 0, clock: instantClock })(url, {
      method: 'PUT',
      body,
      duplex: 'half',
    } as RequestInit);
    expect([res.status, seen.length]).toEqual([503, 1]);
    expect(seen[0]!.body).toBe('streamed');
  });
});

describe('resilientFetch: timeouts and aborts', () => {
  it('a per-attempt timeout aborts a slow attempt, which is retried', async () => {
    const { url, seen } = server.script('hang', ok);
    const res = await resilientFetch({ backoff: 0, timeout: 20 })(url);
    expect([res.status, seen.length]).toEqual([200, 2]);
    // The slow attempt's request was really aborted.
    await expect(seen[0]!.closed).resolves.toBe(true);
  });

  it('rejects with TimeoutError when every attempt times out', async () => {
    const { url, seen } = server.script('hang');
    const error = await resilientFetch({ backoff: 0, maxAttempts: 2, timeout: 10 })(url).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeout).toBe(10);
    expect(seen).toHaveLength(2);
  });

  it('totalTimeout bounds the whole call, retries included, with TimeoutError', async () => {
    const { url, seen } = server.script('hang');
    const clock = new VirtualClock();
    const call = resilientFetch({ backoff: 0, maxAttempts: 5, timeout: 15, totalTimeout: 40, clock })(
      url,
    ).catch((e: unknown) => e);
    // Each attempt's deadline is passed once the server has it: 15, 30, then the total at 40.
    for (const [attempts, step] of [
      [1, 15],
      [2, 15],
      [3, 10],
    ] as const) {
      await until(() => seen.length === attempts, `attempt ${attempts} at the server`, 1_000);
      await clock.advance(step);
    }
    const error = await call;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeout).toBe(40);
    expect(clock.now()).toBe(40);
    expect(seen).toHaveLength(3);
    await Promise.all(seen.map((request) => expect(request.closed).resolves.toBe(true)));
  });

  it("the caller's abort rejects at once with its reason and aborts the request", async () => {
    const { url, seen } = server.script('hang');
    const controller = new AbortController();
    const call = resilientFetch({ backoff: 0, timeout: 5_000 })(url, { signal: controller.signal });
    await until(() => seen.length === 1, 'the request at the server', 1_000);
    const reason = new Error('user left');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    await expect(seen[0]!.closed).resolves.toBe(true);
    expect(seen).toHaveLength(1);
  });

  it("the caller's abort during a backoff wait rejects at once and starts no other attempt", async () => {
    const clock = new VirtualClock();
    const { url, seen } = server.script(unavailable);
    const http = resilientFetch({ backoff: 10_000, clock });
    const controller = new AbortController();
    const retried = nextRetry(http);
    const call = http(url, { signal: controller.signal });
    await retried;
    const reason = new Error('cancelled');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    await clock.runAll();
    expect(seen).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it("a Request's own signal is the caller's signal", async () => {
    const { url } = server.script(ok);
    const reason = new Error('aborted before');
    const request = new Request(url, { signal: AbortSignal.abort(reason) });
    await expect(resilientFetch()(request)).rejects.toBe(reason);
  });

  it('timeouts end with the response: reading a slow body afterwards is not cut', async () => {
    const { url } = server.script({ trickle: 200, chunks: 20 });
    const clock = new VirtualClock();
    const res = await resilientFetch({ maxAttempts: 1, timeout: 30, totalTimeout: 50, clock })(url);
    // Both deadlines pass while the body is still unread.
    await clock.advance(1_000);
    const body = await res.text();
    expect(body).toBe(CHUNK.repeat(20));
  });
});

/** A policy that records what each attempt's context carried, and can refuse attempts. */
class Probe extends PolicyBase {
  readonly entered: { key: unknown; attempt: number }[] = [];
  constructor(private readonly refuse: (n: number) => unknown = () => undefined) {
    super('probe', undefined);
  }
  override _enter(ctx: ExecutionContext): unknown {
    this.entered.push({ key: ctx.key, attempt: ctx.attempt });
    const error = this.refuse(this.entered.length);
    if (error !== undefined) throw error;
    return undefined;
  }
}

describe('resilientFetch: composing with a policy', () => {
  it('runs the policy on every attempt, inside the retry, keyed by the URL host', async () => {
    const { url } = server.script(unavailable, ok);
    const probe = new Probe();
    const res = await resilientFetch({ backoff: 0, clock: instantClock, policy: probe })(new URL(url));
    expect(res.status).toBe(200);
    const host = new URL(url).host;
    expect(probe.entered).toEqual([
      { key: host, attempt: 1 },
      { key: host, attempt: 2 },
    ]);
  });

  it('keys a URL from another realm (not instanceof URL) by its host too', async () => {
    const { url } = server.script(ok);
    // What a vm context's or a polyfill's URL looks like from here: an object
    // that fetch reads through its string form.
    const foreign = { href: url, toString: () => url };
    expect(foreign instanceof URL).toBe(false);
    const probe = new Probe();
    const res = await resilientFetch({ policy: probe })(foreign as unknown as URL);
    expect(res.status).toBe(200);
    expect(probe.entered).toEqual([{ key: new URL(url).host, attempt: 1 }]);
  });

  it('key computes a custom key from the URL and method', async () => {
    const { url } = server.script(ok);
    const probe = new Probe();
    await resilientFetch({ policy: probe, key: (u, method) => `${method} ${u.pathname}` })(url, {
      method: 'DELETE',
    });
    expect(probe.entered[0]!.key).toBe(`DELETE ${new URL(url).pathname}`);
  });

  it("a policy's rejection that says retrying is pointless is not retried", async () => {
    const { url, seen } = server.script(ok);
    const full = new BulkheadFullError();
    const probe = new Probe(() => full);
    await expect(resilientFetch({ backoff: 0, clock: instantClock, policy: probe })(url)).rejects.toBe(full);
    expect(probe.entered).toHaveLength(1);
    expect(seen).toHaveLength(0);
  });

  it("a policy's error with retryAfter is retried after that delay", async () => {
    const clock = new VirtualClock();
    const { url, seen } = server.script(ok);
    const probe = new Probe((n) => (n === 1 ? new RateLimitedError(700) : undefined));
    const http = resilientFetch({ backoff: 0, clock, policy: probe });
    const retried = nextRetry(http);
    const call = http(url);
    expect((await retried).delay).toBe(700);
    await clock.advance(700);
    expect((await call).status).toBe(200);
    expect(seen).toHaveLength(1);
  });

  it('non-idempotent requests run under the policy too, once', async () => {
    const { url } = server.script(unavailable);
    const probe = new Probe();
    const res = await resilientFetch({ backoff: 0, clock: instantClock, policy: probe })(url, {
      method: 'PATCH',
    });
    expect(res.status).toBe(503);
    expect(probe.entered).toHaveLength(1);
  });

  it('a keyed breaker per host opens for the failing host only', async () => {
    const other = await startScriptServer();
    try {
      const failing = server.script(unavailable);
      const healthy = other.script(ok);
      const http = resilientFetch({
        backoff: 0,
        clock: instantClock,
        policy: keyed(() =>
          circuitBreaker({
            consecutiveFailures: 2,
            openFor: 60_000,
            failOnResult: (res) => (res as Response).status >= 500,
          }),
        ),
      });
      // Two 503s open the failing host's breaker; the third attempt is refused locally.
      await expect(http(failing.url)).rejects.toBeInstanceOf(CircuitOpenError);
      expect(failing.seen).toHaveLength(2);
      await expect(http(failing.url)).rejects.toBeInstanceOf(CircuitOpenError);
      expect(failing.seen).toHaveLength(2);
      // The other host (another port) has its own breaker, still closed.
      expect((await http(healthy.url)).status).toBe(200);
      expect(healthy.seen).toHaveLength(1);
    } finally {
      await other.close();
    }
  });
});
