/**
 * The strategies, `pipeline`, the errors and `health`: everything but the integrations.
 *
 * @module bulwark
 */
export * from '../../../src/index.js';
