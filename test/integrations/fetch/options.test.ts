// resilientFetch with an injected fetch: option checks and request
// classification, without a network.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { retry, timeout } from '../../../src/index.js';
import {
  type FetchInput,
  IDEMPOTENT_METHODS,
  RESILIENT_FETCH_OPTIONS,
  resilientFetch,
} from '../../../src/integrations/fetch/index.js';
import { instantClock } from '../../helpers/clocks.js';

/** A fetch that answers with the given statuses in turn (the last repeats). */
function scripted(...statuses: number[]) {
  const calls: { input: FetchInput; init: RequestInit | undefined }[] = [];
  const fetch = vi.fn(async (input: FetchInput, init?: RequestInit) => {
    calls.push({ input, init });
    return new Response(null, { status: statuses[Math.min(calls.length, statuses.length) - 1]! });
  });
  return { fetch, calls };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('resilientFetch options', () => {
  it('rejects unknown options, naming the known ones', () => {
    expect(() => resilientFetch({ retries: 3 } as never)).toThrow(
      `resilientFetch: unknown option "retries" (expected one of: ${RESILIENT_FETCH_OPTIONS.join(', ')})`,
    );
  });

  it('rejects bad values at construction, naming the option and the value', () => {
    expect(() => resilientFetch({ maxAttempts: 0 })).toThrow(
      'resilientFetch: maxAttempts must be an integer ≥ 1, got 0',
    );
    expect(() => resilientFetch({ timeout: -1 })).toThrow(
      'resilientFetch: timeout must be a number > 0, got -1',
    );
    expect(() => resilientFetch({ totalTimeout: 0 })).toThrow(
      'resilientFetch: totalTimeout must be a number > 0',
    );
    expect(() => resilientFetch({ timeout: 500, totalTimeout: 100 })).toThrow(
      'resilientFetch: timeout must be ≤ totalTimeout (100), got 500',
    );
    expect(() => resilientFetch({ retryOnStatus: [200, 700] })).toThrow(
      'resilientFetch: retryOnStatus[] must be an integer ≥ 100 and ≤ 599, got 700',
    );
    expect(() => resilientFetch({ retryOnStatus: 503 as never })).toThrow(
      'resilientFetch: retryOnStatus must be an array of statuses or a function, got 503',
    );
    expect(() => resilientFetch({ retryNonIdempotent: 'yes' as never })).toThrow(
      'resilientFetch: retryNonIdempotent must be a boolean',
    );
    expect(() => resilientFetch({ maxRetryAfter: -5 })).toThrow(
      'resilientFetch: maxRetryAfter must be a number ≥ 0',
    );
    expect(() => resilientFetch({ backoff: 'fast' as never })).toThrow('resilientFetch: backoff must be');
    expect(() => resilientFetch({ policy: { execute() {} } as never })).toThrow(
      'resilientFetch: policy must be a bulwark policy',
    );
    expect(() => resilientFetch({ fetch: 'fetch' as never })).toThrow(
      'resilientFetch: fetch must be a function',
    );
    expect(() => resilientFetch({ key: 1 as never })).toThrow('resilientFetch: key must be a function');
    expect(() => resilientFetch({ retryOnError: true as never })).toThrow(
      'resilientFetch: retryOnError must be a function',
    );
    expect(() => resilientFetch({ budget: {} as never })).toThrow(
      'resilientFetch: budget must be a retryBudget()',
    );
    expect(() => resilientFetch({ clock: {} as never })).toThrow('resilientFetch: clock must have now()');
    expect(() => resilientFetch({ name: '' })).toThrow('resilientFetch: name must be a non-empty string');
    expect(() => resilientFetch(null as never)).toThrow('resilientFetch: options must be an object');
  });

  it('defaults to 3 attempts, as retry()', async () => {
    const { fetch } = scripted(503);
    const res = await resilientFetch({ fetch, clock: instantClock })('https://api.test/');
    expect(res.status).toBe(503);
    expect(fetch).toHaveBeenCalledTimes(3);
  });

  it('maxAttempts counts every attempt, the first included', async () => {
    const { fetch } = scripted(503);
    await resilientFetch({ fetch, clock: instantClock, maxAttempts: 5 })('https://api.test/');
    expect(fetch).toHaveBeenCalledTimes(5);
  });

  it('retryOnStatus may be a predicate over the status and response', async () => {
    const { fetch } = scripted(418, 200);
    const seen: number[] = [];
    const res = await resilientFetch({
      fetch,
      clock: instantClock,
      retryOnStatus: (status, response) => {
        seen.push(response.status);
        return status === 418;
      },
    })('https://api.test/');
    expect([res.status, seen]).toEqual([200, [418, 200]]);
  });

  it('retryOnError replaces the error classification', async () => {
    const boom = new Error('custom');
    const fetch = vi.fn(async (): Promise<Response> => {
      throw boom;
    });
    const retried = resilientFetch({ fetch, clock: instantClock, retryOnError: (e) => e === boom });
    await expect(retried('https://api.test/')).rejects.toBe(boom);
    expect(fetch).toHaveBeenCalledTimes(3);
    fetch.mockClear();
    // By default an error that is not a network error is not retried.
    await expect(resilientFetch({ fetch, clock: instantClock })('https://api.test/')).rejects.toBe(boom);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('looks globalThis.fetch up on every request', async () => {
    const http = resilientFetch({ clock: instantClock });
    const first = scripted(200);
    vi.stubGlobal('fetch', first.fetch);
    await http('https://api.test/a');
    const second = scripted(204);
    vi.stubGlobal('fetch', second.fetch);
    expect((await http('https://api.test/b')).status).toBe(204);
    expect([first.fetch.mock.calls.length, second.fetch.mock.calls.length]).toEqual([1, 1]);
  });

  it('rejects with a TypeError when no fetch is available', async () => {
    vi.stubGlobal('fetch', undefined);
    await expect(resilientFetch({ maxAttempts: 1 })('https://api.test/')).rejects.toThrow(
      'resilientFetch: no fetch available; pass one as options.fetch',
    );
  });

  it('never throws synchronously: bad headers or a failing key function reject, as fetch does', async () => {
    const { fetch } = scripted(200);
    const http = resilientFetch({ fetch });
    let call: Promise<Response> | undefined;
    expect(() => {
      call = http('https://api.test/', { method: 'POST', headers: { 'bad header': 'x' } });
    }).not.toThrow();
    await expect(call).rejects.toBeInstanceOf(TypeError);
    const boom = new Error('no key');
    const keyed = resilientFetch({
      fetch,
      policy: retry({ maxAttempts: 1 }),
      key: () => {
        throw boom;
      },
    });
    await expect(keyed('https://api.test/')).rejects.toBe(boom);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('passes the init through untouched when nothing can abort the call', async () => {
    const { fetch, calls } = scripted(200);
    const init = { headers: { accept: 'text/plain' } };
    await resilientFetch({ fetch })('https://api.test/', init);
    expect(calls[0]!.init).toBe(init);
  });

  it("gives fetch the caller's own signal when no timeout is set", async () => {
    const { fetch, calls } = scripted(200);
    const signal = new AbortController().signal;
    const init = { signal };
    await resilientFetch({ fetch })('https://api.test/', init);
    expect(calls[0]!.init).toBe(init);
  });

  it('gives fetch a signal of its own per attempt under a timeout', async () => {
    const { fetch, calls } = scripted(503, 200);
    await resilientFetch({ fetch, clock: instantClock, timeout: 1_000 })('https://api.test/', {
      method: 'GET',
    });
    const [first, second] = calls.map((c) => c.init!.signal!);
    expect(first).toBeInstanceOf(AbortSignal);
    expect(first).not.toBe(second);
    expect(calls[0]!.init!.method).toBe('GET');
  });

  it('keys by host, and by nothing when the URL cannot be parsed', async () => {
    const keys: unknown[] = [];
    const probe = retry({ maxAttempts: 1 });
    const original = probe._enter.bind(probe);
    probe._enter = (ctx) => {
      keys.push(ctx.key);
      return original(ctx);
    };
    const { fetch } = scripted(200);
    const http = resilientFetch({ fetch, policy: probe });
    await http('https://api.test:8443/x');
    await http('not a url');
    expect(keys).toEqual(['api.test:8443', undefined]);
  });

  it('exposes the pipeline it runs requests under', () => {
    const attempt = timeout(10);
    const http = resilientFetch({ policy: attempt, totalTimeout: 100, name: 'inventory' });
    expect(http.policy.name).toBe('inventory');
    expect(http.policy.policies.map((p) => p.name)).toEqual([
      'inventory.totalTimeout',
      'inventory.retry',
      'timeout',
    ]);
  });
});

describe('resilientFetch request classification', () => {
  const methods = fc.constantFrom(
    'GET',
    'HEAD',
    'OPTIONS',
    'PUT',
    'DELETE',
    'TRACE',
    'POST',
    'PATCH',
    'get',
    'post',
  );

  it('property: retries exactly the idempotent, keyed or opted-in requests', async () => {
    await fc.assert(
      fc.asyncProperty(methods, fc.boolean(), fc.boolean(), async (method, keyed, optIn) => {
        const { fetch } = scripted(503, 200);
        const headers: Record<string, string> = keyed ? { 'Idempotency-Key': 'k' } : {};
        const res = await resilientFetch({ fetch, clock: instantClock, retryNonIdempotent: optIn })(
          'https://api.test/',
          {
            method,
            headers,
          },
        );
        const retryable = IDEMPOTENT_METHODS.has(method.toUpperCase()) || keyed || optIn;
        expect([res.status, fetch.mock.calls.length]).toEqual(retryable ? [200, 2] : [503, 1]);
      }),
      { numRuns: 60 },
    );
  });

  it('property: the attempt count follows the statuses, capped by maxAttempts', async () => {
    const transient = [408, 429, 500, 502, 503, 504];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(200, 201, 204, 400, 404, 501, ...transient), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 6 }),
        async (statuses, maxAttempts) => {
          const { fetch } = scripted(...statuses);
          const res = await resilientFetch({ fetch, clock: instantClock, maxAttempts })('https://api.test/');
          let expected = 1;
          while (
            expected < maxAttempts &&
            transient.includes(statuses[Math.min(expected, statuses.length) - 1]!)
          ) {
            expected += 1;
          }
          expect(fetch).toHaveBeenCalledTimes(expected);
          expect(res.status).toBe(statuses[Math.min(expected, statuses.length) - 1]);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('an async iterable body is not retried either', async () => {
    const { fetch } = scripted(503, 200);
    async function* body() {
      yield new TextEncoder().encode('chunk');
    }
    const res = await resilientFetch({ fetch, clock: instantClock })('https://api.test/', {
      method: 'PUT',
      body: body() as never,
    });
    expect([res.status, fetch.mock.calls.length]).toEqual([503, 1]);
  });

  it('a Request without a body is passed as is, not copied', async () => {
    const { fetch, calls } = scripted(503, 200);
    const request = new Request('https://api.test/');
    await resilientFetch({ fetch, clock: instantClock })(request);
    expect(calls.map((c) => c.input)).toEqual([request, request]);
  });
});
