import type { Clock, TimerHandle } from '../core/clock.js';
import type { ExecutionContext } from '../core/context.js';
import { type WaitNode, WaitList } from './wait-list.js';

/** Why a call was turned away without running: no slot and no queue place, or it waited too long. */
export type AdmissionRejection = 'full' | 'queueTimeout';

/**
 * What the policy owning an {@link AdmissionQueue} decides: its limit, its
 * tokens, and how it reports rejections.
 * @internal
 */
export interface AdmissionHooks {
  /** The concurrency limit now (an adaptive limit moves). */
  limit(): number;
  /** Takes a slot for the call (`running += 1`) and returns the token its exit will get. */
  admit(ctx: ExecutionContext): unknown;
  /** Counts and reports a rejection, and returns the error the call fails with. */
  reject(reason: AdmissionRejection): Error;
  /** A call joined the queue (`size` counts it). */
  queued(): void;
}

/** A call waiting for a slot; it is its own list node. */
class Waiter implements WaitNode<Waiter> {
  prev: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;
  queued = false;
  deadline = 0;
  removeAbortListener: () => void = noop;

  constructor(
    readonly ctx: ExecutionContext,
    readonly resolve: (token: unknown) => void,
    readonly reject: (error: unknown) => void,
  ) {}
}

/**
 * The slots of a concurrency limit and the FIFO of calls waiting for one:
 * a waiter that aborts leaves in O(1), a freed slot goes to the head waiter
 * before any newcomer, and one `queueTimeout` timer is armed only while
 * someone waits (all waits are equally long, so the head expires first).
 * The policy keeps the admission rule's fast path (`running < limit`) itself.
 * @internal
 */
export class AdmissionQueue {
  /** Calls holding a slot (work still settling after an aggressive timeout included). */
  running = 0;
  private readonly waiting = new WaitList<Waiter>();
  private timer: TimerHandle | undefined = undefined;
  private timerAt = 0;

  constructor(
    private readonly clock: Clock,
    /** Most calls waiting (`Infinity`: no bound). */
    private readonly capacity: number,
    /** Longest wait in ms (`Infinity`: no timer at all). */
    private readonly queueTimeout: number,
    private readonly hooks: AdmissionHooks,
  ) {}

  /** Calls waiting now. */
  get size(): number {
    return this.waiting.size;
  }

  /**
   * Queues a call that found no free slot; the promise resolves with its
   * token when a slot is handed to it. Throws the `full` rejection when the
   * queue is full; rejects with the abort reason when the caller aborts.
   */
  enqueue(ctx: ExecutionContext): Promise<unknown> {
    if (ctx.aborted) return Promise.reject(ctx.reason);
    if (this.waiting.size >= this.capacity) throw this.hooks.reject('full');
    return new Promise((resolve, reject) => {
      const waiter = new Waiter(ctx, resolve, reject);
      this.waiting.push(waiter);
      if (this.queueTimeout !== Number.POSITIVE_INFINITY) {
        waiter.deadline = this.clock.now() + this.queueTimeout;
        if (this.timer === undefined) this.arm(waiter.deadline);
      }
      waiter.removeAbortListener = ctx.onAbort((reason) => {
        if (!this.waiting.remove(waiter)) return;
        this.dequeued(waiter);
        reject(reason);
      });
      this.hooks.queued();
    });
  }

  /**
   * Gives a call's slot back, unless an aggressive timeout or a losing hedge
   * inside stopped waiting for work that still runs: then the slot stays
   * taken until that work has settled (and is handed on then). `seen` is the
   * lingering work the context already had when the call took its slot (a
   * retry's earlier attempt), which is not this call's to wait for. Call
   * {@link drain} afterwards to hand the freed slot on.
   */
  release(ctx: ExecutionContext, seen: Promise<void> | undefined): void {
    const lingering = ctx.lingering;
    if (lingering === undefined || lingering === seen) this.running -= 1;
    else void lingering.then(this.releaseLater);
  }

  /** Hands free slots to the queue's head first, so no newcomer can jump the queue. */
  drain(): void {
    let head = this.waiting.head;
    while (head !== undefined && this.running < this.hooks.limit()) {
      this.waiting.remove(head);
      this.dequeued(head);
      head.resolve(this.hooks.admit(head.ctx));
      head = this.waiting.head;
    }
  }

  private readonly releaseLater = (): void => {
    this.running -= 1;
    this.drain();
  };

  /** Bookkeeping for a waiter that just left the queue, whichever way. */
  private dequeued(waiter: Waiter): void {
    waiter.removeAbortListener();
    // No timer while nobody waits: an idle policy holds no handle.
    if (this.waiting.size === 0 && this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private arm(deadline: number): void {
    this.timerAt = deadline;
    this.timer = this.clock.setTimeout(this.expire, Math.max(0, deadline - this.clock.now()));
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    // Timers may fire a little early on some platforms; trust the deadline we armed for.
    const horizon = Math.max(this.clock.now(), this.timerAt);
    let head = this.waiting.head;
    while (head !== undefined && head.deadline <= horizon) {
      this.waiting.remove(head);
      this.dequeued(head);
      head.reject(this.hooks.reject('queueTimeout'));
      head = this.waiting.head;
    }
    if (head !== undefined && this.timer === undefined) this.arm(head.deadline);
  };
}

function noop(): void {}
