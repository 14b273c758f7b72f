import { type Clock, type TimerHandle, setTimerKeepAlive } from '../core/clock.js';

/** A call waiting for its next hedge: linked in place, no wrapper allocated. @internal */
export interface ScheduleEntry {
  deadline: number;
  prev: ScheduleEntry | undefined;
  next: ScheduleEntry | undefined;
  queued: boolean;
  expire(): void;
}

/**
 * The hedge deadlines of one policy, in deadline order, with one timer armed
 * for the earliest: no timer per call. With a fixed delay deadlines arrive in
 * order and insertion is O(1) at the tail; a quantile delay that shrank walks
 * back past the few later ones. The timer keeps the process alive only while
 * a call waits on it, and simply stops when it fires on an empty list.
 * @internal
 */
export class HedgeSchedule {
  private head: ScheduleEntry | undefined;
  private tail: ScheduleEntry | undefined;
  private timer: TimerHandle | undefined;
  /** When the armed timer fires. */
  private timerAt = 0;

  constructor(private readonly clock: Clock) {}

  add(entry: ScheduleEntry): void {
    const wasEmpty = this.head === undefined;
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
    } else if (wasEmpty) {
      setTimerKeepAlive(this.timer, true);
    }
  }

  remove(entry: ScheduleEntry): void {
    if (!entry.queued) return;
    entry.queued = false;
    if (entry.prev === undefined) this.head = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === undefined) this.tail = entry.prev;
    else entry.next.prev = entry.prev;
    entry.prev = entry.next = undefined;
    // An idle policy must not hold the process open; the timer is left armed
    // (clearing and re-arming on every settle would cost more than it saves).
    if (this.head === undefined && this.timer !== undefined) setTimerKeepAlive(this.timer, false);
  }

  private arm(deadline: number): void {
    this.timerAt = deadline;
    this.timer = this.clock.setTimeout(this.fire, Math.max(0, deadline - this.clock.now()));
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    // Timers may fire a little early on some platforms: compare with the deadline itself.
    const horizon = Math.max(this.clock.now(), this.timerAt);
    while (this.head !== undefined && this.head.deadline <= horizon) {
      const entry = this.head;
      this.remove(entry);
      entry.expire();
    }
    if (this.head !== undefined && this.timer === undefined) this.arm(this.head.deadline);
  };
}
