import type { Context, ExecuteOptions } from '../../core/context.js';
import type { Policy } from '../../core/policy.js';
import { checkKeys, checkNumber, checkObject, show } from '../../core/validate.js';
import { callWithContext, currentContext } from './current.js';

/** What a decorated method needs from a policy: any bulwark policy or pipeline has it. */
export type ExecutablePolicy = Pick<Policy<any>, 'execute'>;

/** Where a decorated method gets its policy: one policy, or one per instance from a factory. */
export type PolicySource<This = any> = ExecutablePolicy | ((instance: This) => ExecutablePolicy);

/** Options of `resilient(policy, options)`. */
export interface ResilientOptions<This = any> {
  /**
   * Pass the policy's context (`signal`, `attempt`, `key`) to the method as an
   * argument. `true`: as its last declared parameter (found with the method's
   * `length`, so declare no default values before it); a number: at that
   * 0-based position. The caller's argument at that position is replaced.
   * Default: not passed; read it with `resilient.context()` instead.
   */
  contextArg?: boolean | number;
  /** Computes the execution key from the call (for `keyed` policies), with the instance as `this`. */
  key?: (this: This, ...args: any[]) => unknown;
  /**
   * Finds the caller's AbortSignal among the arguments, with the instance as
   * `this`: aborting it rejects the call at once and aborts `ctx.signal`.
   */
  signal?: (this: This, ...args: any[]) => AbortSignal | undefined;
  /** Priority for load-shedding policies (`throttle`). Default 0. */
  priority?: number;
}

/** The option names `resilient()` accepts. */
export const RESILIENT_OPTIONS = ['contextArg', 'key', 'signal', 'priority'] as const;

type ReturnOf<F> = F extends (...args: any) => infer R ? R : never;
/** Whether `F` already promises what the decorated method returns: a promise of its result. */
type ReturnsPromise<F> = [Promise<Awaited<ReturnOf<F>>>] extends [ReturnOf<F>] ? true : false;
/** `F` as decoration makes it: same parameters, a promise of the result. */
export type Promised<F> = F extends (...args: infer A) => infer R
  ? (...args: A) => Promise<Awaited<R>>
  : never;

/**
 * A method decorator for both decorator dialects. The decorated method always
 * returns a Promise, so its declared return type must admit one (`async` or
 * `Promise<T>`); TypeScript reports a synchronous return type at the decorator.
 */
export interface ResilientDecorator<This = any> {
  /** TC39 standard decorators (TypeScript 5 without `experimentalDecorators`). */
  <T extends This, F extends (this: T, ...args: any) => any>(
    value: F,
    context: ClassMethodDecoratorContext<T, F>,
  ): ReturnsPromise<F> extends true ? F : Promised<F>;
  /** TypeScript `experimentalDecorators` (NestJS, Angular) and Babel's legacy decorators. */
  <F extends (...args: any) => any>(
    target: This,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<F>,
  ): ReturnsPromise<F> extends true ? void : TypedPropertyDescriptor<Promised<F>>;
}

/** `resilient(policy, options)` plus the accessors for the running method's context. */
export interface Resilient {
  /**
   * A method decorator that runs every call of the method under `policy`:
   * `this` and the arguments are the caller's, the result is a Promise, and
   * each retry calls the method again. `policy` may be a function of the
   * instance, called once per instance (NestJS-style injected policies).
   */
  (policy: ExecutablePolicy, options?: ResilientOptions): ResilientDecorator;
  /** The same with a policy per instance: `policy(instance)` is called once per instance and cached. */
  <This>(
    policy: (instance: This) => ExecutablePolicy,
    options?: ResilientOptions<This>,
  ): ResilientDecorator<This>;
  /**
   * The policy context of the `@resilient` method now starting. Call it
   * synchronously at the start of the method, before its first `await`
   * (it throws anywhere else), and keep the value.
   */
  context(): Context;
  /** `resilient.context().signal`: aborted by the policy's timeout, hedge or the caller. Same rule. */
  signal(): AbortSignal;
}

interface Settings {
  readonly contextArg: boolean | number | undefined;
  readonly key: ((...args: any[]) => unknown) | undefined;
  readonly signal: ((...args: any[]) => AbortSignal | undefined) | undefined;
  readonly priority: number | undefined;
}

type Method = (...args: unknown[]) => unknown;

const P = 'resilient';

function isPolicy(value: unknown): value is ExecutablePolicy {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { execute?: unknown }).execute === 'function'
  );
}

/** Per factory, the policy each instance got: a factory is called once per instance. */
const perInstance = new WeakMap<Function, WeakMap<object, ExecutablePolicy>>();

function policyFor(source: PolicySource, self: unknown): ExecutablePolicy {
  if (typeof source !== 'function') return source;
  const cacheable = (typeof self === 'object' && self !== null) || typeof self === 'function';
  let cache: WeakMap<object, ExecutablePolicy> | undefined;
  if (cacheable) {
    cache = perInstance.get(source);
    const cached = cache?.get(self as object);
    if (cached !== undefined) return cached;
  }
  const policy: unknown = source(self);
  if (!isPolicy(policy)) {
    throw new TypeError(`${P}: the policy factory must return a policy, got ${show(policy)}`);
  }
  if (cacheable) {
    if (cache === undefined) perInstance.set(source, (cache = new WeakMap()));
    cache.set(self as object, policy);
  }
  return policy;
}

function checkSettings(options: ResilientOptions | undefined): Settings {
  checkObject(P, 'options', options);
  checkKeys(P, options, RESILIENT_OPTIONS);
  const contextArg = options?.contextArg;
  if (contextArg !== undefined && typeof contextArg !== 'boolean') {
    checkNumber(P, 'contextArg', contextArg, { min: 0, integer: true });
  }
  for (const name of ['key', 'signal'] as const) {
    const fn = options?.[name];
    if (fn !== undefined && typeof fn !== 'function') {
      throw new TypeError(`${P}: ${name} must be a function, got ${show(fn)}`);
    }
  }
  const priority =
    options?.priority === undefined ? undefined : checkNumber(P, 'priority', options.priority, {});
  return { contextArg, key: options?.key, signal: options?.signal, priority };
}

/** Where the context goes for `method`, or undefined when it is not passed as an argument. */
function contextIndex(settings: Settings, method: Method, name: string): number | undefined {
  const { contextArg } = settings;
  if (contextArg === undefined || contextArg === false) return undefined;
  if (typeof contextArg === 'number') return contextArg;
  if (method.length === 0) {
    throw new TypeError(
      `${P}: contextArg: true needs ${name} to declare the context as its last parameter, but it declares none ` +
        '(parameters with default values are not counted; pass the index instead)',
    );
  }
  return method.length - 1;
}

function withContext(args: readonly unknown[], index: number, ctx: Context): unknown[] {
  const copy = args.slice();
  while (copy.length < index) copy.push(undefined);
  copy[index] = ctx;
  return copy;
}

function wrapMethod(method: Method, source: PolicySource, settings: Settings, name: string): Method {
  const index = contextIndex(settings, method, name);
  const { key, signal, priority } = settings;
  const needsOptions = key !== undefined || signal !== undefined || priority !== undefined;
  const wrapped = function (this: unknown, ...args: unknown[]): Promise<unknown> {
    let policy: ExecutablePolicy;
    let options: ExecuteOptions | undefined;
    try {
      policy = policyFor(source, this);
      if (needsOptions) {
        options = {};
        if (key !== undefined) options.key = Reflect.apply(key, this, args);
        if (signal !== undefined) options.signal = Reflect.apply(signal, this, args);
        if (priority !== undefined) options.priority = priority;
      }
    } catch (error) {
      return Promise.reject(error);
    }
    // A fresh argument list per attempt: the method may have changed its own.
    const work =
      index === undefined
        ? (ctx: Context) => callWithContext(ctx, method, this, args)
        : (ctx: Context) => callWithContext(ctx, method, this, withContext(args, index, ctx));
    return policy.execute(work, options);
  };
  Object.defineProperty(wrapped, 'name', { value: method.name, configurable: true });
  return wrapped;
}

function describe(key: unknown): string {
  return typeof key === 'symbol' ? key.toString() : String(key);
}

function isDecoratorContext(value: unknown): value is DecoratorContext {
  return (
    typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string'
  );
}

function create(source: PolicySource, options?: ResilientOptions): ResilientDecorator {
  if (!isPolicy(source) && typeof source !== 'function') {
    throw new TypeError(`${P}: expected a policy or a function returning one, got ${show(source)}`);
  }
  const settings = checkSettings(options);
  // Which dialect calls us is told by the arguments: TC39 passes (method, context),
  // legacy decorators pass (prototype or class, name, descriptor).
  const decorate = (target: unknown, second: unknown, descriptor?: unknown): unknown => {
    if (isDecoratorContext(second)) {
      if (second.kind !== 'method' || typeof target !== 'function') {
        throw new TypeError(`${P}: decorates methods only, not a ${second.kind} (${describe(second.name)})`);
      }
      return wrapMethod(target as Method, source, settings, describe(second.name));
    }
    if (typeof second === 'string' || typeof second === 'symbol') {
      const d = descriptor as PropertyDescriptor | undefined;
      if (typeof d !== 'object' || d === null || typeof d.value !== 'function') {
        throw new TypeError(`${P}: decorates methods only, not the field or accessor ${describe(second)}`);
      }
      d.value = wrapMethod(d.value as Method, source, settings, describe(second));
      return d;
    }
    throw new TypeError(`${P}: use it as a method decorator, @resilient(policy)`);
  };
  return decorate as ResilientDecorator;
}

function context(): Context {
  const ctx = currentContext();
  if (ctx === undefined) {
    throw new Error(
      `${P}.context(): no @resilient method is starting here; call it synchronously at the start ` +
        'of the decorated method, before its first await, and keep the value',
    );
  }
  return ctx;
}

function signal(): AbortSignal {
  return context().signal;
}

/**
 * Decorates a class method so that each call runs under a policy:
 *
 * ```ts
 * class Inventory {
 *   @resilient(pipeline(retry(), timeout(2_000)))
 *   async stock(sku: string): Promise<number> {
 *     const signal = resilient.signal(); // before the first await
 *     const res = await fetch(`https://inventory.example/${sku}`, { signal });
 *     return (await res.json()).count;
 *   }
 * }
 * ```
 *
 * Works with TC39 standard decorators and with TypeScript's
 * `experimentalDecorators`; the dialect is detected from the arguments.
 */
export const resilient: Resilient = /* @__PURE__ */ Object.assign(create, { context, signal }) as Resilient;
