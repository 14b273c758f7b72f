// Shared by the Fastify plugin tests: apps closed after each file's tests, listening on loopback.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { afterAll } from 'vitest';

/**
 * For one test file (call it at the top): `app()` makes a Fastify app without logs whose error
 * handler records what reaches it; `track()` adopts an app made otherwise. Every app is closed
 * after the file's tests.
 */
export function fastifyApps() {
  const apps: FastifyInstance[] = [];
  afterAll(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  const track = (fastify: FastifyInstance): FastifyInstance => {
    apps.push(fastify);
    return fastify;
  };
  const app = (options: FastifyServerOptions = {}) => {
    const fastify = track(Fastify({ logger: false, ...options }));
    const errors: Error[] = [];
    fastify.setErrorHandler((error, _request, reply) => {
      errors.push(error as Error);
      void reply.code(500).send({ handled: (error as Error).message });
    });
    return { fastify, errors };
  };
  return { app, track };
}

/** Starts `fastify` on a free 127.0.0.1 port; resolves with its base URL. */
export function listen(fastify: FastifyInstance): Promise<string> {
  return fastify.listen({ port: 0, host: '127.0.0.1' });
}
