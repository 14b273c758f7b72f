import { spawn } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pipeline, retry, TimeoutError, timeout } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { honours } from '../helpers/work.js';

describe('leaks', () => {
  it('10 000 executions sharing one long-lived caller signal leave no listener on it', async () => {
    const clock = new VirtualClock();
    const caller = new AbortController();
    const { signal } = caller;
    const policy = pipeline(retry({ maxAttempts: 2, backoff: 1, clock }), timeout({ ms: 10, clock }));
    let most = 0;
    const outcomes = { ok: 0, retried: 0, timedOut: 0 };
    for (let i = 0; i < 10_000; i++) {
      const kind = i % 100 === 0 ? 'timeout' : i % 10 === 0 ? 'flaky' : 'ok';
      let attempt = 0;
      const call = policy.execute(
        (ctx) => {
          attempt++;
          most = Math.max(most, getEventListeners(signal, 'abort').length);
          if (kind === 'timeout') return honours(ctx);
          void ctx.signal.aborted;
          if (kind === 'flaky' && attempt === 1) throw new Error('flaky');
          return attempt;
        },
        { signal },
      );
      if (kind === 'ok') {
        await call;
        outcomes.ok++;
      } else {
        const outcome = call.catch((error: unknown) => error);
        await clock.runAll();
        const result = await outcome;
        if (result instanceof TimeoutError) outcomes.timedOut++;
        else if (result === 2) outcomes.retried++;
      }
    }
    expect(outcomes).toEqual({ ok: 9_000, retried: 900, timedOut: 100 });
    // In flight, a call holds at most its own few listeners; none build up.
    expect(most).toBeLessThanOrEqual(2);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('aggressive timeouts of work that never settles leave no listener on the caller signal', async () => {
    const clock = new VirtualClock();
    const caller = new AbortController();
    const policy = timeout({ ms: 5, strategy: 'aggressive', clock });
    for (let i = 0; i < 1_000; i++) {
      const call = policy
        .execute(
          (ctx) => {
            void ctx.signal;
            return new Promise(() => {});
          },
          { signal: caller.signal },
        )
        .catch((error: unknown) => error);
      await clock.advance(5);
      expect(await call).toBeInstanceOf(TimeoutError);
    }
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  describe('a process holding idle policies exits at once', () => {
    const fixture = fileURLToPath(new URL('../fixtures/idle-policies.mts', import.meta.url));

    /** Runs the fixture; resolves with what it printed and how long it lived after printing "done". */
    function runFixture(args: string[], bound: number) {
      return new Promise<{ output: string; code: number | null; afterDone: number; killed: boolean }>(
        (resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], {
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let output = '';
          let stderr = '';
          let doneAt: number | undefined;
          let killed = false;
          let killer: NodeJS.Timeout | undefined;
          // Startup (tsx compiling) is not what is measured, only the time after the work is done.
          const startup = setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`fixture did not finish its work in 20 s: ${stderr}`));
          }, 20_000);
          child.stdout.on('data', (chunk: Buffer) => {
            output += chunk.toString();
            if (doneAt === undefined && output.includes('done')) {
              doneAt = performance.now();
              clearTimeout(startup);
              killer = setTimeout(() => {
                killed = true;
                child.kill('SIGKILL');
              }, bound);
            }
          });
          child.stderr.on('data', (chunk: Buffer) => {
            stderr += chunk.toString();
          });
          child.on('error', reject);
          child.on('exit', (code) => {
            clearTimeout(startup);
            clearTimeout(killer);
            if (doneAt === undefined)
              return reject(new Error(`fixture exited (${code}) before done: ${stderr}`));
            resolve({ output, code, afterDone: performance.now() - doneAt, killed });
          });
        },
      );
    }

    it('exits within 1.5 s of finishing its work, with timeouts, retries and fallbacks behind it', async () => {
      const run = await runFixture([], 1_500);
      expect(run.killed).toBe(false);
      expect(run.code).toBe(0);
      expect(run.afterDone).toBeLessThan(1_500);
      // The third call fails throughout and gets the last known good result of the second.
      expect(run.output).toContain('done ["ok","third time","third time","TimeoutError","TimeoutError"]');
    });

    it('(control) the same check notices a process that a timer keeps alive', async () => {
      const run = await runFixture(['hold'], 1_500);
      expect(run.killed).toBe(true);
    });
  });
});
