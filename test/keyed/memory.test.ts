import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const probe = fileURLToPath(new URL('./memory-probe.mts', import.meta.url));

/** Heap retained per keyed breaker, measured in a child process with a forced GC. */
async function bytesPerBreaker(scenario: string): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--expose-gc',
    '--import',
    'tsx',
    probe,
    scenario,
  ]);
  return (JSON.parse(stdout) as { bytesPerBreaker: number }).bytesPerBreaker;
}

describe('keyed memory', () => {
  it('10 000 idle keyed breakers retain at most 500 bytes each, keys and bookkeeping included', async () => {
    const bytes = await bytesPerBreaker('healthy');
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(500);
  }, 60_000);

  it('a breaker with a failure in its window adds only its packed outcome ring (about 100 bytes)', async () => {
    const healthy = await bytesPerBreaker('healthy');
    const failed = await bytesPerBreaker('failure');
    expect(failed - healthy).toBeLessThanOrEqual(160);
  }, 60_000);
});
