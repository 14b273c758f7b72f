import { checkBudget, type RetryBudgetContract, recordFirstAttempt } from '../core/budget.js';
import { checkClock, type Clock } from '../core/clock.js';
import type { ExecutionContext } from '../core/context.js';
import { isRetryable, ResilienceError } from '../core/errors.js';
import { LayerMode, PolicyBase, type PolicyEvents, type PolicyHealth } from '../core/policy.js';
import { checkFunction, checkKeys, checkNumber, checkObject, checkString, show } from '../core/validate.js';
import { LatencyWindow } from './latency.js';
import { type DeadlineEntry, DeadlineQueue } from '../timeout/deadlines.js';

/** A latency quantile such as `'p95'` or `'p99.9'`. */
export type HedgeQuantile = `p${number}`;

/** Options of `hedge()`. */
export interface HedgeOptions {
  /**
   * How long an attempt may run before the next one starts: ms, or a
   * quantile of recently observed latency such as `'p95'`. Required.
   */
  delay: number | HedgeQuantile;
  /** Extra attempts at most (the first not included). Default 1. */
  maxHedged?: number;
  /** With a quantile `delay`: latencies needed before the quantile is trusted. Default 20. */
  minSamples?: number;
  /**
   * With a quantile `delay`: the delay used until `minSamples` latencies were
   * seen. Default: none, so nothing is hedged on a timer until then.
   */
  fallbackDelay?: number;
  /** With a quantile `delay`: how many recent latencies the estimate keeps (at most 1 000 000). Default 1000. */
  sampleSize?: number;
  /**
   * With a quantile `delay`: the shortest delay the estimate may give, in ms.
   * Default 1, so a dependency measured at 0 ms (faster than the clock ticks)
   * is not raced in parallel on every call.
   */
  minDelay?: number;
  /**
   * Whether an attempt that failed should be replaced at once by the next
   * hedge (as Polly does) instead of waiting for `delay`. Default: every
   * error except bulwark's "pointless now" ones (open breaker, full
   * bulkhead). Never after the caller aborted.
   */
  hedgeOn?: (error: unknown) => boolean;
  /** A retry budget: every hedge takes one retry from it, and none starts when it is spent. */
  budget?: RetryBudgetContract;
  /** Where time is read (and timers set). Default `systemClock`; inject a `VirtualClock` in tests. */
  clock?: Clock;
  /** A name for telemetry. */
  name?: string;
}

/** Events a hedge emits, besides `success` and `failure` for the call as a whole. */
export interface HedgeEvents extends PolicyEvents {
  /** Another attempt started: `delay` passed without an outcome, or the previous one failed. */
  hedge: {
    /** The new attempt's number (2 for the first hedge). */
    readonly attempt: number;
    /** The delay this call hedges after, in ms (undefined while a quantile has too few samples). */
    readonly delay: number | undefined;
    readonly trigger: 'delay' | 'failure';
  };
}

/** Counters since the policy was created. */
export interface HedgeStats {
  /** Calls run. */
  readonly calls: number;
  /** Extra attempts started. */
  readonly hedges: number;
  /** Calls won by an attempt other than the first. */
  readonly hedgeWins: number;
}

/** The abort reason given to attempts that lost to another attempt's success. */
export class HedgeCancelledError extends ResilienceError {
  constructor() {
    super('ERR_HEDGE_CANCELLED', 'Another hedged attempt succeeded first; this one was cancelled', {
      retryable: false,
    });
  }
}

/** Option names `hedge()` accepts. */
export const HEDGE_OPTIONS = [
  'delay',
  'maxHedged',
  'minSamples',
  'fallbackDelay',
  'sampleSize',
  'minDelay',
  'hedgeOn',
  'budget',
  'clock',
  'name',
] as const;

const QUANTILE = /^p(\d{1,2}(?:\.\d+)?)$/;
/** Largest `sampleSize`: 16 MB of samples and scratch space. */
const MAX_SAMPLE_SIZE = 1_000_000;

/** Races extra attempts against a slow one. Create it with `hedge()`. */
export class HedgePolicy extends PolicyBase<HedgeEvents> {
  /** Extra attempts at most per call. */
  readonly maxHedged: number;
  /** @internal */
  readonly _clock: Clock;
  /** @internal */
  readonly _budget: RetryBudgetContract | undefined;
  /** @internal Deadlines of the calls waiting for their next hedge: one timer for all. */
  readonly _schedule: DeadlineQueue;
  private readonly hedgeOn: ((error: unknown) => boolean) | undefined;
  private readonly fixedDelay: number | undefined;
  private readonly latencies: LatencyWindow | undefined;
  private readonly minSamples: number;
  private readonly fallbackDelay: number | undefined;
  private readonly minDelay: number;
  private calls = 0;
  private hedges = 0;
  private hedgeWins = 0;

  constructor(options: HedgeOptions) {
    const p = 'hedge';
    checkObject(p, 'options', options);
    if (options === undefined) throw new TypeError('hedge: options are required: { delay }');
    checkKeys(p, options, HEDGE_OPTIONS);
    super('hedge', checkString(p, 'name', options.name));
    this._mode = LayerMode.Around;
    const delay: unknown = options.delay;
    const match = typeof delay === 'string' ? QUANTILE.exec(delay) : null;
    const q = match === null ? Number.NaN : Number(match[1]) / 100;
    if (typeof delay === 'string') {
      if (!(q > 0 && q < 1)) {
        throw new RangeError(
          `hedge: delay must be a number ≥ 0 or a quantile like "p95", got ${show(delay)}`,
        );
      }
    } else if (typeof delay !== 'number') {
      throw new TypeError(`hedge: delay must be a number ≥ 0 or a quantile like "p95", got ${show(delay)}`);
    }
    this.maxHedged = checkNumber(p, 'maxHedged', options.maxHedged, { min: 0, integer: true }, 1);
    this.minSamples = checkNumber(p, 'minSamples', options.minSamples, { min: 1, integer: true }, 20);
    const sampleSize = checkNumber(p, 'sampleSize', options.sampleSize, { min: 1, integer: true }, 1000);
    // Two Float64Arrays of this length are allocated up front: cap it, as the breaker caps its window.
    if (sampleSize > MAX_SAMPLE_SIZE) {
      throw new RangeError(`hedge: sampleSize must be at most ${MAX_SAMPLE_SIZE}, got ${sampleSize}`);
    }
    if (sampleSize < this.minSamples) {
      throw new RangeError(
        `hedge: sampleSize must be an integer ≥ minSamples (${this.minSamples}), got ${sampleSize}`,
      );
    }
    this.fallbackDelay =
      options.fallbackDelay === undefined
        ? undefined
        : checkNumber(p, 'fallbackDelay', options.fallbackDelay, { min: 0 });
    this.minDelay = checkNumber(p, 'minDelay', options.minDelay, { min: 0 }, 1);
    if (typeof delay === 'number') {
      this.fixedDelay = checkNumber(p, 'delay', delay, { min: 0 });
    } else {
      this.latencies = new LatencyWindow(sampleSize, q);
    }
    this.hedgeOn = checkFunction(p, 'hedgeOn', options.hedgeOn);
    this._budget = checkBudget(p, options.budget);
    this._clock = checkClock(p, options.clock);
    this._schedule = new DeadlineQueue(this._clock);
  }

  /**
   * The delay the next call will hedge after, in ms: the fixed `delay`, the
   * current quantile estimate (at least `minDelay`), or `fallbackDelay`
   * (possibly undefined) while too few latencies were seen.
   */
  get delay(): number | undefined {
    if (this.fixedDelay !== undefined) return this.fixedDelay;
    const latencies = this.latencies!;
    if (latencies.count < this.minSamples) return this.fallbackDelay;
    return Math.max(latencies.quantile()!, this.minDelay);
  }

  /** Calls, hedges started and calls won by a hedge, since creation. */
  get stats(): HedgeStats {
    return { calls: this.calls, hedges: this.hedges, hedgeWins: this.hedgeWins };
  }

  override _health(): PolicyHealth {
    return {
      kind: this.kind,
      name: this.name,
      status: 'ok',
      delay: this.delay ?? null,
      maxHedged: this.maxHedged,
      ...this.stats,
    };
  }

  override _around(
    ctx: ExecutionContext,
    next: (ctx: ExecutionContext) => Promise<unknown>,
  ): Promise<unknown> {
    if (ctx.aborted) return Promise.reject(ctx.reason);
    this.calls += 1;
    // Under an outer retry only the call's first attempt is a first attempt.
    if (this._budget !== undefined && ctx.attempt === 1) recordFirstAttempt(this._budget, ctx);
    return new Promise((resolve, reject) => {
      new HedgedCall(this, ctx, next, this.delay, resolve, reject).start();
    });
  }

  /** @internal Whether a failed attempt should be replaced at once. */
  _hedgeOn(error: unknown): boolean {
    return this.hedgeOn === undefined ? isRetryable(error) : this.hedgeOn(error) === true;
  }

  /** @internal */
  _hedged(attempt: number, delay: number | undefined, trigger: 'delay' | 'failure'): void {
    this.hedges += 1;
    if (this.listening('hedge')) this.emit('hedge', { attempt, delay, trigger });
  }

  /** @internal */
  _won(attempt: number, value: unknown, primaryRan: number | undefined): void {
    if (attempt > 1) this.hedgeWins += 1;
    // The first attempt's latency, or, when a hedge beat it, how long it had
    // run (a lower bound). Recording only winners would drop the slow tail
    // that hedging cuts off and drag the quantile, and so the delay, down.
    if (primaryRan !== undefined) this.latencies?.add(primaryRan);
    if (this.listening('success')) this.emit('success', { value });
  }

  /** @internal */
  _failed(error: unknown): void {
    if (this.listening('failure')) this.emit('failure', { error });
  }

  /** @internal Whether the primary's start time must be read (a quantile delay learns from it). */
  get _measures(): boolean {
    return this.latencies !== undefined;
  }
}

/** One call under a hedge: its attempts, its place in the schedule and its outcome. */
class HedgedCall implements DeadlineEntry {
  deadline = 0;
  prev: DeadlineEntry | undefined = undefined;
  next: DeadlineEntry | undefined = undefined;
  queued = false;
  private readonly total: number;
  /** Scope of each attempt still running (undefined once settled), by attempt index. */
  private readonly scopes: (ExecutionContext | undefined)[] = [];
  private readonly works: Promise<unknown>[] = [];
  private started = 0;
  private running = 0;
  private settled = false;
  private primaryStart = 0;
  /** When the newest attempt started, if the clock was read for it. */
  private startedAt = 0;
  private primaryDone = false;

  constructor(
    private readonly policy: HedgePolicy,
    private readonly ctx: ExecutionContext,
    private readonly inner: (ctx: ExecutionContext) => Promise<unknown>,
    private readonly delay: number | undefined,
    private readonly resolve: (value: unknown) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    this.total = 1 + policy.maxHedged;
  }

  start(): void {
    this.launch();
    if (this.policy._measures) this.primaryStart = this.startedAt;
    // A zero delay races every attempt from the start, with no timer.
    if (this.delay === 0) {
      while (this.started < this.total && this.askBudget()) {
        this.policy._hedged(this.started + 1, 0, 'delay');
        this.launch();
      }
    }
  }

  /** `delay` passed since the newest attempt started (called by the schedule's timer). */
  expire(): void {
    if (this.ctx.aborted || !this.askBudget()) return;
    this.policy._hedged(this.started + 1, this.delay, 'delay');
    this.launch();
  }

  /**
   * Whether the budget allows one more attempt. A budget (or a `hedgeOn`)
   * that throws fails the call with its error: it must neither escape into a
   * timer callback nor leave the call hanging.
   */
  private askBudget(): boolean {
    try {
      return this.mayHedge();
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  private mayHedge(): boolean {
    const budget = this.policy._budget;
    return budget === undefined || budget.tryRetry();
  }

  private launch(): void {
    const index = this.started;
    const attempt = index + 1;
    this.started = attempt;
    this.running += 1;
    const scope = this.ctx.fork();
    scope.attempt = attempt;
    this.scopes[index] = scope;
    // The next hedge is due `delay` after the newest attempt started.
    const schedule = this.policy._schedule;
    if (this.queued) schedule.remove(this);
    if (attempt < this.total && this.delay !== undefined && this.delay > 0) {
      this.startedAt = this.policy._clock.now();
      this.deadline = this.startedAt + this.delay;
      schedule.add(this);
    } else if (this.policy._measures && index === 0) {
      this.startedAt = this.policy._clock.now();
    }
    const work = this.inner(scope);
    this.works[index] = work;
    // The call may have settled while this attempt was starting (a timer
    // fired inside its start, and the budget threw): cancelOthers could not
    // linger the work yet, so it is done here.
    if (this.settled) this.ctx.linger(work);
    work.then(
      (value) => this.succeeded(index, value),
      (error: unknown) => this.failed(index, error),
    );
  }

  private finished(index: number): void {
    // Work an inner layer let go of in this attempt (an aggressive timeout's)
    // already reached this.ctx: `linger` passes it up through every scope.
    this.scopes[index]!.dispose();
    this.scopes[index] = undefined;
    this.running -= 1;
    if (index === 0) this.primaryDone = true;
  }

  private succeeded(index: number, value: unknown): void {
    const primaryRunning = !this.primaryDone;
    this.finished(index);
    if (this.settled) return;
    this.settle();
    this.cancelOthers();
    const measured =
      this.policy._measures && (index === 0 || primaryRunning)
        ? this.policy._clock.now() - this.primaryStart
        : undefined;
    this.policy._won(index + 1, value, measured);
    this.resolve(value);
  }

  private failed(index: number, error: unknown): void {
    this.finished(index);
    if (this.settled) return;
    let replace: boolean;
    try {
      replace =
        this.started < this.total && !this.ctx.aborted && this.policy._hedgeOn(error) && this.mayHedge();
    } catch (thrown) {
      this.fail(thrown);
      return;
    }
    if (replace) {
      this.policy._hedged(this.started + 1, this.delay, 'failure');
      this.launch();
      return;
    }
    // Other attempts may still succeed: a failure ends the call only when it was the last one running.
    if (this.running === 0) this.fail(error);
  }

  private fail(error: unknown): void {
    this.settle();
    this.cancelOthers();
    this.policy._failed(error);
    this.reject(error);
  }

  /** Aborts the attempts still running; their outcomes are ignored from now on. */
  private cancelOthers(): void {
    let cancelled: HedgeCancelledError | undefined;
    for (let i = 0; i < this.scopes.length; i++) {
      const scope = this.scopes[i];
      if (scope === undefined) continue;
      scope.abort((cancelled ??= new HedgeCancelledError()));
      // Slots held outside stay held until it really settles. A work still
      // starting has none yet: `launch` lingers it when its start returns.
      const work = this.works[i];
      if (work !== undefined) this.ctx.linger(work);
    }
  }

  private settle(): void {
    this.settled = true;
    this.policy._schedule.remove(this);
  }
}

/**
 * Hedged requests for tail latency: when an attempt has not settled after
 * `delay` (ms, or a quantile of recent latency such as `'p95'`), another
 * starts, up to `maxHedged` extra. The first success wins and returns at
 * once; the other attempts' signals are aborted and their outcomes ignored.
 * A failed attempt is replaced at once; when every attempt failed, the call
 * rejects with the last error.
 */
export function hedge(options: HedgeOptions): HedgePolicy {
  return new HedgePolicy(options);
}
