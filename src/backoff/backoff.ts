import { checkFunction, checkKeys, checkNumber, checkObject, checkOneOf } from '../core/validate.js';

/** How randomness spreads delays so that many clients do not retry in lockstep. */
export type Jitter = 'full' | 'equal' | 'none';

/**
 * A delay sequence. It holds no per-call state, so one backoff can be shared
 * by many policies and calls: the caller passes the previous delay back in.
 */
export interface Backoff {
  /**
   * The delay in ms before retry number `retry` (1 for the first retry),
   * given the delay used before the previous one (0 when there was none).
   */
  delay(retry: number, previous: number): number;
}

interface JitterOptions {
  /** Default `'none'` for constant and linear, `'full'` for exponential. */
  jitter?: Jitter;
  /** A source of randomness in [0, 1); inject a seeded one for deterministic tests. */
  random?: () => number;
}

/** Options of `backoff.linear`. */
export interface LinearBackoffOptions extends JitterOptions {
  /** First delay in ms. Default 100. */
  initial?: number;
  /** Added per retry in ms. Default `initial`. */
  step?: number;
  /** Cap in ms. Default 30 000. */
  max?: number;
}

/** Options of `backoff.exponential`. */
export interface ExponentialBackoffOptions extends JitterOptions {
  /** First delay in ms (before jitter). Default 100. */
  initial?: number;
  /** Cap in ms. Default 30 000. */
  max?: number;
  /** Growth per retry. Default 2. */
  factor?: number;
}

/** Options of `backoff.decorrelatedJitter`. */
export interface DecorrelatedJitterOptions {
  /** Smallest delay in ms. Default 100. */
  initial?: number;
  /** Cap in ms. Default 30 000. */
  max?: number;
  /** A source of randomness in [0, 1); inject a seeded one for deterministic tests. */
  random?: () => number;
}

// One constant per factory, so that a bundle keeping only `exponential` (retry's default) drops the others' lists.
const CONSTANT_OPTIONS = ['jitter', 'random'] as const;
const LINEAR_OPTIONS = ['initial', 'step', 'max', 'jitter', 'random'] as const;
const EXPONENTIAL_OPTIONS = ['initial', 'max', 'factor', 'jitter', 'random'] as const;
const DECORRELATED_JITTER_OPTIONS = ['initial', 'max', 'random'] as const;

/** The option names each backoff factory accepts (unknown keys are rejected). */
export const BACKOFF_OPTIONS = {
  constant: CONSTANT_OPTIONS,
  linear: LINEAR_OPTIONS,
  exponential: EXPONENTIAL_OPTIONS,
  decorrelatedJitter: DECORRELATED_JITTER_OPTIONS,
} as const;

const DEFAULT_INITIAL = 100;
const DEFAULT_MAX = 30_000;
const JITTERS = ['full', 'equal', 'none'] as const;

/** A draw from `random`, clamped: a source that strays out of [0, 1) must not push a delay out of bounds. */
function draw(random: () => number): number {
  return Math.min(Math.max(random(), 0), 1);
}

function applyJitter(delay: number, jitter: Jitter, random: () => number): number {
  if (jitter === 'none') return delay;
  const r = draw(random);
  if (jitter === 'full') return delay * r;
  // min(): halving a subnormal delay rounds, and the sum could then exceed it.
  return Math.min(delay, delay / 2 + (delay / 2) * r);
}

/** The cap: never below `initial`, and by default 30 s or `initial` if larger, so a large `initial` alone is valid. */
function checkMax(name: string, max: unknown, initial: number): number {
  return checkNumber(name, 'max', max, { min: initial, infinite: true }, Math.max(DEFAULT_MAX, initial));
}

function jitterOptions(name: string, options: JitterOptions | undefined, defaultJitter: Jitter) {
  return {
    jitter: checkOneOf(name, 'jitter', options?.jitter, JITTERS, defaultJitter),
    random: checkFunction<() => number>(name, 'random', options?.random) ?? Math.random,
  };
}

/** The same delay before every retry. */
function constant(ms: number, options?: JitterOptions): Backoff {
  const name = 'backoff.constant';
  checkNumber(name, 'ms', ms, { min: 0 });
  checkObject(name, 'options', options);
  checkKeys(name, options, CONSTANT_OPTIONS);
  const { jitter, random } = jitterOptions(name, options, 'none');
  return { delay: () => applyJitter(ms, jitter, random) };
}

/** `initial`, then `step` more per retry, up to `max`. */
function linear(options?: LinearBackoffOptions): Backoff {
  const name = 'backoff.linear';
  checkObject(name, 'options', options);
  checkKeys(name, options, LINEAR_OPTIONS);
  const initial = checkNumber(name, 'initial', options?.initial, { min: 0 }, DEFAULT_INITIAL);
  const step = checkNumber(name, 'step', options?.step, { min: 0 }, initial);
  const max = checkMax(name, options?.max, initial);
  const { jitter, random } = jitterOptions(name, options, 'none');
  return { delay: (retry) => applyJitter(Math.min(initial + step * (retry - 1), max), jitter, random) };
}

/**
 * `initial × factor^(retry−1)`, capped at `max`, with full jitter by default. Exported on its own
 * for `retry`'s default, so that importing `retry` does not keep the other backoffs in a bundle.
 */
export function exponential(options?: ExponentialBackoffOptions): Backoff {
  const name = 'backoff.exponential';
  checkObject(name, 'options', options);
  checkKeys(name, options, EXPONENTIAL_OPTIONS);
  const initial = checkNumber(name, 'initial', options?.initial, { min: 0 }, DEFAULT_INITIAL);
  const max = checkMax(name, options?.max, initial);
  const factor = checkNumber(name, 'factor', options?.factor, { min: 1 }, 2);
  const { jitter, random } = jitterOptions(name, options, 'full');
  return {
    // Past the cap, factor^n only overflows; min() keeps Infinity out, and an
    // initial of 0 must stay 0 rather than become 0 × Infinity = NaN.
    delay: (retry) =>
      applyJitter(initial === 0 ? 0 : Math.min(initial * factor ** (retry - 1), max), jitter, random),
  };
}

/**
 * AWS's "decorrelated jitter": each delay is random between `initial` and
 * three times the previous one, capped at `max`.
 */
function decorrelatedJitter(options?: DecorrelatedJitterOptions): Backoff {
  const name = 'backoff.decorrelatedJitter';
  checkObject(name, 'options', options);
  checkKeys(name, options, DECORRELATED_JITTER_OPTIONS);
  const initial = checkNumber(name, 'initial', options?.initial, { min: 0 }, DEFAULT_INITIAL);
  const max = checkMax(name, options?.max, initial);
  const random = checkFunction<() => number>(name, 'random', options?.random) ?? Math.random;
  return {
    delay(_retry, previous) {
      const upper = Math.max(initial, Math.min(max, Math.max(previous, initial) * 3));
      return Math.min(max, initial + (upper - initial) * draw(random));
    },
  };
}

/** Delay sequences for `retry` and for a breaker's `openFor`. */
export const backoff = { constant, linear, exponential, decorrelatedJitter };

/** Accepts a number (a constant delay) or a backoff object; used by options that take either. */
export function toBackoff(policy: string, option: string, value: unknown): Backoff | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') {
    checkNumber(policy, option, value, { min: 0 });
    return { delay: () => value };
  }
  if (typeof value !== 'object' || value === null || typeof (value as Backoff).delay !== 'function') {
    throw new TypeError(`${policy}: ${option} must be a number of ms or a backoff, got ${typeof value}`);
  }
  return value as Backoff;
}
