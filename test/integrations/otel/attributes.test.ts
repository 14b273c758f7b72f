import { describe, expect, it } from 'vitest';
import { BulkheadFullError, CircuitOpenError, TimeoutError } from '../../../src/index.js';
import { eventCounterAttributes, spanEventAttributes } from '../../../src/integrations/otel/attributes.js';
import { errorType } from '../../../src/integrations/otel/index.js';

describe('errorType (OpenTelemetry error.type)', () => {
  it("is the error's class name", () => {
    expect(errorType(new TimeoutError(10))).toBe('TimeoutError');
    expect(errorType(new CircuitOpenError('open', 5))).toBe('CircuitOpenError');
    expect(errorType(new BulkheadFullError())).toBe('BulkheadFullError');
    expect(errorType(new TypeError('x'))).toBe('TypeError');
    expect(errorType(new DOMException('stop', 'AbortError'))).toBe('AbortError');
    class PaymentDeclined extends Error {
      override name = 'PaymentDeclined';
    }
    expect(errorType(new PaymentDeclined())).toBe('PaymentDeclined');
  });

  it("is a plain Error's string code when it has one (Node's system errors)", () => {
    expect(errorType(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe('ECONNRESET');
    expect(errorType(Object.assign(new Error('x'), { code: 42 }))).toBe('Error');
    expect(errorType(Object.assign(new Error('x'), { code: '' }))).toBe('Error');
    expect(errorType(new Error('x'))).toBe('Error');
  });

  it('is _OTHER for values that are not errors', () => {
    for (const value of ['text', 42, null, undefined, {}, { name: '' }, { name: 3 }]) {
      expect(errorType(value)).toBe('_OTHER');
    }
  });
});

describe('event attributes', () => {
  it('span events copy primitive payload fields under bulwark.event.*, in snake_case; errors become error.type', () => {
    expect(
      spanEventAttributes('p', 'circuitBreaker', 'cb', 'reject', {
        state: 'open',
        retryAfter: 250,
        ok: false,
        nan: Number.NaN,
        nested: { a: 1 },
        error: new TimeoutError(5),
      }),
    ).toEqual({
      'bulwark.pipeline.name': 'p',
      'bulwark.policy.kind': 'circuitBreaker',
      'bulwark.policy.name': 'cb',
      'bulwark.event.name': 'reject',
      'bulwark.event.state': 'open',
      'bulwark.event.retry_after': 250,
      'bulwark.event.ok': false,
      'error.type': 'TimeoutError',
    });
  });

  it("span events leave out the user's values, results and keys", () => {
    expect(
      spanEventAttributes('p', 'retry', 'r', 'retry', {
        attempt: 1,
        result: 'secret',
        value: 'secret',
        key: 'tenant-42',
      }),
    ).toEqual({
      'bulwark.pipeline.name': 'p',
      'bulwark.policy.kind': 'retry',
      'bulwark.policy.name': 'r',
      'bulwark.event.name': 'retry',
      'bulwark.event.attempt': 1,
    });
    expect(Object.keys(spanEventAttributes('p', 'k', 'n', 'e', undefined))).toHaveLength(4);
  });

  it('the events counter gets fixed keys only, never payload fields', () => {
    expect(
      eventCounterAttributes('p', 'bulkhead', 'b', 'reject', { reason: 'full', running: 3, queued: 0 }),
    ).toEqual({
      'bulwark.pipeline.name': 'p',
      'bulwark.policy.kind': 'bulkhead',
      'bulwark.policy.name': 'b',
      'bulwark.event.name': 'reject',
    });
    expect(eventCounterAttributes('p', 'retry', 'r', 'giveUp', { error: 'str', attempts: 3 })).toMatchObject({
      'error.type': '_OTHER',
    });
    expect(eventCounterAttributes('p', 'x', 'x', 'x', null)).not.toHaveProperty('error.type');
  });
});
