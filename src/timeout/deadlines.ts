import { type Clock, isCostlyClock, type TimerHandle, setTimerKeepAlive } from '../core/clock.js';

/** An entry in a {@link DeadlineQueue}: linked in place, no wrapper allocated. */
export interface DeadlineEntry {
  deadline: number;
  prev: DeadlineEntry | undefined;
  next: DeadlineEntry | undefined;
  queued: boolean;
  expire(): void;
}

/**
 * The deadlines of one policy, earliest first, with one timer armed for the
 * head: no timer per call. A timeout's deadlines all have the same length, so
 * they arrive in order and adding is O(1) at the tail; a hedge whose quantile
 * delay shrank walks back past the few later ones. Removing is O(1). The timer
 * keeps the process alive while an entry waits on it, and disarms itself when
 * it fires on an empty list.
 *
 * Letting go of the process when the list empties is deferred to the next
 * turn of the event loop: calls made one after another would otherwise unref
 * and ref the timer on every call, and each of those is a call into the
 * runtime costing more than the rest of a timeout's step. An idle process
 * still exits at once: the deferred check is itself an unref'd timer.
 *
 * With `slack`, {@link deadlineAfter} reads the clock at most once per
 * `slack` ms: a deadline handed out while a reading is fresh is counted from
 * the end of its freshness (`reading + slack`), so it is never early and at
 * most `slack` late. If the event loop was blocked past that end, the
 * deadlines handed out meanwhile are moved to count from when it unblocked.
 * This only applies to the real clock (see `isCostlyClock`).
 */
export class DeadlineQueue {
  private head: DeadlineEntry | undefined;
  private tail: DeadlineEntry | undefined;
  private timer: TimerHandle | undefined;
  /** When the armed timer fires (to know whether it is early enough). */
  private timerAt = 0;
  /** Whether the armed timer currently keeps the process alive. */
  private keepingAlive = false;
  /** A pending check, on the next turn, that lets go of the process if still idle. */
  private idleCheck: TimerHandle | undefined;

  /** When the fresh clock reading was taken (valid while `stampTimer` is set). */
  private stampAt = 0;
  /** Ends the fresh reading `slack` ms after it was taken. */
  private stampTimer: TimerHandle | undefined;
  /** The deadline last handed out from the fresh reading, and its length. */
  private sharedDeadline = Number.NaN;
  private sharedMs = 0;

  /**
   * @param slack How long one clock reading may serve `deadlineAfter`, in ms (0: read every time).
   * @param sharesReadings Whether readings of `clock` may be shared at all (by default only the real clock's).
   */
  constructor(
    private readonly clock: Clock,
    private readonly slack = 0,
    private readonly sharesReadings: (clock: Clock) => boolean = isCostlyClock,
  ) {}

  /** The deadline `ms` from now (see the class comment on `slack`). */
  deadlineAfter(ms: number): number {
    if (this.stampTimer !== undefined && this.sharesReadings(this.clock)) {
      this.sharedMs = ms;
      return (this.sharedDeadline = this.stampAt + this.slack + ms);
    }
    const now = this.clock.now();
    if (this.slack > 0 && this.stampTimer === undefined && this.sharesReadings(this.clock)) {
      this.stampAt = now;
      this.sharedDeadline = Number.NaN;
      this.stampTimer = this.clock.setTimeout(this.endStamp, this.slack, true);
    }
    return now + ms;
  }

  private readonly endStamp = (): void => {
    this.stampTimer = undefined;
    const end = this.stampAt + this.slack;
    const now = this.clock.now();
    if (now <= end) return;
    // The loop was blocked: deadlines handed out from the reading may belong
    // to calls that started as late as now. They are the newest entries, at
    // the tail; moving them later keeps the list in order.
    const shared = this.sharedDeadline;
    const moved = now + this.sharedMs;
    for (let entry = this.tail; entry !== undefined && entry.deadline === shared; entry = entry.prev) {
      entry.deadline = moved;
    }
  };

  get empty(): boolean {
    return this.head === undefined;
  }

  add(entry: DeadlineEntry): void {
    let before = this.tail;
    while (before !== undefined && before.deadline > entry.deadline) before = before.prev;
    entry.queued = true;
    entry.prev = before;
    entry.next = before === undefined ? this.head : before.next;
    if (before === undefined) this.head = entry;
    else before.next = entry;
    if (entry.next === undefined) this.tail = entry;
    else entry.next.prev = entry;
    if (this.timer === undefined) {
      this.arm(entry.deadline);
    } else if (entry.deadline < this.timerAt) {
      this.clock.clearTimeout(this.timer);
      this.arm(entry.deadline);
    } else if (!this.keepingAlive) {
      setTimerKeepAlive(this.timer, true);
      this.keepingAlive = true;
    }
  }

  remove(entry: DeadlineEntry): void {
    if (!entry.queued) return;
    entry.queued = false;
    if (entry.prev === undefined) this.head = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === undefined) this.tail = entry.prev;
    else entry.next.prev = entry.prev;
    entry.prev = entry.next = undefined;
    // The timer is left armed: when it fires on an empty list it simply stops.
    // Clearing and re-arming on every settle would cost more than it saves.
    if (this.head === undefined && this.keepingAlive && this.idleCheck === undefined) {
      this.idleCheck = this.clock.setTimeout(this.letGoIfIdle, 0, true);
    }
  }

  private readonly letGoIfIdle = (): void => {
    this.idleCheck = undefined;
    if (this.head === undefined && this.timer !== undefined && this.keepingAlive) {
      setTimerKeepAlive(this.timer, false);
      this.keepingAlive = false;
    }
  };

  private arm(deadline: number): void {
    this.timerAt = deadline;
    this.timer = this.clock.setTimeout(this.fire, Math.max(0, deadline - this.clock.now()));
    this.keepingAlive = true;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.keepingAlive = false;
    // Timers may fire a little early on some platforms; compare with the deadline itself.
    const horizon = Math.max(this.clock.now(), this.timerAt);
    while (this.head !== undefined && this.head.deadline <= horizon) {
      const entry = this.head;
      this.remove(entry);
      entry.expire();
    }
    if (this.head !== undefined && this.timer === undefined) this.arm(this.head.deadline);
  };
}
