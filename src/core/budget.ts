import type { ExecutionContext } from './context.js';

/**
 * What `retry` and `hedge` need from a retry budget (see `retryBudget()`):
 * every first attempt is recorded, and every extra attempt asks first.
 */
export interface RetryBudgetContract {
  /** Records a first attempt (deposits toward the ratio). */
  recordAttempt(): void;
  /** Takes one retry from the budget; false when over budget. */
  tryRetry(): boolean;
}

/** Validates a `budget` option. */
export function checkBudget(policy: string, value: unknown): RetryBudgetContract | undefined {
  if (value === undefined) return undefined;
  const b = value as Partial<RetryBudgetContract> | null;
  if (
    typeof b !== 'object' ||
    b === null ||
    typeof b.recordAttempt !== 'function' ||
    typeof b.tryRetry !== 'function'
  ) {
    throw new TypeError(`${policy}: budget must be a retryBudget(), got ${typeof value}`);
  }
  return value as RetryBudgetContract;
}

/**
 * Records the call's first attempt in `budget` once, however many policies of
 * the call share that budget (a retry and a hedge in one pipeline must not
 * count the same request twice and so double the ratio).
 */
export function recordFirstAttempt(budget: RetryBudgetContract, ctx: ExecutionContext): void {
  let root = ctx;
  while (root.parent !== undefined) root = root.parent;
  const recorded = root.budgets;
  if (recorded === budget || (Array.isArray(recorded) && recorded.includes(budget))) return;
  root.budgets =
    recorded === undefined ? budget : Array.isArray(recorded) ? [...recorded, budget] : [recorded, budget];
  budget.recordAttempt();
}
