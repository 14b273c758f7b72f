// @vitest-environment happy-dom
// The built core imported in a browser-like environment (happy-dom's window, its AbortController
// and events), running policies that use signals, timers and events.
import { describe, expect, it } from 'vitest';
import { importBuilt } from './entries.js';

describe('bulwark in a browser-like environment', () => {
  it('runs in a window with the browser globals', () => {
    expect(typeof window).toBe('object');
    expect(typeof document.createElement).toBe('function');
  });

  it('imports the built ESM core and runs a pipeline with fallback, retry, breaker, timeout, bulkhead', async () => {
    const { pipeline, fallback, retry, circuitBreaker, timeout, bulkhead } = await importBuilt();
    const breaker = circuitBreaker({ consecutiveFailures: 2, openFor: 60_000 });
    const policy = pipeline(
      fallback({ value: (error: unknown) => `fallback: ${(error as Error).name}` }),
      retry({ maxAttempts: 2, backoff: 1 }),
      breaker,
      timeout(10),
      bulkhead({ limit: 1, queue: 1 }),
    );
    const events: string[] = [];
    policy.onEvent((event) => events.push(`${event.policy}.${event.event}`));

    let attempts = 0;
    const hung = await policy.execute(
      ({ signal }) =>
        new Promise<string>((_, reject) => {
          attempts++;
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
    );
    expect(hung).toBe('fallback: TimeoutError');
    expect(attempts).toBe(2);
    expect(breaker.state).toBe('open');
    expect(events).toContain('circuitBreaker.open');
    expect(await policy.execute(() => 'not called')).toBe('fallback: CircuitOpenError');
  });

  it("follows the caller's AbortController from the page", async () => {
    const { retry } = await importBuilt();
    const controller = new AbortController();
    const call = retry({ maxAttempts: 5, backoff: 60_000 }).execute(
      () => {
        throw new Error('down');
      },
      { signal: controller.signal },
    );
    controller.abort(new Error('user left the page'));
    await expect(call).rejects.toThrow('user left the page');
  });
});
