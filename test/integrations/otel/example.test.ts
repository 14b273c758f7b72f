import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs the example in self-test mode; killed if it overruns `limitMs`. */
function runExample(
  limitMs: number,
): Promise<{ code: number | null; killed: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'examples/telemetry/server.ts'],
      { cwd: root, env: { ...process.env, EXAMPLE_SELFTEST: '1' }, timeout: limitMs, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, killed: error?.signal === 'SIGKILL', stdout, stderr });
      },
    );
  });
}

describe('examples/telemetry/server.ts (EXAMPLE_SELFTEST=1)', () => {
  it('serves, calls itself, scrapes /metrics once through the Prometheus exporter, prints the bulwark series and exits 0', async () => {
    const run = await runExample(30_000);
    expect(run.killed, `it did not end by itself\n${run.stdout}\n${run.stderr}`).toBe(false);
    expect(run.code, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/^telemetry example on http:\/\/127\.0\.0\.1:\d+/m);
    // The inventory went down: the breaker opened and the readiness probe says so.
    expect(out).toContain('health: HTTP 503 status=down');
    const series = (name: string, labels: Record<string, string>) => {
      const line = out
        .split('\n')
        .find(
          (l) =>
            l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
        );
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    const inv = { bulwark_pipeline_name: 'inventory' };
    // Every 4th upstream call fails while up (3 of 12 retried), then every call fails while down.
    expect(
      series('bulwark_policy_events_total', { ...inv, bulwark_event_name: 'retry', error_type: 'Error' }),
    ).toBe(3);
    expect(series('bulwark_policy_events_total', { ...inv, bulwark_event_name: 'open' })).toBe(1);
    expect(series('bulwark_policy_events_total', { ...inv, bulwark_event_name: 'reject' })).toBe(5);
    expect(series('bulwark_pipeline_duration_count', { ...inv, bulwark_outcome: 'success' })).toBe(18);
    expect(series('bulwark_attempt_duration_count', { ...inv, bulwark_outcome: 'success' })).toBe(12);
    expect(
      series('bulwark_circuit_breaker_state', { ...inv, bulwark_policy_name: 'inventory-breaker' }),
    ).toBe(2);
    expect(series('bulwark_concurrency_limit', { ...inv, bulwark_policy_name: 'inventory-slots' })).toBe(8);
    expect(series('bulwark_concurrency_active', { ...inv, bulwark_policy_name: 'inventory-slots' })).toBe(0);
    expect(out).toMatch(/^\(\d+ histogram bucket lines not shown\)$/m);
    expect(out).toMatch(/^log lines: \d+$/m);
    // Span events landed on the request spans.
    expect(out).toMatch(/"bulwark\.retry":\d+/);
    expect(out).toMatch(/"bulwark\.reject":5/);
  });
});
