import fc from 'fast-check';
import { expect, it } from 'vitest';
import { BulkheadFullError, TimeoutError, pipeline, timeout } from '../../../src/index.js';
import { bulkheadOf, connect, describeRedis, freshPrefix, pause, settleAll } from './helpers.js';

/** A promise the test resolves when it wants the held calls to finish. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Polls until `check` holds (bounded: fails after `ms`). */
async function eventually(check: () => Promise<boolean>, ms = 1_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await pause(5);
  }
}

describeRedis('distributedBulkhead (real Redis)', () => {
  it('admits exactly the limit: 200 concurrent acquires from 4 instances, limit 10', async () => {
    const prefix = freshPrefix();
    const redis = connect();
    const instances = [redis, connect(), connect(), connect()].map((client) =>
      bulkheadOf({ redis: client, key: 'db', prefix, limit: 10 }),
    );
    const held = gate();
    let ran = 0;
    const calls = Array.from({ length: 200 }, (_, i) =>
      instances[i % 4]!.execute(async () => {
        ran += 1;
        await held.promise;
      }),
    );
    // Observed at once: rejections arrive long before the held calls settle.
    const settled = settleAll(calls);
    await eventually(
      async () => ran === 10 && instances.every((b) => b.stats.rejected + b.stats.held === 50),
    );
    expect(await redis.zcard(`${prefix}bulkhead:{db}`)).toBe(10);
    held.open();
    const { fulfilled, rejected } = await settled;
    expect(fulfilled).toBe(10);
    expect(rejected).toHaveLength(190);
    for (const error of rejected) expect(error).toBeInstanceOf(BulkheadFullError);
    // Every slot goes back once its call settled.
    await eventually(async () => (await redis.zcard(`${prefix}bulkhead:{db}`)) === 0);
  });

  it('never runs more than the limit at once across instances, and reuses freed slots', async () => {
    const prefix = freshPrefix();
    const instances = [connect(), connect(), connect()].map((redis) =>
      bulkheadOf({ redis, key: 'churn', prefix, limit: 4 }),
    );
    let running = 0;
    let peak = 0;
    let done = 0;
    const worker = async (i: number) => {
      // Each worker keeps trying until it got through 5 times (bounded attempts).
      for (let attempt = 0, ok = 0; ok < 5 && attempt < 500; attempt++) {
        try {
          await instances[i % 3]!.execute(async () => {
            running += 1;
            peak = Math.max(peak, running);
            await pause(1 + (attempt % 3));
            running -= 1;
          });
          ok += 1;
          done += 1;
        } catch (error) {
          expect(error).toBeInstanceOf(BulkheadFullError);
          await pause(1);
        }
      }
    };
    await Promise.all(Array.from({ length: 12 }, (_, i) => worker(i)));
    expect(done).toBe(60);
    expect(peak).toBeLessThanOrEqual(4);
    expect(peak).toBe(4);
  });

  it('admits exactly min(calls, limit) for any limit and call count', async () => {
    const clients = [connect(), connect()];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 30 }),
        async (limit, count) => {
          const prefix = freshPrefix();
          const instances = clients.map((redis) => bulkheadOf({ redis, key: 'p', prefix, limit }));
          const held = gate();
          let ran = 0;
          const calls = Array.from({ length: count }, (_, i) =>
            instances[i % 2]!.execute(async () => {
              ran += 1;
              await held.promise;
            }),
          );
          const settled = settleAll(calls);
          await eventually(
            async () => instances.reduce((n, b) => n + b.stats.rejected + b.stats.held, 0) >= count,
          );
          expect(ran).toBe(Math.min(count, limit));
          held.open();
          const { fulfilled } = await settled;
          expect(fulfilled).toBe(Math.min(count, limit));
        },
      ),
      { numRuns: 12 },
    );
  });

  it('a long call renews its lease, so its slot outlives leaseTtl', async () => {
    const prefix = freshPrefix();
    const redis = connect();
    const a = bulkheadOf({ redis, key: 'long', prefix, limit: 1, leaseTtl: 150 });
    const b = bulkheadOf({ redis: connect(), key: 'long', prefix, limit: 1, leaseTtl: 150 });
    const held = gate();
    const long = a.execute(() => held.promise);
    await eventually(async () => a.stats.held === 1);
    await pause(400);
    // Well past leaseTtl: still held, because it was renewed.
    await expect(b.execute(() => 'b')).rejects.toBeInstanceOf(BulkheadFullError);
    expect(await redis.zcard(`${prefix}bulkhead:{long}`)).toBe(1);
    expect(a.stats.leasesLost).toBe(0);
    held.open();
    await long;
    await eventually(async () => (await b.execute(() => 'b').catch(() => 'full')) === 'b');
  });

  it('keeps the slot until work an aggressive timeout gave up on has settled', async () => {
    const prefix = freshPrefix();
    const a = bulkheadOf({ redis: connect(), key: 'linger', prefix, limit: 1 });
    const b = bulkheadOf({ redis: connect(), key: 'linger', prefix, limit: 1 });
    const guarded = pipeline(a, timeout({ ms: 20, strategy: 'aggressive' }));
    let workDone = false;
    const started = Date.now();
    await expect(
      guarded.execute(async () => {
        await pause(200);
        workDone = true;
      }),
    ).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeLessThan(150);
    expect(workDone).toBe(false);
    await expect(b.execute(() => 'b')).rejects.toBeInstanceOf(BulkheadFullError);
    await eventually(async () => (await b.execute(() => 'b').catch(() => 'full')) === 'b');
    expect(workDone).toBe(true);
  });

  it("a caller's abort while acquiring rejects with the reason and leaves no lease", async () => {
    const prefix = freshPrefix();
    const redis = connect();
    const bulkhead = bulkheadOf({ redis, key: 'abort', prefix, limit: 1 });
    const controller = new AbortController();
    let ran = false;
    const call = bulkhead.execute(
      () => {
        ran = true;
      },
      { signal: controller.signal },
    );
    controller.abort(new Error('gone'));
    await expect(call).rejects.toThrow('gone');
    await pause(20);
    expect(ran).toBe(false);
    await eventually(async () => (await redis.zcard(`${prefix}bulkhead:{abort}`)) === 0);
    await expect(bulkhead.execute(() => 'ok')).resolves.toBe('ok');
  });

  it('emits reject with the fleet load and reports it in stats and health', async () => {
    const prefix = freshPrefix();
    const bulkhead = bulkheadOf({ redis: connect(), key: 'events', prefix, limit: 1, name: 'db' });
    const rejects: unknown[] = [];
    bulkhead.on('reject', (event) => rejects.push(event));
    const held = gate();
    const first = bulkhead.execute(() => held.promise);
    await eventually(async () => bulkhead.stats.held === 1);
    await expect(bulkhead.execute(() => 2)).rejects.toBeInstanceOf(BulkheadFullError);
    expect(rejects).toEqual([{ reason: 'full', running: 1, limit: 1 }]);
    expect(bulkhead._health()).toMatchObject({ name: 'db', status: 'degraded', held: 1, running: 1 });
    held.open();
    await first;
    expect(bulkhead.stats).toMatchObject({ held: 0, rejected: 1, limit: 1, redisAvailable: true });
  });
});
