import { describe, expect, it } from 'vitest';
import { LayerMode } from '../../src/core/policy.js';
import {
  CHAOS_OPTIONS,
  ChaosError,
  type ChaosEvents,
  type Context,
  chaos,
  pipeline,
  retry,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

/** Returns the given numbers in turn, as `random`. */
function sequence(...values: number[]) {
  let i = 0;
  const random = () => {
    const value = values[i % values.length]!;
    i++;
    return value;
  };
  return Object.assign(random, {
    get calls() {
      return i;
    },
  });
}

/** A seeded PRNG (mulberry32) for statistical checks that never flake. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('chaos.fault', () => {
  it('throws a new ChaosError by default instead of calling the work', async () => {
    const policy = chaos.fault({ rate: 1 });
    let calls = 0;
    const first = policy.execute(() => ++calls).catch((e: unknown) => e);
    const second = policy.execute(() => ++calls).catch((e: unknown) => e);
    const [a, b] = await Promise.all([first, second]);
    expect(a).toBeInstanceOf(ChaosError);
    expect((a as ChaosError).code).toBe('ERR_CHAOS');
    expect(a).not.toBe(b);
    expect(calls).toBe(0);
  });

  it('affects a call when random() < rate, so a seeded random decides exactly which', async () => {
    const policy = chaos.fault({ rate: 0.3, random: sequence(0.1, 0.5, 0.29, 0.3) });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(await policy.execute(() => 'ok').catch(() => 'fault'));
    }
    expect(outcomes).toEqual(['fault', 'ok', 'fault', 'ok']);
  });

  it('rate 0 never injects', async () => {
    const policy = chaos.fault({ rate: 0 });
    for (let i = 0; i < 100; i++) await expect(policy.execute(() => i)).resolves.toBe(i);
  });

  it('injects about rate × calls over many calls', async () => {
    const policy = chaos.fault({ rate: 0.25, random: mulberry32(42) });
    let faults = 0;
    for (let i = 0; i < 4_000; i++) {
      await policy.execute(() => 0).catch(() => faults++);
    }
    expect(faults).toBeGreaterThan(900);
    expect(faults).toBeLessThan(1_100);
  });

  it('throws the given error, or the error a function of the context returns', async () => {
    const boom = new Error('boom');
    await expect(chaos.fault({ rate: 1, error: boom }).execute(() => 1)).rejects.toBe(boom);
    const keyed = chaos.fault({ rate: 1, error: (ctx) => new Error(`fault for ${String(ctx.key)}`) });
    await expect(keyed.execute(() => 1, { key: 'eu-west' })).rejects.toThrow('fault for eu-west');
  });

  it('emits chaos {kind: fault, error}', async () => {
    const boom = new Error('boom');
    const policy = chaos.fault({ rate: 1, error: boom });
    const events: ChaosEvents['chaos'][] = [];
    policy.on('chaos', (e) => events.push(e));
    await policy.execute(() => 1).catch(() => {});
    expect(events).toEqual([{ kind: 'fault', error: boom }]);
  });

  it('an injected fault is retryable: retry outside sees it like a real failure', async () => {
    let calls = 0;
    const policy = pipeline(
      retry({ maxAttempts: 3, backoff: 0 }),
      chaos.fault({ rate: 0.5, random: sequence(0, 0, 0.9) }),
    );
    await expect(policy.execute(() => ++calls)).resolves.toBe(1);
    expect(calls).toBe(1);
  });
});

describe('enabled', () => {
  it('with enabled: false nothing is injected and random is never called', async () => {
    const random = sequence(0);
    const policy = chaos.fault({ rate: 1, enabled: false, random });
    await expect(policy.execute(() => 'ok')).resolves.toBe('ok');
    expect(random.calls).toBe(0);
  });

  it('a function is evaluated per call with the context (e.g. only for one key)', async () => {
    const seen: unknown[] = [];
    const policy = chaos.fault({
      rate: 1,
      enabled: (ctx: Context) => {
        seen.push(ctx.key);
        return ctx.key === 'canary';
      },
    });
    await expect(policy.execute(() => 'ok', { key: 'stable' })).resolves.toBe('ok');
    await expect(policy.execute(() => 'ok', { key: 'canary' })).rejects.toBeInstanceOf(ChaosError);
    expect(seen).toEqual(['stable', 'canary']);
  });

  it('a function can follow an environment switch flipped at run time', async () => {
    let flag = '0';
    const policy = chaos.fault({ rate: 1, enabled: () => flag === '1' });
    await expect(policy.execute(() => 'ok')).resolves.toBe('ok');
    flag = '1';
    await expect(policy.execute(() => 'ok')).rejects.toBeInstanceOf(ChaosError);
  });
});

describe('chaos.latency', () => {
  it('waits ms on the clock before calling the work', async () => {
    const clock = new VirtualClock();
    const policy = chaos.latency({ rate: 1, ms: 250, clock });
    let startedAt = -1;
    const call = policy.execute(() => {
      startedAt = clock.now();
      return 'done';
    });
    await clock.advance(249);
    expect(startedAt).toBe(-1);
    await clock.advance(1);
    await expect(call).resolves.toBe('done');
    expect(startedAt).toBe(250);
  });

  it('does not delay calls it does not select', async () => {
    const clock = new VirtualClock();
    const policy = chaos.latency({ rate: 0.5, ms: 250, clock, random: sequence(0.7) });
    await expect(policy.execute(() => 'now')).resolves.toBe('now');
    expect(clock.pending).toBe(0);
  });

  it('takes ms from a function of the context; odd answers (negative, NaN, Infinity) mean no delay', async () => {
    const clock = new VirtualClock();
    const answers = [120, -5, Number.NaN, Number.POSITIVE_INFINITY];
    let i = 0;
    const policy = chaos.latency({ rate: 1, ms: () => answers[i++]!, clock });
    const events: ChaosEvents['chaos'][] = [];
    policy.on('chaos', (e) => events.push(e));
    const first = policy.execute(() => clock.now());
    await clock.advance(120);
    await expect(first).resolves.toBe(120);
    for (let k = 0; k < 3; k++) {
      const call = policy.execute(() => clock.now());
      await clock.advance(0);
      await expect(call).resolves.toBe(120);
    }
    expect(events).toEqual([
      { kind: 'latency', ms: 120 },
      { kind: 'latency', ms: 0 },
      { kind: 'latency', ms: 0 },
      { kind: 'latency', ms: 0 },
    ]);
  });

  it("ends the wait at once when the caller aborts, with the caller's reason, and never calls the work", async () => {
    const clock = new VirtualClock();
    const policy = chaos.latency({ rate: 1, ms: 10_000, clock });
    const controller = new AbortController();
    let calls = 0;
    const call = policy.execute(() => ++calls, { signal: controller.signal });
    await clock.advance(10);
    controller.abort(new Error('user left'));
    await expect(call).rejects.toThrow('user left');
    expect(clock.pending).toBe(0);
    await clock.advance(20_000);
    expect(calls).toBe(0);
  });
});

describe('chaos.result', () => {
  it('returns the value instead of calling the work', async () => {
    const policy = chaos.result({ rate: 1, value: { status: 503 } });
    let calls = 0;
    await expect(policy.execute(() => ++calls)).resolves.toEqual({ status: 503 });
    expect(calls).toBe(0);
  });

  it('calls a function value with the context, and awaits a promise it returns', async () => {
    const policy = chaos.result({ rate: 1, value: async (ctx: Context) => `cached:${String(ctx.key)}` });
    await expect(policy.execute(() => 'live', { key: 'k1' })).resolves.toBe('cached:k1');
  });

  it('calls the work when not selected', async () => {
    const policy = chaos.result({ rate: 0.1, value: 'fake', random: sequence(0.5) });
    await expect(policy.execute(() => 'live')).resolves.toBe('live');
  });

  it('emits chaos {kind: result, value} and success', async () => {
    const policy = chaos.result({ rate: 1, value: 'fake' });
    const events: unknown[] = [];
    policy.on('chaos', (e) => events.push(e));
    policy.on('success', (e) => events.push(e));
    await policy.execute(() => 'live');
    expect(events).toEqual([{ kind: 'result', value: 'fake' }, { value: 'fake' }]);
  });

  it('passes success and failure events through when it does not inject', async () => {
    const policy = chaos.result({ rate: 0, value: 'fake' });
    const events: unknown[] = [];
    policy.on('success', (e) => events.push(e));
    policy.on('failure', (e) => events.push(e));
    await policy.execute(() => 'live');
    const boom = new Error('boom');
    await expect(policy.execute(() => Promise.reject(boom))).rejects.toBe(boom);
    expect(events).toEqual([{ value: 'live' }, { error: boom }]);
  });

  it('is a plain step (no extra frame) when enabled is false, an around layer otherwise', async () => {
    const off = chaos.result({ rate: 1, value: 'fake', enabled: false });
    expect(off._mode).toBe(LayerMode.Step);
    await expect(off.execute(() => 'live')).resolves.toBe('live');
    expect(chaos.result({ rate: 1, value: 'fake', enabled: () => false })._mode).toBe(LayerMode.Around);
    expect(chaos.result({ rate: 1, value: 'fake' })._mode).toBe(LayerMode.Around);
  });

  it('replaces the result inside a pipeline: outer policies see the injected value', async () => {
    let calls = 0;
    const policy = pipeline(
      retry({ maxAttempts: 3, backoff: 0, retryOnResult: (r) => r === 'fake' }),
      chaos.result({ rate: 0.5, value: 'fake', random: sequence(0.1, 0.9) }),
    );
    await expect(policy.execute(() => `live ${++calls}`)).resolves.toBe('live 1');
  });
});

describe('chaos options', () => {
  it('exports the three factories on a frozen object, and the option names', () => {
    expect(Object.keys(chaos)).toEqual(['fault', 'latency', 'result']);
    expect(Object.isFrozen(chaos)).toBe(true);
    expect(CHAOS_OPTIONS.latency).toContain('ms');
    expect(chaos.fault({ rate: 1 }).name).toBe('chaos.fault');
    expect(chaos.latency({ rate: 1, ms: 1 }).kind).toBe('chaos');
    expect(chaos.result({ rate: 1, value: 1, name: 'fake-503' }).name).toBe('fake-503');
  });

  it('validates options at construction', () => {
    expect(() => chaos.fault(undefined as never)).toThrow('chaos.fault: options are required: { rate }');
    expect(() => chaos.fault({} as never)).toThrow(
      'chaos.fault: rate must be a number ≥ 0 and ≤ 1, got undefined',
    );
    expect(() => chaos.fault({ rate: 1.5 })).toThrow(
      'chaos.fault: rate must be a number ≥ 0 and ≤ 1, got 1.5',
    );
    expect(() => chaos.fault({ rate: 1, enabled: 'yes' as never })).toThrow(
      'chaos.fault: enabled must be a boolean or a function, got "yes"',
    );
    expect(() => chaos.fault({ rate: 1, random: 0.5 as never })).toThrow(/random must be a function/);
    expect(() => chaos.fault({ rate: 1, error: 'oops' as never })).toThrow(
      /error must be an Error or a function returning one/,
    );
    expect(() => chaos.fault({ rate: 1, ms: 5 } as never)).toThrow(/unknown option "ms"/);
    expect(() => chaos.latency({ rate: 1 } as never)).toThrow(/chaos.latency: ms must be a number ≥ 0/);
    expect(() => chaos.latency({ rate: 1, ms: -1 })).toThrow(/ms must be a number ≥ 0, got -1/);
    expect(() => chaos.latency({ rate: 1, ms: 1, clock: {} as never })).toThrow(/clock must have now/);
    expect(() => chaos.result({ rate: 1 } as never)).toThrow('chaos.result: value is required');
    expect(() => chaos.result({ rate: 1, value: 1, error: new Error() } as never)).toThrow(/unknown option/);
  });
});
