// Public surface of `bulwark/express`: re-exports only. Express 5 is an optional peer dependency.
export { protect, PROTECT_OPTIONS, type ProtectOptions } from './protect.js';
export { healthHandler, HEALTH_HANDLER_OPTIONS, type HealthHandlerOptions } from './health.js';
export { ResponseStatusError } from '../server/errors.js';
export type { ServeOptions, HealthResponseOptions } from '../server/options.js';
export type { HealthEntry, HealthInput, HealthReport, HealthStatus } from '../../health/health.js';
