// Public surface of `bulwark/fastify`: re-exports only. Fastify 5 and fastify-plugin are optional peer dependencies.
export {
  default,
  fastifyBulwark,
  BULWARK_PLUGIN_OPTIONS,
  HEALTH_ROUTE_OPTIONS,
  type BulwarkPluginOptions,
  type BulwarkRequest,
  type HealthRouteOptions,
} from './plugin.js';
export { ResponseStatusError } from '../server/errors.js';
export type { ServeOptions, HealthResponseOptions } from '../server/options.js';
export type { HealthEntry, HealthInput, HealthReport, HealthStatus } from '../../health/health.js';
