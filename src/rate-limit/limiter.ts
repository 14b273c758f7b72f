/**
 * The arithmetic of one rate-limit algorithm. Time is passed in, never read,
 * so the policy reads the clock once per call and tests can drive it freely.
 * @internal
 */
export interface Limiter {
  /** Most permits a single call may take (the bucket's burst, the window's limit). */
  readonly capacity: number;
  /** Takes `cost` permits if it can and returns 0; otherwise takes nothing and returns the ms until it could (≥ 1). */
  tryTake(now: number, cost: number): number;
  /** Ms until `cost` permits are free for a call queued behind waiters that need `ahead` permits in all (0: now). */
  waitFor(now: number, ahead: number, cost: number): number;
  /** Whole permits that could be taken now. */
  available(now: number): number;
}
