import { defineConfig } from 'tsup';

// One build per entry point; ESM and CJS with their own declaration files.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing/index.ts',
    config: 'src/config/index.ts',
    decorators: 'src/integrations/decorators/index.ts',
    fetch: 'src/integrations/fetch/index.ts',
    redis: 'src/integrations/redis/index.ts',
    otel: 'src/integrations/otel/index.ts',
    express: 'src/integrations/express/index.ts',
    fastify: 'src/integrations/fastify/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: false,
  treeshake: true,
  splitting: true,
  target: 'es2022',
  platform: 'neutral',
  external: ['@opentelemetry/api', 'express', 'fastify', 'fastify-plugin', 'ioredis'],
});
