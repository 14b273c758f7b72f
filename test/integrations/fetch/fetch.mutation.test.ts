// Behaviour of bulwark/fetch that the other fetch tests left unpinned, found
// by mutation testing: error codes, the cause depth, Retry-After text, which
// inputs count as a Request, which bodies can be sent again, the key, the
// listener that frees retried responses, and option bounds. No network: an
// injected fetch answers.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ExecutionContext } from '../../../src/core/context.js';
import { PolicyBase, type RetryEvents, setListenerErrorHandler } from '../../../src/index.js';
import {
  type FetchInput,
  isNetworkError,
  parseRetryAfter,
  resilientFetch,
} from '../../../src/integrations/fetch/index.js';
import { VirtualClock } from '../../../src/testing/index.js';
import { instantClock } from '../../helpers/clocks.js';
import { nextRetry } from './retry-events.js';

/** A fetch that answers with the given responses in turn (the last repeats); an Error is thrown. */
function scripted(...answers: (number | Error | (() => Response))[]) {
  const calls: { input: FetchInput; init: RequestInit | undefined }[] = [];
  const fetch = vi.fn(async (input: FetchInput, init?: RequestInit) => {
    calls.push({ input, init });
    const answer = answers[Math.min(calls.length, answers.length) - 1]!;
    if (answer instanceof Error) throw answer;
    if (typeof answer === 'function') return answer();
    return new Response(null, { status: answer });
  });
  return { fetch, calls };
}

/** A policy that records the key each attempt's context carried. */
class KeyProbe extends PolicyBase {
  readonly keys: unknown[] = [];
  constructor() {
    super('probe', undefined);
  }
  override _enter(ctx: ExecutionContext): unknown {
    this.keys.push(ctx.key);
    return undefined;
  }
}

/** Stands for a URL made in another realm (an iframe, a vm context): a URL, but not `instanceof URL`. */
class ForeignURL {
  constructor(readonly href: string) {}
  toString(): string {
    return this.href;
  }
}

const withCode = (code: string) => Object.assign(new Error(`connection: ${code}`), { code });

describe('classify: isNetworkError', () => {
  it('recognises every connection error code on a plain error and on its cause', () => {
    const codes = [
      'ECONNRESET',
      'ECONNREFUSED',
      'ECONNABORTED',
      'EPIPE',
      'ETIMEDOUT',
      'ENETDOWN',
      'ENETUNREACH',
      'EHOSTDOWN',
      'EHOSTUNREACH',
      'EAI_AGAIN',
      'UND_ERR_SOCKET',
      'UND_ERR_CLOSED',
      'UND_ERR_CONNECT_TIMEOUT',
      'UND_ERR_HEADERS_TIMEOUT',
      'UND_ERR_BODY_TIMEOUT',
    ];
    for (const code of codes) {
      const wrapped = new Error('request failed', { cause: withCode(code) });
      expect([code, isNetworkError(withCode(code)), isNetworkError(wrapped)]).toEqual([code, true, true]);
    }
    expect(isNetworkError(withCode(''))).toBe(false);
  });

  it('follows causes eight errors deep, and no deeper', () => {
    /** An error whose code sits `depth` causes below it (0: on the error itself). */
    const chain = (depth: number): Error => {
      let error: Error = withCode('ECONNRESET');
      for (let i = 0; i < depth; i++) error = new Error(`level ${depth - i - 1}`, { cause: error });
      return error;
    };
    expect([0, 1, 7, 8, 9].map((depth) => isNetworkError(chain(depth)))).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it('ends the cause chain at a null cause, without throwing', () => {
    expect(isNetworkError(new Error('outer', { cause: null }))).toBe(false);
    expect(isNetworkError(new TypeError('fetch failed', { cause: null }))).toBe(true);
  });

  it('takes a failure message for a network error only on a TypeError', () => {
    expect(isNetworkError(new TypeError('fetch failed'))).toBe(true);
    expect(isNetworkError(new Error('fetch failed'))).toBe(false);
    expect(isNetworkError(new RangeError('Failed to fetch'))).toBe(false);
    expect(isNetworkError({ message: 'fetch failed' })).toBe(false);
  });
});

describe('retry-after: parseRetryAfter', () => {
  it('reads a date only when the value starts with a day name', () => {
    const now = Date.UTC(2025, 0, 15, 12, 0, 0);
    expect(parseRetryAfter('Wed, 15 Jan 2025 12:00:30 GMT', now)).toBe(30_000);
    // Date.parse reads all of these as 12:00:30; none is an HTTP-date.
    for (const value of ['Next Wed, 15 Jan 2025 12:00:30 GMT', 'at Wed, 15 Jan 2025 12:00:30 GMT']) {
      expect([value, parseRetryAfter(value, now)]).toEqual([value, undefined]);
    }
  });
});

describe('resilientFetch', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('takes a URL from another realm for a URL, not for a Request: a GET, retried', async () => {
    const { fetch, calls } = scripted(503, 200);
    const input = new ForeignURL('https://api.test/items');
    const res = await resilientFetch({ fetch, clock: instantClock })(input as never);
    expect([res.status, calls.length]).toEqual([200, 2]);
    expect(calls.map((c) => c.input)).toEqual([input, input]);
  });

  it('retries a PUT whose body can be sent again: bytes, a Blob, form data, search params', async () => {
    const bodies: [string, BodyInit][] = [
      ['Uint8Array', new TextEncoder().encode('bytes')],
      ['ArrayBuffer', new ArrayBuffer(4)],
      ['Blob', new Blob(['blob'])],
      ['FormData', new FormData()],
      ['URLSearchParams', new URLSearchParams('a=1')],
    ];
    for (const [kind, body] of bodies) {
      const { fetch, calls } = scripted(503, 200);
      const res = await resilientFetch({ fetch, clock: instantClock })('https://api.test/', {
        method: 'PUT',
        body,
      });
      expect([kind, res.status, calls.length]).toEqual([kind, 200, 2]);
    }
  });

  it('takes a null body for no body: a PUT with body null is retried', async () => {
    const { fetch, calls } = scripted(503, 200);
    const res = await resilientFetch({ fetch, clock: instantClock })('https://api.test/', {
      method: 'PUT',
      body: null,
    });
    expect([res.status, calls.length]).toEqual([200, 2]);
  });

  it('does not retry a stream body that is not async-iterable (a ReadableStream in Safari)', async () => {
    const { fetch, calls } = scripted(503, 200);
    const stream = new ReadableStream();
    const body = { getReader: () => stream.getReader() };
    expect(Symbol.asyncIterator in body).toBe(false);
    const res = await resilientFetch({ fetch, clock: instantClock })('https://api.test/', {
      method: 'PUT',
      body: body as never,
    });
    expect([res.status, calls.length]).toEqual([503, 1]);
  });

  it("keys a Request input by its URL's host", async () => {
    const { fetch } = scripted(503, 200);
    const probe = new KeyProbe();
    await resilientFetch({ fetch, clock: instantClock, policy: probe })(
      new Request('https://api.test:8443/x'),
    );
    expect(probe.keys).toEqual(['api.test:8443', 'api.test:8443']);
  });

  it('does not call the key function for a URL it cannot parse: the key is undefined', async () => {
    const { fetch } = scripted(200);
    const probe = new KeyProbe();
    const key = vi.fn((url: URL, method: string) => `${method} ${url.host}`);
    const http = resilientFetch({ fetch, policy: probe, key });
    expect((await http('not a url')).status).toBe(200);
    await http('https://api.test/', { method: 'DELETE' });
    expect(probe.keys).toEqual([undefined, 'DELETE api.test']);
    expect(key.mock.calls.map(([url, method]) => [url.href, method])).toEqual([
      ['https://api.test/', 'DELETE'],
    ]);
  });

  it('does not call the key function when there is no policy to see the key', async () => {
    const { fetch } = scripted(200);
    const key = vi.fn(() => 'k');
    const res = await resilientFetch({ fetch, key })('https://api.test/');
    expect(res.status).toBe(200);
    expect(key).not.toHaveBeenCalled();
  });

  it('frees retried responses without a listener error after a network error or an empty response', async () => {
    const reported: unknown[] = [];
    const previous = setListenerErrorHandler((error) => reported.push(error));
    try {
      // A network error: the retry event carries no response.
      const failed = scripted(new TypeError('fetch failed'), 200);
      const afterError = await resilientFetch({ fetch: failed.fetch, clock: instantClock })(
        'https://api.test/',
      );
      // A 503 without a body: its body is null.
      const empty = scripted(503, 200);
      const afterEmpty = await resilientFetch({ fetch: empty.fetch, clock: instantClock })(
        'https://api.test/',
      );
      expect([afterError.status, failed.calls.length, afterEmpty.status, empty.calls.length]).toEqual([
        200, 2, 200, 2,
      ]);
      expect(reported).toEqual([]);
    } finally {
      setListenerErrorHandler(previous);
    }
  });

  it('maxRetryAfter may be Infinity: any Retry-After is waited for', async () => {
    const clock = new VirtualClock();
    const day = 86_400;
    const { fetch, calls } = scripted(
      () => new Response(null, { status: 503, headers: { 'retry-after': String(day) } }),
      200,
    );
    const http = resilientFetch({ fetch, clock, backoff: 0, maxRetryAfter: Infinity });
    const retried = nextRetry(http);
    const call = http('https://api.test/');
    expect((await retried).delay).toBe(day * 1000);
    await clock.advance(day * 1000 - 1);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect([(await call).status, calls.length]).toEqual([200, 2]);
  });

  it('the attempt timeout may equal the total timeout', () => {
    const http = resilientFetch({ timeout: 100, totalTimeout: 100 });
    expect(http.policy.policies.map((p) => p.name)).toEqual([
      'resilientFetch.totalTimeout',
      'resilientFetch.retry',
      'resilientFetch.attemptTimeout',
    ]);
  });

  it('asks the budget before each retry, and gives up when it says no', async () => {
    const { fetch, calls } = scripted(503, 200);
    const budget = { recordAttempt: vi.fn(), tryRetry: vi.fn(() => false) };
    const http = resilientFetch({ fetch, clock: instantClock, budget });
    const reasons: unknown[] = [];
    http.policy.onEvent((e) => {
      if (e.event === 'giveUp') reasons.push((e.data as RetryEvents['giveUp']).reason);
    });
    const res = await http('https://api.test/');
    expect([res.status, calls.length, reasons]).toEqual([503, 1, ['budget']]);
    expect([budget.recordAttempt.mock.calls.length, budget.tryRetry.mock.calls.length]).toEqual([1, 1]);
  });

  it('passes a Request with a body as is when it will not be retried', async () => {
    // A POST is not retried, so its body is sent once: no copy.
    const post = scripted(503);
    const request = new Request('https://api.test/', { method: 'POST', body: 'order' });
    const res = await resilientFetch({ fetch: post.fetch, clock: instantClock })(request);
    expect([res.status, post.calls.length]).toEqual([503, 1]);
    expect(post.calls[0]!.input).toBe(request);
    // One attempt only: a PUT is not copied either.
    const single = scripted(503);
    const put = new Request('https://api.test/', { method: 'PUT', body: 'item' });
    await resilientFetch({ fetch: single.fetch, maxAttempts: 1 })(put);
    expect(single.calls[0]!.input).toBe(put);
  });

  it('copies a retried Request with a body for each attempt', async () => {
    const { fetch, calls } = scripted(503, 200);
    const put = new Request('https://api.test/', { method: 'PUT', body: 'item' });
    await resilientFetch({ fetch, clock: instantClock })(put);
    expect(calls).toHaveLength(2);
    expect(calls.map((c) => c.input === put)).toEqual([false, false]);
    expect(await Promise.all(calls.map((c) => (c.input as Request).text()))).toEqual(['item', 'item']);
  });
});
