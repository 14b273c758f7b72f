/**
 * The same protections as a Fastify plugin.
 *
 * @module bulwark/fastify
 */
export * from '../../../src/integrations/fastify/index.js';
export { default } from '../../../src/integrations/fastify/index.js';
