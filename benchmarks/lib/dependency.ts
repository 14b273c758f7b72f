import type { Random } from './random.js';

/**
 * The time source a dependency runs on: bulwark's `VirtualClock`, or a
 * wrapper around globals replaced by `installVirtualTime` (virtual-time.ts).
 */
export interface SimClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
}

/** What a request carries: the signal of the client that sent it, if any (a policy's `ctx` fits). */
export interface RequestContext {
  readonly signal?: AbortSignal | undefined;
}

/** How a simulated dependency behaves; every function gets the virtual time in ms. */
export interface DependencySpec {
  /**
   * Requests served at once: a number, or the number at `now`, for a
   * capacity that changes during a run (read on every arrival and completion).
   */
  workers: number | ((now: number) => number);
  /** Requests waiting for a worker; beyond it, requests are refused at the door (a fast 503). */
  queue: number;
  /** Service time of one request started at `now`. */
  serviceTime(now: number, random: Random): number;
  /** Probability that a request served at `now` ends in an error (`failureStatus`) instead of a result. */
  failureRate(now: number): number;
  /**
   * The status of those errors. Default 503; a 500 tells a failing request
   * apart from an overloaded server, whose full queue always answers 503.
   */
  failureStatus?: 500 | 503;
  /** Whether the dependency is down at `now`: every request is refused in `refuseMs`. */
  down(now: number): boolean;
  /** How long a refusal (down, or queue full) takes. Default 1 ms. */
  refuseMs?: number;
}

/** An error the simulated dependency answers with. */
export class DependencyError extends Error {
  constructor(readonly status: 500 | 503 | 'ECONNREFUSED') {
    super(
      status === 503
        ? 'dependency: 503 Service Unavailable'
        : status === 500
          ? 'dependency: 500 Internal Server Error'
          : 'dependency: connection refused',
    );
  }
}

interface Request {
  resolve(value: string): void;
  reject(error: unknown): void;
  /** The client stopped waiting (its signal aborted): the server does not know and serves it anyway. */
  abandoned: boolean;
  cleanup: (() => void) | undefined;
}

/**
 * A dependency on a virtual clock: `workers` serve requests one at a time,
 * a FIFO queue holds the rest. A client that gives up (timeout, hedge lost)
 * rejects at once, but the server cannot tell and still spends a worker on
 * the request: that wasted work is what turns a retry storm into an outage.
 */
export class SimulatedDependency {
  /** Requests that reached the dependency, refused ones included. */
  arrivals = 0;
  /** Requests served whose client had already given up. */
  wasted = 0;
  /** Requests refused at the door: the dependency was down, or its queue was full. */
  refused = 0;
  /** Requests served (answered with a result or a 503 after their service time). */
  served = 0;
  /** Most requests waiting in the queue at once. */
  maxQueued = 0;
  private busy = 0;
  private readonly waiting: Request[] = [];
  private head = 0;

  constructor(
    private readonly clock: SimClock,
    private readonly random: Random,
    private readonly spec: DependencySpec,
  ) {}

  /** Requests being served now. */
  get inService(): number {
    return this.busy;
  }

  /** Requests waiting for a worker now. */
  get queued(): number {
    return this.waiting.length - this.head;
  }

  /** The work a policy runs: one request to the dependency, honouring `ctx.signal`. */
  readonly call = (ctx: RequestContext): Promise<string> => {
    const signal = ctx.signal;
    // As fetch does: a request whose signal is already aborted is never sent.
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    this.arrivals += 1;
    return new Promise<string>((resolve, reject) => {
      const request: Request = { resolve, reject, abandoned: false, cleanup: undefined };
      if (signal !== undefined) {
        const onAbort = () => {
          request.abandoned = true;
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        request.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      const now = this.clock.now();
      if (this.spec.down(now)) return this.refuse(request, 'ECONNREFUSED');
      // Capacity may have grown since the last completion: let the queue in first.
      this.pump();
      if (this.busy < this.workers() && this.queued === 0) return this.serve(request);
      if (this.queued < this.spec.queue) {
        this.waiting.push(request);
        if (this.queued > this.maxQueued) this.maxQueued = this.queued;
        return;
      }
      this.refuse(request, 503);
    });
  };

  private workers(): number {
    const workers = this.spec.workers;
    return typeof workers === 'number' ? workers : workers(this.clock.now());
  }

  private refuse(request: Request, status: 503 | 'ECONNREFUSED'): void {
    this.refused += 1;
    this.clock.setTimeout(() => this.answer(request, new DependencyError(status)), this.spec.refuseMs ?? 1);
  }

  /** Starts queued requests while workers are free (FIFO). */
  private pump(): void {
    while (this.queued > 0 && this.busy < this.workers()) {
      const next = this.waiting[this.head]!;
      this.waiting[this.head++] = undefined as never;
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      this.serve(next);
    }
  }

  private serve(request: Request): void {
    this.busy += 1;
    const started = this.clock.now();
    const ms = this.spec.serviceTime(started, this.random);
    this.clock.setTimeout(() => {
      this.busy -= 1;
      this.served += 1;
      if (request.abandoned) this.wasted += 1;
      const failed = this.random() < this.spec.failureRate(this.clock.now());
      this.answer(request, failed ? new DependencyError(this.spec.failureStatus ?? 503) : 'ok');
      this.pump();
    }, ms);
  }

  private answer(request: Request, outcome: string | DependencyError): void {
    request.cleanup?.();
    if (request.abandoned) return;
    if (typeof outcome === 'string') request.resolve(outcome);
    else request.reject(outcome);
  }
}
