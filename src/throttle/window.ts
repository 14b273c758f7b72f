/**
 * Requests and accepts over a sliding time window, in fixed buckets that are
 * cleared lazily when time moves on: no timer, O(1) per call, O(buckets) at
 * most when time jumps past several buckets.
 * @internal
 */
export class AcceptWindow {
  /** Requests seen in the buckets still in the window. */
  requests = 0;
  /** Accepts seen in the buckets still in the window. */
  accepts = 0;
  private readonly bucketMs: number;
  private readonly requestCounts: Float64Array;
  private readonly acceptCounts: Float64Array;
  /** Which bucket number (time / bucketMs) each slot holds now. */
  private readonly epochs: Float64Array;
  private current = Number.NEGATIVE_INFINITY;

  constructor(window: number, buckets: number) {
    this.bucketMs = window / buckets;
    this.requestCounts = new Float64Array(buckets);
    this.acceptCounts = new Float64Array(buckets);
    this.epochs = new Float64Array(buckets).fill(Number.NEGATIVE_INFINITY);
  }

  /** Drops the buckets that fell out of the window at `now`. */
  advance(now: number): void {
    const epoch = Math.floor(now / this.bucketMs);
    const n = this.epochs.length;
    // A clock set back by a whole window or more: nothing counted would
    // expire until the clock caught up, and the window would become a running
    // total for that long. Start afresh, as when time jumps forward as far.
    if (this.current - epoch >= n) this.clear();
    // A clock that steps back less keeps counting into the newest bucket.
    if (epoch <= this.current) return;
    // Counted down rather than `e++` up to `epoch`: past 2⁵³ (a tiny window on
    // the system clock) `e + 1 === e`, and such a loop would never end.
    const steps = Math.min(n, epoch - this.current);
    for (let back = steps - 1; back >= 0; back--) {
      const e = epoch - back;
      const slot = mod(e, n);
      this.requests -= this.requestCounts[slot]!;
      this.accepts -= this.acceptCounts[slot]!;
      this.requestCounts[slot] = 0;
      this.acceptCounts[slot] = 0;
      this.epochs[slot] = e;
    }
    this.current = epoch;
  }

  /** Forgets every bucket (the next {@link advance} refills them all). */
  private clear(): void {
    this.requestCounts.fill(0);
    this.acceptCounts.fill(0);
    this.epochs.fill(Number.NEGATIVE_INFINITY);
    this.requests = 0;
    this.accepts = 0;
    this.current = Number.NEGATIVE_INFINITY;
  }

  /** Counts a request in the current bucket; returns that bucket's number, for {@link unrequest}. */
  request(): number {
    const slot = mod(this.current, this.epochs.length);
    this.requestCounts[slot]! += 1;
    this.requests += 1;
    return this.current;
  }

  /** Counts an accept in the current bucket (advance first). */
  accept(): void {
    const slot = mod(this.current, this.epochs.length);
    this.acceptCounts[slot]! += 1;
    this.accepts += 1;
  }

  /**
   * Takes back a request counted in bucket `epoch` (what {@link request}
   * returned), if that bucket is still in the window. The bucket number, not
   * the time: after the clock steps back a request is counted in the newest
   * bucket, not in the bucket of its time.
   */
  unrequest(epoch: number): void {
    const slot = mod(epoch, this.epochs.length);
    if (this.epochs[slot] !== epoch || this.requestCounts[slot]! <= 0) return;
    this.requestCounts[slot]! -= 1;
    this.requests -= 1;
  }
}

function mod(a: number, n: number): number {
  const r = a % n;
  return r < 0 ? r + n : r;
}
