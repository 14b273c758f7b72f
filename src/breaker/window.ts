/**
 * Storage for the breaker's sliding windows, kept small because one breaker
 * per key (per host, per tenant) can mean tens of thousands of them.
 *
 * Count window: a ring of 2-bit outcomes (failure, slow) packed 15 to a
 * number, so every word stays a small integer (a V8 Smi, no boxing) and 100
 * calls take 7 words. A ring holding no failure and no slow call is all
 * zeros, so the breaker drops it and keeps only counters: a healthy breaker
 * stores no array at all.
 *
 * Time window: `buckets` slices of `duration / buckets` ms, each holding
 * calls, failures and slow calls, in one flat array. Slices are identified by
 * `floor(now / width)` and expired when a later time is seen, so no timer runs.
 * @internal
 */

/** Outcome bit: the call failed. */
export const FAILURE = 1;
/** Outcome bit: the call was slower than `slowCallDuration`. */
export const SLOW = 2;

const SLOTS_PER_WORD = 15;
/** Numbers per time bucket: calls, failures, slow calls. */
export const BUCKET_STRIDE = 3;

/** A zeroed ring for `size` outcomes. */
export function newRing(size: number): number[] {
  // Sized exactly: growing by push would leave spare capacity in every breaker.
  return new Array<number>(Math.ceil(size / SLOTS_PER_WORD)).fill(0);
}

/** The outcome bits stored at `pos` (0 when the ring is not allocated). */
export function readSlot(ring: readonly number[] | undefined, pos: number): number {
  if (ring === undefined) return 0;
  return (ring[(pos / SLOTS_PER_WORD) | 0]! >>> ((pos % SLOTS_PER_WORD) * 2)) & 3;
}

/** Stores outcome bits `code` (0–3) at `pos`. */
export function writeSlot(ring: number[], pos: number, code: number): void {
  const word = (pos / SLOTS_PER_WORD) | 0;
  const shift = (pos % SLOTS_PER_WORD) * 2;
  ring[word] = (ring[word]! & ~(3 << shift)) | (code << shift);
}

/** A zeroed bucket array for a time window. */
export function newBuckets(buckets: number): number[] {
  return new Array<number>(buckets * BUCKET_STRIDE).fill(0);
}

/** Index of the first number of time slice `epoch` in a bucket array (epochs may be negative). */
export function bucketIndex(epoch: number, buckets: number): number {
  return (((epoch % buckets) + buckets) % buckets) * BUCKET_STRIDE;
}
