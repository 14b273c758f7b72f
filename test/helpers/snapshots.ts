import type { CircuitBreakerSnapshot } from '../../src/index.js';

/** A closed breaker's snapshot with nothing counted: spread it and change what a test needs. */
export const closedSnapshot: CircuitBreakerSnapshot = Object.freeze({
  version: 1,
  state: 'closed',
  openedAt: null,
  openFor: null,
  openCount: 0,
  consecutiveFailures: 0,
  calls: 0,
  failures: 0,
  slowCalls: 0,
  window: null,
});
