import { checkClock, type Clock } from '../../core/clock.js';
import type { ExecutionContext } from '../../core/context.js';
import { LayerMode, PolicyBase, type PolicyEvents } from '../../core/policy.js';
import { checkNumber, checkOneOf, checkString, show } from '../../core/validate.js';
import { checkRedisClient, RedisGateway, type RedisClient } from './client.js';
import { RedisUnavailableError } from './errors.js';

/** What a Redis-backed policy does when Redis errs or does not answer within `redisTimeout`. */
export type RedisErrorMode = 'failOpen' | 'failClosed';

/** Options every `bulwark/redis` policy accepts. */
export interface RedisPolicyOptions {
  /** An ioredis client (`Redis` or `Cluster`), ideally one dedicated to bulwark (see docs/distributed.md). */
  redis: RedisClient;
  /** The shared name: every instance that uses the same `key` (and `prefix`) shares the state. */
  key: string;
  /** Namespace put before every Redis key. Default `'bulwark:'`. */
  prefix?: string;
  /**
   * Longest wait for Redis, in ms, before the call is decided by
   * `onRedisError`. Default 100: a healthy Redis answers in about a millisecond.
   */
  redisTimeout?: number;
  /**
   * `failOpen` (default): while Redis is unreachable, calls are decided by
   * `local` if given, else admitted. `failClosed`: they are rejected with
   * `RedisUnavailableError`.
   */
  onRedisError?: RedisErrorMode;
  /**
   * A local policy (a `bulkhead`, `rateLimit` or `circuitBreaker` from
   * `bulwark`) that decides calls while Redis is unreachable with `failOpen`:
   * a per-instance limit instead of none.
   */
  local?: PolicyBase<any>;
  /** Where time is read and timers are scheduled. Default `systemClock`. */
  clock?: Clock;
  /** A name for telemetry. */
  name?: string;
}

/** Events every `bulwark/redis` policy emits, besides `success` and `failure`. */
export interface RedisPolicyEvents extends PolicyEvents {
  /**
   * A Redis command failed or timed out; `mode` says what happened to the
   * calls meanwhile (`failOpen`: admitted or decided by `local`; `failClosed`: rejected).
   */
  redisError: { readonly operation: string; readonly error: unknown; readonly mode: RedisErrorMode };
  /** Redis answered again after errors. */
  redisRecovered: { readonly operation: string; readonly errors: number };
}

/** Counters every `bulwark/redis` policy keeps about Redis itself. */
export interface RedisStats {
  /** Whether the last Redis command succeeded. */
  readonly redisAvailable: boolean;
  /** Redis commands that failed or timed out since the policy was created. */
  readonly redisErrors: number;
  /** Calls admitted without Redis (`failOpen`), `local` included. */
  readonly failedOpen: number;
  /** Calls rejected because Redis was unreachable (`failClosed`). */
  readonly failedClosed: number;
}

/** The option names shared by every `bulwark/redis` policy. */
export const REDIS_POLICY_OPTIONS = [
  'redis',
  'key',
  'prefix',
  'redisTimeout',
  'onRedisError',
  'local',
  'clock',
  'name',
] as const;

/** A call decided by the `local` policy while Redis was unreachable: its exit goes there too. */
export class LocalToken {
  constructor(readonly token: unknown) {}
}

/** A call admitted with no Redis and no `local` policy (`failOpen`). */
export const FAIL_OPEN: unique symbol = Symbol('bulwark.redis.failOpen');

interface Common {
  gateway: RedisGateway;
  key: string;
  prefix: string;
  mode: RedisErrorMode;
  local: PolicyBase<any> | undefined;
  clock: Clock;
}

function readCommon(p: string, options: RedisPolicyOptions): Common {
  const client = checkRedisClient(p, options.redis);
  const key = checkString(p, 'key', options.key);
  if (key === undefined) throw new TypeError(`${p}: key must be a non-empty string, got undefined`);
  const prefix = options.prefix ?? 'bulwark:';
  if (typeof prefix !== 'string') throw new TypeError(`${p}: prefix must be a string, got ${show(prefix)}`);
  const timeout = checkNumber(p, 'redisTimeout', options.redisTimeout, { min: 0, exclusiveMin: true }, 100);
  const mode = checkOneOf(p, 'onRedisError', options.onRedisError, ['failOpen', 'failClosed'], 'failOpen');
  const local = options.local;
  if (local !== undefined) {
    // The local policy runs as a step of this one, so it must be a plain step layer.
    if (
      !(local instanceof PolicyBase) ||
      local._mode !== LayerMode.Step ||
      local._scoped ||
      local._layers.length !== 1 ||
      local._layers[0] !== local
    ) {
      throw new TypeError(
        `${p}: local must be a single step policy such as bulkhead(), rateLimit() or circuitBreaker(), got ${show(local)}`,
      );
    }
    if (mode === 'failClosed') {
      throw new TypeError(`${p}: local is used only with onRedisError 'failOpen', got 'failClosed'`);
    }
  }
  const clock = checkClock(p, options.clock);
  return { gateway: new RedisGateway(client, timeout, clock), key, prefix, mode, local, clock };
}

/**
 * Base of the Redis-backed policies: option checks shared by all, the Redis
 * gateway with its deadline, and what happens to a call when Redis fails.
 */
export abstract class RedisPolicy<E extends RedisPolicyEvents> extends PolicyBase<E> {
  /** The shared name (without prefix). */
  readonly key: string;
  /** What calls get while Redis is unreachable. */
  readonly onRedisError: RedisErrorMode;
  /** @internal */
  protected readonly gateway: RedisGateway;
  /** @internal */
  protected readonly prefix: string;
  /** @internal */
  protected readonly local: PolicyBase<any> | undefined;
  /** @internal */
  protected readonly clock: Clock;
  private redisErrors = 0;
  /** Errors since Redis last answered (for `redisRecovered`). */
  private errorsInRow = 0;
  private failedOpen = 0;
  private failedClosed = 0;
  /** The last Redis error, the cause of calls failed closed meanwhile. */
  protected lastRedisError: unknown = undefined;

  constructor(kind: string, p: string, options: RedisPolicyOptions) {
    super(kind, checkString(p, 'name', options.name));
    const common = readCommon(p, options);
    this.gateway = common.gateway;
    this.key = common.key;
    this.prefix = common.prefix;
    this.onRedisError = common.mode;
    this.local = common.local;
    this.clock = common.clock;
  }

  /** The counters about Redis itself. */
  protected redisStats(): RedisStats {
    return {
      redisAvailable: this.errorsInRow === 0,
      redisErrors: this.redisErrors,
      failedOpen: this.failedOpen,
      failedClosed: this.failedClosed,
    };
  }

  /** Whether the last Redis command failed. */
  protected get redisDown(): boolean {
    return this.errorsInRow > 0;
  }

  override _children(): readonly PolicyBase<any>[] {
    return this.local === undefined ? [] : [this.local];
  }

  /** @internal Records that Redis answered. */
  protected redisAnswered(operation: string): void {
    if (this.errorsInRow === 0) return;
    const errors = this.errorsInRow;
    this.errorsInRow = 0;
    if (this.listening('redisRecovered')) {
      this.emit('redisRecovered', { operation, errors } as E['redisRecovered']);
    }
  }

  /** @internal Records a failed Redis command. */
  protected redisFailed(operation: string, error: unknown): void {
    this.redisErrors += 1;
    this.errorsInRow += 1;
    this.lastRedisError = error;
    if (this.listening('redisError')) {
      this.emit('redisError', { operation, error, mode: this.onRedisError } as E['redisError']);
    }
  }

  /**
   * Decides a call Redis could not decide: rejects (`failClosed`), hands it to
   * `local`, or admits it (`failOpen`). May return a promise when `local` waits.
   * @internal
   */
  protected enterWithoutRedis(ctx: ExecutionContext, operation: string, cause: unknown): unknown {
    if (this.onRedisError === 'failClosed') {
      this.failedClosed += 1;
      throw new RedisUnavailableError(operation, { cause });
    }
    this.failedOpen += 1;
    const local = this.local;
    if (local === undefined) return FAIL_OPEN;
    const token = local._enter(ctx);
    return token instanceof Promise ? token.then(wrapLocal) : new LocalToken(token);
  }

  /** @internal Exit of a call decided by `local`: returns the error to pass on (failure) or undefined. */
  protected exitLocal(ctx: ExecutionContext, token: LocalToken, failed: boolean, outcome: unknown): unknown {
    const local = this.local!;
    // The executor emits a layer's outcome events; `local` runs as part of this layer, so its own are emitted here.
    if (failed) {
      const error = local._failure(ctx, token.token, outcome);
      local._emitOutcome(true, error);
      return error;
    }
    local._success(ctx, token.token, outcome);
    local._emitOutcome(false, outcome);
    return undefined;
  }
}

function wrapLocal(token: unknown): LocalToken {
  return new LocalToken(token);
}

/** Builds a Redis key from the prefix, the feature and the user's key. */
export function redisKey(prefix: string, feature: string, key: string): string {
  // The braces are a Cluster hash tag: every key of one policy lands in the same slot,
  // which a multi-key script needs.
  return `${prefix}${feature}:{${key}}`;
}
