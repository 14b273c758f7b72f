import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adaptiveConcurrency } from '../../src/adaptive/adaptive-concurrency.js';
import {
  bulkhead,
  circuitBreaker,
  fallback,
  type HealthReport,
  health,
  keyed,
  pipeline,
  rateLimit,
  retry,
  timeout,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

const boom = () => Promise.reject(new Error('down'));

/** A breaker that opened after `failures` consecutive failures. */
async function openBreaker(clock: VirtualClock, name = 'db') {
  const cb = circuitBreaker({ consecutiveFailures: 1, openFor: 1_000, clock, name });
  await cb.execute(boom).catch(() => {});
  return cb;
}

describe('health', () => {
  it('an empty list is ok', () => {
    expect(health([])).toEqual({ status: 'ok', policies: [] });
    expect(health({})).toEqual({ status: 'ok', policies: [] });
  });

  it("reports each breaker's state and counts, and an open breaker makes the report down", async () => {
    const clock = new VirtualClock();
    const cb = circuitBreaker({
      failureRate: 0.9,
      minimumCalls: 10,
      window: { type: 'count', size: 10 },
      consecutiveFailures: 3,
      openFor: 1_000,
      clock,
      name: 'db',
    });
    await cb.execute(boom).catch(() => {});
    await cb.execute(() => 'ok');
    await cb.execute(boom).catch(() => {});
    expect(health({ orders: cb })).toEqual({
      status: 'ok',
      policies: [
        {
          path: 'orders',
          kind: 'circuitBreaker',
          name: 'db',
          status: 'ok',
          state: 'closed',
          calls: 3,
          failures: 2,
          slowCalls: 0,
          failureRate: 2 / 3,
          slowCallRate: 0,
          consecutiveFailures: 1,
          probes: 0,
          openCount: 0,
          retryAfter: 0,
        },
      ],
    });
    await cb.execute(boom).catch(() => {});
    await cb.execute(boom).catch(() => {});
    const open = health({ orders: cb });
    expect(open.status).toBe('down');
    expect(open.policies[0]).toMatchObject({
      state: 'open',
      status: 'down',
      openCount: 1,
      retryAfter: 1_000,
    });
  });

  it('a half-open breaker is degraded, an isolated one down, a closed one ok', async () => {
    const clock = new VirtualClock();
    const cb = await openBreaker(clock);
    await clock.advance(1_000);
    expect(health([cb])).toMatchObject({ status: 'degraded', policies: [{ state: 'halfOpen' }] });
    await cb.execute(() => 'probe ok');
    expect(health([cb])).toMatchObject({ status: 'ok', policies: [{ state: 'closed' }] });
    const release = cb.isolate();
    expect(health([cb])).toMatchObject({ status: 'down', policies: [{ state: 'isolated' }] });
    release();
    expect(health([cb]).status).toBe('ok');
  });

  it("reports each bulkhead's load; a full one is degraded, not down", async () => {
    const bh = bulkhead({ limit: 1, queue: 2, name: 'pool' });
    let release!: () => void;
    const held = bh.execute(() => new Promise<void>((r) => (release = r)));
    const queued = bh.execute(() => 'next');
    expect(health({ pool: bh })).toEqual({
      status: 'degraded',
      policies: [
        {
          path: 'pool',
          kind: 'bulkhead',
          name: 'pool',
          status: 'degraded',
          running: 1,
          queued: 1,
          limit: 1,
          queue: 2,
          rejected: 0,
        },
      ],
    });
    release();
    await held;
    await queued;
    expect(health({ pool: bh }).status).toBe('ok');
  });

  it("reports each limiter's limit: a rate limiter's permits, an adaptive limit", async () => {
    const clock = new VirtualClock();
    const rl = rateLimit({ type: 'tokenBucket', rate: 1, per: 1_000, clock, name: 'quota' });
    const ac = adaptiveConcurrency({ initialLimit: 4, clock, name: 'auto' });
    expect(health([rl, ac]).policies).toEqual([
      expect.objectContaining({ path: 'quota', status: 'ok', available: 1, limit: 1, waiting: 0 }),
      expect.objectContaining({ path: 'auto', status: 'ok', limit: 4, inflight: 0, queued: 0 }),
    ]);
    await rl.execute(() => 'spent');
    const report = health([rl, ac]);
    expect(report.status).toBe('degraded');
    expect(report.policies[0]).toMatchObject({ status: 'degraded', available: 0 });
  });

  it('walks pipelines: every policy inside is listed, outermost first, with its path; a pipeline counts as the worst inside', async () => {
    const clock = new VirtualClock();
    const cb = await openBreaker(clock, 'stock-cb');
    const inner = pipeline({ name: 'inner' }, cb, timeout({ ms: 100, clock }));
    const inventory = pipeline({ name: 'inventory' }, fallback({ value: 0 }), retry({ clock }), inner);
    const report = health({ inventory });
    expect(report.status).toBe('down');
    expect(report.policies.map((p) => [p.path, p.kind, p.status])).toEqual([
      ['inventory', 'pipeline', 'down'],
      ['inventory/fallback', 'fallback', 'ok'],
      ['inventory/retry', 'retry', 'ok'],
      ['inventory/inner', 'pipeline', 'down'],
      ['inventory/inner/stock-cb', 'circuitBreaker', 'down'],
      ['inventory/inner/timeout', 'timeout', 'ok'],
    ]);
    // An array names each root by its policy name.
    expect(health([inventory]).policies[0]!.path).toBe('inventory');
  });

  it('a policy shared by two pipelines is listed once, where first seen, and still counts for both', async () => {
    const clock = new VirtualClock();
    const shared = await openBreaker(clock, 'shared');
    const a = pipeline({ name: 'a' }, retry({ clock }), shared);
    const b = pipeline({ name: 'b' }, shared);
    const report = health({ a, b });
    expect(report.policies.map((p) => p.path)).toEqual(['a', 'a/retry', 'a/shared', 'b']);
    expect(report.status).toBe('down');
    expect(health([shared, shared]).policies).toHaveLength(1);
  });

  it("a keyed policy's open per-key breaker degrades the report and is listed; all keys down takes it down", async () => {
    const clock = new VirtualClock();
    const perHost = keyed(
      (_host: string) => circuitBreaker({ consecutiveFailures: 1, clock, name: 'host' }),
      {
        clock,
        name: 'hosts',
      },
    );
    await perHost.execute('a', boom).catch(() => {});
    await perHost.execute('b', () => 'ok');
    const http = pipeline({ name: 'http' }, perHost);
    const report = health({ http });
    expect(report.status).toBe('degraded');
    expect(report.policies.map((p) => [p.path, p.status])).toEqual([
      ['http', 'degraded'],
      ['http/hosts', 'degraded'],
      ['http/hosts/host', 'down'],
      ['http/hosts/host', 'ok'],
    ]);
    await perHost.execute('b', boom).catch(() => {});
    expect(health({ http }).status).toBe('down');
  });

  it('the report is JSON-ready: it survives a JSON round trip unchanged', async () => {
    const clock = new VirtualClock();
    const report = health({
      checkout: pipeline(
        { name: 'checkout' },
        retry({ clock }),
        await openBreaker(clock),
        bulkhead({ limit: 2 }),
        rateLimit({ type: 'tokenBucket', rate: 10, clock }),
        adaptiveConcurrency({ clock }),
      ),
    });
    expect(JSON.parse(JSON.stringify(report)) as HealthReport).toEqual(report);
  });

  it('rejects anything but a list or record of policies, naming the culprit', () => {
    expect(() => health(null as never)).toThrow(
      new TypeError('health: policies must be an array or a { name: policy } record, got null'),
    );
    expect(() => health([retry(), 'x'] as never)).toThrow(
      new TypeError('health: policies["1"] is not a policy, got "x"'),
    );
    expect(() => health({ db: {} } as never)).toThrow(
      new TypeError('health: policies["db"] is not a policy, got {}'),
    );
  });

  it('aggregation rule: the report is down if any policy is down, else degraded if any is degraded, else ok', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('closed', 'open', 'isolated', 'full', 'free'), {
          minLength: 1,
          maxLength: 6,
        }),
        async (kinds) => {
          const clock = new VirtualClock();
          const held: (() => void)[] = [];
          const policies = await Promise.all(
            kinds.map(async (k, i) => {
              if (k === 'open') return openBreaker(clock, `cb${i}`);
              if (k === 'isolated') {
                const cb = circuitBreaker({ clock, name: `cb${i}` });
                cb.isolate();
                return cb;
              }
              if (k === 'closed') return circuitBreaker({ clock, name: `cb${i}` });
              const bh = bulkhead({ limit: 1, name: `bh${i}` });
              if (k === 'full') void bh.execute(() => new Promise<void>((r) => held.push(r)));
              return bh;
            }),
          );
          const expected = kinds.some((k) => k === 'open' || k === 'isolated')
            ? 'down'
            : kinds.includes('full')
              ? 'degraded'
              : 'ok';
          const report = health(policies);
          expect(report.status).toBe(expected);
          expect(report.policies).toHaveLength(kinds.length);
          for (const release of held) release();
        },
      ),
      { numRuns: 60 },
    );
  });
});
