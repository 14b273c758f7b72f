/**
 * `@resilient(policy)` for class methods.
 *
 * @module bulwark/decorators
 */
export * from '../../../src/integrations/decorators/index.js';
