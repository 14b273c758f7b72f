/**
 * Express middleware: load shedding, per-request timeout, health endpoint.
 *
 * @module bulwark/express
 */
export * from '../../../src/integrations/express/index.js';
