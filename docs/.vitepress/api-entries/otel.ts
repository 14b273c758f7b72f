/**
 * OpenTelemetry metrics, spans and events for policies.
 *
 * @module bulwark/otel
 */
export * from '../../../src/integrations/otel/index.js';
