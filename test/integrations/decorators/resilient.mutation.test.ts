// Pins down what the first mutation run of src/integrations/decorators/resilient.ts
// found untested: misuse messages, the per-instance policy cache, the options a
// policy receives, and the installed method's name.
import { describe, expect, it, vi } from 'vitest';
import type { Context, ExecuteOptions, Work } from '../../../src/index.js';
import { retry } from '../../../src/index.js';
import { resilient } from '../../../src/integrations/decorators/index.js';

type Fn = (...args: any[]) => any;

/** Applies the decorator the way TC39 decorators do. */
function tc39(decorator: unknown, method: Fn, kind = 'method', name = method.name): Fn {
  const context = { kind, name, static: false, private: false, metadata: {}, addInitializer() {} };
  return (decorator as (value: Fn, context: unknown) => Fn)(method, context);
}

const once = () => retry({ maxAttempts: 1 });

/** A policy of the user's own: runs the work once and records the options it was given. */
function recording() {
  const received: (ExecuteOptions | undefined)[] = [];
  const policy = {
    execute<T>(work: Work<T>, options?: ExecuteOptions): Promise<T> {
      received.push(options);
      return once().execute(work, options);
    },
  };
  return { policy, received };
}

describe('resilient.ts', () => {
  it('refuses null as a policy, and a factory that returns null, with their own messages', async () => {
    expect(() => resilient(null as never)).toThrow(
      new TypeError('resilient: expected a policy or a function returning one, got null'),
    );
    const decorated = tc39(
      resilient(() => null as never),
      () => 'ok',
    );
    await expect(decorated.call({})).rejects.toThrow(
      new TypeError('resilient: the policy factory must return a policy, got null'),
    );
  });

  it('caches a factory policy per class for static methods, where this is the class', async () => {
    const factory = vi.fn(() => once());
    const decorated = tc39(resilient(factory), function total(this: unknown) {
      return this === Klass ? 'static' : 'other';
    });
    class Klass {}
    await expect(decorated.call(Klass)).resolves.toBe('static');
    await expect(decorated.call(Klass)).resolves.toBe('static');
    expect(factory).toHaveBeenCalledTimes(1);
    expect(factory.mock.calls[0]).toEqual([Klass]);
  });

  it('calls the factory on every call when this is null, as for undefined', async () => {
    const factory = vi.fn(() => once());
    const decorated = tc39(resilient(factory), () => 'ok');
    await expect(decorated.call(null)).resolves.toBe('ok');
    await expect(decorated.call(null)).resolves.toBe('ok');
    expect(factory).toHaveBeenCalledTimes(2);
  });

  it("keeps an instance's cached policy when another instance gets one in between", async () => {
    const factory = vi.fn((_self: object) => once());
    const decorated = tc39(resilient(factory), () => 'ok');
    const a = {};
    const b = {};
    await decorated.call(a);
    await decorated.call(b);
    await decorated.call(a);
    await decorated.call(b);
    expect(factory).toHaveBeenCalledTimes(2);
    expect(factory.mock.calls.map(([self]) => self)).toEqual([a, b]);
  });

  it('contextArg: true on a method with no declared parameter says to pass the index instead', () => {
    expect(() => tc39(resilient(once(), { contextArg: true }), function list() {})).toThrow(
      new TypeError(
        'resilient: contextArg: true needs list to declare the context as its last parameter, but it declares none ' +
          '(parameters with default values are not counted; pass the index instead)',
      ),
    );
  });

  it('passes no options to the policy when neither key, signal nor priority is set', async () => {
    const { policy, received } = recording();
    const decorated = tc39(resilient(policy), () => 'ok');
    await expect(decorated()).resolves.toBe('ok');
    expect(received).toStrictEqual([undefined]);
  });

  it('passes the policy only the options that are set', async () => {
    const onlyPriority = recording();
    await tc39(resilient(onlyPriority.policy, { priority: 3 }), () => 'ok')();
    expect(onlyPriority.received).toStrictEqual([{ priority: 3 }]);
    const onlyKey = recording();
    await tc39(resilient(onlyKey.policy, { key: (id: string) => id }), () => 'ok')('t1');
    expect(onlyKey.received).toStrictEqual([{ key: 't1' }]);
  });

  it("returns the method's result when the context goes in as an argument", async () => {
    const byIndex = tc39(
      resilient(once(), { contextArg: 1 }),
      (a: string, ctx: Context) => `${a}:${ctx.attempt}`,
    );
    await expect(byIndex('x')).resolves.toBe('x:1');
    const last = tc39(resilient(once(), { contextArg: true }), function last(a: string, ctx: Context) {
      return `${a}:${ctx.attempt}`;
    });
    await expect(last('y', 'replaced')).resolves.toBe('y:1');
  });

  it("installs a method whose name is the original's, configurable like a function's own name", () => {
    const decorated = tc39(resilient(once()), function add() {});
    expect(Object.getOwnPropertyDescriptor(decorated, 'name')).toEqual({
      value: 'add',
      writable: false,
      enumerable: false,
      configurable: true,
    });
  });

  it('names a decorator context without a name as undefined', () => {
    const decorator = resilient(once()) as unknown as Fn;
    expect(() => decorator(undefined, { kind: 'field', addInitializer() {} })).toThrow(
      new TypeError('resilient: decorates methods only, not a field (undefined)'),
    );
  });

  it('treats a null or kind-less second argument as a call that is not a decorator application', () => {
    const decorator = resilient(once()) as unknown as Fn;
    const message = 'resilient: use it as a method decorator, @resilient(policy)';
    expect(() => decorator(() => 1, null)).toThrow(new TypeError(message));
    expect(() => decorator(() => 1, {})).toThrow(new TypeError(message));
    expect(() => decorator(() => 1, { kind: 1, name: 'x' })).toThrow(new TypeError(message));
  });

  it('refuses a method context whose value is not a function', () => {
    expect(() => tc39(resilient(once()), {} as never, 'method', 'run')).toThrow(
      new TypeError('resilient: decorates methods only, not a method (run)'),
    );
  });

  it('decorates a symbol-named method in the legacy dialect', async () => {
    const key = Symbol('compute');
    const method = function (this: { base: number }, n: number) {
      return this.base + n;
    };
    const descriptor: PropertyDescriptor = { value: method, writable: true, configurable: true };
    const result = (resilient(once()) as unknown as Fn)({}, key, descriptor);
    expect(result).toBe(descriptor);
    expect(descriptor.value).not.toBe(method);
    await expect(descriptor.value.call({ base: 40 }, 2)).resolves.toBe(42);
  });

  it('refuses a null descriptor in the legacy dialect as a field', () => {
    expect(() => (resilient(once()) as unknown as Fn)({}, 'count', null)).toThrow(
      new TypeError('resilient: decorates methods only, not the field or accessor count'),
    );
  });
});
