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
