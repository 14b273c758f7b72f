/**
 * Named pipelines built from plain data, validated and hot-reloadable.
 *
 * @module bulwark/config
 */
export * from '../../../src/config/index.js';
