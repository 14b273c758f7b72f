/**
 * A resilient `fetch`: idempotent retries, `Retry-After`, timeouts.
 *
 * @module bulwark/fetch
 */
export * from '../../../src/integrations/fetch/index.js';
