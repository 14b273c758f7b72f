// Shared by the resilientFetch tests: waiting for what its retry policy does.
import type { RetryEvents } from '../../../src/index.js';
import type { resilientFetch } from '../../../src/integrations/fetch/index.js';

/** Resolves with the next `retry` event of a resilientFetch's retry policy. */
export function nextRetry(http: ReturnType<typeof resilientFetch>): Promise<RetryEvents['retry']> {
  return new Promise((resolve) => {
    const off = http.policy.onEvent((event) => {
      if (event.event !== 'retry') return;
      off();
      resolve(event.data as RetryEvents['retry']);
    });
  });
}
