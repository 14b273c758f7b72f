// Setup file of the mutation-testing runs (vitest.stryker.config.ts): property
// tests draw the same cases for every mutant, so a mutant's verdict does not
// depend on the luck of the draw and incremental runs can reuse it.
import fc from 'fast-check';

fc.configureGlobal({ seed: 20_260_101 });
