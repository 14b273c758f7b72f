// bulwark/decorators runs wherever the core runs (browsers, Deno, Bun, workers) and
// has no runtime dependency: its whole import graph stays inside src/.
import { describe, it } from 'vitest';
import { expectSelfContained } from '../../helpers/portability.js';

describe('bulwark/decorators portability', () => {
  it('imports nothing outside src/: no Node-only module, no runtime dependency', () => {
    // The entry's own modules plus the core types and validation it uses.
    expectSelfContained('integrations/decorators/index.ts', 3);
  });
});
