/**
 * Virtual time for whole libraries: replaces the global timer functions,
 * `Date.now`, `performance.now` and (optionally) `Math.random`, so that code
 * which reads them at call time — bulwark's default `systemClock`, cockatiel,
 * opossum, p-retry — runs on a simulated clock without any change.
 *
 * Why not `@sinonjs/fake-timers`: it keeps timers in a plain object and scans
 * all of them for every tick and every timer it fires (measured: 3.3 ms per
 * `tick(1)` with 1 000 pending timers on Node 20), and a simulated incident
 * holds thousands of pending timers. Here timers sit in a binary heap, so
 * firing one costs O(log n).
 *
 * Fidelity: timers fire in (due time, creation order), as Node orders them,
 * and after each timer every promise reaction it caused runs before the next
 * timer fires, exactly as on a real event loop. Delays below 1 ms are 1 ms, as
 * in Node.
 */
import type { Random } from './random.js';

/**
 * How pending promise reactions are flushed after each timer. `tick`
 * (default) waits for a `process.nextTick` callback, which Node runs only
 * once the microtask queue is empty (valid while the code under test does
 * not itself use `process.nextTick`, true for the libraries measured here);
 * `immediate` waits a whole event-loop turn (`setImmediate`), about 3×
 * slower and safe with any code.
 */
export type Drain = 'tick' | 'immediate';

export interface VirtualTimeOptions {
  /** What `Date.now()` returns at virtual time 0. Default 1 700 000 000 000 (a fixed date, for reproducibility). */
  readonly epoch?: number;
  /** Replaces `Math.random` while installed (peers draw their jitter from it). Default: left alone. */
  readonly random?: Random;
  readonly drain?: Drain;
}

/** The controller of an installed virtual time. */
export interface VirtualTime {
  /** Virtual ms since install. */
  now(): number;
  /**
   * Fires, in order, every timer due up to `to` (timers scheduled meanwhile
   * included), flushing promise reactions after each; then sets the time to `to`.
   */
  advanceTo(to: number): Promise<void>;
  /** Timers scheduled and not yet fired or cleared. */
  readonly pending: number;
  /** Timers fired so far. */
  readonly fired: number;
  /** Errors thrown by timer callbacks (they are caught so one bad callback cannot stop the simulation). */
  readonly errors: readonly unknown[];
  /** Restores the real globals. Timers still pending are dropped. */
  uninstall(): void;
}

/** A scheduled callback; shaped like Node's `Timeout` where libraries look (`ref`, `unref`, `hasRef`). */
class Timer {
  cancelled = false;
  private referenced = true;

  constructor(
    readonly id: number,
    public at: number,
    public seq: number,
    readonly callback: (...args: unknown[]) => void,
    readonly args: readonly unknown[],
    /** Repeat interval for `setInterval`; 0 for a one-shot timer. */
    readonly every: number,
  ) {}

  ref(): this {
    this.referenced = true;
    return this;
  }

  unref(): this {
    this.referenced = false;
    return this;
  }

  hasRef(): boolean {
    return this.referenced;
  }

  [Symbol.toPrimitive](): number {
    return this.id;
  }
}

const before = (a: Timer, b: Timer): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** A min-heap of timers by (due time, creation order). */
class TimerHeap {
  private readonly items: Timer[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Timer | undefined {
    return this.items[0];
  }

  push(timer: Timer): void {
    const items = this.items;
    let i = items.push(timer) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(timer, items[parent]!)) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = timer;
  }

  pop(): Timer | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && before(items[right]!, items[left]!) ? right : left;
      if (!before(items[child]!, last)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

let installed = false;

/** Node's limits: delays below 1 ms or above 2³¹ − 1 ms become 1 ms. */
function delayOf(ms: unknown): number {
  const n = Number(ms);
  return Number.isFinite(n) && n >= 1 && n <= 2_147_483_647 ? Math.floor(n) : 1;
}

/**
 * Installs virtual time on `globalThis`. Only one can be installed at a time;
 * call `uninstall()` (in a `finally`) when done.
 */
export function installVirtualTime(options: VirtualTimeOptions = {}): VirtualTime {
  if (installed) throw new Error('virtual time is already installed');
  installed = true;
  const epoch = options.epoch ?? 1_700_000_000_000;
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = {
    setTimeout: g.setTimeout,
    clearTimeout: g.clearTimeout,
    setInterval: g.setInterval,
    clearInterval: g.clearInterval,
    dateNow: Date.now,
    performance: Object.getOwnPropertyDescriptor(globalThis, 'performance'),
    random: Math.random,
  };
  const realNextTick = process.nextTick;
  const realSetImmediate = globalThis.setImmediate;
  const realPerformance = globalThis.performance;

  let now = 0;
  let seq = 0;
  let nextId = 1;
  let fired = 0;
  const heap = new TimerHeap();
  const active = new Map<number, Timer>();
  const errors: unknown[] = [];

  const schedule = (callback: unknown, ms: unknown, args: unknown[], repeat: boolean): Timer => {
    if (typeof callback !== 'function') {
      throw new TypeError(`The "callback" argument must be of type function. Received ${typeof callback}`);
    }
    const delay = delayOf(ms);
    const timer = new Timer(
      nextId++,
      now + delay,
      seq++,
      callback as (...a: unknown[]) => void,
      args,
      repeat ? delay : 0,
    );
    heap.push(timer);
    active.set(timer.id, timer);
    return timer;
  };
  const clear = (handle: unknown): void => {
    if (handle === undefined || handle === null) return;
    const id = handle instanceof Timer ? handle.id : Number(handle);
    const timer = active.get(id);
    if (timer === undefined) return;
    timer.cancelled = true;
    active.delete(id);
  };

  g.setTimeout = (callback: unknown, ms?: unknown, ...args: unknown[]) => schedule(callback, ms, args, false);
  g.setInterval = (callback: unknown, ms?: unknown, ...args: unknown[]) => schedule(callback, ms, args, true);
  g.clearTimeout = clear;
  g.clearInterval = clear;
  Date.now = () => epoch + now;
  // `performance` is an accessor on Node's global object; shadow it with a
  // plain object that keeps every other member of the real one.
  const fakePerformance = Object.create(realPerformance) as Performance;
  Object.defineProperty(fakePerformance, 'now', { value: () => now, configurable: true });
  Object.defineProperty(globalThis, 'performance', {
    value: fakePerformance,
    configurable: true,
    writable: true,
  });
  if (options.random !== undefined) Math.random = options.random;

  const flush =
    options.drain === 'immediate'
      ? () => new Promise<void>((resolve) => realSetImmediate(resolve))
      : () => new Promise<void>((resolve) => realNextTick(resolve));

  let uninstalled = false;
  return {
    now: () => now,
    get pending() {
      return active.size;
    },
    get fired() {
      return fired;
    },
    errors,
    async advanceTo(to: number): Promise<void> {
      await flush();
      for (;;) {
        if (uninstalled) throw new Error('virtual time was uninstalled during advanceTo');
        let timer = heap.peek();
        while (timer?.cancelled === true) {
          heap.pop();
          timer = heap.peek();
        }
        if (timer === undefined || timer.at > to) break;
        heap.pop();
        now = timer.at;
        if (timer.every > 0) {
          timer.at += timer.every;
          timer.seq = seq++;
          heap.push(timer);
        } else {
          active.delete(timer.id);
        }
        fired += 1;
        try {
          timer.callback(...timer.args);
        } catch (error) {
          errors.push(error);
        }
        await flush();
      }
      if (to > now) now = to;
    },
    uninstall(): void {
      if (uninstalled) return;
      uninstalled = true;
      installed = false;
      g.setTimeout = saved.setTimeout;
      g.clearTimeout = saved.clearTimeout;
      g.setInterval = saved.setInterval;
      g.clearInterval = saved.clearInterval;
      Date.now = saved.dateNow;
      if (saved.performance !== undefined)
        Object.defineProperty(globalThis, 'performance', saved.performance);
      Math.random = saved.random;
    },
  };
}
