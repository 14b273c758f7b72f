import { defineConfig } from 'vitest/config';

// The tests Stryker runs against each mutant (see stryker.config.mjs): the
// in-process tests of the core, the strategies, configuration, the queue and
// the integrations (Express and Fastify over loopback, Redis with a server of
// the run's own). Left out: tests that only exercise code in a child process
// (the mutant is not active there), and the docs and packaging checks.
//
// MUTATION_TESTS narrows the set to some test folders (comma-separated), so
// a run over one source folder loads only the tests that matter for it:
//   MUTATION_TESTS=core,reliability npm run mutation -- --mutate 'src/core/**/*.ts'
const ALL = [
  'core',
  'retry',
  'backoff',
  'timeout',
  'fallback',
  'breaker',
  'bulkhead',
  'rate-limit',
  'hedge',
  'budget',
  'chaos',
  'adaptive',
  'throttle',
  'keyed',
  'testing',
  'health',
  'reliability',
  'config',
  'queue',
  'integrations',
  'integration/express',
  'integration/fastify',
  'integration/redis',
];
const folders = process.env.MUTATION_TESTS?.split(',').map((f) => f.trim()) ?? ALL;
const unknown = folders.filter((f) => !ALL.includes(f));
if (unknown.length > 0) throw new Error(`MUTATION_TESTS: unknown test folders ${unknown.join(', ')}`);

// MUTATION_QUICK=1 leaves out the three slowest files (the leak test and the
// two fuzzers), which cover nearly every mutant and so run for each: a run
// takes about a third of the time, and its score is a lower bound.
const SLOW = [
  'test/core/leaks.test.ts',
  'test/reliability/fuzz-execution.test.ts',
  'test/reliability/fuzz-options.test.ts',
];
const quick = process.env.MUTATION_QUICK === '1';

export default defineConfig({
  test: {
    include: folders.map((folder) => `test/${folder}/**/*.test.ts`),
    exclude: [
      'test/keyed/memory.test.ts',
      'test/reliability/soak.test.ts',
      'test/integrations/otel/example.test.ts',
      // Child processes: Stryker switches a mutant on only in its own process,
      // so these can never detect one and only cost seconds per mutant.
      'test/integration/redis/processes.test.ts',
      'test/integration/express/example.test.ts',
      'test/integration/fastify/example.test.ts',
      '**/node_modules/**',
      ...(quick ? SLOW : []),
    ],
    // One module graph for all test files: loading src/ once instead of per
    // file makes each mutant run several times faster. Mutants are switched
    // at run time, so sharing the modules is safe.
    isolate: false,
    setupFiles: ['test/reliability/fixed-seed.ts'],
    // The Redis tests' server, started once for the run (only when they are in it).
    globalSetup: folders.includes('integration/redis') ? ['test/setup/redis.ts'] : [],
    testTimeout: 30_000,
  },
});
