// Mutation testing of the engine and the strategies: `npm run mutation`.
// Run one folder at a time on a small machine, with its tests, e.g.
//   MUTATION_TESTS=core,retry,timeout,fallback,reliability npm run mutation -- --mutate 'src/core/**/*.ts'
// (MUTATION_TESTS picks the test folders: see vitest.stryker.config.ts).
// Results accumulate in reports/stryker-incremental.json, so later runs only
// retest mutants whose code or covering tests changed. See docs/testing.md.

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.stryker.config.ts' },
  // Everything but src/testing (a test helper) and the Redis integration
  // (its tests need a Redis server; see docs/testing.md). On a 2-core machine
  // run one group at a time with --mutate, as docs/testing.md shows.
  mutate: [
    'src/core/**/*.ts',
    'src/{retry,backoff,timeout,fallback,breaker,bulkhead,rate-limit,hedge,budget,chaos,adaptive,throttle,keyed,health}/**/*.ts',
    'src/{config,queue}/**/*.ts',
    'src/integrations/{decorators,fetch,otel,server,express,fastify}/**/*.ts',
  ],
  coverageAnalysis: 'perTest',
  // Mutants in code that runs at import time (option-name lists, constants)
  // would need every test and a fresh module graph per mutant: skipped, and
  // reported as ignored.
  ignoreStatic: true,
  concurrency: 2,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  // Tests drive time with a virtual clock, so a mutant that loops shows up as
  // a hang rather than a slow run: a generous factor avoids false timeouts
  // when the machine is busy.
  timeoutMS: 10_000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 95, low: 90, break: null },
  ignorePatterns: [
    'dist',
    'docs',
    'benchmarks',
    'examples',
    'reports',
    'scratch',
    'coverage',
    '.redis-test',
    '.docs-blocks',
  ],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
