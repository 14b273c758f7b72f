// Mutation testing of src/: `npm run mutation`. On a small machine run one
// group of source folders at a time, with the test folders that matter for it:
//   MUTATION_GROUP=core npm run mutation          (groups: see GROUPS below)
//   MUTATION_GROUP=limits MUTATION_QUICK=1 npm run mutation
// A group sets `mutate`, MUTATION_TESTS (the test folders: see
// vitest.stryker.config.ts) and its own incremental file and reports, so a
// later run of the group only retests mutants whose code or covering tests
// changed (`--force` retests all). Without a group, everything at once.
// See docs/testing.md.

/** Source folders and the test folders that exercise them. */
const GROUPS = {
  core: {
    mutate: ['src/core/**/*.ts'],
    tests: 'core,retry,timeout,fallback,testing,budget,reliability',
  },
  strategies: {
    mutate: ['src/{retry,backoff,timeout,fallback,budget}/**/*.ts'],
    tests: 'retry,backoff,timeout,fallback,budget,core,reliability',
  },
  limits: {
    mutate: ['src/{breaker,bulkhead,rate-limit,keyed}/**/*.ts'],
    tests: 'breaker,bulkhead,rate-limit,keyed,core,reliability',
  },
  advanced: {
    mutate: ['src/{hedge,chaos,adaptive,throttle,health}/**/*.ts'],
    tests: 'hedge,chaos,adaptive,throttle,health,core,reliability',
  },
  config: { mutate: ['src/{config,queue}/**/*.ts'], tests: 'config,queue,core' },
  integrations: {
    mutate: ['src/integrations/{decorators,fetch,otel,server,express,fastify}/**/*.ts'],
    tests: 'integrations,integration/express,integration/fastify,core',
  },
  // Needs redis-server installed: the tests start their own on a free
  // loopback port (test/setup/redis.ts). Real time (Redis keeps it), so slower.
  redis: { mutate: ['src/integrations/redis/**/*.ts'], tests: 'integration/redis,core' },
};

const groupName = process.env.MUTATION_GROUP;
const group = groupName === undefined ? undefined : GROUPS[groupName];
if (groupName !== undefined && group === undefined) {
  throw new Error(`MUTATION_GROUP: unknown group ${groupName} (one of ${Object.keys(GROUPS).join(', ')})`);
}
// Read by vitest.stryker.config.ts in the test runner processes.
if (group !== undefined) process.env.MUTATION_TESTS ??= group.tests;
const tag = groupName ?? 'all';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.stryker.config.ts' },
  // Everything but src/testing (a test helper). On a 2-core machine run one
  // MUTATION_GROUP at a time (the redis group needs redis-server installed).
  mutate: group?.mutate ?? Object.values(GROUPS).flatMap((g) => g.mutate),
  coverageAnalysis: 'perTest',
  // Mutants in code that runs at import time (option-name lists, constants)
  // would need every test and a fresh module graph per mutant: skipped, and
  // reported as ignored.
  ignoreStatic: true,
  concurrency: 2,
  incremental: true,
  incrementalFile: `reports/stryker-incremental-${tag}.json`,
  // Tests drive time with a virtual clock, so a mutant that loops shows up as
  // a hang rather than a slow run: a generous factor avoids false timeouts
  // when the machine is busy.
  timeoutMS: 10_000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${tag}.html` },
  jsonReporter: { fileName: `reports/mutation/${tag}.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 95, low: 90, break: null },
  // examples/ stays in the sandbox: the queue tests import the example adapter.
  ignorePatterns: [
    'dist',
    'docs',
    'benchmarks',
    'reports',
    'scratch',
    'coverage',
    '.redis-test',
    '.docs-blocks',
  ],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
