import { checkClock, type Clock, type TimerHandle } from '../core/clock.js';
import type { Context, ExecuteOptions } from '../core/context.js';
import { retryAfterOf } from '../core/errors.js';
import { Emitter } from '../core/events.js';
import { PolicyBase } from '../core/policy.js';
import { checkFunction, checkKeys, checkNumber, checkObject, checkString, show } from '../core/validate.js';
import { type DeferredQueue, MemoryQueue } from './deferred-queue.js';

/** Options of {@link queueForLater}. */
export interface QueueForLaterOptions<T, R> {
  /**
   * The policy protecting the dependency, typically a pipeline with a
   * circuit breaker. Every call, live or re-driven, runs under it; its
   * breakers' `close` events re-drive the queue.
   */
  policy: PolicyBase<any>;
  /**
   * Does the work for one item. Called for a live submission and again when
   * the queue is drained, possibly more than once for one item (after a
   * crash): make it idempotent, e.g. with an idempotency key from the item.
   */
  handler: (item: T, ctx: Context) => R | PromiseLike<R>;
  /** Where items wait. Default `memoryQueue()` (lost when the process ends). */
  queue?: DeferredQueue<T>;
  /**
   * Which failures send an item to the queue. Default: every error except
   * the caller's own abort. Return false for failures that waiting will not
   * fix (a declined card, a validation error): `submit` rejects with them.
   */
  queueOn?: (error: unknown) => boolean;
  /**
   * Takes an item whose re-driven work failed with an error `queueOn`
   * refuses (it will never succeed), so it stops blocking the queue; the item
   * is removed once this resolves. Without it such an item stays at the head
   * and is retried on every re-drive.
   */
  deadLetter?: (item: T, error: unknown) => void | PromiseLike<void>;
  /**
   * Wait before re-driving after a drain stopped at a failure that carries no
   * `retryAfter` (an open breaker's rejection does), in ms. Default 30 000.
   */
  retryInterval?: number;
  /** Drain what the queue already holds (left by a previous process) at once. Default true. */
  drainOnStart?: boolean;
  /** Where the re-drive timer is scheduled. Default `systemClock`. */
  clock?: Clock;
  /** A name for events and logs. Default `queueForLater`. */
  name?: string;
}

/** The option names `queueForLater()` accepts. */
export const QUEUE_FOR_LATER_OPTIONS = [
  'policy',
  'handler',
  'queue',
  'queueOn',
  'deadLetter',
  'retryInterval',
  'drainOnStart',
  'clock',
  'name',
] as const;

/** What `submit` resolved with: the work's result, or the fact that the item was queued. */
export type Submitted<R> =
  | { readonly queued: false; readonly value: R }
  | { readonly queued: true; readonly error: unknown };

/** Events of {@link QueueForLater}. */
export interface QueueForLaterEvents {
  /** A submitted item failed with `error` and was stored for later. */
  queued: { readonly item: unknown; readonly error: unknown };
  /** A drain emptied the queue, after removing `removed` items. */
  drained: { readonly removed: number };
  /** A drain stopped at a failure after removing `removed` items; the next starts in `retryIn` ms (or on a breaker's close). */
  paused: { readonly removed: number; readonly error: unknown; readonly retryIn: number };
  /** An item whose work can never succeed was handed to `deadLetter` and removed. */
  deadLettered: { readonly item: unknown; readonly error: unknown };
}

/** Containers whose children an update or a new key may change. */
const TREE_EVENTS = ['reload', 'create', 'evict'] as const;

/**
 * Graceful degradation by deferral: runs work under a policy, and when it
 * fails (the dependency is down, the breaker open), stores the item in a
 * queue instead of failing the caller, then re-drives the queue when the
 * dependency is back. Create it with `queueForLater()`.
 *
 * Re-drives start when a breaker in the policy closes, when a live call
 * succeeds while items wait, on a timer after a drain stopped (at the open
 * breaker's `retryAfter`, so the first queued item serves as the half-open
 * probe even with no live traffic), and at start for a durable queue's
 * leftovers. Drains run one at a time, oldest item first, each item under
 * the policy, and stop at the first failure.
 */
export class QueueForLater<T, R = unknown> extends Emitter<QueueForLaterEvents> {
  /** The queue items wait in. */
  readonly queue: DeferredQueue<T>;
  private readonly policy: PolicyBase<any>;
  private readonly handler: (item: T, ctx: Context) => R | PromiseLike<R>;
  private readonly queueOn: ((error: unknown) => boolean) | undefined;
  private readonly deadLetter: ((item: T, error: unknown) => void | PromiseLike<void>) | undefined;
  private readonly retryInterval: number;
  private readonly clock: Clock;
  /** Items may be waiting: a live success then starts a drain. */
  private pending = true;
  /** Items `submit` stored so far: tells a finishing drain that one arrived meanwhile. */
  private stored = 0;
  private running: Promise<number> | undefined = undefined;
  private timer: TimerHandle | undefined = undefined;
  private timerAt = 0;
  private closed = false;
  /** Subscriptions to breakers (`close`) and containers (tree changes), by policy. */
  private watched = new Map<PolicyBase<any>, () => void>();

  constructor(options: QueueForLaterOptions<T, R>) {
    const p = 'queueForLater';
    checkObject(p, 'options', options);
    if (options === undefined)
      throw new TypeError('queueForLater: options are required: { policy, handler }');
    checkKeys(p, options, QUEUE_FOR_LATER_OPTIONS);
    super('queueForLater', checkString(p, 'name', options.name));
    if (!(options.policy instanceof PolicyBase)) {
      throw new TypeError(`${p}: policy must be a bulwark policy, got ${show(options.policy)}`);
    }
    this.policy = options.policy;
    const handler = checkFunction<(item: T, ctx: Context) => R | PromiseLike<R>>(
      p,
      'handler',
      options.handler,
    );
    if (handler === undefined) throw new TypeError(`${p}: handler must be a function, got undefined`);
    this.handler = handler;
    // `null` is refused below with the other bad values, not taken for "the default".
    const queue = options.queue === undefined ? new MemoryQueue<T>() : options.queue;
    if (
      typeof queue !== 'object' ||
      queue === null ||
      typeof queue.enqueue !== 'function' ||
      typeof queue.drain !== 'function' ||
      typeof queue.size !== 'function'
    ) {
      throw new TypeError(`${p}: queue must have enqueue(), drain() and size(), got ${show(queue)}`);
    }
    this.queue = queue;
    this.queueOn = checkFunction(p, 'queueOn', options.queueOn);
    this.deadLetter = checkFunction(p, 'deadLetter', options.deadLetter);
    this.retryInterval = checkNumber(
      p,
      'retryInterval',
      options.retryInterval,
      { min: 0, exclusiveMin: true },
      30_000,
    );
    if (options.drainOnStart !== undefined && typeof options.drainOnStart !== 'boolean') {
      throw new TypeError(`${p}: drainOnStart must be a boolean, got ${show(options.drainOnStart)}`);
    }
    this.clock = checkClock(p, options.clock);
    this.watch();
    // After construction returns: the handler must not run inside the constructor.
    if (options.drainOnStart !== false) void Promise.resolve().then(() => (this.closed ? 0 : this.drain()));
  }

  /**
   * Runs the work for `item` under the policy. Resolves with
   * `{ queued: false, value }` when it succeeded, or `{ queued: true, error }`
   * once the item is stored for later; rejects when it is neither done nor
   * stored: the failure is one `queueOn` refuses, the caller aborted, or the
   * queue refused the item (then with the queue's error).
   */
  async submit(item: T, options?: ExecuteOptions): Promise<Submitted<R>> {
    let value: R;
    try {
      value = await this.policy.execute((ctx) => this.handler(item, ctx), options);
    } catch (error) {
      if (options?.signal?.aborted === true || !this.shouldQueue(error)) throw error;
      await this.queue.enqueue(item);
      this.stored++;
      this.pending = true;
      if (this.listening('queued')) this.emit('queued', { item, error });
      // With no traffic, no breaker event may ever come: a timer re-drives in any case.
      if (this.running === undefined) this.schedule(error);
      return { queued: true, error };
    }
    // The dependency answers: items waiting need not wait for a breaker event.
    if (this.pending && this.running === undefined && !this.closed) void this.drain();
    return { queued: false, value };
  }

  /**
   * Re-drives the queue now (or joins the drain under way). Resolves with
   * the number of items removed by that drain; never rejects: a failure
   * pauses the drain and schedules the next one.
   */
  drain(): Promise<number> {
    if (this.running !== undefined) return this.running;
    this.cancelTimer();
    const run = this.run();
    this.running = run;
    return run;
  }

  /** Stops re-driving: no timer, no breaker subscriptions. A drain under way finishes; `submit` still works. */
  close(): void {
    this.closed = true;
    this.cancelTimer();
    for (const off of this.watched.values()) off();
    this.watched.clear();
  }

  private async run(): Promise<number> {
    let removed = 0;
    try {
      for (;;) {
        const stored = this.stored;
        await this.queue.drain(async (item) => {
          await this.redrive(item);
          removed++;
        });
        // An item stored as the drain ended is drained now, not left for a trigger that may never come.
        if ((await this.queue.size()) === 0 && this.stored === stored) break;
      }
      this.pending = false;
      if (this.listening('drained')) this.emit('drained', { removed });
    } catch (error) {
      this.pending = true;
      const retryIn = this.schedule(error);
      if (this.listening('paused')) this.emit('paused', { removed, error, retryIn });
    } finally {
      this.running = undefined;
    }
    return removed;
  }

  private async redrive(item: T): Promise<void> {
    try {
      await this.policy.execute((ctx) => this.handler(item, ctx));
    } catch (error) {
      if (this.deadLetter === undefined || this.shouldQueue(error)) throw error;
      await this.deadLetter(item, error);
      if (this.listening('deadLettered')) this.emit('deadLettered', { item, error });
    }
  }

  private shouldQueue(error: unknown): boolean {
    return this.queueOn === undefined || this.queueOn(error) === true;
  }

  /**
   * Arms the re-drive timer unless one is armed to fire sooner: at the failure's
   * `retryAfter` (an open breaker's remaining open time, so the first queued
   * item becomes the half-open probe), else after `retryInterval`. Unref'd:
   * waiting items do not keep the process alive (a durable queue keeps them).
   * Returns the delay.
   */
  private schedule(error: unknown): number {
    const asked = retryAfterOf(error);
    const delay = asked !== undefined && asked > 0 ? asked : this.retryInterval;
    if (this.closed) return delay;
    const at = this.clock.now() + delay;
    // An earlier hint (a breaker that opened since) wins over a later one.
    if (this.timer !== undefined && this.timerAt <= at) return delay;
    this.cancelTimer();
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.onTimer(), delay, true);
    return delay;
  }

  private onTimer(): void {
    this.timer = undefined;
    void this.drain();
  }

  private cancelTimer(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Subscribes to `close` on every circuit breaker in the policy's tree, and
   * walks the tree again when a container's children change (a registry
   * update, a keyed policy's new key). Only those events are listened to, so
   * the policies build no other event payloads on our account.
   */
  private watch(): void {
    if (this.closed) return;
    const seen = new Set<PolicyBase<any>>();
    const visit = (policy: PolicyBase<any>) => {
      if (seen.has(policy)) return;
      seen.add(policy);
      if (!this.watched.has(policy)) {
        if (policy.kind === 'circuitBreaker') {
          this.watched.set(
            policy,
            policy.on('close' as never, () => {
              if (!this.closed) void this.drain();
            }),
          );
        } else if (policy._children().length > 0 || policy.kind === 'pipeline' || policy.kind === 'keyed') {
          const offs = TREE_EVENTS.map((event) => policy.on(event as never, () => this.watch()));
          this.watched.set(policy, () => {
            for (const off of offs) off();
          });
        }
      }
      for (const child of policy._children()) visit(child);
    };
    visit(this.policy);
    for (const [policy, off] of this.watched) {
      if (!seen.has(policy)) {
        off();
        this.watched.delete(policy);
      }
    }
  }
}

/**
 * Queue for later: `submit(item)` runs `handler(item)` under `policy`; when
 * it fails, the item is stored in `queue` and re-driven once the dependency
 * is back (a breaker closes, a live call succeeds, or a timer fires), with
 * at-least-once semantics. See docs/queue-for-later.md.
 */
export function queueForLater<T, R = unknown>(options: QueueForLaterOptions<T, R>): QueueForLater<T, R> {
  return new QueueForLater(options);
}
