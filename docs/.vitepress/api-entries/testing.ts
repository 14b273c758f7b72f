/**
 * A virtual clock to test your own policies deterministically.
 *
 * @module bulwark/testing
 */
export * from '../../../src/testing/index.js';
