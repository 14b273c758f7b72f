import { describe, expect, it } from 'vitest';
import { fallback, pipeline, retry, timeout } from '../../src/index.js';

describe('pipeline', () => {
  it('runs policies outermost first and returns the result', async () => {
    let calls = 0;
    const p = pipeline(fallback({ value: 'fallback' }), retry({ maxAttempts: 3, backoff: 0 }));
    const result = await p.execute(() => {
      calls += 1;
      if (calls < 3) throw new Error(`fail ${calls}`);
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('falls back when every attempt failed', async () => {
    const p = pipeline(fallback({ value: 'fallback' }), retry({ maxAttempts: 2, backoff: 0 }), timeout(1000));
    await expect(p.execute(() => Promise.reject(new Error('down')))).resolves.toBe('fallback');
  });

  it('rejects a non-policy argument naming its position', () => {
    expect(() => pipeline(retry(), {} as never)).toThrow(/argument 2 is not a policy/);
  });
});
