import { type Clock, type TimerHandle, setTimerKeepAlive } from '../core/clock.js';

/** An entry in a {@link DeadlineQueue}: linked in place, no wrapper allocated. */
export interface DeadlineEntry {
  deadline: number;
  prev: DeadlineEntry | undefined;
  next: DeadlineEntry | undefined;
  queued: boolean;
  expire(): void;
}

/**
 * Deadlines of one timeout policy. All share the same duration, so they
 * expire in the order they were added: a FIFO list with one timer armed for
 * the head replaces a timer per call. Adding and removing are O(1). The timer
 * keeps the process alive only while a call is waiting on it, and disarms
 * itself when it fires on an empty list.
 */
export class DeadlineQueue {
  private head: DeadlineEntry | undefined;
  private tail: DeadlineEntry | undefined;
  private timer: TimerHandle | undefined;
  /** When the armed timer fires (to know whether it is early enough). */
  private timerAt = 0;

  constructor(private readonly clock: Clock) {}

  get empty(): boolean {
    return this.head === undefined;
  }

  add(entry: DeadlineEntry): void {
    entry.queued = true;
    entry.next = undefined;
    entry.prev = this.tail;
    const wasEmpty = this.tail === undefined;
    if (this.tail === undefined) this.head = entry;
    else this.tail.next = entry;
    this.tail = entry;
    if (this.timer === undefined) this.arm(entry.deadline);
    else if (wasEmpty) setTimerKeepAlive(this.timer, true);
  }

  remove(entry: DeadlineEntry): void {
    if (!entry.queued) return;
    entry.queued = false;
    if (entry.prev === undefined) this.head = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === undefined) this.tail = entry.prev;
    else entry.next.prev = entry.prev;
    entry.prev = entry.next = undefined;
    // An idle policy must not hold the process open.
    if (this.head === undefined && this.timer !== undefined) setTimerKeepAlive(this.timer, false);
    // The timer is left armed: when it fires on an empty list it simply stops.
    // Clearing and re-arming on every settle would cost more than it saves.
  }

  private arm(deadline: number): void {
    const delay = Math.max(0, deadline - this.clock.now());
    this.timerAt = deadline;
    this.timer = this.clock.setTimeout(this.fire, delay);
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = this.clock.now();
    // Timers may fire a little early on some platforms; compare with the deadline itself.
    const horizon = Math.max(now, this.timerAt);
    while (this.head !== undefined && this.head.deadline <= horizon) {
      const entry = this.head;
      this.remove(entry);
      entry.expire();
    }
    if (this.head !== undefined && this.timer === undefined) this.arm(this.head.deadline);
  };
}
