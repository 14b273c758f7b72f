import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the demo as `npm run demo` does (tsx), killed if it overruns `limitMs`. */
function runDemo(env: Record<string, string>, limitMs: number): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'examples/demo.ts'],
      {
        cwd: root,
        env: { ...process.env, ...env },
        timeout: limitMs,
        killSignal: 'SIGKILL',
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, signal: error?.signal ?? null, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

/** Whether something still accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('npm run demo', () => {
  it('runs for DEMO_SECONDS, prints the table for both clients, exits 0 and leaves nothing running', async () => {
    // 2 s of calls, up to 2 s for the last deadlines, plus tsx's start-up.
    const run = await runDemo({ DEMO_SECONDS: '2', DEMO_RATE: '20' }, 15_000);
    expect(run.signal, `killed: it did not end by itself\n${run.stdout}\n${run.stderr}`).toBeNull();
    expect(run.code, run.stderr).toBe(0);

    const port = Number(/127\.0\.0\.1:(\d+)/.exec(run.stdout)?.[1]);
    expect(port).toBeGreaterThan(0);
    // The flaky service was closed with the process: nothing answers on its port.
    expect(await listening(port)).toBe(false);

    // Not a TTY: one progress line per second, with both clients and the breaker.
    const progress = run.stdout.split('\n').filter((line) => /^\s*\d+\.\d s │/.test(line));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[0]).toMatch(/naked: \d+ ok.*│ bulwark: \d+ ok.*│ breaker (closed|open|halfOpen)/);

    const header = run.stdout.split('\n').find((line) => /^\s+naked\s+bulwark\s*$/.test(line));
    expect(header, run.stdout).toBeDefined();
    const row = (label: string) => {
      const line = run.stdout.split('\n').find((l) => l.trimStart().startsWith(label));
      expect(line, `row ${label}`).toBeDefined();
      return line!
        .trim()
        .slice(label.length)
        .trim()
        .split(/\s{2,}/);
    };
    const [nakedCalls, guardedCalls] = row('calls').map(Number);
    // About 20 calls per second each, side by side at the same rate.
    expect(nakedCalls).toBeGreaterThanOrEqual(20);
    expect(guardedCalls).toBe(nakedCalls);
    for (const label of ['success rate', 'latency p50', 'latency p99']) expect(row(label)).toHaveLength(2);
    const [nakedReached] = row('requests that reached the service').map(Number);
    // The service counts requests per client header: each naked call is one request.
    expect(nakedReached).toBeLessThanOrEqual(nakedCalls!);
    expect(nakedReached).toBeGreaterThanOrEqual(nakedCalls! * 0.9);
    for (const label of ['retries', 'timeouts', 'fallbacks', 'breaker opens', 'bulkhead rejections']) {
      expect(row(label)[1]).toMatch(/^\d+$/);
    }
  }, 30_000);

  it('rejects a DEMO_SECONDS that is not a number', async () => {
    const run = await runDemo({ DEMO_SECONDS: 'soon' }, 15_000);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('DEMO_SECONDS must be a number');
  }, 20_000);
});
