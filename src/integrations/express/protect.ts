import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { reportCallbackError } from '../../core/events.js';
import type { PolicyBase } from '../../core/policy.js';
import { checkKeys, checkObject } from '../../core/validate.js';
import { Exchange } from '../server/exchange.js';
import {
  checkServedPolicy,
  SERVE_OPTIONS,
  type ServeConfig,
  type ServeOptions,
  serveConfig,
} from '../server/options.js';
import type { ErrorReply } from '../server/reply.js';

declare global {
  // Express types its per-response locals through this global namespace.
  namespace Express {
    interface Locals {
      /**
       * Set by `protect()` from `bulwark/express`: aborted when the client
       * disconnects or a timeout in the policy passes. Pass it to the work the
       * handler starts (`fetch`, database calls). Undefined on routes that no
       * `protect()` covers.
       */
      signal: AbortSignal;
    }
  }
}

/** Options of {@link protect}. */
export type ProtectOptions = ServeOptions<Request, Response>;

/** The option names `protect` accepts. */
export const PROTECT_OPTIONS = SERVE_OPTIONS;

const OWNER = 'protect';

class ExpressExchange extends Exchange<Request, Response> {
  constructor(
    cfg: ServeConfig<Request, Response>,
    policy: PolicyBase<any>,
    req: Request,
    res: Response,
    private readonly next: NextFunction,
  ) {
    // An outer protect() already aborts its signal on disconnect: chaining onto it also carries its timeout inward.
    super(cfg, policy, req, res, res.locals.signal as AbortSignal | undefined);
    res.once('close', () => this.closed(res.writableFinished));
  }

  protected proceed(): void {
    this.next();
  }

  protected fail(error: unknown): void {
    if (!this.entered) {
      this.next(error);
      return;
    }
    // Express already went on with the request: its error chain cannot be entered a second time,
    // so the error goes where a listener's would, and the client (if still there) gets a plain 500.
    reportCallbackError(error, `${OWNER}: an error after the request reached its handler`);
    if (!this.gone && !this.headersSent)
      this.send({ status: 500, code: 'ERR_INTERNAL', retryAfter: undefined });
  }

  protected send(reply: ErrorReply): void {
    const res = this.res;
    res.statusCode = reply.status;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    if (reply.retryAfter !== undefined) res.setHeader('Retry-After', String(reply.retryAfter));
    res.end(`{"error":${JSON.stringify(reply.code)}}`);
  }

  protected expose(signal: AbortSignal): void {
    this.res.locals.signal = signal;
  }

  protected get headersSent(): boolean {
    return this.res.headersSent;
  }

  protected get ended(): boolean {
    return this.res.writableEnded;
  }

  protected get statusCode(): number {
    return this.res.statusCode;
  }

  protected destroy(): void {
    this.res.destroy();
  }
}

/**
 * An Express 5 middleware that runs the rest of each request under `policy`:
 * admission policies (bulkhead, rate limit, adaptive concurrency, throttle)
 * hold their slot until the response finishes or the client disconnects;
 * a `timeout` aborts `res.locals.signal` and answers 503 if no response
 * started. Rejections answer 503 (429 for a rate limit) with `Retry-After`
 * when the error says how long to wait, and a body of `{ "error": code }`.
 * Errors thrown by route handlers go to Express's error handling as usual.
 *
 * `policy` must not contain `retry`, `hedge` or `fallback` (a response
 * cannot be re-run or replaced): that throws here.
 */
export function protect(policy: PolicyBase<any>, options: ProtectOptions = {}): RequestHandler {
  checkServedPolicy(OWNER, 'policy', policy);
  checkObject(OWNER, 'options', options);
  checkKeys(OWNER, options, PROTECT_OPTIONS);
  const cfg = serveConfig(OWNER, options);
  return function bulwarkProtect(req: Request, res: Response, next: NextFunction): void {
    new ExpressExchange(cfg, policy, req, res, next).run();
  };
}
