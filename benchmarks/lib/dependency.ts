import type { Context } from '../../src/index.js';
import type { VirtualClock } from '../../src/testing/index.js';
import type { Random } from './random.js';

/** How a simulated dependency behaves; every function gets the virtual time in ms. */
export interface DependencySpec {
  /** Requests served at once. */
  workers: number;
  /** Requests waiting for a worker; beyond it, requests are refused at the door (a fast 503). */
  queue: number;
  /** Service time of one request started at `now`. */
  serviceTime(now: number, random: Random): number;
  /** Probability that a request served at `now` ends in an error (503) instead of a result. */
  failureRate(now: number): number;
  /** Whether the dependency is down at `now`: every request is refused in `refuseMs`. */
  down(now: number): boolean;
  /** How long a refusal (down, or queue full) takes. Default 1 ms. */
  refuseMs?: number;
}

/** An error the simulated dependency answers with. */
export class DependencyError extends Error {
  constructor(readonly status: 503 | 'ECONNREFUSED') {
    super(status === 503 ? 'dependency: 503 Service Unavailable' : 'dependency: connection refused');
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
  private busy = 0;
  private readonly waiting: Request[] = [];
  private head = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly random: Random,
    private readonly spec: DependencySpec,
  ) {}

  /** The work a policy runs: one request to the dependency, honouring `ctx.signal`. */
  readonly call = (ctx: Context): Promise<string> => {
    this.arrivals += 1;
    return new Promise<string>((resolve, reject) => {
      const request: Request = { resolve, reject, abandoned: false, cleanup: undefined };
      const signal = ctx.signal;
      const onAbort = () => {
        request.abandoned = true;
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      request.cleanup = () => signal.removeEventListener('abort', onAbort);
      const now = this.clock.now();
      if (this.spec.down(now)) return this.refuse(request, 'ECONNREFUSED');
      if (this.busy < this.spec.workers) return this.serve(request);
      if (this.waiting.length - this.head < this.spec.queue) {
        this.waiting.push(request);
        return;
      }
      this.refuse(request, 503);
    });
  };

  private refuse(request: Request, status: 503 | 'ECONNREFUSED'): void {
    this.clock.setTimeout(() => this.answer(request, new DependencyError(status)), this.spec.refuseMs ?? 1);
  }

  private serve(request: Request): void {
    this.busy += 1;
    const started = this.clock.now();
    const ms = this.spec.serviceTime(started, this.random);
    this.clock.setTimeout(() => {
      this.busy -= 1;
      if (request.abandoned) this.wasted += 1;
      const failed = this.random() < this.spec.failureRate(this.clock.now());
      this.answer(request, failed ? new DependencyError(503) : 'ok');
      const next = this.waiting[this.head];
      if (next !== undefined) {
        this.waiting[this.head++] = undefined as never;
        if (this.head > 1024 && this.head * 2 > this.waiting.length) {
          this.waiting.splice(0, this.head);
          this.head = 0;
        }
        this.serve(next);
      }
    }, ms);
  }

  private answer(request: Request, outcome: string | DependencyError): void {
    request.cleanup?.();
    if (request.abandoned) return;
    if (typeof outcome === 'string') request.resolve(outcome);
    else request.reject(outcome);
  }
}
