/**
 * Tests written to kill mutants that survived `npm run mutation` on src/core
 * (see docs/testing.md, "Mutation testing"): each pins a behaviour that no
 * other test observed. Named after the behaviour, not the mutant.
 */
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkBudget } from '../../src/core/budget.js';
import { checkClock, setTimerKeepAlive, systemClock } from '../../src/core/clock.js';
import { ExecutionContext } from '../../src/core/context.js';
import { ChaosError, retryAfterOf, ThrottledError } from '../../src/core/errors.js';
import { Emitter } from '../../src/core/events.js';
import { observeTree } from '../../src/core/observe.js';
import { LayerMode, PolicyBase } from '../../src/core/policy.js';
import { sleep } from '../../src/core/sleep.js';
import { checkBoolean, checkOneOf, show } from '../../src/core/validate.js';
import {
  adaptiveConcurrency,
  bulkhead,
  circuitBreaker,
  hedge,
  keyed,
  pipeline,
  rateLimit,
  retry,
  retryBudget,
  timeout,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { Reloadable } from '../helpers/policies.js';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('retry budget contract (core/budget)', () => {
  const noop = () => {};
  const yes = () => true;

  it('accepts only an object with recordAttempt() and tryRetry()', () => {
    expect(() => retry({ budget: { recordAttempt: noop } as never })).toThrow(
      new TypeError('retry: budget must be a retryBudget(), got object'),
    );
    expect(() => retry({ budget: { tryRetry: yes } as never })).toThrow(TypeError);
    expect(() =>
      retry({ budget: Object.assign(noop, { recordAttempt: noop, tryRetry: yes }) as never }),
    ).toThrow(new TypeError('retry: budget must be a retryBudget(), got function'));
    expect(checkBudget('retry', undefined)).toBeUndefined();
  });

  it('records a call once per budget, however many policies of the call share it', async () => {
    const a = retryBudget();
    const b = retryBudget();
    const c = retryBudget();
    await pipeline(
      retry({ budget: a }),
      retry({ budget: b }),
      retry({ budget: c }),
      retry({ budget: a }),
      retry({ budget: b }),
    ).execute(() => 'ok');
    expect([a.stats.attempts, b.stats.attempts, c.stats.attempts]).toEqual([1, 1, 1]);
  });

  it('finds the call’s root from inside a scope (a hedge under a timeout shares the retry’s budget)', async () => {
    const clock = new VirtualClock();
    const budget = retryBudget({ clock });
    await pipeline(
      retry({ budget, clock }),
      timeout({ ms: 1_000, clock }),
      hedge({ delay: 500, budget, clock }),
    ).execute(() => 'ok');
    expect(budget.stats.attempts).toBe(1);
  });
});

describe('clock helpers (core/clock)', () => {
  it('checkClock rejects a clock missing any of its three methods, or a function', () => {
    const now = () => 0;
    const set = () => 1;
    const clear = () => {};
    expect(() => checkClock('p', { setTimeout: set, clearTimeout: clear })).toThrow(TypeError);
    expect(() => checkClock('p', { now, clearTimeout: clear })).toThrow(TypeError);
    expect(() => checkClock('p', { now, setTimeout: set })).toThrow(TypeError);
    expect(() =>
      checkClock(
        'p',
        Object.assign(() => {}, { now, setTimeout: set, clearTimeout: clear }),
      ),
    ).toThrow(new TypeError('p: clock must have now(), setTimeout() and clearTimeout(), got function'));
    const clock = { now, setTimeout: set, clearTimeout: clear };
    expect(checkClock('p', clock)).toBe(clock);
  });

  it('systemClock works where timers are plain numbers (browsers): unref is optional', () => {
    vi.stubGlobal('setTimeout', () => 42);
    expect(systemClock.setTimeout(() => {}, 10, true)).toBe(42);
  });

  it('setTimerKeepAlive ignores handles that are not timer objects', () => {
    expect(() => setTimerKeepAlive(null, true)).not.toThrow();
    expect(() => setTimerKeepAlive(7, false)).not.toThrow();
    expect(() => setTimerKeepAlive({}, false)).not.toThrow();
    expect(() => setTimerKeepAlive({}, true)).not.toThrow();
  });
});

describe('execution context (core/context)', () => {
  it('creates nothing to listen to for a context that can never abort', () => {
    const ctx = new ExecutionContext(undefined, undefined, 0);
    expect(ctx.onAbort(() => {})).toBe(ctx.onAbort(() => {}));
  });

  it('lingering covers every piece of work left behind, not only the last', async () => {
    const ctx = new ExecutionContext(undefined, undefined, 0);
    let finishFirst!: () => void;
    let finishSecond!: () => void;
    ctx.linger(new Promise<void>((resolve) => (finishFirst = resolve)));
    ctx.linger(new Promise<void>((resolve) => (finishSecond = resolve)));
    let settled = false;
    void ctx.lingering!.then(() => {
      settled = true;
    });
    finishSecond();
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    finishFirst();
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(true);
  });

  it('a scope’s link to its parent signal goes once the parent aborted, even if the scope is never disposed', () => {
    const caller = new AbortController();
    const child = new ExecutionContext(caller.signal, undefined, 0).fork();
    void child.signal;
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
    caller.abort('gone');
    expect(child.signal.aborted).toBe(true);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });
});

describe('errors (core/errors)', () => {
  it('ThrottledError and ChaosError carry their codes, default messages and retryability', () => {
    const throttled = new ThrottledError();
    expect(throttled).toMatchObject({ code: 'ERR_THROTTLED', retryable: false, name: 'ThrottledError' });
    expect(throttled.message).toBe('Request throttled locally: the backend is rejecting most requests');
    const chaos = new ChaosError();
    expect(chaos).toMatchObject({ code: 'ERR_CHAOS', retryable: true, message: 'Injected fault (chaos)' });
  });

  it('retryAfterOf reads nothing from null, undefined or primitives', () => {
    expect(retryAfterOf(null)).toBeUndefined();
    expect(retryAfterOf(undefined)).toBeUndefined();
    expect(retryAfterOf(5)).toBeUndefined();
    expect(retryAfterOf({ retryAfter: 5 })).toBe(5);
  });
});

class Source extends Emitter<{ tick: number; other: number }> {
  fire(n: number): void {
    this.emit('tick', n);
  }
}

describe('event subscriptions (core/events)', () => {
  it('an unsubscribe called again does not remove a later subscription of the same listener', () => {
    const source = new Source('test', undefined);
    const seen: number[] = [];
    const listener = (n: number) => seen.push(n);
    const off = source.on('tick', listener);
    off();
    source.on('tick', listener);
    off();
    source.fire(1);
    expect(seen).toEqual([1]);

    const any: string[] = [];
    const anyListener = (event: string) => any.push(event);
    const offAny = source.onAny(anyListener);
    offAny();
    source.onAny(anyListener);
    offAny();
    source.fire(2);
    expect(any).toEqual(['tick']);
  });

  it('removing one onAny listener keeps the others, quiet ones included', () => {
    const source = new Source('test', undefined);
    const heard: string[] = [];
    const offA = source.onAny(() => heard.push('a'));
    source.onAny(() => heard.push('b'));
    const offQuietA = source.onAny(() => heard.push('qa'), { outcomes: false });
    source.onAny(() => heard.push('qb'), { outcomes: false });
    offA();
    offQuietA();
    source.fire(1);
    expect(heard).toEqual(['b', 'qb']);
  });

  it('emitting with no subscriber at all is a no-op', () => {
    expect(() => new Source('test', undefined).fire(1)).not.toThrow();
  });

  it('once its last quiet onAny listener is removed, nobody is listening any more', () => {
    const source = new Source('test', undefined);
    const listening = (event: string) =>
      (source as unknown as { listening(e: string): boolean }).listening(event);
    const off = source.onAny(() => {}, { outcomes: false });
    expect(listening('tick')).toBe(true);
    off();
    expect(listening('tick')).toBe(false);
  });
});

describe('observing a tree (core/observe)', () => {
  it('drops an evicted key’s policy and follows a reloaded tree', async () => {
    const clock = new VirtualClock();
    const created: PolicyBase<any>[] = [];
    const byKey = keyed(
      (key: string) => {
        const policy = retry({ name: key, maxAttempts: 1 });
        created.push(policy);
        return policy;
      },
      { idleTtl: 10, clock },
    );
    const heard: string[] = [];
    const off = observeTree(byKey, (event, _data, source) => heard.push(`${source.name}.${event}`), {
      includeRoot: false,
    });
    await byKey.execute('a', () => 1);
    await clock.advance(10);
    // Evicted for idleness, without any key being created.
    expect(byKey.has('a')).toBe(false);
    heard.length = 0;
    await created[0]!.execute(() => 'evicted a, called directly');
    expect(heard).toEqual([]);
    off();

    const first = retry({ name: 'first', maxAttempts: 1 });
    const second = retry({ name: 'second', maxAttempts: 1 });
    const handle = new Reloadable([first]);
    const seen: string[] = [];
    const off2 = observeTree(handle, (event, _data, source) => seen.push(`${source.name}.${event}`), {
      includeRoot: false,
    });
    handle.reload([second]);
    await first.execute(() => 1);
    await second.execute(() => 2);
    expect(seen).toEqual(['second.success']);
    off2();
  });

  it('after unsubscribing, an emit already under way no longer reaches the listener', async () => {
    const policy = retry({ name: 'r', maxAttempts: 1 });
    const heard: string[] = [];
    let off: () => void = () => {};
    policy.onAny(() => off());
    off = observeTree(policy, (event) => heard.push(event), { includeRoot: true });
    await policy.execute(() => 1);
    expect(heard).toEqual([]);
  });

  it('unsubscribing while a keyed root is creating a key subscribes nothing again', async () => {
    const byKey = keyed((key: string) => retry({ name: key, maxAttempts: 1 }));
    const heard: string[] = [];
    let off: () => void = () => {};
    byKey.on('create', () => off());
    off = observeTree(byKey, (event, _data, source) => heard.push(`${source.name}.${event}`), {
      includeRoot: false,
    });
    await byKey.execute('a', () => 1);
    await byKey.execute('b', () => 2);
    expect(heard).toEqual([]);
    // Nor was the root watched again (only the test's own `create` listener is left).
    const listening = (policy: unknown, event: string) =>
      (policy as { listening(e: string): boolean }).listening(event);
    expect(listening(byKey, 'evict')).toBe(false);
    expect(listening(byKey.get('a'), 'success')).toBe(false);
    // Nothing is left listening on the root either.
    const bare = keyed((key: string) => retry({ name: key }));
    observeTree(bare, () => {}, { includeRoot: false })();
    expect(listening(bare, 'create')).toBe(false);
    expect(listening(bare, 'evict')).toBe(false);
  });
});

describe('pipeline (core/pipeline)', () => {
  it('emits its own success to a listener of success alone, and failure to one of failure alone', async () => {
    const p = pipeline(retry({ maxAttempts: 1 }));
    const values: unknown[] = [];
    p.on('success', ({ value }) => values.push(value));
    await p.execute(() => 'v');
    expect(values).toEqual(['v']);

    const q = pipeline(retry({ maxAttempts: 1 }));
    const errors: unknown[] = [];
    q.on('failure', ({ error }) => errors.push((error as Error).message));
    await q.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    expect(errors).toEqual(['down']);
  });

  it('rejects a first argument that is neither a policy nor an options object, naming it', () => {
    expect(() => pipeline('fast' as never, retry())).toThrow(
      new TypeError('pipeline: expected policies or { name } first, got "fast"'),
    );
    expect(() => pipeline(null as never, retry())).toThrow(
      new TypeError('pipeline: expected policies or { name } first, got null'),
    );
  });
});

/**
 * A test layer that logs the token each of its exit steps (and `_recover`)
 * receives: `label token`, `label own scope` for the context it forked
 * (`scoped`), `recover label token` for a wrapper.
 */
type ProbeSpec = { token?: string; async?: boolean; scoped?: boolean; wrapper?: boolean };

class Probe extends PolicyBase {
  made: ExecutionContext | undefined;

  constructor(
    readonly label: string,
    readonly seen: string[],
    private readonly opts: ProbeSpec = {},
  ) {
    super('probe', label);
    if (opts.scoped === true) this._scoped = true;
    if (opts.wrapper === true) this._mode = LayerMode.Wrapper;
  }

  private show(token: unknown): string {
    return token !== undefined && token === this.made ? 'own scope' : String(token);
  }

  override _enter(ctx: ExecutionContext): unknown {
    let token: unknown = this.opts.token;
    if (this.opts.scoped === true) token = this.made = ctx.fork();
    return this.opts.async === true ? Promise.resolve(token) : token;
  }

  override _success(_ctx: ExecutionContext, token: unknown, _value: unknown): unknown {
    this.seen.push(`${this.label} ${this.show(token)}`);
    return undefined;
  }

  override _failure(_ctx: ExecutionContext, token: unknown, error: unknown): unknown {
    this.seen.push(`${this.label} ${this.show(token)}`);
    return error;
  }

  override _recover(
    _ctx: ExecutionContext,
    token: unknown,
    failed: boolean,
    outcome: unknown,
  ): Promise<unknown> {
    this.seen.push(`recover ${this.label} ${this.show(token)}`);
    return failed ? Promise.reject(outcome) : Promise.resolve(outcome);
  }
}

/** Runs `specs` as a pipeline of probes, once succeeding and once failing; returns both logs. */
async function probeRun(specs: ProbeSpec[]): Promise<{ ok: string[]; failed: string[] }> {
  const seen: string[] = [];
  const probes = specs.map((spec, i) => new Probe(String.fromCharCode(97 + i), seen, spec));
  const policy = pipeline(...probes);
  expect(await policy.execute(() => 'v')).toBe('v');
  const ok = seen.splice(0);
  const error = new Error('down');
  await expect(policy.execute(() => Promise.reject(error))).rejects.toBe(error);
  return { ok, failed: seen.splice(0) };
}

describe('executor (core/policy)', () => {
  it('every exit step and _recover sees exactly its own layer’s token, with 0 to 3 tokens among layers without one and scoped layers', async () => {
    // No token at all.
    expect(await probeRun([{}, {}])).toEqual({
      ok: ['b undefined', 'a undefined'],
      failed: ['b undefined', 'a undefined'],
    });
    // One token, between layers without one.
    expect(await probeRun([{}, { token: 'B' }, {}])).toEqual({
      ok: ['c undefined', 'b B', 'a undefined'],
      failed: ['c undefined', 'b B', 'a undefined'],
    });
    // One token in a wrapper, a scope and a tokenless layer inside it.
    expect(await probeRun([{}, { token: 'B', wrapper: true }, { scoped: true }, {}])).toEqual({
      ok: ['d undefined', 'c own scope', 'b B', 'a undefined'],
      failed: ['d undefined', 'c own scope', 'recover b B', 'a undefined'],
    });
    // Two tokens, the second one waited for, with a scope between them.
    expect(
      await probeRun([{ token: 'A' }, {}, { scoped: true }, { token: 'D', async: true }, { wrapper: true }]),
    ).toEqual({
      ok: ['e undefined', 'd D', 'c own scope', 'b undefined', 'a A'],
      failed: ['recover e undefined', 'd D', 'c own scope', 'b undefined', 'a A'],
    });
    // Three tokens, the first one waited for, a wrapper holding one of them.
    expect(
      await probeRun([
        { wrapper: true },
        { token: 'B', async: true },
        {},
        { token: 'D', wrapper: true },
        { scoped: true, async: true },
        { token: 'F' },
        {},
      ]),
    ).toEqual({
      ok: ['g undefined', 'f F', 'e own scope', 'd D', 'c undefined', 'b B', 'a undefined'],
      failed: [
        'g undefined',
        'f F',
        'e own scope',
        'recover d D',
        'c undefined',
        'b B',
        'recover a undefined',
      ],
    });
  });

  it('a scoped layer that waits before handing out its scope gives that scope to the inner layers and the work', async () => {
    const seen: string[] = [];
    const scope = new Probe('s', seen, { scoped: true, async: true });
    const inner = new Probe('i', seen, { token: 'I' });
    let workCtx: unknown;
    await pipeline(scope, inner).execute((ctx) => {
      workCtx = ctx;
      return 'v';
    });
    expect(workCtx).toBe(scope.made);
    expect(seen).toEqual(['i I', 's own scope']);
  });

  it('a layer that overrides only _success still has it called', async () => {
    const values: unknown[] = [];
    class OnSuccess extends PolicyBase {
      override _success(_ctx: ExecutionContext, _token: unknown, value: unknown): unknown {
        values.push(value);
        return undefined;
      }
    }
    await new OnSuccess('on-success', undefined).execute(() => 'v');
    expect(values).toEqual(['v']);
  });

  it('_mode reads back Step, Wrapper or Around, and setting Step makes a wrapper a step again', async () => {
    const clock = new VirtualClock();
    expect(circuitBreaker({ consecutiveFailures: 5, clock })._mode).toBe(LayerMode.Step);
    expect(retry()._mode).toBe(LayerMode.Wrapper);
    expect(hedge({ delay: 500, clock })._mode).toBe(LayerMode.Around);
    expect(timeout({ ms: 10, strategy: 'aggressive', clock })._mode).toBe(LayerMode.Around);

    const seen: string[] = [];
    const probe = new Probe('w', seen, { wrapper: true, token: 'W' });
    probe._mode = LayerMode.Step;
    expect(probe._mode).toBe(LayerMode.Step);
    const error = new Error('down');
    await expect(probe.execute(() => Promise.reject(error))).rejects.toBe(error);
    expect(seen).toEqual(['w W']);
  });

  it('_scoped is true for a cooperative timeout only', () => {
    const clock = new VirtualClock();
    expect(timeout({ ms: 10, clock })._scoped).toBe(true);
    expect(timeout({ ms: 10, strategy: 'aggressive', clock })._scoped).toBe(false);
    expect(retry()._scoped).toBe(false);
  });

  it('a step layer outside a scoped one sees the outer context, and its failure path works', async () => {
    const clock = new VirtualClock();
    const policy = pipeline(
      retry({ maxAttempts: 1, clock }),
      circuitBreaker({ consecutiveFailures: 5, clock }),
      timeout({ ms: 100, clock }),
    );
    const error = new Error('down');
    await expect(policy.execute(() => Promise.reject(error))).rejects.toBe(error);
    await expect(policy.execute(() => 'ok')).resolves.toBe('ok');
  });

  it('a call admitted later by a queue runs the layers inside with its own context', async () => {
    const clock = new VirtualClock();
    const policy = pipeline(bulkhead({ limit: 1, queue: 1, clock }), timeout({ ms: 50, clock }));
    let release!: () => void;
    const first = policy.execute(() => new Promise<string>((resolve) => (release = () => resolve('first'))));
    const second = policy.execute((ctx) => {
      expect(ctx.attempt).toBe(1);
      return ctx.signal.aborted ? 'aborted' : 'second';
    });
    release();
    expect(await first).toBe('first');
    expect(await second).toBe('second');

    const adaptive = pipeline(
      adaptiveConcurrency({ initialLimit: 1, maxLimit: 1, queue: 1, clock }),
      timeout({ ms: 50, clock }),
    );
    let releaseAdaptive!: () => void;
    const held = adaptive.execute(() => new Promise<void>((resolve) => (releaseAdaptive = resolve)));
    const queued = adaptive.execute((ctx) => (ctx.signal.aborted ? 'aborted' : 'admitted later'));
    releaseAdaptive();
    await held;
    expect(await queued).toBe('admitted later');

    const limited = pipeline(
      rateLimit({ type: 'slidingWindow', limit: 1, window: 10, mode: 'wait', clock }),
      timeout({ ms: 50, clock }),
    );
    await limited.execute(() => 1);
    const waited = limited.execute((ctx) => (ctx.signal.aborted ? 'aborted' : 'waited'));
    await clock.advance(10);
    expect(await waited).toBe('waited');
  });

  it('a caller’s abort leaves no listener on its signal, even when the work never settles', async () => {
    const caller = new AbortController();
    const call = timeout({ ms: 1_000, clock: new VirtualClock() })
      .execute(() => new Promise(() => {}), { signal: caller.signal })
      .catch((error: unknown) => error);
    caller.abort('gone');
    expect(await call).toBe('gone');
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('a call with a signal that fails leaves no listener on the signal', async () => {
    const caller = new AbortController();
    const error = new Error('down');
    await expect(
      retry({ maxAttempts: 1 }).execute(() => Promise.reject(error), { signal: caller.signal }),
    ).rejects.toBe(error);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });
});

describe('sleep (core/sleep)', () => {
  it('a clock that fires a 0 ms timer synchronously resolves the wait and leaves no listener', async () => {
    const caller = new AbortController();
    const ctx = new ExecutionContext(caller.signal, undefined, 0);
    const syncClock = {
      now: () => 0,
      setTimeout: (callback: () => void) => {
        callback();
        return 1;
      },
      clearTimeout: () => {},
    };
    await expect(sleep(syncClock, 0, ctx)).resolves.toBeUndefined();
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });
});

describe('option checks (core/validate)', () => {
  it('show renders primitives as themselves, and objects whole up to 60 characters', () => {
    expect(show(undefined)).toBe('undefined');
    expect(show(Number.NaN)).toBe('NaN');
    expect(show(null)).toBe('null');
    expect(show(Symbol('s'))).toBe('Symbol(s)');
    const sixty = { k: 'x'.repeat(52) };
    expect(JSON.stringify(sixty)).toHaveLength(60);
    expect(show(sixty)).toBe(JSON.stringify(sixty));
    const longer = { k: 'x'.repeat(53) };
    expect(show(longer)).toBe(`${JSON.stringify(longer).slice(0, 57)}...`);
  });

  it('a required one-of option with no default rejects undefined', () => {
    expect(() => checkOneOf('p', 'mode', undefined, ['a', 'b'])).toThrow(
      new TypeError('p: mode must be one of "a", "b", got undefined'),
    );
    expect(checkOneOf('p', 'mode', undefined, ['a', 'b'], 'b')).toBe('b');
  });

  it('a boolean option of the wrong type is a TypeError', () => {
    expect(() => checkBoolean('p', 'flag', 1, false)).toThrow(
      new TypeError('p: flag must be a boolean, got 1'),
    );
    expect(checkBoolean('p', 'flag', undefined, true)).toBe(true);
  });
});
