import { describe, expect, it } from 'vitest';
import {
  CircuitBreakerPolicy,
  CircuitOpenError,
  circuitBreaker,
  KeyedPolicy,
  keyed,
  type PolicyBase,
  pipeline,
  retry,
  timeout,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { deferred } from '../breaker/helpers.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));

function breakers(clock: VirtualClock, options: { maxKeys?: number; idleTtl?: number } = {}) {
  const created: string[] = [];
  const policy = keyed(
    (key: string) => {
      created.push(key);
      return circuitBreaker({ consecutiveFailures: 1, openFor: 1_000, clock });
    },
    { clock, ...options },
  );
  return { policy, created };
}

describe('keyed: one policy per key', () => {
  it('creates a policy on first use of a key and reuses it after', async () => {
    const clock = new VirtualClock();
    const { policy, created } = breakers(clock);
    await policy.execute('a', () => 1);
    await policy.execute('a', () => 2);
    await policy.execute('b', () => 3);
    expect(created).toEqual(['a', 'b']);
    expect(policy.get('a')).toBe(policy.get('a'));
    expect(policy.get('a')).not.toBe(policy.get('b'));
    expect(policy.get('a')).toBeInstanceOf(CircuitBreakerPolicy);
  });

  it("isolates keys: one host's open breaker does not affect another", async () => {
    const clock = new VirtualClock();
    const { policy } = breakers(clock);
    await policy.execute('down.example', () => Promise.reject(new Error('500'))).catch(() => {});
    await expect(policy.execute('down.example', () => 'x')).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(policy.execute('up.example', () => 'fine')).resolves.toBe('fine');
  });

  it('sets ctx.key for the work', async () => {
    const { policy } = breakers(new VirtualClock());
    await expect(policy.execute('tenant-7', (ctx) => ctx.key)).resolves.toBe('tenant-7');
  });

  it('inside a pipeline, routes by execute(fn, { key })', async () => {
    const clock = new VirtualClock();
    const { policy, created } = breakers(clock);
    const p = pipeline(retry({ maxAttempts: 2, backoff: 0, clock }), policy);
    await expect(p.execute((ctx) => `hello ${String(ctx.key)}`, { key: 'eu' })).resolves.toBe('hello eu');
    // Two failures of 'us': the first opens its breaker, the retry is refused by it.
    const call = p.execute(() => Promise.reject(new Error('down')), { key: 'us' }).catch((e: unknown) => e);
    await clock.runAll();
    expect(await call).toBeInstanceOf(CircuitOpenError);
    expect(created).toEqual(['eu', 'us']);
    await expect(p.execute(() => 'still fine', { key: 'eu' })).resolves.toBe('still fine');
  });

  it('execute(fn, { key }) works on the keyed policy itself', async () => {
    const { policy } = breakers(new VirtualClock());
    await expect(policy.execute((ctx) => ctx.key, { key: 'k' })).resolves.toBe('k');
  });

  it('a call without a key is rejected with a TypeError', async () => {
    const { policy } = breakers(new VirtualClock());
    await expect(policy.execute(() => 1)).rejects.toThrow(/keyed: no key for this call/);
    await expect(policy.wrap(() => 1)()).rejects.toBeInstanceOf(TypeError);
  });

  it("passes the caller's signal through: an abort rejects at once with its reason", async () => {
    const { policy } = breakers(new VirtualClock());
    const controller = new AbortController();
    const call = policy.execute('a', () => new Promise(() => {}), { signal: controller.signal });
    controller.abort(new Error('client left'));
    await expect(call).rejects.toThrow('client left');
  });

  it('emits success and failure for the calls it routed', async () => {
    const { policy } = breakers(new VirtualClock());
    const seen: string[] = [];
    policy.on('success', (e) => seen.push(`success ${String(e.value)}`));
    policy.on('failure', (e) => seen.push(`failure ${(e.error as Error).message}`));
    await policy.execute('a', () => 'ok');
    await policy.execute('a', () => Promise.reject(new Error('down'))).catch(() => {});
    await policy.execute('a', () => 'refused').catch(() => {});
    expect(seen).toEqual(['success ok', 'failure down', 'failure Circuit is open; rejected without calling']);
  });

  it('emits create for a new key', async () => {
    const { policy } = breakers(new VirtualClock());
    const seen: unknown[] = [];
    policy.on('create', (e) => seen.push(e.key));
    await policy.execute('a', () => 1);
    await policy.execute('a', () => 1);
    expect(seen).toEqual(['a']);
  });

  it('a factory that throws fails the call and creates nothing', async () => {
    const policy = keyed(
      (key: string) => {
        throw new Error(`no policy for ${key}`);
      },
      { clock: new VirtualClock() },
    );
    await expect(policy.execute('x', () => 1)).rejects.toThrow('no policy for x');
    expect(policy.size).toBe(0);
  });

  it('a factory that returns something else than a policy fails the call with a TypeError', async () => {
    const policy = keyed(() => ({ execute: () => 1 }) as unknown as PolicyBase, {
      clock: new VirtualClock(),
    });
    await expect(policy.execute('x', () => 1)).rejects.toThrow(/keyed: the factory must return a policy/);
  });
});

describe('keyed: eviction', () => {
  it('evicts a key unused for idleTtl, on the next use of the keyed policy', async () => {
    const clock = new VirtualClock();
    const { policy, created } = breakers(clock, { idleTtl: 1_000 });
    const evicted: unknown[] = [];
    policy.on('evict', (e) => evicted.push(e));
    await policy.execute('a', () => 1);
    await clock.advance(999);
    await policy.execute('b', () => 1);
    expect(policy.has('a')).toBe(true);
    await clock.advance(1);
    expect(policy.has('a')).toBe(false);
    expect(evicted).toEqual([{ key: 'a', reason: 'idle' }]);
    await policy.execute('a', () => 1);
    expect(created).toEqual(['a', 'b', 'a']);
  });

  it('using a key keeps it alive', async () => {
    const clock = new VirtualClock();
    const { policy } = breakers(clock, { idleTtl: 1_000 });
    for (let i = 0; i < 5; i++) {
      await policy.execute('a', () => 1);
      await clock.advance(600);
    }
    expect([...policy.keys()]).toEqual(['a']);
  });

  it('a key with a call in flight is not evicted by idleTtl', async () => {
    const clock = new VirtualClock();
    const { policy } = breakers(clock, { idleTtl: 100 });
    const work = deferred();
    const call = policy.execute('busy', () => work.promise);
    await clock.advance(10_000);
    expect(policy.has('busy')).toBe(true);
    work.resolve('done');
    await call;
    await clock.advance(99);
    expect(policy.has('busy')).toBe(true);
    await clock.advance(1);
    expect(policy.has('busy')).toBe(false);
  });

  it('beyond maxKeys, the least recently used idle key is evicted', async () => {
    const clock = new VirtualClock();
    const { policy } = breakers(clock, { maxKeys: 2 });
    const evicted: unknown[] = [];
    policy.on('evict', (e) => evicted.push(e));
    await policy.execute('a', () => 1);
    await policy.execute('b', () => 1);
    await policy.execute('a', () => 1); // b is now the least recently used
    await policy.execute('c', () => 1);
    expect([...policy.keys()].sort()).toEqual(['a', 'c']);
    expect(evicted).toEqual([{ key: 'b', reason: 'maxKeys' }]);
    expect(policy.size).toBe(2);
  });

  it('get() counts as a use for eviction order', async () => {
    const { policy } = breakers(new VirtualClock(), { maxKeys: 2 });
    await policy.execute('a', () => 1);
    await policy.execute('b', () => 1);
    policy.get('a');
    await policy.execute('c', () => 1);
    expect(policy.has('a')).toBe(true);
    expect(policy.has('b')).toBe(false);
  });

  it('keys with calls in flight are never evicted for maxKeys; the excess is trimmed as they finish', async () => {
    const clock = new VirtualClock();
    const { policy } = breakers(clock, { maxKeys: 2 });
    const works = [deferred(), deferred(), deferred()];
    const calls = ['a', 'b', 'c'].map((key, i) => policy.execute(key, () => works[i]!.promise));
    // All three busy: the third key is admitted beyond maxKeys.
    expect(policy.size).toBe(3);
    works[1]!.resolve('b done');
    await calls[1];
    await flush();
    // b went idle and is the only idle key: trimmed back to maxKeys.
    expect([...policy.keys()].sort()).toEqual(['a', 'c']);
    works[0]!.resolve('a');
    works[2]!.resolve('c');
    await Promise.all(calls);
    expect(policy.size).toBe(2);
  });

  it('a policy that is down (an open breaker) outlives idleTtl until it recovers', async () => {
    const clock = new VirtualClock();
    const { policy } = breakers(clock, { idleTtl: 100 });
    await policy.execute('down', () => Promise.reject(new Error('500'))).catch(() => {});
    await clock.advance(500);
    // Still open (openFor 1 000 ms): forgetting it would let calls through to a dead host.
    expect(policy.has('down')).toBe(true);
    await clock.advance(400);
    expect(policy.has('down')).toBe(true);
    await clock.advance(100);
    // t = 1 000: openFor passed, the breaker reads half-open, no longer down: evicted.
    expect(policy.has('down')).toBe(false);
  });

  it('delete() drops a key; its calls in flight finish under the old policy', async () => {
    const clock = new VirtualClock();
    const { policy, created } = breakers(clock);
    const work = deferred();
    const call = policy.execute('a', () => work.promise);
    const old = policy.get('a');
    expect(policy.delete('a')).toBe(true);
    expect(policy.delete('a')).toBe(false);
    expect(policy.has('a')).toBe(false);
    work.resolve('finished');
    await expect(call).resolves.toBe('finished');
    await flush();
    expect(policy.size).toBe(0);
    await policy.execute('a', () => 1);
    expect(policy.get('a')).not.toBe(old);
    expect(created).toEqual(['a', 'a']);
  });

  it('delete() of an idle key unlinks it', async () => {
    const { policy } = breakers(new VirtualClock(), { maxKeys: 2 });
    await policy.execute('a', () => 1);
    await policy.execute('b', () => 1);
    policy.delete('a');
    await policy.execute('c', () => 1);
    expect([...policy.keys()]).toEqual(['b', 'c']);
  });

  it('work an aggressive timeout stopped waiting for keeps its key busy until it settles', async () => {
    const clock = new VirtualClock();
    const policy = keyed(() => timeout({ ms: 10, strategy: 'aggressive', clock }), { idleTtl: 100, clock });
    const work = deferred();
    const call = policy.execute('slow', () => work.promise).catch((e: unknown) => e);
    await clock.advance(10);
    expect((await call) as Error).toMatchObject({ code: 'ERR_TIMEOUT' });
    await clock.advance(1_000);
    expect(policy.has('slow')).toBe(true);
    work.resolve('late');
    await flush();
    await clock.advance(100);
    expect(policy.has('slow')).toBe(false);
  });
});

describe('keyed: inspection and health', () => {
  it('size, keys() and has() see the live keys', async () => {
    const { policy } = breakers(new VirtualClock());
    await policy.execute('x', () => 1);
    await policy.execute('y', () => 1);
    expect(policy.size).toBe(2);
    expect([...policy.keys()]).toEqual(['x', 'y']);
    expect(policy.has('x')).toBe(true);
    expect(policy.has('z')).toBe(false);
  });

  it('_children() returns the live policies', async () => {
    const { policy } = breakers(new VirtualClock());
    await policy.execute('x', () => 1);
    expect(policy._children()).toEqual([policy.get('x')]);
  });

  it('health: ok when every key is ok, degraded when some are not, down when all are down', async () => {
    const clock = new VirtualClock();
    const { policy } = breakers(clock);
    expect(policy._health()).toMatchObject({ kind: 'keyed', status: 'ok', keys: 0 });
    await policy.execute('a', () => 1);
    await policy.execute('b', () => Promise.reject(new Error('x'))).catch(() => {});
    expect(policy._health()).toMatchObject({ status: 'degraded', keys: 2, down: 1, degraded: 0 });
    await policy.execute('a', () => Promise.reject(new Error('x'))).catch(() => {});
    expect(policy._health()).toMatchObject({ status: 'down', down: 2 });
  });

  it('health looks inside a pipeline per key', async () => {
    const clock = new VirtualClock();
    const policy = keyed(
      () => pipeline(retry({ maxAttempts: 1, clock }), circuitBreaker({ consecutiveFailures: 1, clock })),
      {
        clock,
      },
    );
    await policy.execute('a', () => Promise.reject(new Error('x'))).catch(() => {});
    expect(policy._health()).toMatchObject({ status: 'down', down: 1 });
  });

  it('is a KeyedPolicy with kind keyed and an optional name', () => {
    const policy = keyed(() => circuitBreaker(), { name: 'per-host' });
    expect(policy).toBeInstanceOf(KeyedPolicy);
    expect([policy.kind, policy.name, policy.maxKeys, policy.idleTtl]).toEqual([
      'keyed',
      'per-host',
      1000,
      300_000,
    ]);
  });

  it('idleTtl may be Infinity: only maxKeys evicts', async () => {
    const clock = new VirtualClock();
    const { policy } = breakers(clock, { idleTtl: Number.POSITIVE_INFINITY, maxKeys: 1 });
    await policy.execute('a', () => 1);
    await clock.advance(1e9);
    expect(policy.has('a')).toBe(true);
    await policy.execute('b', () => 1);
    expect([...policy.keys()]).toEqual(['b']);
  });
});

describe('keyed: options', () => {
  it.each([
    [{ maxKeys: 0 }, 'keyed: maxKeys must be an integer ≥ 1, got 0'],
    [{ maxKeys: 1.5 }, 'keyed: maxKeys must be an integer ≥ 1, got 1.5'],
    [{ idleTtl: 0 }, 'keyed: idleTtl must be a number > 0, got 0'],
    [{ idleTtl: -5 }, 'keyed: idleTtl must be a number > 0, got -5'],
    [{ name: 5 }, 'keyed: name must be a non-empty string, got 5'],
    [{ maxkeys: 5 }, 'keyed: unknown option "maxkeys"'],
  ])('rejects %j', (options, message) => {
    expect(() => keyed(() => circuitBreaker(), options as never)).toThrow(message);
  });

  it('rejects a factory that is not a function', () => {
    expect(() => keyed('nope' as never)).toThrow('keyed: expected a function key => policy, got "nope"');
  });
});
