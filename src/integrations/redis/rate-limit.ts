import type { Context, ExecutionContext } from '../../core/context.js';
import { RateLimitedError } from '../../core/errors.js';
import type { PolicyHealth } from '../../core/policy.js';
import { sleep } from '../../core/sleep.js';
import { checkKeys, checkNumber, checkObject, checkOneOf } from '../../core/validate.js';
import { LuaScript } from './client.js';
import {
  LocalToken,
  REDIS_POLICY_OPTIONS,
  RedisPolicy,
  type RedisPolicyEvents,
  type RedisPolicyOptions,
  type RedisStats,
  redisKey,
} from './shared.js';

/**
 * GCRA (the generic cell rate algorithm, a token bucket kept as one
 * timestamp): KEYS[1] holds the theoretical arrival time (TAT) in µs of
 * Redis' own clock. ARGV: emission interval µs, burst, most wait µs (-1: no
 * limit), cost. Returns { admitted 0|1, wait µs, permits left }.
 */
const GCRA = /* @__PURE__ */ new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local maxWait = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local newTat = tat + interval * cost
local wait = newTat - burst * interval - now
if maxWait >= 0 and wait > maxWait then
  return {0, math.ceil(wait), 0}
end
redis.call('SET', KEYS[1], string.format('%.17g', newTat), 'PX', math.ceil((newTat - now) / 1000))
if wait < 0 then wait = 0 end
return {1, math.ceil(wait), math.max(0, math.floor((burst * interval - (newTat - now)) / interval))}
`);

/** Options of {@link distributedRateLimit}: a token bucket shared by the fleet, as `rateLimit({ type: 'tokenBucket' })`. */
export interface DistributedRateLimitOptions extends RedisPolicyOptions {
  /** Permits per `per` ms across every instance sharing `key` (> 0, need not be an integer). */
  rate: number;
  /** The period of `rate`, in ms. Default 1000. */
  per?: number;
  /** Permits that may be taken at once after a quiet period (the bucket's size). Default `rate`, at least 1. */
  burst?: number;
  /**
   * `reject` (default): a call without a permit fails at once with
   * `RateLimitedError`. `wait`: its permit is reserved in Redis and the call
   * waits for it (abortable; a permit given up by an abort is not refunded).
   */
  mode?: 'reject' | 'wait';
  /** `wait` mode only: a call whose permit is due later than this many ms is rejected at once. Default no limit. */
  maxWait?: number;
  /** Permits a call takes: an integer ≥ 1 and ≤ `burst`, or a function of the context. Default 1. */
  cost?: number | ((ctx: Context) => number);
}

/** Events of {@link distributedRateLimit}, as `rateLimit`'s. */
export interface DistributedRateLimitEvents extends RedisPolicyEvents {
  /** No permit: the call was rejected with `RateLimitedError` (`maxWait`: its permit was due too late). */
  reject: { readonly retryAfter: number; readonly reason: 'limit' | 'maxWait' };
  /** A permit was reserved `delay` ms ahead; the call waits for it. */
  wait: { readonly delay: number };
}

/** Counters of a distributed rate limiter (this instance's view). */
export interface DistributedRateLimitStats extends RedisStats {
  /** Whole permits left fleet-wide after this instance's last admitted call (0 after a rejection). */
  readonly available: number;
  /** The bucket's size, `burst`. */
  readonly limit: number;
  /** Calls this instance admitted through Redis. */
  readonly admitted: number;
  /** Calls this instance rejected. */
  readonly rejected: number;
}

/** The option names `distributedRateLimit` accepts. */
export const DISTRIBUTED_RATE_LIMIT_OPTIONS = [
  ...REDIS_POLICY_OPTIONS,
  'rate',
  'per',
  'burst',
  'mode',
  'maxWait',
  'cost',
] as const;

/** A rate limit shared through Redis. Create it with `distributedRateLimit()`. */
export class DistributedRateLimitPolicy extends RedisPolicy<DistributedRateLimitEvents> {
  /** Permits per `per` ms. */
  readonly rate: number;
  /** The period of `rate`, in ms. */
  readonly per: number;
  /** Permits available at once. */
  readonly burst: number;
  /** `reject` or `wait`. */
  readonly mode: 'reject' | 'wait';
  /** `wait` mode: the longest wait for a reserved permit, in ms. */
  readonly maxWait: number;
  private readonly cost: number | ((ctx: Context) => number);
  private readonly keys: readonly string[];
  /** ARGV without the cost, built once. */
  private readonly args: readonly (string | number)[];
  private readonly argsCost1: readonly (string | number)[];
  private admitted = 0;
  private rejected = 0;
  private available: number;

  constructor(options: DistributedRateLimitOptions) {
    const p = 'distributedRateLimit';
    checkObject(p, 'options', options);
    if (options === undefined) throw new TypeError(`${p}: expected options, got undefined`);
    checkKeys(p, options, DISTRIBUTED_RATE_LIMIT_OPTIONS);
    super('distributedRateLimit', p, options);
    this.rate = checkNumber(p, 'rate', options.rate, { min: 0, exclusiveMin: true });
    this.per = checkNumber(p, 'per', options.per, { min: 0, exclusiveMin: true }, 1000);
    this.burst = checkNumber(p, 'burst', options.burst, { min: 1 }, Math.max(1, this.rate));
    this.mode = checkOneOf(p, 'mode', options.mode, ['reject', 'wait'], 'reject');
    this.maxWait = checkNumber(
      p,
      'maxWait',
      options.maxWait,
      { min: 0, infinite: true },
      Number.POSITIVE_INFINITY,
    );
    if (typeof options.cost === 'function') this.cost = options.cost;
    else {
      this.cost = checkNumber(p, 'cost', options.cost, { min: 1, integer: true }, 1);
      if (this.cost > this.burst) {
        throw new RangeError(
          `${p}: cost must be ≤ burst (${this.burst}) or no call could ever pass, got ${this.cost}`,
        );
      }
    }
    this.available = Math.floor(this.burst);
    this.keys = [redisKey(this.prefix, 'rate', this.key)];
    let maxWait = -1;
    if (this.mode === 'reject') maxWait = 0;
    else if (Number.isFinite(this.maxWait)) maxWait = this.maxWait * 1000;
    // µs: Redis TIME gives µs, and ms would round short intervals (rate 3000/s) to nothing.
    this.args = [(this.per * 1000) / this.rate, this.burst, maxWait];
    this.argsCost1 = [...this.args, 1];
  }

  /** The fleet's permits left as last seen, and this instance's counters. */
  get stats(): DistributedRateLimitStats {
    return {
      ...this.redisStats(),
      available: this.available,
      limit: this.burst,
      admitted: this.admitted,
      rejected: this.rejected,
    };
  }

  override _health(): PolicyHealth {
    const stats = this.stats;
    return {
      kind: this.kind,
      name: this.name,
      status: !stats.redisAvailable ? (this.onRedisError === 'failClosed' ? 'down' : 'degraded') : 'ok',
      key: this.key,
      rate: this.rate,
      per: this.per,
      mode: this.mode,
      ...stats,
    };
  }

  override _enter(ctx: ExecutionContext): unknown {
    const cost = this.cost;
    let args = this.argsCost1;
    if (cost !== 1) {
      const n = typeof cost === 'number' ? cost : cost(ctx);
      if (!Number.isInteger(n) || n < 1 || n > this.burst) {
        throw new RangeError(
          `distributedRateLimit: cost must be an integer ≥ 1 and ≤ burst (${this.burst}), got ${n}`,
        );
      }
      args = [...this.args, n];
    }
    return this.gateway.run(GCRA, this.keys, args).then(
      (reply) => this.decide(ctx, reply as number[]),
      (error: unknown) => {
        this.redisFailed('take', error);
        return this.enterWithoutRedis(ctx, 'take', error);
      },
    );
  }

  private decide(ctx: ExecutionContext, reply: number[]): unknown {
    this.redisAnswered('take');
    const waitMs = Math.ceil(reply[1]! / 1000);
    if (reply[0] !== 1) {
      this.rejected += 1;
      this.available = 0;
      const reason = this.mode === 'wait' ? 'maxWait' : 'limit';
      if (this.listening('reject')) this.emit('reject', { retryAfter: waitMs, reason });
      throw new RateLimitedError(waitMs);
    }
    this.admitted += 1;
    this.available = reply[2]!;
    if (waitMs <= 0) return undefined;
    if (this.listening('wait')) this.emit('wait', { delay: waitMs });
    // The permit is already ours; an abort while waiting gives it up (it is not refunded).
    return sleep(this.clock, waitMs, ctx);
  }

  override _success(ctx: ExecutionContext, token: unknown, value: unknown): unknown {
    if (token instanceof LocalToken) this.exitLocal(ctx, token, false, value);
    return super._success(ctx, token, value);
  }

  override _failure(ctx: ExecutionContext, token: unknown, error: unknown): unknown {
    if (token instanceof LocalToken) error = this.exitLocal(ctx, token, true, error);
    return super._failure(ctx, token, error);
  }
}

/**
 * A rate limit shared by every instance through Redis: `rate` permits per
 * `per` ms with bursts up to `burst`, decided atomically by one Lua script
 * (GCRA, a token bucket as one timestamp) on Redis' clock. A call without a
 * permit is rejected with `RateLimitedError` carrying `retryAfter`, or in
 * `wait` mode reserves its permit and waits for it (up to `maxWait`).
 * One Redis round trip per call.
 */
export function distributedRateLimit(options: DistributedRateLimitOptions): DistributedRateLimitPolicy {
  return new DistributedRateLimitPolicy(options);
}
