/**
 * A streaming quantile over the last `size` latencies, in bounded memory:
 * a ring of samples, and a quantile recomputed (by selection, not a full
 * sort) only after enough new samples arrived to move it. The estimate
 * follows the recent distribution, unlike a cumulative sketch (P²), which
 * would lag a dependency whose latency changed long ago.
 * @internal
 */
export class LatencyWindow {
  private readonly ring: Float64Array;
  private readonly scratch: Float64Array;
  private next = 0;
  private filled = 0;
  private sinceUpdate = 0;
  private cached: number | undefined;

  constructor(
    size: number,
    /** The quantile in (0, 1). */
    readonly q: number,
  ) {
    this.ring = new Float64Array(size);
    this.scratch = new Float64Array(size);
  }

  /** Samples held (at most the ring size). */
  get count(): number {
    return this.filled;
  }

  add(ms: number): void {
    this.ring[this.next] = ms;
    this.next = this.next + 1 === this.ring.length ? 0 : this.next + 1;
    if (this.filled < this.ring.length) this.filled += 1;
    this.sinceUpdate += 1;
  }

  /** The quantile of the samples held, or undefined with none. */
  quantile(): number | undefined {
    const n = this.filled;
    if (n === 0) return undefined;
    // Recompute once 1/16 of the samples are new: a 1000-sample window
    // selects once per ~62 calls, well under a microsecond per call.
    if (this.cached === undefined || this.sinceUpdate * 16 >= n) {
      this.scratch.set(n === this.ring.length ? this.ring : this.ring.subarray(0, n));
      this.cached = select(this.scratch, n, Math.min(n - 1, Math.ceil(this.q * n) - 1));
      this.sinceUpdate = 0;
    }
    return this.cached;
  }
}

/** The k-th smallest of `a[0..n)` (0-based), reordering `a` (Hoare's quickselect). */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    // Median of three keeps sorted or repeated input from degrading to quadratic.
    const mid = (lo + hi) >>> 1;
    const x = a[lo]!;
    const y = a[mid]!;
    const z = a[hi]!;
    const pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}
