// Separate Node processes sharing one key: the fleet case, and what happens when an instance dies.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { BulkheadFullError, CircuitOpenError } from '../../../src/index.js';
import {
  breakerOf,
  bulkheadOf,
  connect,
  describeRedis,
  freshPrefix,
  pause,
  rateLimitOf,
  redisUrl,
  settleAll,
} from './helpers.js';

const fixture = fileURLToPath(new URL('./fixture.mts', import.meta.url));
const children = new Set<ChildProcess>();

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** Starts a fixture process; resolves with it and its first report line (10 s at most). */
function run(task: object): Promise<{ child: ChildProcess; report: Record<string, unknown> }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fixture, JSON.stringify({ url: redisUrl, ...task })],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`fixture gave no report in 10 s: ${err}`)), 10_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) {
        clearTimeout(timer);
        resolve({ child, report: JSON.parse(line) as Record<string, unknown> });
      }
    });
    child.once('exit', (code) => {
      if (!out.includes('\n')) {
        clearTimeout(timer);
        reject(new Error(`fixture exited (${code}) without a report: ${err}`));
      }
    });
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describeRedis('bulwark/redis across processes', () => {
  it('processes share one limit; a killed process gives its slots back after leaseTtl', async () => {
    const prefix = freshPrefix();
    const task = { mode: 'hold', prefix, key: 'slots', limit: 6, leaseTtl: 300, count: 5 };
    const [first, second] = await Promise.all([run(task), run(task)]);
    // 5 + 5 asked, 6 slots fleet-wide.
    expect((first.report.held as number) + (second.report.held as number)).toBe(6);
    const redis = connect();
    const here = bulkheadOf({ redis, key: 'slots', prefix, limit: 6, leaseTtl: 300 });
    await expect(here.execute(() => 'x')).rejects.toBeInstanceOf(BulkheadFullError);

    const freed = first.report.held as number;
    await killed(first.child);
    const killedAt = Date.now();
    // Its leases are still valid right after the kill...
    await expect(here.execute(() => 'x')).rejects.toBeInstanceOf(BulkheadFullError);
    // ...and expire within leaseTtl: the slots come back without anyone releasing them.
    let admitted = false;
    while (!admitted && Date.now() - killedAt < 2_000) {
      admitted = await here.execute(() => true).catch(() => false);
      if (!admitted) await pause(10);
    }
    expect(admitted).toBe(true);
    expect(Date.now() - killedAt).toBeLessThan(300 + 150);
    // The surviving process keeps renewing: its slots are still held long after leaseTtl.
    await pause(700);
    expect(await redis.zcard(`${prefix}bulkhead:{slots}`)).toBe(6 - freed);
    await killed(second.child);
  });

  it('processes share one rate limit: the burst is spent exactly once', async () => {
    const prefix = freshPrefix();
    const task = { mode: 'take', prefix, key: 'partner', burst: 15, count: 12 };
    const here = rateLimitOf({ redis: connect(), key: 'partner', prefix, rate: 1, per: 60_000, burst: 15 });
    // Two processes and this one, 12 calls each, at the same time.
    const [reports, mine] = await Promise.all([
      Promise.all([run(task), run(task)]),
      pause(1_500).then(() => settleAll(Array.from({ length: 12 }, () => here.execute(() => 1)))),
    ]);
    const admitted = reports.reduce((sum, { report }) => sum + (report.admitted as number), mine.fulfilled);
    expect(admitted).toBe(15);
  });

  it("a breaker opened by another process's failures rejects here", async () => {
    const prefix = freshPrefix();
    const { report } = await run({ mode: 'fail', prefix, key: 'inventory', count: 5 });
    expect(report.state).toBe('open');
    const here = breakerOf({ redis: connect(), key: 'inventory', prefix, minimumCalls: 5 });
    const error = await here.execute(() => 'never').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).retryAfter).toBeGreaterThan(50_000);
  });
});
