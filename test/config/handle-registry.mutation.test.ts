import { describe, expect, it } from 'vitest';
import { registry, validateConfig } from '../../src/config/index.js';
import { type CircuitBreakerPolicy, health, pipeline, ResilienceError } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { fail, settle } from './helpers.js';

describe('PipelineHandle (src/config/handle.ts)', () => {
  it('configured is true while the configuration defines the pipeline, false once removed', () => {
    const policies = registry({ a: {}, b: {} });
    const b = policies.get('b');
    expect(b.configured).toBe(true);
    policies.update({ a: {} });
    expect(b.configured).toBe(false);
  });

  it('retryBudget of a removed pipeline is undefined rather than an error', () => {
    const policies = registry({ a: {}, b: { retryBudget: { ratio: 0.1 }, retry: {} } });
    const b = policies.get('b');
    expect(b.retryBudget).toBeDefined();
    policies.update({ a: {} });
    expect(b.retryBudget).toBeUndefined();
  });

  it('execute emits success to a listener of success alone', async () => {
    const handle = registry({ p: {} }).get('p');
    const values: unknown[] = [];
    handle.on('success', ({ value }) => values.push(value));
    expect(await handle.execute(() => 7)).toBe(7);
    expect(values).toEqual([7]);
  });

  it('execute emits failure to a listener of failure alone', async () => {
    const handle = registry({ p: {} }).get('p');
    const errors: unknown[] = [];
    handle.on('failure', ({ error }) => errors.push((error as Error).message));
    await expect(handle.execute(fail)).rejects.toThrow('down');
    expect(errors).toEqual(['down']);
  });

  it('nested in a pipeline, the handle emits success to a listener of success alone', async () => {
    const handle = registry({ p: {} }).get('p');
    const values: unknown[] = [];
    handle.on('success', ({ value }) => values.push(value));
    expect(await pipeline(handle).execute(() => 'nested')).toBe('nested');
    expect(values).toEqual(['nested']);
  });

  it('nested in a pipeline, the handle emits failure to a listener of failure alone', async () => {
    const handle = registry({ p: {} }).get('p');
    const errors: unknown[] = [];
    handle.on('failure', ({ error }) => errors.push((error as Error).message));
    await expect(pipeline(handle).execute(fail)).rejects.toThrow('down');
    expect(errors).toEqual(['down']);
  });

  it('like pipeline(), a call started with nobody listening reports no outcome to a listener added while it runs', async () => {
    const lateHandle = registry({ p: {} }).get('p');
    const latePlain = pipeline();
    const seen: string[] = [];
    let open: (value: string) => void = () => {};
    const gate = new Promise<string>((resolve) => {
      open = resolve;
    });
    const calls = [lateHandle.execute(() => gate), latePlain.execute(() => gate)];
    lateHandle.on('success', ({ value }) => seen.push(`late handle ${value}`));
    latePlain.on('success', ({ value }) => seen.push(`late plain ${value}`));
    open('first');
    expect(await Promise.all(calls)).toEqual(['first', 'first']);
    expect(seen).toEqual([]);
    await lateHandle.execute(() => 'second');
    await latePlain.execute(() => 'second');
    expect(seen).toEqual(['late handle second', 'late plain second']);
  });

  it('nested in a pipeline, a call started with nobody listening reports no outcome to a listener added while it runs', async () => {
    const handle = registry({ p: {} }).get('p');
    const outer = pipeline(handle);
    const seen: string[] = [];
    let open: (value: string) => void = () => {};
    const gate = new Promise<string>((resolve) => {
      open = resolve;
    });
    const call = outer.execute(() => gate);
    handle.on('success', ({ value }) => seen.push(value as string));
    open('first');
    expect(await call).toBe('first');
    expect(seen).toEqual([]);
    expect(await outer.execute(() => 'second')).toBe('second');
    expect(seen).toEqual(['second']);
  });

  it('health is the worst of its policies, even when a healthy policy comes after the unhealthy one', () => {
    const handle = registry({ p: { circuitBreaker: {}, timeout: '1s' } }).get('p');
    expect(handle.order).toEqual(['circuitBreaker', 'timeout']);
    const release = (handle.policy('circuitBreaker') as CircuitBreakerPolicy).isolate();
    expect(handle._health()).toEqual({ kind: 'pipeline', name: 'p', status: 'down', configured: true });
    release();
    expect(health({ payments: handle }).policies[0]).toEqual({
      kind: 'pipeline',
      name: 'p',
      status: 'ok',
      configured: true,
      path: 'payments',
    });
  });

  it('health of a removed pipeline is down and says it is not configured', () => {
    const policies = registry({ a: {}, b: { timeout: '1s' } });
    const b = policies.get('b');
    policies.update({ a: {} });
    expect(health({ b }).policies).toEqual([
      { kind: 'pipeline', name: 'b', status: 'down', configured: false, path: 'b' },
    ]);
  });

  it('onEvent rejects a non-function listener with a message naming the pipeline API', () => {
    const handle = registry({ p: {} }).get('p');
    expect(() => handle.onEvent('nope' as never)).toThrow(
      new TypeError('pipeline: onEvent needs a function listener'),
    );
  });

  it('reload reports a removal with no changed policies and removed: true', () => {
    const policies = registry({ a: {}, b: { timeout: '1s' } });
    const b = policies.get('b');
    const reloads: unknown[] = [];
    b.on('reload', (e) => reloads.push(e));
    policies.update({ a: {} });
    expect(reloads).toEqual([{ changed: [], removed: true }]);
  });

  it('reload of a re-added pipeline lists its keys in a list of its own, with removed: false', () => {
    const policies = registry({ a: {}, b: {} });
    const b = policies.get('b');
    policies.update({ a: {} });
    const reloads: { changed: readonly string[]; removed: boolean }[] = [];
    b.on('reload', (e) => reloads.push(e));
    policies.update({ a: {}, b: { retry: {}, timeout: '1s' } });
    expect(reloads).toEqual([{ changed: ['retry', 'timeout'], removed: false }]);
    // The list is a copy: a listener that edits it does not change the handle's order.
    expect(reloads[0]!.changed).not.toBe(b.order);
    (reloads[0]!.changed as string[]).length = 0;
    expect(b.order).toEqual(['retry', 'timeout']);
  });

  it('a call on a removed pipeline fails with a non-retryable ERR_PIPELINE_REMOVED', async () => {
    const policies = registry({ a: {}, b: {} });
    const b = policies.get('b');
    policies.update({ a: {} });
    const direct = await settle(b.execute(() => 1));
    const nested = await settle(pipeline(b).execute(() => 1));
    for (const result of [direct, nested]) {
      expect(result.ok).toBe(false);
      const error = (result as { error: ResilienceError }).error;
      expect(error).toBeInstanceOf(ResilienceError);
      expect(error.code).toBe('ERR_PIPELINE_REMOVED');
      expect(error.message).toBe('bulwark/config: pipeline "b" is no longer in the configuration');
      expect(error.retryable).toBe(false);
    }
  });
});

describe('Registry (src/config/registry.ts)', () => {
  it('rejects options that are not an object, naming registry and options', () => {
    expect(() => registry({ a: {} }, 5 as never)).toThrow(
      new TypeError('registry: options must be an object, got 5'),
    );
  });

  it('rejects a clock without the clock methods, naming registry', () => {
    expect(() => registry({ a: {} }, { clock: {} as never })).toThrow(
      new TypeError('registry: clock must have now(), setTimeout() and clearTimeout(), got object'),
    );
  });

  it('is an emitter of kind and name "registry"', () => {
    const policies = registry({ a: {} });
    expect([policies.kind, policies.name]).toEqual(['registry', 'registry']);
    expect(() => policies.on('update', 1 as never)).toThrow(
      new TypeError('registry: on("update") needs a function listener'),
    );
  });

  it('onEvent rejects a non-function listener with a message naming the registry API', () => {
    expect(() => registry({ a: {} }).onEvent(undefined as never)).toThrow(
      new TypeError('registry: onEvent needs a function listener'),
    );
  });

  it('onEvent stops forwarding after a single unsubscribe', async () => {
    const clock = new VirtualClock();
    const policies = registry({ p: { retry: { maxAttempts: 2, backoff: 0 } } }, { clock });
    const events: string[] = [];
    const stop = policies.onEvent((e) => events.push(`${e.pipeline}:${e.policyName}:${e.event}`));
    const first = settle(policies.get('p').execute(fail));
    await clock.runAll();
    expect((await first).ok).toBe(false);
    expect(events).toEqual(['p:p.retry:retry', 'p:p.retry:giveUp', 'p:p.retry:failure']);
    stop();
    const second = settle(policies.get('p').execute(fail));
    await clock.runAll();
    expect((await second).ok).toBe(false);
    expect(events).toHaveLength(3);
  });

  it('validateConfig checks the code option too', () => {
    expect(validateConfig({ p: {} }, { code: { q: {} } }).map((issue) => issue.path)).toEqual(['code.q']);
    expect(validateConfig({ p: {} }, { code: { p: {} } })).toEqual([]);
  });
});
