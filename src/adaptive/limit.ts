/**
 * What a limit algorithm sees of each call, and what the policy asks of it.
 * The policy owns slots and the queue; an algorithm only turns samples into
 * a limit.
 */

/** How a settled call counts for the limit. @internal */
export const Outcome = {
  /** A latency sample (a success). */
  Sample: 0,
  /** A sign of overload: a timeout, a rejection from inside, or what `isDrop` matches. */
  Drop: 1,
  /** Says nothing about the dependency (the caller's abort, an application error). */
  Ignore: 2,
} as const;
/** @internal */
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/**
 * Why the limit moved: measured headroom (`increase`), measured overload
 * (`decrease`), or the gradient algorithm's baseline probe starting
 * (`probe`, a temporary lower limit) and ending (`probeEnd`).
 */
export type LimitChangeReason = 'increase' | 'decrease' | 'probe' | 'probeEnd';

/** @internal */
export interface LimitAlgorithm {
  /** The limit admission uses now: an integer in [minLimit, maxLimit]. */
  readonly limit: number;
  /** Why the limit last changed. */
  readonly reason: LimitChangeReason;
  /** A call took a slot (`inflight` counts it). Returns true when the call is part of a probe. */
  acquire(inflight: number): boolean;
  /** A call found every slot taken: evidence that the limit binds. */
  saturated(): void;
  /** A call that held a slot settled. */
  settle(outcome: Outcome, rtt: number, startedAt: number, now: number, probe: boolean): void;
  /** Algorithm-specific numbers for `health()`. */
  details(): Record<string, unknown>;
}

/** The bounds every algorithm keeps its limit within. @internal */
export interface LimitBounds {
  readonly initialLimit: number;
  readonly minLimit: number;
  readonly maxLimit: number;
}

/** @internal */
export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
