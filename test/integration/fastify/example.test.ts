// examples/fastify/server.ts, run as its docs say, in self-test mode.
import { describe, expect, it } from 'vitest';
import { line, runExample } from '../../integrations/server/run-example.js';

describe('examples/fastify/server.ts', () => {
  it('starts, serves, sheds and limits, reports its health, and exits by itself', async () => {
    const run = await runExample('examples/fastify/server.ts', 30_000);
    expect(run.signal, `killed: it did not end by itself\n${run.stdout}\n${run.stderr}`).toBeNull();
    expect(run.code, run.stderr).toBe(0);
    expect(line(run.stdout, 'one request:')).toBe('200 {"report":"took 10 ms"}');
    expect(line(run.stdout, 'past the deadline:')).toBe('503 {"error":"ERR_TIMEOUT"}');
    const burst = line(run.stdout, 'a burst of 10:');
    // How many are shed depends on how fast the 10 arrive (and, on a loaded machine, whether queued ones
    // still make the deadline); whatever is not served is answered 503.
    expect(burst).toMatch(/^\d+ × 200(, \d+ × 503 \{"error":"ERR_(BULKHEAD_FULL|TIMEOUT)"\})*$/);
    expect(line(run.stdout, '3 exports at once:')).toBe('1 × 200, 2 × 503 {"error":"ERR_BULKHEAD_FULL"}');
    expect(line(run.stdout, 'a flood of 60:')).toMatch(
      /\d+ × 429 \{"error":"ERR_RATE_LIMITED"\} Retry-After: 1/,
    );
    const health = line(run.stdout, 'health:');
    expect(health.startsWith('200 ')).toBe(true);
    expect(JSON.parse(health.slice(4)).policies.map((p: { kind: string }) => p.kind)).toContain('bulkhead');
  }, 40_000);
});
