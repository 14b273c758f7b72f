import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../../src/integrations/fetch/index.js';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

describe('parseRetryAfter', () => {
  it('reads delta-seconds as milliseconds', () => {
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('2', NOW)).toBe(2_000);
    expect(parseRetryAfter(' 120 ', NOW)).toBe(120_000);
  });

  it('reads an IMF-fixdate HTTP-date as the time left until it', () => {
    expect(parseRetryAfter('Wed, 15 Jan 2025 12:00:30 GMT', NOW)).toBe(30_000);
  });

  it('reads the obsolete RFC 850 and asctime date forms', () => {
    expect(parseRetryAfter('Wednesday, 15-Jan-25 12:01:00 GMT', NOW)).toBe(60_000);
    // asctime has no zone; Date.parse reads it as local time, so compare with the same reading.
    const asctime = 'Wed Jan 15 12:00:05 2025';
    expect(parseRetryAfter(asctime, NOW)).toBe(Math.max(0, Date.parse(asctime) - NOW));
  });

  it('a date in the past asks for no wait', () => {
    expect(parseRetryAfter('Wed, 15 Jan 2025 11:00:00 GMT', NOW)).toBe(0);
  });

  it('ignores a missing or malformed value', () => {
    for (const value of [
      null,
      undefined,
      '',
      '-1',
      '1.5',
      '5.5',
      'soon',
      '2025-01-15',
      'Xyz, 15 Jan 2025 12:00:30 GMT',
      'Wed, 99 Foo 2025 GMT',
    ]) {
      expect(parseRetryAfter(value, NOW)).toBeUndefined();
    }
  });

  it('defaults now to the wall clock', () => {
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    const delay = parseRetryAfter(inTenSeconds)!;
    expect(delay).toBeGreaterThan(8_000);
    expect(delay).toBeLessThanOrEqual(10_000);
  });

  it('property: delta-seconds round-trip, and dates are never negative', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10_000_000 }), (seconds) => {
        expect(parseRetryAfter(String(seconds), NOW)).toBe(seconds * 1000);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: -10_000_000, max: 10_000_000 }), (offsetSeconds) => {
        const date = new Date(NOW + offsetSeconds * 1000).toUTCString();
        expect(parseRetryAfter(date, NOW)).toBe(Math.max(0, offsetSeconds * 1000));
      }),
    );
  });
});
