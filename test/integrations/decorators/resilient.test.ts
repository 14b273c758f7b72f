// Drives the decorator by hand, in the shapes each dialect calls it with, for
// what a compiled fixture cannot reach: validation, misuse and caching.
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { type Context, retry } from '../../../src/index.js';
import { RESILIENT_OPTIONS, resilient } from '../../../src/integrations/decorators/index.js';

type Fn = (...args: any[]) => any;

/** Applies the decorator the way TC39 decorators do. */
function tc39(decorator: unknown, method: Fn, kind = 'method', name = method.name): Fn {
  const context = { kind, name, static: false, private: false, metadata: {}, addInitializer() {} };
  return (decorator as (value: Fn, context: unknown) => Fn)(method, context);
}

/** Applies the decorator the way `experimentalDecorators` does, returning the installed method. */
function legacy(decorator: unknown, method: Fn, name = method.name): Fn {
  const target = {};
  const descriptor: PropertyDescriptor = { value: method, writable: true, configurable: true };
  const result = (decorator as (t: object, k: string, d: PropertyDescriptor) => PropertyDescriptor)(
    target,
    name,
    descriptor,
  );
  expect(result).toBe(descriptor);
  return descriptor.value as Fn;
}

const once = () => retry({ maxAttempts: 1 });

describe('resilient (decorator shapes)', () => {
  it('wraps a method in both call shapes, with the same behaviour', async () => {
    for (const apply of [tc39, legacy]) {
      const decorated = apply(
        resilient(retry({ maxAttempts: 2, backoff: 0 })),
        function add(this: { base: number }, a: number, b: number) {
          return this.base + a + b;
        },
      );
      await expect(decorated.call({ base: 10 }, 1, 2)).resolves.toBe(13);
      expect(decorated.name).toBe('add');
    }
  });

  it('rejects fields, getters and accessors, naming them', () => {
    const decorator = resilient(once());
    expect(() => tc39(decorator, () => 1, 'getter', 'total')).toThrow(
      'resilient: decorates methods only, not a getter (total)',
    );
    expect(() =>
      (decorator as unknown as Fn)(undefined, { kind: 'field', name: Symbol('f'), addInitializer() {} }),
    ).toThrow('not a field (Symbol(f))');
    expect(() => (decorator as unknown as Fn)({}, 'count', undefined)).toThrow(
      'resilient: decorates methods only, not the field or accessor count',
    );
    expect(() => (decorator as unknown as Fn)({}, 'total', { get: () => 1, configurable: true })).toThrow(
      'not the field or accessor total',
    );
  });

  it('rejects a call that is not a decorator application', () => {
    expect(() => (resilient(once()) as unknown as Fn)(() => 1)).toThrow(
      'resilient: use it as a method decorator, @resilient(policy)',
    );
  });
});

describe('resilient (options)', () => {
  it('rejects a policy that is neither a policy nor a factory', () => {
    expect(() => resilient(undefined as never)).toThrow(
      'resilient: expected a policy or a function returning one, got undefined',
    );
    expect(() => resilient({ run() {} } as never)).toThrow(TypeError);
  });

  it('rejects unknown options and bad values at decoration time', () => {
    expect(() => resilient(once(), { contextArgs: true } as never)).toThrow(
      `resilient: unknown option "contextArgs" (expected one of: ${RESILIENT_OPTIONS.join(', ')})`,
    );
    expect(() => resilient(once(), { contextArg: -1 })).toThrow(
      'resilient: contextArg must be an integer ≥ 0, got -1',
    );
    expect(() => resilient(once(), { contextArg: 'last' as never })).toThrow(TypeError);
    expect(() => resilient(once(), { key: 'tenant' as never })).toThrow(
      'resilient: key must be a function, got "tenant"',
    );
    expect(() => resilient(once(), { signal: 1 as never })).toThrow('resilient: signal must be a function');
    expect(() => resilient(once(), { priority: Number.NaN })).toThrow('resilient: priority must be a number');
    expect(() => resilient(once(), [] as never)).toThrow('resilient: options must be an object');
  });

  it('contextArg: true on a method that declares no parameter fails at decoration', () => {
    expect(() => tc39(resilient(once(), { contextArg: true }), function list() {})).toThrow(
      /contextArg: true needs list to declare the context as its last parameter/,
    );
  });

  it('contextArg: false passes nothing extra', async () => {
    const decorated = legacy(resilient(once(), { contextArg: false }), (...args: unknown[]) => args.length);
    await expect(decorated('a')).resolves.toBe(1);
  });

  it('contextArg pads missing arguments so the context lands at its index', async () => {
    const decorated = tc39(resilient(once(), { contextArg: 2 }), (...args: unknown[]) => args);
    const [a, b, ctx] = (await decorated('only')) as [unknown, unknown, Context];
    expect([a, b]).toEqual(['only', undefined]);
    expect(ctx.attempt).toBe(1);
  });

  it('priority reaches the context', async () => {
    const decorated = tc39(resilient(once(), { priority: 7 }), () => resilient.context().priority);
    await expect(decorated()).resolves.toBe(7);
  });

  it('a key or signal function that throws rejects the call without running the method', async () => {
    const method = vi.fn();
    const boom = new Error('bad key');
    const byKey = tc39(
      resilient(once(), {
        key: () => {
          throw boom;
        },
      }),
      method,
    );
    await expect(byKey()).rejects.toBe(boom);
    expect(method).not.toHaveBeenCalled();
  });

  it('key and signal functions receive the instance as this and the arguments', async () => {
    const seen: unknown[] = [];
    const decorated = tc39(
      resilient(once(), {
        key(this: unknown, ...args: unknown[]) {
          seen.push(this, args);
          return 'k';
        },
        signal(this: unknown) {
          seen.push(this);
          return undefined;
        },
      }),
      () => resilient.context().key,
    );
    const self = { id: 1 };
    await expect(decorated.call(self, 'x', 2)).resolves.toBe('k');
    expect(seen).toEqual([self, ['x', 2], self]);
  });

  it("an already aborted caller's signal rejects without running the method", async () => {
    const method = vi.fn();
    const reason = new Error('already gone');
    const decorated = tc39(resilient(once(), { signal: (s: AbortSignal) => s }), method);
    await expect(decorated(AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(method).not.toHaveBeenCalled();
  });
});

describe('resilient (policy per instance)', () => {
  it('calls the factory once per instance and caches the policy', async () => {
    const factory = vi.fn((self: { attempts: number }) => retry({ maxAttempts: self.attempts, backoff: 0 }));
    const decorated = tc39(resilient(factory), function work(this: { attempts: number }) {
      return this.attempts;
    });
    const a = { attempts: 2 };
    const b = { attempts: 3 };
    await decorated.call(a);
    await decorated.call(a);
    await decorated.call(b);
    expect(factory).toHaveBeenCalledTimes(2);
    expect(factory.mock.calls.map(([self]) => self)).toEqual([a, b]);
  });

  it('shares the cache between methods decorated with the same factory', async () => {
    const factory = vi.fn(() => once());
    const first = tc39(resilient(factory), () => 1);
    const second = legacy(resilient(factory), () => 2);
    const self = {};
    await first.call(self);
    await second.call(self);
    expect(factory).toHaveBeenCalledTimes(1);
  });

  it('calls the factory every time when there is no instance to cache on', async () => {
    const factory = vi.fn(() => once());
    const decorated = tc39(resilient(factory), () => 'ok');
    await decorated.call(undefined);
    await decorated.call(undefined);
    expect(factory).toHaveBeenCalledTimes(2);
  });

  it('rejects the call when the factory returns something else, and does not cache it', async () => {
    let result: unknown = 'not a policy';
    const decorated = tc39(
      resilient(() => result as never),
      () => 'ok',
    );
    const self = {};
    await expect(decorated.call(self)).rejects.toThrow(
      'resilient: the policy factory must return a policy, got "not a policy"',
    );
    result = once();
    await expect(decorated.call(self)).resolves.toBe('ok');
  });

  it('a factory that throws rejects the call', async () => {
    const boom = new Error('no policy');
    const decorated = tc39(
      resilient(() => {
        throw boom;
      }),
      () => 'ok',
    );
    await expect(decorated.call({})).rejects.toBe(boom);
  });
});

describe('resilient.context() / resilient.signal()', () => {
  it('throw outside a decorated method', () => {
    expect(() => resilient.context()).toThrow(/no @resilient method is starting here/);
    expect(() => resilient.signal()).toThrow(/before its first await/);
  });

  it('are cleared when the method throws synchronously', async () => {
    const decorated = tc39(resilient(once()), () => {
      throw new Error('sync');
    });
    await expect(decorated()).rejects.toThrow('sync');
    expect(() => resilient.context()).toThrow();
  });

  it('property: any nesting of synchronous decorated calls sees its own attempt context', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 6 }), async (depth) => {
        const contexts: Context[] = [];
        const levels: Fn[] = [];
        for (let level = 0; level <= depth; level++) {
          levels.push(
            tc39(resilient(once(), { key: () => level }), async () => {
              const before = resilient.context();
              const inner = level < depth ? levels[level + 1]!() : Promise.resolve();
              const after = resilient.context();
              contexts.push(before);
              expect(after).toBe(before);
              expect(before.key).toBe(level);
              await inner;
            }),
          );
        }
        await levels[0]!();
        expect(contexts).toHaveLength(depth + 1);
        expect(new Set(contexts).size).toBe(depth + 1);
        expect(() => resilient.context()).toThrow();
      }),
      { numRuns: 30 },
    );
  });
});
