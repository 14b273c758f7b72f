/** An opaque timer handle returned by a {@link Clock}. */
export type TimerHandle = unknown;

/**
 * Where policies read time and schedule timers. Inject a clock (for example
 * the virtual clock from `bulwark/testing`) to drive time in tests.
 */
export interface Clock {
  /** Milliseconds since an arbitrary epoch; only differences matter. */
  now(): number;
  /**
   * Schedules `callback` after `ms`. With `unref`, the timer must not keep the
   * process alive (used for timers a policy holds on its own behalf).
   */
  setTimeout(callback: () => void, ms: number, unref?: boolean): TimerHandle;
  /** Cancels a timer from `setTimeout`; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** `Date.now` as the platform supplies it, to tell the real clock from fake timers. */
const nativeNow = Date.now;

/**
 * Whether `clock` reads the real time at a cost worth saving: the system clock
 * while no fake timers replaced `Date`. Reading it costs as much as a bare
 * `await` on some machines, so deadlines may then share one reading; a
 * virtual clock or fake timers get exact readings (they are free and tests
 * expect exact deadlines).
 */
export function isCostlyClock(clock: Clock): boolean {
  return clock === systemClock && Date.now === nativeNow;
}

/**
 * The default clock. It looks `Date.now`, `setTimeout` and `clearTimeout` up
 * at call time, not at import time, so vitest's and sinon's fake timers
 * installed after bulwark is imported still drive it.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms, unref) {
    if (ms > MAX_TIMER_MS) return new LongTimer(callback, Date.now() + ms, unref !== true);
    const handle = globalThis.setTimeout(callback, ms);
    if (unref === true) (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clearTimeout(handle) {
    if (handle instanceof LongTimer) handle.clear();
    else globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/**
 * Longest delay `setTimeout` honours (2^31 − 1 ms, about 24.8 days). Node and
 * browsers fire a longer one after 1 ms instead, so a 30-day timeout would
 * expire at once: longer waits are chained from timers of at most this length.
 */
const MAX_TIMER_MS = 2_147_483_647;

/** A timer longer than {@link MAX_TIMER_MS}, re-armed until its due time. */
class LongTimer {
  private handle: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly callback: () => void,
    private readonly due: number,
    private keepAlive: boolean,
  ) {
    this.arm();
  }

  private arm(): void {
    const left = this.due - Date.now();
    this.handle =
      left > MAX_TIMER_MS
        ? globalThis.setTimeout(() => this.arm(), MAX_TIMER_MS)
        : globalThis.setTimeout(this.callback, left);
    if (!this.keepAlive) (this.handle as { unref?: () => void }).unref?.();
  }

  ref(): void {
    this.keepAlive = true;
    (this.handle as { ref?: () => void } | undefined)?.ref?.();
  }

  unref(): void {
    this.keepAlive = false;
    (this.handle as { unref?: () => void } | undefined)?.unref?.();
  }

  clear(): void {
    globalThis.clearTimeout(this.handle);
  }
}

/** Validates a user-supplied clock, naming the policy in the error. */
export function checkClock(policy: string, clock: unknown): Clock {
  if (clock === undefined) return systemClock;
  const c = clock as Partial<Clock> | null;
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.now !== 'function' ||
    typeof c.setTimeout !== 'function' ||
    typeof c.clearTimeout !== 'function'
  ) {
    throw new TypeError(
      `${policy}: clock must have now(), setTimeout() and clearTimeout(), got ${typeof clock}`,
    );
  }
  return clock as Clock;
}

/**
 * Lets a timer keep the process alive (`keepAlive`) or not, where the
 * platform supports it (Node's and Bun's timers); a no-op elsewhere.
 */
export function setTimerKeepAlive(handle: TimerHandle, keepAlive: boolean): void {
  const timer = handle as { ref?: () => void; unref?: () => void } | null;
  if (typeof timer !== 'object' || timer === null) return;
  if (keepAlive) timer.ref?.();
  else timer.unref?.();
}
