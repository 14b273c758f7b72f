import { type Backoff, toBackoff } from '../../backoff/backoff.js';
import {
  askOpenFor,
  type BreakerBounds,
  DEFAULT_OPEN_FOR,
  resolveBreakerOptions,
} from '../../breaker/options.js';
import { isLocalRejection, Started } from '../../breaker/outcome.js';
import { circuitOpenError } from '../../breaker/reject.js';
import type { TimerHandle } from '../../core/clock.js';
import type { ExecutionContext } from '../../core/context.js';
import type { CircuitOpenError } from '../../core/errors.js';
import type { PolicyHealth } from '../../core/policy.js';
import { checkKeys, checkNumber, checkObject } from '../../core/validate.js';
import {
  SHARED_CIRCUIT_BREAKER_OPTIONS,
  type SharedBreakerOpenReason,
  type SharedBreakerState,
  type SharedBreakerWindow,
  type SharedCircuitBreakerEvents,
  type SharedCircuitBreakerOptions,
  type SharedCircuitBreakerStats,
} from './breaker-options.js';
import {
  FORCE,
  PROBE,
  PROBE_RESULT,
  R_CALLS,
  R_CLOSE_REASON,
  R_FAILURES,
  R_GEN,
  R_GRANTED,
  R_LEFT,
  R_OPEN_CALLS,
  R_OPEN_FAILURES,
  R_OPEN_REASON,
  R_OPEN_SLOW,
  R_OPENS,
  R_PROBES,
  R_RUN,
  R_SLOW,
  R_STATE,
  SYNC,
} from './breaker-scripts.js';
import { LocalToken, RedisPolicy, redisKey } from './shared.js';

const STATES: readonly SharedBreakerState[] = ['closed', 'open', 'halfOpen', 'isolated'];
const OPEN_REASONS: readonly SharedBreakerOpenReason[] = [
  'consecutiveFailures',
  'consecutiveFailures',
  'failureRate',
  'slowCallRate',
  'halfOpen',
];
const CLOSE_REASONS = ['probes', 'probes', 'reset', 'release'] as const;
/** Outcome codes, as sent to Redis ('0' + code): bit 0 failed, bit 1 slow; 4: not counted. */
const FAILED = 1;
const SLOW = 2;
const IGNORED = 4;
type Reply = readonly number[];

/**
 * `circuitBreaker`'s checks, bounded for a window kept in Redis: a count
 * window is rewritten on every flush (beyond 10 000 calls the cost outgrows
 * the benefit) and a time window's buckets are whole ms.
 */
const SHARED_BOUNDS: BreakerBounds = {
  windowSize: 10_000,
  windowDuration: { min: 1, integer: true },
  halfOpenCalls: { min: 1, integer: true },
  openFor: (p, value) => toBackoff(p, 'openFor', value) ?? DEFAULT_OPEN_FOR,
};

/**
 * A circuit breaker whose window and state live in Redis, shared by every
 * instance using the same `key`. Create it with `sharedCircuitBreaker()`.
 */
export class SharedCircuitBreakerPolicy extends RedisPolicy<SharedCircuitBreakerEvents> {
  /** 0: off. */
  readonly failureRate: number;
  /** The fleet's sliding window. */
  readonly window: SharedBreakerWindow;
  /** Calls the window must hold before a rate can open the breaker. */
  readonly minimumCalls: number;
  /** 0: off. */
  readonly consecutiveFailures: number;
  /** 0: off. */
  readonly slowCallRate: number;
  /** 0: slow calls not tracked. */
  readonly slowCallDuration: number;
  /** Probes admitted fleet-wide while half-open. */
  readonly halfOpenCalls: number;
  /** Ms after which a half-open round whose probes never reported starts again. */
  readonly probeTimeout: number;
  /** Ms between two flushes of this instance's outcomes to Redis while calls flow. */
  readonly syncInterval: number;
  /** Outcomes waiting that make a flush happen early. */
  readonly maxBatch: number;
  /** Ms after which an idle breaker's state expires from Redis. */
  readonly stateTtl: number;
  private readonly openFor: number | Backoff;
  private readonly failOn: ((error: unknown) => boolean) | undefined;
  private readonly failOnResult: ((value: unknown) => boolean) | undefined;
  private readonly keys: readonly string[];
  /** The config part of a sync's ARGV, built once. */
  private readonly windowArgs: readonly (string | number)[];
  /** Failed (or slow) probes of a round that reopen the breaker. */
  private readonly failLimit: number;
  private readonly slowLimit: number;

  // The fleet's state as last read from Redis.
  private fleetState: SharedBreakerState = 'closed';
  /** 0 until the first sync. */
  private gen = 0;
  private openUntil = 0;
  private openCount = 0;
  private lastOpenFor = 0;
  private calls = 0;
  private failures = 0;
  private slowCalls = 0;
  private run = 0;
  private probes = 0;

  // Outcomes of calls admitted under `gen`, waiting for the next flush.
  private readonly buffer: Uint8Array;
  private pending = 0;
  private dropped = 0;

  /** True while the cached state is at most about one `syncInterval` old and a tick is armed. */
  private fresh = false;
  /** A call entered since the last tick. */
  private active = false;
  private timer: TimerHandle | undefined = undefined;
  private syncing: Promise<void> | undefined = undefined;

  private isolations = 0;
  /** Probe requests this instance has in flight to Redis. */
  private probeRequests = 0;
  /** Redis said every probe is taken: reject locally until then. */
  private probeBlockedUntil = 0;
  private rejected = 0;

  constructor(options: SharedCircuitBreakerOptions) {
    const p = 'sharedCircuitBreaker';
    checkObject(p, 'options', options);
    if (options === undefined) throw new TypeError(`${p}: expected options, got undefined`);
    checkKeys(p, options, SHARED_CIRCUIT_BREAKER_OPTIONS);
    super('sharedCircuitBreaker', p, options);
    const o = options;
    const s = resolveBreakerOptions(p, o, SHARED_BOUNDS);
    const duration = s.windowDuration;
    // A bucket is at least 1 ms wide.
    const buckets = duration === 0 ? 0 : Math.min(s.windowSize, duration);
    this.window =
      duration === 0 ? { type: 'count', size: s.windowSize } : { type: 'time', duration, buckets };
    this.consecutiveFailures = s.consecutiveFailures;
    this.slowCallDuration = s.slowCallDuration;
    this.slowCallRate = s.slowCallRate;
    this.failureRate = s.failureRate;
    this.minimumCalls = s.minimumCalls;
    this.openFor = s.openFor;
    this.halfOpenCalls = s.halfOpenCalls;
    this.failOn = s.failOn;
    this.failOnResult = s.failOnResult;
    this.failLimit = s.failLimit;
    this.slowLimit = s.slowLimit;
    this.probeTimeout = checkNumber(p, 'probeTimeout', o.probeTimeout, { min: 1, integer: true }, 60_000);
    this.syncInterval = checkNumber(p, 'syncInterval', o.syncInterval, { min: 1 }, 100);
    this.maxBatch = checkNumber(p, 'maxBatch', o.maxBatch, { min: 1, max: 10_000, integer: true }, 100);
    this.stateTtl = checkNumber(p, 'stateTtl', o.stateTtl, { min: 1000, integer: true }, 86_400_000);
    // Outcomes keep arriving while a flush is in flight; beyond this they are dropped, not queued forever.
    this.buffer = new Uint8Array(this.maxBatch * 10);
    const stateKey = redisKey(this.prefix, 'breaker', this.key);
    this.keys = [stateKey, `${stateKey}:window`];
    this.windowArgs = [
      duration === 0 ? 'c' : 't',
      duration === 0 ? s.windowSize : duration,
      buckets,
      this.minimumCalls,
      // Above 1 a rate can never be reached: the script needs no special case for "off".
      this.failureRate === 0 ? 2 : this.failureRate,
      this.slowCallRate === 0 ? 2 : this.slowCallRate,
      this.consecutiveFailures,
    ];
  }

  /** The fleet's state as this instance last saw it (`halfOpen` once an open period is over). */
  get state(): SharedBreakerState {
    if (this.isolations > 0) return 'isolated';
    if (this.fleetState === 'open' && this.clock.now() >= this.openUntil) return 'halfOpen';
    return this.fleetState;
  }

  /** The fleet's window and state at the last sync, and this instance's counters. */
  get stats(): SharedCircuitBreakerStats {
    const calls = this.calls;
    const state = this.state;
    return {
      ...this.redisStats(),
      state,
      calls,
      failures: this.failures,
      slowCalls: this.slowCalls,
      failureRate: calls === 0 ? 0 : this.failures / calls,
      slowCallRate: calls === 0 ? 0 : this.slowCalls / calls,
      consecutiveFailures: this.run,
      probes: this.probes,
      openCount: this.openCount,
      retryAfter: state === 'open' ? Math.max(0, Math.ceil(this.openUntil - this.clock.now())) : 0,
      pending: this.pending,
      dropped: this.dropped,
      rejected: this.rejected,
    };
  }

  override _health(): PolicyHealth {
    const stats = this.stats;
    let status: PolicyHealth['status'] =
      stats.state === 'closed' ? 'ok' : stats.state === 'halfOpen' ? 'degraded' : 'down';
    if (!stats.redisAvailable) status = this.onRedisError === 'failClosed' ? 'down' : 'degraded';
    return { kind: this.kind, name: this.name, status, key: this.key, ...stats };
  }

  /**
   * Forces the breaker open for the whole fleet until the returned function
   * is called (a kill switch; calling it again does nothing). This instance
   * rejects at once; the others within one `syncInterval`.
   */
  isolate(): () => void {
    this.isolations += 1;
    void this.force('i');
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.isolations -= 1;
      if (this.isolations === 0) void this.force('r');
    };
  }

  /**
   * Closes the breaker for the whole fleet and forgets its counts and open
   * history. An isolation is left alone: it belongs to whoever isolated.
   */
  reset(): Promise<void> {
    return this.force('c');
  }

  /** Flushes this instance's outcomes and reads the fleet's state now (e.g. before shutdown). */
  async flush(): Promise<void> {
    if (this.syncing !== undefined) {
      // A flush already in flight may predate the latest outcomes: wait for it, then send ours.
      while (this.syncing !== undefined) await this.syncing;
      // It answered after this call began: the state is fresh, and nothing is left to send.
      if (this.pending === 0) return;
    }
    await this.sync();
  }

  override _enter(ctx: ExecutionContext): unknown {
    if (this.isolations > 0) throw this.reject('isolated', 0);
    if (!this.fresh) return this.refreshThenEnter(ctx);
    this.active = true;
    if (this.redisDown) return this.enterWithoutRedis(ctx, 'sync', this.lastRedisError);
    const state = this.fleetState;
    if (state === 'closed') return this.admit(this.gen);
    if (state === 'isolated') throw this.reject('isolated', 0);
    if (state === 'open') {
      const left = this.openUntil - this.clock.now();
      if (left > 0) throw this.reject('open', left);
    }
    return this.enterProbe(ctx);
  }

  override _success(ctx: ExecutionContext, token: unknown, value: unknown): unknown {
    if (token instanceof LocalToken) {
      this.exitLocal(ctx, token, false, value);
      return super._success(ctx, token, value);
    }
    let code = 0;
    if (this.failOnResult !== undefined) {
      try {
        if (this.failOnResult(value) === true) code = FAILED;
      } catch (error) {
        this.record(token, IGNORED);
        throw error;
      }
    }
    this.record(token, code);
    return super._success(ctx, token, value);
  }

  override _failure(ctx: ExecutionContext, token: unknown, error: unknown): unknown {
    if (token instanceof LocalToken)
      return super._failure(ctx, token, this.exitLocal(ctx, token, true, error));
    let code = IGNORED;
    // Only the dependency's own answers count: not the caller giving up, not a layer inside refusing the call.
    if (!ctx.aborted && !isLocalRejection(error)) {
      try {
        code = this.failOn === undefined || this.failOn(error) === true ? FAILED : 0;
      } catch (thrown) {
        this.record(token, IGNORED);
        throw thrown;
      }
    }
    this.record(token, code);
    return super._failure(ctx, token, error);
  }

  private admit(gen: number): unknown {
    return this.slowCallDuration === 0 ? gen : new Started(gen, this.clock.now());
  }

  /** The first call after an idle spell waits for one sync, so it never acts on a state older than that. */
  private refreshThenEnter(ctx: ExecutionContext): Promise<unknown> {
    return this.sync().then(() => {
      this.fresh = true;
      if (this.timer === undefined) this.armTimer();
      if (ctx.aborted) throw ctx.reason;
      return this._enter(ctx);
    });
  }

  private enterProbe(ctx: ExecutionContext): unknown {
    if (
      this.probeRequests >= this.halfOpenCalls ||
      (this.fleetState === 'halfOpen' && this.clock.now() < this.probeBlockedUntil)
    ) {
      throw this.reject('halfOpen', 0);
    }
    this.probeRequests += 1;
    return this.gateway
      .run(PROBE, this.keys, [this.halfOpenCalls, this.probeTimeout, this.stateTtl], this.lateProbe)
      .then(
        (reply) => {
          this.probeRequests -= 1;
          this.redisAnswered('probe');
          return this.probed(ctx, reply as Reply);
        },
        (error: unknown) => {
          this.probeRequests -= 1;
          this.redisFailed('probe', error);
          return this.enterWithoutRedis(ctx, 'probe', error);
        },
      );
  }

  /** A probe granted after we stopped waiting goes back to the fleet. */
  private readonly lateProbe = (reply: unknown): void => {
    const r = reply as Reply;
    if (r[R_GRANTED] === 1) this.reportProbe(r[R_GEN]!, IGNORED);
  };

  private probed(ctx: ExecutionContext, reply: Reply): unknown {
    this.apply(reply);
    if (reply[R_GRANTED] === 1) {
      const gen = reply[R_GEN]!;
      if (ctx.aborted) {
        this.reportProbe(gen, IGNORED);
        throw ctx.reason;
      }
      return this.admit(-gen);
    }
    switch (this.fleetState) {
      case 'closed':
        return this.admit(this.gen);
      case 'open':
        throw this.reject('open', Math.max(0, this.openUntil - this.clock.now()));
      case 'isolated':
        throw this.reject('isolated', 0);
      default:
        // Every probe is out: ask Redis again only after a sync interval.
        this.probeBlockedUntil = this.clock.now() + this.syncInterval;
        throw this.reject('halfOpen', 0);
    }
  }

  private record(token: unknown, code: number): void {
    let gen: number;
    if (typeof token === 'number') gen = token;
    else if (token instanceof Started) {
      gen = token.gen;
      if (code !== IGNORED && this.clock.now() - token.start > this.slowCallDuration) code |= SLOW;
    } else return; // admitted without Redis: nothing to count
    if (gen < 0) {
      this.reportProbe(-gen, code);
      return;
    }
    // A call admitted under an older state (before an open, say) does not count in this one.
    if (code === IGNORED || gen !== this.gen || this.fleetState !== 'closed') return;
    if (this.pending === this.buffer.length) {
      this.dropped += 1;
      return;
    }
    this.buffer[this.pending++] = 48 + code;
    if (this.pending >= this.maxBatch) void this.sync();
    else if (this.timer === undefined) this.armTimer();
  }

  private reportProbe(gen: number, verdict: number): void {
    this.gateway
      .run(PROBE_RESULT, this.keys, [
        gen,
        verdict,
        this.halfOpenCalls,
        this.failLimit,
        this.slowLimit,
        this.nextOpenFor(),
        this.stateTtl,
      ])
      .then(
        (reply) => {
          this.redisAnswered('probeResult');
          this.apply(reply as Reply);
        },
        // Lost verdicts are recovered by probeTimeout: the round starts again.
        (error: unknown) => this.redisFailed('probeResult', error),
      );
  }

  private force(target: 'i' | 'c' | 'r'): Promise<void> {
    return this.gateway.run(FORCE, this.keys, [target, this.stateTtl]).then(
      (reply) => {
        this.redisAnswered('force');
        this.apply(reply as Reply);
      },
      (error: unknown) => this.redisFailed('force', error),
    );
  }

  /** Flushes the waiting outcomes and reads the state; one at a time. Never rejects. */
  private sync(): Promise<void> {
    if (this.syncing !== undefined) return this.syncing;
    const count = this.pending;
    const outcomes = count === 0 ? '' : String.fromCharCode(...this.buffer.subarray(0, count));
    this.pending = 0;
    const syncing = this.gateway
      .run(SYNC, this.keys, [this.gen, outcomes, ...this.windowArgs, this.nextOpenFor(), this.stateTtl])
      .then(
        (reply) => {
          this.redisAnswered('sync');
          this.apply(reply as Reply);
        },
        (error: unknown) => {
          this.dropped += count;
          this.redisFailed('sync', error);
        },
      )
      .then(() => {
        this.syncing = undefined;
        // Outcomes piled up while this flush was in flight: send them now, not at the next tick.
        if (this.pending >= this.maxBatch) void this.sync();
      });
    this.syncing = syncing;
    return syncing;
  }

  private armTimer(): void {
    // Unref'd: the calls it serves keep the process alive, the timer need not.
    this.timer = this.clock.setTimeout(this.tick, this.syncInterval, true);
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    if (!this.active && this.pending === 0) {
      // Idle: stop, and let the next call refresh first (no timer while idle).
      this.fresh = false;
      return;
    }
    this.active = false;
    void this.sync();
    this.armTimer();
  };

  private nextOpenFor(): number {
    const ms = askOpenFor(this.openFor, this.openCount + 1, this.lastOpenFor);
    // Redis expires keys in whole ms, at least 1.
    return ms >= 1 ? Math.round(ms) : 1;
  }

  /** Takes in a script's answer: the fleet's state, generation and window. */
  private apply(reply: Reply): void {
    const to = STATES[reply[R_STATE]!] ?? 'closed';
    const gen = reply[R_GEN]!;
    if (gen !== this.gen) {
      // What is waiting was admitted under the old state.
      this.gen = gen;
      this.pending = 0;
    }
    const left = reply[R_LEFT]!;
    this.openCount = reply[R_OPENS]!;
    this.calls = reply[R_CALLS]!;
    this.failures = reply[R_FAILURES]!;
    this.slowCalls = reply[R_SLOW]!;
    this.probes = reply[R_PROBES]!;
    this.run = reply[R_RUN]!;
    if (to === 'open') this.openUntil = this.clock.now() + left;
    const from = this.fleetState;
    if (to === from) return;
    this.fleetState = to;
    if (to === 'halfOpen') this.probeBlockedUntil = 0;
    if (to === 'open') this.lastOpenFor = left;
    if (this.listening('stateChange')) this.emit('stateChange', { from, to });
    if (to === 'open') {
      if (this.listening('open')) {
        const calls = reply[R_OPEN_CALLS]!;
        this.emit('open', {
          reason: OPEN_REASONS[reply[R_OPEN_REASON]!] ?? 'failureRate',
          failureRate: calls === 0 ? 0 : reply[R_OPEN_FAILURES]! / calls,
          slowCallRate: calls === 0 ? 0 : reply[R_OPEN_SLOW]! / calls,
          calls,
          retryAfter: left,
        });
      }
    } else if (to === 'halfOpen') {
      if (this.listening('halfOpen')) this.emit('halfOpen', { probes: this.halfOpenCalls });
    } else if (to === 'closed') {
      if (this.listening('close'))
        this.emit('close', { reason: CLOSE_REASONS[reply[R_CLOSE_REASON]!] ?? 'probes' });
    }
  }

  private reject(state: 'open' | 'halfOpen' | 'isolated', retryAfter: number): CircuitOpenError {
    this.rejected += 1;
    const after = Math.ceil(retryAfter);
    if (this.listening('reject')) this.emit('reject', { state, retryAfter: after });
    // Stack-less, as circuitBreaker's: rejecting fast is the open breaker's whole job.
    return circuitOpenError(state, after);
  }
}

/**
 * A circuit breaker shared by every instance through Redis, with
 * `circuitBreaker`'s options and semantics: one instance's failures open it
 * for all, transitions are atomic Lua scripts, and half-open probes are
 * limited across the fleet. The happy path makes no Redis call: outcomes are
 * flushed and the state read back every `syncInterval` ms (or every
 * `maxBatch` outcomes), so an instance acts on a state at most about one
 * `syncInterval` plus one round trip old.
 */
export function sharedCircuitBreaker(options: SharedCircuitBreakerOptions): SharedCircuitBreakerPolicy {
  return new SharedCircuitBreakerPolicy(options);
}
