import type { Request, RequestHandler, Response } from 'express';
import { checkKeys, checkObject } from '../../core/validate.js';
import { checkHealthInput, type HealthInput, health } from '../../health/health.js';
import { HEALTH_RESPONSE_OPTIONS, type HealthResponseOptions, healthCodes } from '../server/options.js';

/** Options of {@link healthHandler}. */
export type HealthHandlerOptions = HealthResponseOptions;

/** The option names `healthHandler` accepts. */
export const HEALTH_HANDLER_OPTIONS = HEALTH_RESPONSE_OPTIONS;

/**
 * A route handler answering with the policies' health report (see
 * `HealthReport`): 200 while every policy is ok or degraded, 503 once one is
 * down (an open or isolated breaker). Mount it before `protect()`, so a
 * loaded or tripped service can still say so.
 */
export function healthHandler(policies: HealthInput, options: HealthHandlerOptions = {}): RequestHandler {
  const p = 'healthHandler';
  checkHealthInput(p, policies);
  checkObject(p, 'options', options);
  checkKeys(p, options, HEALTH_HANDLER_OPTIONS);
  const codes = healthCodes(p, options);
  return function bulwarkHealth(_req: Request, res: Response): void {
    const report = health(policies);
    res.status(codes[report.status]).set('Cache-Control', 'no-store').json(report);
  };
}
