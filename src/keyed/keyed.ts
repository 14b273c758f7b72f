import { checkClock, type Clock } from '../core/clock.js';
import type { ExecuteOptions, ExecutionContext } from '../core/context.js';
import {
  LayerMode,
  PolicyBase,
  type PolicyEvents,
  type PolicyHealth,
  runLayers,
  type Work,
} from '../core/policy.js';
import { checkKeys, checkNumber, checkObject, checkString, show } from '../core/validate.js';

/** Options of {@link keyed}. */
export interface KeyedOptions {
  /**
   * Most keys kept at once. Inserting one more evicts the least recently used
   * idle key. Default 1000.
   */
  maxKeys?: number;
  /**
   * A key with no call in flight and unused for this many ms is evicted (on
   * the next use of the keyed policy; no timer). `Infinity`: only `maxKeys`
   * evicts. Default 300 000 (5 minutes).
   */
  idleTtl?: number;
  /** Where time is read (default `systemClock`); inject a `VirtualClock` in tests. */
  clock?: Clock;
  /** A name for telemetry and `health()`; default `keyed`. */
  name?: string;
}

/** Events of a keyed policy, besides `success` and `failure` of the calls it routed. */
export interface KeyedEvents extends PolicyEvents {
  /** A policy was created for a key seen for the first time (or again after eviction). */
  create: { readonly key: unknown };
  /** A key's policy was dropped. */
  evict: { readonly key: unknown; readonly reason: 'idle' | 'maxKeys' };
}

/** The option names `keyed()` accepts. */
export const KEYED_OPTIONS = ['maxKeys', 'idleTtl', 'clock', 'name'] as const;

const P = 'keyed';
const DEFAULT_MAX_KEYS = 1000;
/** Longer than a breaker's default 30 s open period, so a key's recent history survives short lulls. */
const DEFAULT_IDLE_TTL = 300_000;
const RANK = { ok: 0, degraded: 1, down: 2 } as const;

/**
 * One key's policy and bookkeeping. Idle entries (no call in flight) sit in a
 * list ordered by last use, oldest first; busy ones are unlinked, so eviction
 * only ever looks at the list's head.
 */
class Entry<K, Pol> {
  lastUsed: number;
  inFlight = 0;
  prev: Entry<K, Pol> | undefined = undefined;
  next: Entry<K, Pol> | undefined = undefined;
  constructor(
    readonly key: K,
    readonly policy: Pol,
    now: number,
  ) {
    this.lastUsed = now;
  }
}

/** The worst status of a policy and everything inside it (a pipeline holding a breaker, say). */
function statusOf(policy: PolicyBase<any>): PolicyHealth['status'] {
  let worst = policy._health().status;
  for (const child of policy._children()) {
    if (worst === 'down') break;
    const status = statusOf(child);
    if (RANK[status] > RANK[worst]) worst = status;
  }
  return worst;
}

/**
 * One policy per key (per host, per tenant), created on first use. Memory
 * stays bounded: idle keys are evicted after `idleTtl`, and beyond `maxKeys`
 * the least recently used idle key goes. Create it with `keyed()`.
 *
 * When every key has a call in flight, a new key is still admitted (the count
 * exceeds `maxKeys` by at most the number of calls in flight, which the
 * caller holds anyway) and the excess is trimmed as those calls finish.
 * Serving the new key with a throwaway policy instead would break per-key
 * limits, and rejecting it would fail calls for bookkeeping reasons.
 */
export class KeyedPolicy<
  K = unknown,
  Pol extends PolicyBase<any> = PolicyBase<any>,
> extends PolicyBase<KeyedEvents> {
  /** The most keys kept at once; the least recently used idle key is evicted past it. */
  readonly maxKeys: number;
  /** Ms after which a key with no call in flight and no use is evicted. */
  readonly idleTtl: number;
  private readonly factory: (key: K) => Pol;
  private readonly clock: Clock;
  private readonly origin: number;
  private readonly entries = new Map<K, Entry<K, Pol>>();
  /** Idle entries, least recently used first. */
  private oldest: Entry<K, Pol> | undefined = undefined;
  private newest: Entry<K, Pol> | undefined = undefined;

  constructor(factory: (key: K) => Pol, options: KeyedOptions = {}) {
    if (typeof factory !== 'function') {
      throw new TypeError(`${P}: expected a function key => policy, got ${show(factory)}`);
    }
    checkObject(P, 'options', options);
    checkKeys(P, options, KEYED_OPTIONS);
    super('keyed', checkString(P, 'name', options.name));
    this._mode = LayerMode.Around;
    this.factory = factory;
    this.maxKeys = checkNumber(P, 'maxKeys', options.maxKeys, { min: 1, integer: true }, DEFAULT_MAX_KEYS);
    this.idleTtl = checkNumber(
      P,
      'idleTtl',
      options.idleTtl,
      { min: 0, exclusiveMin: true, infinite: true },
      DEFAULT_IDLE_TTL,
    );
    this.clock = checkClock(P, options.clock);
    this.origin = this.clock.now();
  }

  /** Runs `fn` under `key`'s policy, with `ctx.key` set to `key`. */
  override execute<T>(key: K, fn: Work<T>, options?: ExecuteOptions): Promise<T>;
  /** Runs `fn` under the policy of `options.key` (the form a pipeline uses). */
  override execute<T>(fn: Work<T>, options?: ExecuteOptions): Promise<T>;
  override execute<T>(a: unknown, b?: unknown, c?: ExecuteOptions): Promise<T> {
    if (typeof b === 'function') {
      return super.execute(b as Work<T>, { signal: c?.signal, priority: c?.priority, key: a });
    }
    return super.execute(a as Work<T>, b as ExecuteOptions | undefined);
  }

  /** `key`'s policy, created if needed (this counts as a use of the key). */
  get(key: K): Pol {
    const entry = this.acquire(key);
    if (entry.inFlight === 0) this.touch(entry);
    return entry.policy;
  }

  /** Whether `key` currently has a policy (expired keys are evicted first). */
  has(key: K): boolean {
    this.sweep(this.now());
    return this.entries.has(key);
  }

  /**
   * Drops `key`'s policy; its calls in flight finish under it. The next call
   * for `key` gets a new policy. Returns whether the key was present.
   */
  delete(key: K): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.entries.delete(key);
    if (entry.inFlight === 0) this.unlink(entry);
    return true;
  }

  /** Number of keys with a policy (expired keys are evicted first). */
  get size(): number {
    this.sweep(this.now());
    return this.entries.size;
  }

  /** The keys with a policy, oldest created first (expired keys are evicted first). */
  keys(): IterableIterator<K> {
    this.sweep(this.now());
    return this.entries.keys();
  }

  override _around(
    ctx: ExecutionContext,
    next: (ctx: ExecutionContext) => Promise<unknown>,
  ): Promise<unknown> {
    const key = ctx.key as K;
    if (key === undefined) {
      return Promise.reject(
        new TypeError(`${P}: no key for this call; use execute(key, fn) or execute(fn, { key })`),
      );
    }
    let entry: Entry<K, Pol>;
    try {
      entry = this.acquire(key);
    } catch (error) {
      return Promise.reject(error);
    }
    if (entry.inFlight++ === 0) this.unlink(entry);
    const work = runLayers(entry.policy._plan, 0, ctx, next as Work<unknown>);
    work.then(
      (value) => {
        this.release(entry, ctx);
        if (this.listening('success')) this.emit('success', { value });
      },
      (error: unknown) => {
        this.release(entry, ctx);
        if (this.listening('failure')) this.emit('failure', { error });
      },
    );
    return work;
  }

  override _children(): readonly PolicyBase<any>[] {
    return Array.from(this.entries.values(), (entry) => entry.policy);
  }

  /**
   * `ok` when every key's policy is ok (or there is none), `down` when every
   * one is down, `degraded` otherwise: one host's open breaker degrades the
   * service, it does not take it down.
   */
  override _health(): PolicyHealth {
    let down = 0;
    let degraded = 0;
    for (const entry of this.entries.values()) {
      const status = statusOf(entry.policy);
      if (status === 'down') down++;
      else if (status === 'degraded') degraded++;
    }
    const keys = this.entries.size;
    const status = keys > 0 && down === keys ? 'down' : down + degraded > 0 ? 'degraded' : 'ok';
    return { kind: this.kind, name: this.name, status, keys, down, degraded };
  }

  // ---- bookkeeping -------------------------------------------------------

  /**
   * Time since this policy was created: small integers for weeks, which V8
   * stores inline, where `Date.now()` values would each be a boxed number.
   */
  private now(): number {
    return this.clock.now() - this.origin;
  }

  private acquire(key: K): Entry<K, Pol> {
    const now = this.now();
    this.sweep(now);
    const existing = this.entries.get(key);
    if (existing !== undefined) {
      existing.lastUsed = now;
      return existing;
    }
    const policy = this.factory(key);
    if (!(policy instanceof PolicyBase)) {
      throw new TypeError(`${P}: the factory must return a policy, got ${show(policy)}`);
    }
    const entry = new Entry(key, policy, now);
    if (this.entries.size >= this.maxKeys) this.trim(this.maxKeys - 1);
    this.entries.set(key, entry);
    this.append(entry);
    if (this.listening('create')) this.emit('create', { key });
    return entry;
  }

  private release(entry: Entry<K, Pol>, ctx: ExecutionContext): void {
    // Work this call stopped waiting for (an aggressive timeout inside) still
    // holds the key's slots: the key is busy until it settles.
    const lingering = ctx.lingering;
    if (lingering === undefined) this.settled(entry);
    else lingering.then(() => this.settled(entry));
  }

  private settled(entry: Entry<K, Pol>): void {
    if (--entry.inFlight > 0) return;
    entry.lastUsed = this.now();
    // A key deleted (or evicted) while busy stays out of the list.
    if (this.entries.get(entry.key) !== entry) return;
    this.append(entry);
    if (this.entries.size > this.maxKeys) this.trim(this.maxKeys);
  }

  /** Evicts idle keys unused for `idleTtl`, oldest first. */
  private sweep(now: number): void {
    for (
      let entry = this.oldest;
      entry !== undefined && now - entry.lastUsed >= this.idleTtl;
      entry = this.oldest
    ) {
      // A policy that is down (an open breaker) remembers that its dependency
      // failed; forgetting it would let the next calls through unchecked. It
      // gets another idleTtl.
      if (statusOf(entry.policy) === 'down') {
        this.unlink(entry);
        entry.lastUsed = now;
        this.append(entry);
        continue;
      }
      this.evict(entry, 'idle');
    }
  }

  /** Evicts least recently used idle keys until at most `limit` remain (or none is idle). */
  private trim(limit: number): void {
    while (this.entries.size > limit && this.oldest !== undefined) this.evict(this.oldest, 'maxKeys');
  }

  private evict(entry: Entry<K, Pol>, reason: 'idle' | 'maxKeys'): void {
    this.unlink(entry);
    this.entries.delete(entry.key);
    if (this.listening('evict')) this.emit('evict', { key: entry.key, reason });
  }

  private touch(entry: Entry<K, Pol>): void {
    this.unlink(entry);
    this.append(entry);
  }

  private append(entry: Entry<K, Pol>): void {
    entry.prev = this.newest;
    entry.next = undefined;
    if (this.newest === undefined) this.oldest = entry;
    else this.newest.next = entry;
    this.newest = entry;
  }

  private unlink(entry: Entry<K, Pol>): void {
    const { prev, next } = entry;
    if (prev === undefined) {
      if (this.oldest === entry) this.oldest = next;
    } else {
      prev.next = next;
    }
    if (next === undefined) {
      if (this.newest === entry) this.newest = prev;
    } else {
      next.prev = prev;
    }
    entry.prev = undefined;
    entry.next = undefined;
  }
}

/**
 * One policy per key, created on first use by `factory(key)`: a breaker per
 * host, a bulkhead per tenant. `execute(key, fn)` routes by key (and sets
 * `ctx.key`); inside a pipeline, `execute(fn, { key })` does. Idle keys are
 * evicted after `idleTtl` (default 5 min) and beyond `maxKeys` (default 1000).
 */
export function keyed<K, Pol extends PolicyBase<any>>(
  factory: (key: K) => Pol,
  options?: KeyedOptions,
): KeyedPolicy<K, Pol> {
  return new KeyedPolicy(factory, options);
}
