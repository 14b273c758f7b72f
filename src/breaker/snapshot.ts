import { checkKeys, checkNumber, checkObject, checkOneOf, show } from '../core/validate.js';
import { BUCKET_STRIDE, FAILURE, newRing, readSlot, SLOW, writeSlot } from './window.js';

/** A circuit breaker's state. `isolated` is forced open by `isolate()`. */
export type CircuitState = 'closed' | 'open' | 'halfOpen' | 'isolated';

/** Contents of a count window: one character per call, oldest first. */
export interface CountWindowSnapshot {
  /** The kind of window. */
  readonly type: 'count';
  /** The window size it was saved from. */
  readonly size: number;
  /** `0` success, `1` failure, `2` slow success, `3` slow failure; oldest first. */
  readonly outcomes: string;
}

/** Contents of a time window: per bucket calls, failures and slow calls, oldest bucket first. */
export interface TimeWindowSnapshot {
  /** The kind of window. */
  readonly type: 'time';
  /** The window duration (ms) it was saved from. */
  readonly duration: number;
  /** Its number of buckets. */
  readonly buckets: number;
  /** The newest bucket's number: `floor(time / (duration / buckets))`. */
  readonly bucket: number;
  /** `buckets × 3` numbers: calls, failures, slow calls per bucket, oldest first. */
  readonly counts: readonly number[];
}

/**
 * A breaker's state as plain JSON data, from `snapshot()`; pass it as
 * `initialState` to restore it (for instance after a restart). Times are
 * read from the breaker's clock (`Date.now()` by default).
 */
export interface CircuitBreakerSnapshot {
  /** Format version, for compatibility checks when restoring. */
  readonly version: 1;
  /** The state when saved. */
  readonly state: CircuitState;
  /** When the current open period began (open and half-open); otherwise null. */
  readonly openedAt: number | null;
  /** Its length in ms: probes are admitted from `openedAt + openFor`. */
  readonly openFor: number | null;
  /** Times opened since the breaker last closed (drives an `openFor` backoff). */
  readonly openCount: number;
  /** Failures in a row so far. */
  readonly consecutiveFailures: number;
  /** Calls counted in the window (half-open: probes that settled). Informational. */
  readonly calls: number;
  /** Failures among them. Informational. */
  readonly failures: number;
  /** Slow calls among them. Informational. */
  readonly slowCalls: number;
  /** The window's contents while closed; null otherwise or without a rate trigger. */
  readonly window: CountWindowSnapshot | TimeWindowSnapshot | null;
}

/** The snapshot keys, for validation. */
const SNAPSHOT_KEYS = [
  'version',
  'state',
  'openedAt',
  'openFor',
  'openCount',
  'consecutiveFailures',
  'calls',
  'failures',
  'slowCalls',
  'window',
] as const;

const P = 'circuitBreaker';
const STATES = ['closed', 'open', 'halfOpen', 'isolated'] as const;
const COUNT = { min: 0, integer: true } as const;

function checkTime(option: string, value: unknown, required: boolean): number | null {
  if (value === null && !required) return null;
  return checkNumber(P, `initialState.${option}`, value, {});
}

function checkWindow(value: unknown): CountWindowSnapshot | TimeWindowSnapshot | null {
  if (value === null) return null;
  checkObject(P, 'initialState.window', value);
  const w = value as Record<string, unknown> | undefined;
  if (w === undefined)
    throw new TypeError(`${P}: initialState.window must be an object or null, got undefined`);
  const type = checkOneOf(P, 'initialState.window.type', w.type, ['count', 'time']);
  if (type === 'count') {
    checkKeys(P, w, ['type', 'size', 'outcomes'], 'initialState.window.');
    const size = checkNumber(P, 'initialState.window.size', w.size, { min: 1, integer: true });
    if (typeof w.outcomes !== 'string' || !/^[0-3]*$/.test(w.outcomes) || w.outcomes.length > size) {
      throw new TypeError(
        `${P}: initialState.window.outcomes must be a string of 0-3 digits, at most size long, got ${show(w.outcomes)}`,
      );
    }
    return { type, size, outcomes: w.outcomes };
  }
  checkKeys(P, w, ['type', 'duration', 'buckets', 'bucket', 'counts'], 'initialState.window.');
  const duration = checkNumber(P, 'initialState.window.duration', w.duration, { min: 0, exclusiveMin: true });
  const buckets = checkNumber(P, 'initialState.window.buckets', w.buckets, { min: 1, integer: true });
  const bucket = checkNumber(P, 'initialState.window.bucket', w.bucket, { integer: true });
  const counts = w.counts;
  if (!Array.isArray(counts) || counts.length !== buckets * BUCKET_STRIDE) {
    throw new TypeError(
      `${P}: initialState.window.counts must be an array of buckets × 3 numbers, got ${show(counts)}`,
    );
  }
  for (let i = 0; i < counts.length; i += BUCKET_STRIDE) {
    const calls = checkNumber(P, `initialState.window.counts[${i}]`, counts[i], COUNT);
    for (let j = 1; j < BUCKET_STRIDE; j++) {
      checkNumber(P, `initialState.window.counts[${i + j}]`, counts[i + j], { ...COUNT, max: calls });
    }
  }
  return { type, duration, buckets, bucket, counts: counts as number[] };
}

/**
 * Validates a snapshot given as `initialState` (it may come from storage, so
 * every field is checked) and returns it typed.
 * @internal
 */
export function checkSnapshot(value: unknown): CircuitBreakerSnapshot {
  checkObject(P, 'initialState', value);
  if (value === undefined) throw new TypeError(`${P}: initialState must be an object, got undefined`);
  checkKeys(P, value, SNAPSHOT_KEYS, 'initialState.');
  const s = value as Record<string, unknown>;
  if (s.version !== 1) {
    throw new TypeError(`${P}: initialState.version must be 1, got ${show(s.version)}`);
  }
  const state = checkOneOf(P, 'initialState.state', s.state, STATES);
  const paused = state === 'open' || state === 'halfOpen';
  const openedAt = checkTime('openedAt', s.openedAt, state === 'open');
  const openFor =
    s.openFor === null && state !== 'open'
      ? null
      : checkNumber(P, 'initialState.openFor', s.openFor, { min: 0 });
  return {
    version: 1,
    state,
    openedAt: paused ? openedAt : null,
    openFor: paused ? openFor : null,
    openCount: checkNumber(P, 'initialState.openCount', s.openCount, COUNT),
    consecutiveFailures: checkNumber(P, 'initialState.consecutiveFailures', s.consecutiveFailures, COUNT),
    calls: checkNumber(P, 'initialState.calls', s.calls, COUNT),
    failures: checkNumber(P, 'initialState.failures', s.failures, COUNT),
    slowCalls: checkNumber(P, 'initialState.slowCalls', s.slowCalls, COUNT),
    window: checkWindow(s.window),
  };
}

/** A count window's ring as a string of outcome digits, oldest first. @internal */
export function encodeOutcomes(
  ring: readonly number[] | undefined,
  head: number,
  calls: number,
  size: number,
): string {
  // Until the ring first wraps, the oldest call sits at slot 0.
  const start = calls < size ? 0 : head;
  let out = '';
  for (let i = 0; i < calls; i++) out += String(readSlot(ring, (start + i) % size));
  return out;
}

/** A count window rebuilt from outcome digits (the newest `size` of them). @internal */
export interface DecodedCountWindow {
  ring: number[] | undefined;
  head: number;
  calls: number;
  failures: number;
  slow: number;
}

/** Rebuilds a count window of `size` from outcome digits; `trackSlow` false drops the slow bits. @internal */
export function decodeOutcomes(outcomes: string, size: number, trackSlow: boolean): DecodedCountWindow {
  const mask = trackSlow ? FAILURE | SLOW : FAILURE;
  let ring: number[] | undefined;
  let calls = 0;
  let failures = 0;
  let slow = 0;
  for (let i = Math.max(0, outcomes.length - size); i < outcomes.length; i++) {
    const code = (outcomes.charCodeAt(i) - 48) & mask;
    if (code !== 0) writeSlot((ring ??= newRing(size)), calls, code);
    if ((code & FAILURE) !== 0) failures++;
    if ((code & SLOW) !== 0) slow++;
    calls++;
  }
  return { ring, head: calls % size, calls, failures, slow };
}
