import type { DeadlineEntry } from '../../src/timeout/deadlines.js';

/** A bare deadline-queue entry, for driving a `DeadlineQueue` directly. */
export function entry(deadline: number, expire: () => void = () => {}): DeadlineEntry {
  return { deadline, prev: undefined, next: undefined, queued: false, expire };
}
