// bulwark/fetch runs wherever the core runs (browsers, Deno, Bun, workers) and
// has no runtime dependency: its whole import graph stays inside src/.
import { describe, it } from 'vitest';
import { expectSelfContained } from '../../helpers/portability.js';

describe('bulwark/fetch portability', () => {
  it('imports nothing outside src/: no Node-only module, no runtime dependency', () => {
    // The entry's own modules plus the core it builds on.
    expectSelfContained('integrations/fetch/index.ts', 10);
  });
});
