// Vitest globalSetup: one redis-server on a free 127.0.0.1 port for the whole run, its URL
// provided to tests as inject('redisUrl') ('' when Redis is not installed: the tests skip).
import type { TestProject } from 'vitest/node';
import { RedisServer, redisServerInstalled } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `redis://127.0.0.1:<port>` of the run's redis-server, or '' when none is installed. */
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!redisServerInstalled()) {
    if (process.env.BULWARK_REQUIRE_REDIS === '1') {
      throw new Error(
        'BULWARK_REQUIRE_REDIS=1 but redis-server is not installed (apt-get install redis-server)',
      );
    }
    console.warn(
      '\nbulwark: redis-server not found, SKIPPING the Redis integration tests (test/integration/redis).' +
        '\n         Install it (apt-get install redis-server) or set BULWARK_REQUIRE_REDIS=1 to make this an error.\n',
    );
    project.provide('redisUrl', '');
    return async () => {};
  }
  const server = await RedisServer.start();
  project.provide('redisUrl', server.url);
  return () => server.stop();
}
