import type { ExecuteOptions, ExecutionContext } from '../core/context.js';
import type { CircuitOpenError } from '../core/errors.js';
import { PolicyBase, type PolicyEvents, type PolicyHealth, type Work } from '../core/policy.js';
import { checkString } from '../core/validate.js';
import {
  askOpenFor,
  type BreakerConfig,
  type CircuitBreakerOptions,
  resolveBreakerConfig,
} from './options.js';
import { isLocalRejection, Started } from './outcome.js';
import { circuitOpenError } from './reject.js';
import {
  type CircuitBreakerSnapshot,
  type CircuitState,
  checkSnapshot,
  decodeOutcomes,
  encodeOutcomes,
} from './snapshot.js';
import {
  BUCKET_STRIDE,
  bucketIndex,
  FAILURE,
  newBuckets,
  newRing,
  readSlot,
  SLOW,
  writeSlot,
} from './window.js';

/** Why a breaker opened. `halfOpen`: the half-open probes failed (or were slow). */
export type CircuitOpenReason = 'consecutiveFailures' | 'failureRate' | 'slowCallRate' | 'halfOpen';

/** Events of a circuit breaker, besides `success` and `failure`. */
export interface CircuitBreakerEvents extends PolicyEvents {
  /** The breaker opened: calls are rejected for `retryAfter` ms. */
  open: {
    readonly reason: CircuitOpenReason;
    /** Failure rate over the counted calls (the window, or the probes) when it opened. */
    readonly failureRate: number;
    /** Slow-call rate over the same calls. */
    readonly slowCallRate: number;
    /** Calls those rates were computed over. */
    readonly calls: number;
    /** How long it stays open, in ms. */
    readonly retryAfter: number;
  };
  /** The open period ended: the next `probes` calls are let through to test the dependency. */
  halfOpen: { readonly probes: number };
  /** The breaker closed: `probes` succeeded, `reset()` was called, or the last isolation was released. */
  close: { readonly reason: 'probes' | 'reset' | 'release' };
  /** A call was rejected without being run. */
  reject: { readonly state: 'open' | 'halfOpen' | 'isolated'; readonly retryAfter: number };
  /** Any change of `state`. */
  stateChange: { readonly from: CircuitState; readonly to: CircuitState };
}

/** Live counters of a breaker, from `stats`. */
export interface CircuitBreakerStats {
  /** The current state (see `state`). */
  readonly state: CircuitState;
  /** Calls counted in the window (half-open: probes that settled). */
  readonly calls: number;
  /** Failures among those calls. */
  readonly failures: number;
  /** Slow calls among those calls (0 unless `slowCallDuration` is set). */
  readonly slowCalls: number;
  /** `failures / calls`, 0 with no calls. */
  readonly failureRate: number;
  /** `slowCalls / calls`, 0 with no calls. */
  readonly slowCallRate: number;
  /** Failures in a row, reset by a success. */
  readonly consecutiveFailures: number;
  /** Half-open probes admitted and not yet given back. */
  readonly probes: number;
  /** Times opened since the breaker last closed. */
  readonly openCount: number;
  /** Open: ms until a probe is admitted; otherwise 0. */
  readonly retryAfter: number;
}

const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;
const ISOLATED = 3;
const STATE_NAMES = ['closed', 'open', 'halfOpen', 'isolated'] as const;
const STATUS = ['ok', 'down', 'degraded', 'down'] as const;
/** Outcome code for a call that says nothing about the dependency. */
const IGNORED = -1;

/**
 * Fails fast while a dependency is down. Create it with `circuitBreaker()`.
 *
 * Every state has a generation number; a call's token is the generation it
 * was admitted in, so a call that settles after the state changed (started
 * before the breaker opened, or before a reset) is not counted. Transitions
 * happen on demand, when a call arrives or the state is read: no timer.
 */
export class CircuitBreakerPolicy extends PolicyBase<CircuitBreakerEvents> {
  /** Shared with every breaker built from equal options (see `BreakerConfig`). */
  private readonly cfg: BreakerConfig;

  // State.
  private st = CLOSED;
  private gen = 0;
  /** Open: when probes may start. */
  private openUntil = 0;
  private openCount = 0;
  /** The last open period's length (the backoff's `previous`). */
  private lastDelay = 0;
  private consecutive = 0;
  private isolations = 0;
  /** Half-open: probe slots taken (in flight or settled with a verdict). */
  private probes = 0;
  // The window while closed; the probes' verdicts while half-open.
  private calls = 0;
  private failures = 0;
  private slow = 0;
  /** Count window: next slot. Time window: number of the newest bucket. */
  private head = 0;
  /** Count window: packed outcomes; time window: bucket counters. Allocated on demand. */
  private ring: number[] | undefined = undefined;

  constructor(options: CircuitBreakerOptions = {}) {
    const cfg = resolveBreakerConfig(options);
    super('circuitBreaker', checkString('circuitBreaker', 'name', options.name));
    this.cfg = cfg;
    if (options.initialState !== undefined) this.restore(checkSnapshot(options.initialState));
  }

  /** The current state; an open breaker whose `openFor` has passed reads as `halfOpen`. */
  get state(): CircuitState {
    this.sync();
    return STATE_NAMES[this.st]!;
  }

  /** Live counters (computed on demand; reading them expires old time buckets). */
  get stats(): CircuitBreakerStats {
    this.sync();
    if (this.st === CLOSED && this.cfg.windowDuration > 0) this.advance(this.cfg.clock.now());
    const { calls, failures, slow } = this;
    return {
      state: STATE_NAMES[this.st]!,
      calls,
      failures,
      slowCalls: slow,
      failureRate: calls === 0 ? 0 : failures / calls,
      slowCallRate: calls === 0 ? 0 : slow / calls,
      consecutiveFailures: this.consecutive,
      probes: this.probes,
      openCount: this.openCount,
      retryAfter: this.st === OPEN ? Math.max(0, this.openUntil - this.cfg.clock.now()) : 0,
    };
  }

  /**
   * Forces the breaker open until the returned function is called (calling it
   * again does nothing). Isolations nest: the breaker stays isolated until
   * every one is released, then closes with fresh counts.
   */
  isolate(): () => void {
    this.sync();
    const from = this.st;
    this.isolations++;
    if (from !== ISOLATED) {
      this.st = ISOLATED;
      // Calls in flight now belong to a state that is over: none of them counts.
      this.gen++;
      this.probes = 0;
      this.changed(from, ISOLATED);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.isolations > 0) return;
      this.close();
      this.changed(ISOLATED, CLOSED);
      if (this.listening('close')) this.emit('close', { reason: 'release' });
    };
  }

  /**
   * Closes the breaker and forgets every count, its open history included.
   * Isolation is left alone: it belongs to whoever called `isolate()`.
   */
  reset(): void {
    if (this.st === ISOLATED) {
      this.openCount = 0;
      this.lastDelay = 0;
      return;
    }
    const from = this.st;
    this.close();
    if (from !== CLOSED) {
      this.changed(from, CLOSED);
      if (this.listening('close')) this.emit('close', { reason: 'reset' });
    }
  }

  /** The state as plain JSON data, to persist and pass back as `initialState`. */
  snapshot(): CircuitBreakerSnapshot {
    this.sync();
    const st = this.st;
    const paused = st === OPEN || st === HALF_OPEN;
    let window: CircuitBreakerSnapshot['window'] = null;
    if (st === CLOSED && this.cfg.windowSize > 0) {
      if (this.cfg.windowDuration === 0) {
        window = {
          type: 'count',
          size: this.cfg.windowSize,
          outcomes: encodeOutcomes(this.ring, this.head, this.calls, this.cfg.windowSize),
        };
      } else {
        this.advance(this.cfg.clock.now());
        window = this.timeWindowSnapshot();
      }
    }
    return {
      version: 1,
      state: STATE_NAMES[st]!,
      openedAt: paused ? this.openUntil - this.lastDelay : null,
      openFor: paused ? this.lastDelay : null,
      openCount: this.openCount,
      consecutiveFailures: this.consecutive,
      calls: this.calls,
      failures: this.failures,
      slowCalls: this.slow,
      window,
    };
  }

  // ---- layer steps -------------------------------------------------------

  override execute<T>(fn: Work<T>, options?: ExecuteOptions): Promise<T> {
    // Rejecting is an open breaker's whole job: used on its own (not in a
    // pipeline), it rejects without building a context or an async frame.
    if (this.st !== CLOSED && typeof fn === 'function' && options?.signal?.aborted !== true) {
      const refusal = this.refusal();
      if (refusal !== undefined) return Promise.reject(refusal);
    }
    return super.execute(fn, options);
  }

  override _enter(_ctx: ExecutionContext): unknown {
    // Closed: two field reads, no clock read unless slow calls are tracked.
    if (this.st === CLOSED) {
      return this.cfg.slowCallDuration === 0 ? this.gen : new Started(this.gen, this.cfg.clock.now());
    }
    return this.admitNotClosed();
  }

  override _success(ctx: ExecutionContext, token: unknown, value: unknown): unknown {
    let code = 0;
    if (this.cfg.failOnResult !== undefined) {
      try {
        if (this.cfg.failOnResult(value) === true) code = FAILURE;
      } catch (error) {
        this.settle(token, IGNORED);
        throw error;
      }
    }
    this.settle(token, code);
    return super._success(ctx, token, value);
  }

  override _failure(ctx: ExecutionContext, token: unknown, error: unknown): unknown {
    let code = IGNORED;
    // Only the dependency's own answers count: not the caller giving up, not
    // a layer inside refusing the call.
    if (!ctx.aborted && !isLocalRejection(error)) {
      try {
        code = this.cfg.failOn === undefined || this.cfg.failOn(error) === true ? FAILURE : 0;
      } catch (thrown) {
        this.settle(token, IGNORED);
        throw thrown;
      }
    }
    this.settle(token, code);
    return super._failure(ctx, token, error);
  }

  override _health(): PolicyHealth {
    const stats = this.stats;
    return { kind: this.kind, name: this.name, status: STATUS[this.st]!, ...stats };
  }

  // ---- admission ---------------------------------------------------------

  private admitNotClosed(): unknown {
    const refusal = this.refusal();
    if (refusal !== undefined) throw refusal;
    this.probes++;
    return this.cfg.slowCallDuration === 0 ? this.gen : new Started(this.gen, this.cfg.clock.now());
  }

  /** The error to reject the next call with, or undefined if it would be admitted (as a probe). */
  private refusal(): CircuitOpenError | undefined {
    if (this.st === ISOLATED) return this.reject('isolated', 0);
    if (this.st === OPEN) {
      const wait = this.openUntil - this.cfg.clock.now();
      if (wait > 0) return this.reject('open', wait);
      this.toHalfOpen();
    }
    // Half-open: the probes in flight decide; when they do is unknown, hence retryAfter 0.
    if (this.probes >= this.cfg.halfOpenCalls) return this.reject('halfOpen', 0);
    return undefined;
  }

  private reject(state: 'open' | 'halfOpen' | 'isolated', retryAfter: number): CircuitOpenError {
    if (this.listening('reject')) this.emit('reject', { state, retryAfter });
    return circuitOpenError(state, retryAfter);
  }

  /** Moves open → half-open once `openFor` has passed. */
  private sync(): void {
    if (this.st === OPEN && this.cfg.clock.now() >= this.openUntil) this.toHalfOpen();
  }

  // ---- recording ---------------------------------------------------------

  private settle(token: unknown, code: number): void {
    const started = typeof token === 'number' ? undefined : (token as Started);
    const gen = started === undefined ? (token as number) : started.gen;
    // Admitted under an earlier state (before an open, reset or isolation): not counted.
    if (gen !== this.gen) return;
    if (code === IGNORED) {
      // A probe without a verdict gives its slot back for another caller.
      if (this.st === HALF_OPEN) this.probes--;
      return;
    }
    let now = Number.NaN;
    if (started !== undefined) {
      now = this.cfg.clock.now();
      if (now - started.start > this.cfg.slowCallDuration) code |= SLOW;
    }
    if (this.st === CLOSED) this.recordClosed(code, now);
    else this.recordProbe(code);
  }

  private recordClosed(code: number, now: number): void {
    if ((code & FAILURE) === 0) {
      this.consecutive = 0;
    } else if (++this.consecutive >= this.cfg.consecutiveFailures && this.cfg.consecutiveFailures > 0) {
      this.trip('consecutiveFailures');
      return;
    }
    if (this.cfg.windowSize === 0) return;
    if (this.cfg.windowDuration === 0) this.recordCount(code);
    else this.recordTime(code, Number.isNaN(now) ? this.cfg.clock.now() : now);
    const calls = this.calls;
    if (calls < this.cfg.minimumCalls) return;
    if (this.cfg.failureRate > 0 && this.failures / calls >= this.cfg.failureRate) this.trip('failureRate');
    else if (this.cfg.slowCallRate > 0 && this.slow / calls >= this.cfg.slowCallRate)
      this.trip('slowCallRate');
  }

  private recordCount(code: number): void {
    const size = this.cfg.windowSize;
    const pos = this.head;
    this.head = pos + 1 === size ? 0 : pos + 1;
    const old = readSlot(this.ring, pos);
    if (this.calls === size) {
      if ((old & FAILURE) !== 0) this.failures--;
      if ((old & SLOW) !== 0) this.slow--;
    } else {
      this.calls++;
    }
    if ((code & FAILURE) !== 0) this.failures++;
    if ((code & SLOW) !== 0) this.slow++;
    if (code !== old) writeSlot((this.ring ??= newRing(size)), pos, code);
    // An all-clear ring is all zeros: keep the counters only.
    if (this.failures === 0 && this.slow === 0) this.ring = undefined;
  }

  private recordTime(code: number, now: number): void {
    this.advance(now);
    const ring = (this.ring ??= newBuckets(this.cfg.windowSize));
    const i = bucketIndex(this.head, this.cfg.windowSize);
    ring[i]!++;
    this.calls++;
    if ((code & FAILURE) !== 0) {
      ring[i + 1]!++;
      this.failures++;
    }
    if ((code & SLOW) !== 0) {
      ring[i + 2]!++;
      this.slow++;
    }
  }

  /** Time window: expires the buckets older than `now`'s window. */
  private advance(now: number): void {
    const epoch = Math.floor(now / (this.cfg.windowDuration / this.cfg.windowSize));
    const ring = this.ring;
    if (ring === undefined) {
      this.head = epoch;
      return;
    }
    const head = this.head;
    const buckets = this.cfg.windowSize;
    // A whole window or more away, either way, nothing in it counts any more:
    // forward, every bucket expired; backward (a wall clock set back), nothing
    // would expire until the clock caught up and the window would turn into a
    // running total. Start it afresh.
    if (Math.abs(epoch - head) >= buckets) {
      this.clearWindow();
      this.head = epoch;
      return;
    }
    // Same bucket, or a clock that stepped back a little: keep counting in the newest bucket.
    if (epoch <= head) return;
    this.head = epoch;
    for (let e = head + 1; e <= epoch; e++) {
      const i = bucketIndex(e, buckets);
      this.calls -= ring[i]!;
      this.failures -= ring[i + 1]!;
      this.slow -= ring[i + 2]!;
      ring[i] = ring[i + 1] = ring[i + 2] = 0;
    }
    if (this.calls === 0) this.ring = undefined;
  }

  private recordProbe(code: number): void {
    this.calls++;
    if ((code & FAILURE) !== 0) this.failures++;
    if ((code & SLOW) !== 0) this.slow++;
    const { failLimit, slowLimit } = this.cfg;
    if (this.failures >= failLimit || this.slow >= slowLimit) {
      this.trip('halfOpen');
      return;
    }
    // Close as soon as the remaining probes could no longer reach either limit.
    const left = this.cfg.halfOpenCalls - this.calls;
    if (this.failures + left < failLimit && this.slow + left < slowLimit) {
      this.close();
      this.changed(HALF_OPEN, CLOSED);
      if (this.listening('close')) this.emit('close', { reason: 'probes' });
    }
  }

  // ---- transitions -------------------------------------------------------

  private trip(reason: CircuitOpenReason): void {
    const count = this.openCount + 1;
    // The backoff is user code: ask it before changing anything, so a throw leaves the state whole.
    const delay = askOpenFor(this.cfg.openFor, count, this.lastDelay);
    const { calls, failures, slow } = this;
    const from = this.st;
    this.openCount = count;
    this.lastDelay = delay;
    this.openUntil = this.cfg.clock.now() + delay;
    this.enter(OPEN);
    this.changed(from, OPEN);
    if (this.listening('open')) {
      this.emit('open', {
        reason,
        failureRate: calls === 0 ? 0 : failures / calls,
        slowCallRate: calls === 0 ? 0 : slow / calls,
        calls,
        retryAfter: delay,
      });
    }
  }

  private toHalfOpen(): void {
    this.enter(HALF_OPEN);
    this.changed(OPEN, HALF_OPEN);
    if (this.listening('halfOpen')) this.emit('halfOpen', { probes: this.cfg.halfOpenCalls });
  }

  /** Closed with fresh counts and no open history. */
  private close(): void {
    this.enter(CLOSED);
    this.openCount = 0;
    this.lastDelay = 0;
    this.openUntil = 0;
  }

  /** Starts a new state: a new generation, so calls admitted before are not counted. */
  private enter(st: number): void {
    this.st = st;
    this.gen++;
    this.consecutive = 0;
    this.probes = 0;
    this.clearWindow();
  }

  private clearWindow(): void {
    this.calls = 0;
    this.failures = 0;
    this.slow = 0;
    this.head = 0;
    this.ring = undefined;
  }

  private changed(from: number, to: number): void {
    if (this.listening('stateChange')) {
      this.emit('stateChange', { from: STATE_NAMES[from]!, to: STATE_NAMES[to]! });
    }
  }

  // ---- snapshot ----------------------------------------------------------

  private timeWindowSnapshot(): CircuitBreakerSnapshot['window'] {
    const buckets = this.cfg.windowSize;
    const counts: number[] = [];
    const ring = this.ring;
    for (let e = this.head - buckets + 1; e <= this.head; e++) {
      const i = bucketIndex(e, buckets);
      for (let j = 0; j < BUCKET_STRIDE; j++) counts.push(ring === undefined ? 0 : ring[i + j]!);
    }
    return {
      type: 'time',
      duration: this.cfg.windowDuration,
      buckets,
      bucket: this.head,
      counts,
    };
  }

  /**
   * Applies a validated snapshot. A window saved under other window options
   * is dropped (counting restarts); an isolated breaker restores as open,
   * since isolation belongs to the code that called `isolate()`.
   */
  private restore(s: CircuitBreakerSnapshot): void {
    this.openCount = s.openCount;
    switch (s.state) {
      case 'open':
        this.st = OPEN;
        this.lastDelay = s.openFor!;
        this.openUntil = s.openedAt! + s.openFor!;
        return;
      case 'halfOpen':
        this.st = HALF_OPEN;
        this.lastDelay = s.openFor ?? 0;
        this.openUntil = (s.openedAt ?? this.cfg.clock.now() - this.lastDelay) + this.lastDelay;
        return;
      case 'isolated':
        this.trip('halfOpen');
        return;
      default:
        this.consecutive = s.consecutiveFailures;
        this.restoreWindow(s.window);
    }
  }

  private restoreWindow(w: CircuitBreakerSnapshot['window']): void {
    if (w === null || this.cfg.windowSize === 0) return;
    if (w.type === 'count') {
      if (this.cfg.windowDuration !== 0) return;
      const decoded = decodeOutcomes(w.outcomes, this.cfg.windowSize, this.cfg.slowCallDuration > 0);
      this.ring = decoded.ring;
      this.head = decoded.head;
      this.calls = decoded.calls;
      this.failures = decoded.failures;
      this.slow = decoded.slow;
      if (this.failures === 0 && this.slow === 0) this.ring = undefined;
      return;
    }
    if (w.buckets !== this.cfg.windowSize || w.duration !== this.cfg.windowDuration) return;
    const ring = newBuckets(w.buckets);
    const trackSlow = this.cfg.slowCallDuration > 0;
    for (let k = 0; k < w.buckets; k++) {
      const i = bucketIndex(w.bucket - w.buckets + 1 + k, w.buckets);
      const from = k * BUCKET_STRIDE;
      ring[i] = w.counts[from]!;
      ring[i + 1] = w.counts[from + 1]!;
      ring[i + 2] = trackSlow ? w.counts[from + 2]! : 0;
      this.calls += ring[i]!;
      this.failures += ring[i + 1]!;
      this.slow += ring[i + 2]!;
    }
    this.head = w.bucket;
    if (this.calls > 0) this.ring = ring;
  }
}

/**
 * Fails fast while a dependency is down. Opens on `failureRate` over a count
 * or time window (default: 50 % of the last 100 calls, once 20 are counted),
 * on `consecutiveFailures`, or on `slowCallRate`; stays open for `openFor`
 * (default 30 s, or a backoff); then lets `halfOpenCalls` probes (default 1)
 * decide. Rejections are `CircuitOpenError`s with `retryAfter`.
 */
export function circuitBreaker(options?: CircuitBreakerOptions): CircuitBreakerPolicy {
  return new CircuitBreakerPolicy(options);
}
