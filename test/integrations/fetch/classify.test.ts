import { describe, expect, it } from 'vitest';
import { TimeoutError } from '../../../src/index.js';
import {
  IDEMPOTENT_METHODS,
  isNetworkError,
  TRANSIENT_STATUSES,
} from '../../../src/integrations/fetch/index.js';

const withCode = (code: string) => Object.assign(new Error(code), { code });

describe('isNetworkError', () => {
  it("recognises fetch's network TypeErrors across runtimes", () => {
    for (const message of [
      'fetch failed',
      'Failed to fetch',
      'NetworkError when attempting to fetch resource.',
      'Load failed',
      'Network request failed',
      'terminated',
    ]) {
      expect([message, isNetworkError(new TypeError(message))]).toEqual([message, true]);
    }
  });

  it('recognises connection error codes on the error or its causes', () => {
    expect(isNetworkError(withCode('ECONNRESET'))).toBe(true);
    expect(isNetworkError(new TypeError('fetch failed', { cause: withCode('UND_ERR_SOCKET') }))).toBe(true);
    expect(
      isNetworkError(new Error('outer', { cause: new Error('mid', { cause: withCode('EPIPE') }) })),
    ).toBe(true);
  });

  it('does not take programming errors or other failures for network errors', () => {
    expect(isNetworkError(new TypeError('Failed to parse URL from nope'))).toBe(false);
    expect(isNetworkError(new TypeError('Request with GET/HEAD method cannot have body.'))).toBe(false);
    expect(isNetworkError(new Error('fetch failed'))).toBe(false);
    expect(isNetworkError(withCode('ENOENT'))).toBe(false);
    expect(isNetworkError(new TimeoutError(10))).toBe(false);
    expect(isNetworkError(undefined)).toBe(false);
    expect(isNetworkError('ECONNRESET')).toBe(false);
  });

  it('stops following a cyclic cause chain', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isNetworkError(a)).toBe(false);
  });
});

describe('classification constants', () => {
  it('lists the idempotent methods of RFC 9110 and the transient statuses', () => {
    expect([...IDEMPOTENT_METHODS].sort()).toEqual(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PUT', 'TRACE']);
    expect(TRANSIENT_STATUSES).toEqual([408, 429, 500, 502, 503, 504]);
  });
});
