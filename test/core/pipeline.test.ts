import { describe, expect, it, vi } from 'vitest';
import { fallback, Pipeline, type PipelineEvent, pipeline, retry, timeout } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { Recorder } from './layers.js';

describe('pipeline', () => {
  it('runs policies outermost first and returns the result', async () => {
    let calls = 0;
    const p = pipeline(fallback({ value: 'fallback' }), retry({ maxAttempts: 3, backoff: 0 }));
    const result = await p.execute(() => {
      calls += 1;
      if (calls < 3) throw new Error(`fail ${calls}`);
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('falls back when every attempt failed', async () => {
    const p = pipeline(fallback({ value: 'fallback' }), retry({ maxAttempts: 2, backoff: 0 }), timeout(1000));
    await expect(p.execute(() => Promise.reject(new Error('down')))).resolves.toBe('fallback');
  });

  it('order matters: retry outside a timeout bounds each attempt, inside it bounds the whole call', async () => {
    const clock = new VirtualClock();
    const hang = ({ signal }: { signal: AbortSignal }) =>
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    let perAttempt = 0;
    const each = pipeline(retry({ maxAttempts: 3, backoff: 0, clock }), timeout({ ms: 100, clock }));
    const a = each.execute((ctx) => {
      perAttempt++;
      return hang(ctx);
    });
    const aOutcome = a.catch((e: unknown) => e);
    await clock.runAll();
    expect(await aOutcome).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(perAttempt).toBe(3);
    expect(clock.now()).toBe(300);

    let whole = 0;
    const total = pipeline(timeout({ ms: 100, clock }), retry({ maxAttempts: 3, backoff: 0, clock }));
    const b = total.execute((ctx) => {
      whole++;
      return hang(ctx);
    });
    const bOutcome = b.catch((e: unknown) => e);
    await clock.runAll();
    expect(await bOutcome).toMatchObject({ code: 'ERR_TIMEOUT' });
    // The whole call's deadline aborts the signal; retry does not start another attempt.
    expect(whole).toBe(1);
  });

  it('flattens nested pipelines into one list of layers and keeps the nesting for inspection', async () => {
    const log: string[] = [];
    const a = new Recorder('a', log);
    const b = new Recorder('b', log);
    const c = new Recorder('c', log);
    const inner = pipeline(b, c);
    const outer = pipeline(a, inner);
    expect(outer._layers).toEqual([a, b, c]);
    expect(outer.policies).toEqual([a, inner]);
    expect(outer._children()).toEqual([a, inner]);
    await outer.execute(() => 'x');
    expect(log).toEqual([
      'enter a',
      'enter b',
      'enter c',
      'success c token c',
      'success b token b',
      'success a token a',
    ]);
  });

  it('an empty pipeline just runs the function', async () => {
    await expect(pipeline().execute(() => 'bare')).resolves.toBe('bare');
  });

  it('takes a name as its first argument and defaults to "pipeline"', () => {
    expect(pipeline(retry()).name).toBe('pipeline');
    const named = pipeline({ name: 'inventory' }, retry());
    expect(named).toBeInstanceOf(Pipeline);
    expect(named.kind).toBe('pipeline');
    expect(named.name).toBe('inventory');
    expect(pipeline({}, retry()).name).toBe('pipeline');
  });

  it('rejects bad options and non-policy arguments naming them', () => {
    expect(() => pipeline(retry(), {} as never)).toThrow(/argument 2 is not a policy/);
    expect(() => pipeline(null as never)).toThrow('pipeline: expected policies or { name } first, got null');
    expect(() => pipeline({ nme: 'x' } as never)).toThrow('pipeline: unknown option "nme" (expected: name)');
    expect(() => pipeline({ name: '' })).toThrow('pipeline: name must be a non-empty string, got ""');
    expect(() => pipeline({ name: 3 } as never)).toThrow(TypeError);
    expect(() => pipeline({ name: 'p' }, 'retry' as never)).toThrow(
      'pipeline: argument 1 is not a policy, got "retry"',
    );
  });

  it('emits its own success and failure events with the value or error', async () => {
    const p = pipeline(retry({ maxAttempts: 1 }));
    const successes: unknown[] = [];
    const failures: unknown[] = [];
    const offS = p.on('success', (e) => successes.push(e.value));
    const offF = p.on('failure', (e) => failures.push(e.error));
    await p.execute(() => 'v');
    const error = new Error('e');
    await expect(p.execute(() => Promise.reject(error))).rejects.toBe(error);
    expect(successes).toEqual(['v']);
    expect(failures).toEqual([error]);
    offS();
    await expect(p.execute(() => Promise.reject(error))).rejects.toBe(error);
    expect(failures).toHaveLength(2);
    offF();
    await p.execute(() => 'quiet');
    expect(successes).toEqual(['v']);
  });

  it('onEvent sees every event of every policy, nested ones included, tagged with the pipeline name', async () => {
    const clock = new VirtualClock();
    const r = retry({ maxAttempts: 2, backoff: 10, clock, name: 'r' });
    const t = timeout({ ms: 50, clock });
    const fb = fallback({ value: 'fb' });
    const p = pipeline({ name: 'inventory' }, fb, pipeline(r, t));
    const events: PipelineEvent[] = [];
    const off = p.onEvent((e) => events.push(e));
    const call = p.execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    await clock.runAll();
    await expect(call).resolves.toBe('fb');
    const seen = events.map((e) => `${e.pipeline}/${e.policy}/${e.policyName}:${e.event}`);
    expect(seen).toEqual([
      'inventory/timeout/timeout:timeout',
      'inventory/timeout/timeout:failure',
      'inventory/retry/r:retry',
      'inventory/timeout/timeout:timeout',
      'inventory/timeout/timeout:failure',
      'inventory/retry/r:giveUp',
      'inventory/retry/r:failure',
      'inventory/fallback/fallback:fallback',
    ]);
    expect(events[2]!.data).toMatchObject({ attempt: 1, delay: 10 });
    off();
    off();
    const before = events.length;
    await p.execute(() => 'ok');
    expect(events).toHaveLength(before);
  });

  it('onEvent subscribes once to a policy that appears twice and rejects a non-function', async () => {
    const r = retry({ maxAttempts: 1 });
    const p = pipeline(r, pipeline(r));
    const listener = vi.fn();
    p.onEvent(listener);
    await p.execute(() => 'v');
    // The same retry runs as two layers, so it succeeds twice; each success is seen once.
    expect(listener).toHaveBeenCalledTimes(2);
    expect(() => p.onEvent('x' as never)).toThrow('pipeline: onEvent needs a function listener');
  });

  it('wrap returns a function with the same parameters that runs each call through the pipeline', async () => {
    let calls = 0;
    const add = (a: number, b: number) => {
      calls++;
      if (calls === 1) throw new Error('first fails');
      return a + b;
    };
    const safeAdd = pipeline(retry({ maxAttempts: 2, backoff: 0 })).wrap(add);
    await expect(safeAdd(2, 3)).resolves.toBe(5);
    expect(calls).toBe(2);
    expect(() => pipeline().wrap('x' as never)).toThrow('pipeline: wrap needs a function, got string');
  });

  it('execute rejects a non-function and an already aborted signal without calling anything', async () => {
    await expect(pipeline().execute('x' as never)).rejects.toThrow(
      'pipeline: execute needs a function, got string',
    );
    const caller = new AbortController();
    caller.abort(new Error('gone'));
    const fn = vi.fn();
    await expect(pipeline(retry()).execute(fn, { signal: caller.signal })).rejects.toThrow('gone');
    expect(fn).not.toHaveBeenCalled();
  });

  it('passes key and priority to the context', async () => {
    const seen = await pipeline(retry()).execute((ctx) => [ctx.key, ctx.priority, ctx.attempt], {
      key: 'eu',
      priority: 5,
    });
    expect(seen).toEqual(['eu', 5, 1]);
    expect(await pipeline().execute((ctx) => ctx.priority)).toBe(0);
  });
});
