import type { TimerHandle } from '../../core/clock.js';
import type { ExecutionContext } from '../../core/context.js';
import { BulkheadFullError } from '../../core/errors.js';
import type { PolicyHealth } from '../../core/policy.js';
import { checkKeys, checkNumber, checkObject } from '../../core/validate.js';
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

/** Redis' clock in ms; every script reads time here, so all instances share one clock. */
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** Keeps the set alive as long as its longest lease: an abandoned limit cleans itself up. */
const KEEP_ALIVE = `if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
`;

/**
 * KEYS[1]: sorted set of leases scored by expiry (ms, Redis clock).
 * ARGV: limit, lease ttl ms, lease id. Returns { admitted 0|1, leases held }.
 */
const ACQUIRE = /* @__PURE__ */ new LuaScript(
  NOW_MS,
  `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local running = redis.call('ZCARD', KEYS[1])
if running >= tonumber(ARGV[1]) then return {0, running} end
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
`,
  KEEP_ALIVE,
  `return {1, running + 1}
`,
);

/** ARGV: lease id. */
const RELEASE = /* @__PURE__ */ new LuaScript(`return redis.call('ZREM', KEYS[1], ARGV[1])
`);

/** ARGV: lease ttl ms, lease ids... Extends the leases still held; returns the ids that were gone. */
const RENEW = /* @__PURE__ */ new LuaScript(
  NOW_MS,
  `local ttl = tonumber(ARGV[1])
local lost = {}
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[i])
  else
    lost[#lost + 1] = ARGV[i]
  end
end
`,
  KEEP_ALIVE,
  `return lost
`,
);

/** Options of {@link distributedBulkhead}. */
export interface DistributedBulkheadOptions extends RedisPolicyOptions {
  /** Most calls running at once across every instance sharing `key`. */
  limit: number;
  /**
   * How long a slot outlives an instance that died holding it, in ms. Calls
   * in flight renew their lease every `leaseTtl / 3` ms. Default 10 000.
   */
  leaseTtl?: number;
}

/** Events of {@link distributedBulkhead}. */
export interface DistributedBulkheadEvents extends RedisPolicyEvents {
  /** Every slot was taken fleet-wide: the call was rejected with `BulkheadFullError`. */
  reject: { readonly reason: 'full'; readonly running: number; readonly limit: number };
  /**
   * A running call's lease had expired before it could be renewed (Redis was
   * unreachable for longer than `leaseTtl`, or restarted): its slot may have
   * gone to another call meanwhile.
   */
  leaseLost: { readonly lease: string };
}

/** Load of a distributed bulkhead (this instance's view). */
export interface DistributedBulkheadStats extends RedisStats {
  /** Leases this instance holds now. */
  readonly held: number;
  /** Leases held fleet-wide at this instance's last acquire. */
  readonly running: number;
  /** The configured `limit`. */
  readonly limit: number;
  /** Calls this instance rejected. */
  readonly rejected: number;
  /** Leases found expired at renewal. */
  readonly leasesLost: number;
}

/** The option names `distributedBulkhead` accepts. */
export const DISTRIBUTED_BULKHEAD_OPTIONS = [...REDIS_POLICY_OPTIONS, 'limit', 'leaseTtl'] as const;

/** One slot held in Redis by a call of this instance. */
class Lease {
  lost = false;
  constructor(
    readonly id: string,
    /** The context's lingering work at entry, to tell whether work inside outlived the call. */
    readonly lingering: Promise<void> | undefined,
  ) {}
}

/** A concurrency limit shared through Redis. Create it with `distributedBulkhead()`. */
export class DistributedBulkheadPolicy extends RedisPolicy<DistributedBulkheadEvents> {
  /** Most calls running at once, fleet-wide. */
  readonly limit: number;
  /** Lease lifetime in ms. */
  readonly leaseTtl: number;
  private readonly keys: readonly string[];
  private readonly instance: string;
  private sequence = 0;
  private readonly leases = new Map<string, Lease>();
  private renewTimer: TimerHandle | undefined = undefined;
  private running = 0;
  private rejected = 0;
  private leasesLost = 0;

  constructor(options: DistributedBulkheadOptions) {
    const p = 'distributedBulkhead';
    checkObject(p, 'options', options);
    if (options === undefined) throw new TypeError(`${p}: expected options, got undefined`);
    checkKeys(p, options, DISTRIBUTED_BULKHEAD_OPTIONS);
    super('distributedBulkhead', p, options);
    this.limit = checkNumber(p, 'limit', options.limit, { min: 1, integer: true });
    this.leaseTtl = checkNumber(p, 'leaseTtl', options.leaseTtl, { min: 3, integer: true }, 10_000);
    this.keys = [redisKey(this.prefix, 'bulkhead', this.key)];
    // Lease ids need only be unique among live instances; no Node API needed.
    this.instance = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
  }

  /** This instance's leases and counters, and the fleet's load at its last acquire. */
  get stats(): DistributedBulkheadStats {
    return {
      ...this.redisStats(),
      held: this.leases.size,
      running: this.running,
      limit: this.limit,
      rejected: this.rejected,
      leasesLost: this.leasesLost,
    };
  }

  override _health(): PolicyHealth {
    const stats = this.stats;
    let status: PolicyHealth['status'] = this.running >= this.limit ? 'degraded' : 'ok';
    if (!stats.redisAvailable) status = this.onRedisError === 'failClosed' ? 'down' : 'degraded';
    return { kind: this.kind, name: this.name, status, key: this.key, leaseTtl: this.leaseTtl, ...stats };
  }

  override _enter(ctx: ExecutionContext): unknown {
    const id = `${this.instance}:${++this.sequence}`;
    return this.gateway.run(ACQUIRE, this.keys, [this.limit, this.leaseTtl, id], this.lateAcquire(id)).then(
      (reply) => this.admit(ctx, id, reply as number[]),
      (error: unknown) => {
        this.redisFailed('acquire', error);
        return this.enterWithoutRedis(ctx, 'acquire', error);
      },
    );
  }

  /** A lease granted after we stopped waiting is nobody's: give it back. */
  private lateAcquire(id: string): (reply: unknown) => void {
    return (reply) => {
      if ((reply as number[])[0] === 1) this.releaseId(id);
    };
  }

  private admit(ctx: ExecutionContext, id: string, reply: number[]): Lease {
    this.redisAnswered('acquire');
    this.running = reply[1]!;
    if (reply[0] !== 1) {
      this.rejected += 1;
      if (this.listening('reject')) {
        this.emit('reject', { reason: 'full', running: this.running, limit: this.limit });
      }
      throw new BulkheadFullError(
        `Distributed bulkhead ${JSON.stringify(this.key)} is full (${this.running} running, limit ${this.limit}); rejected without calling`,
      );
    }
    if (ctx.aborted) {
      // The caller left while Redis answered: the work will not run, so neither may the lease stay.
      this.releaseId(id);
      throw ctx.reason;
    }
    const lease = new Lease(id, ctx.lingering);
    this.leases.set(id, lease);
    if (this.renewTimer === undefined) this.armRenewal();
    return lease;
  }

  override _success(ctx: ExecutionContext, token: unknown, value: unknown): unknown {
    if (token instanceof LocalToken) this.exitLocal(ctx, token, false, value);
    else this.exit(ctx, token as Lease);
    return super._success(ctx, token, value);
  }

  override _failure(ctx: ExecutionContext, token: unknown, error: unknown): unknown {
    if (token instanceof LocalToken) error = this.exitLocal(ctx, token, true, error);
    else if (token instanceof Lease) this.exit(ctx, token);
    return super._failure(ctx, token, error);
  }

  private exit(ctx: ExecutionContext, lease: Lease | undefined): void {
    if (!(lease instanceof Lease)) return;
    const lingering = ctx.lingering;
    // Work an aggressive timeout or a losing hedge left running still holds the slot.
    if (lingering === undefined || lingering === lease.lingering) this.release(lease);
    else void lingering.then(() => this.release(lease));
  }

  private release(lease: Lease): void {
    this.leases.delete(lease.id);
    this.releaseId(lease.id);
  }

  private releaseId(id: string): void {
    // If this fails the lease simply expires after leaseTtl: the slot is late, never lost.
    this.gateway.run(RELEASE, this.keys, [id]).then(
      () => this.redisAnswered('release'),
      (error: unknown) => this.redisFailed('release', error),
    );
  }

  private armRenewal(): void {
    // Unref'd: the calls in flight keep the process alive, the renewal need not.
    this.renewTimer = this.clock.setTimeout(this.renew, Math.floor(this.leaseTtl / 3), true);
  }

  private readonly renew = (): void => {
    this.renewTimer = undefined;
    if (this.leases.size === 0) return;
    const args: (string | number)[] = [this.leaseTtl];
    for (const id of this.leases.keys()) args.push(id);
    this.armRenewal();
    this.gateway.run(RENEW, this.keys, args).then(
      (lost) => {
        this.redisAnswered('renew');
        for (const id of lost as string[]) this.lost(id);
      },
      (error: unknown) => this.redisFailed('renew', error),
    );
  };

  private lost(id: string): void {
    const lease = this.leases.get(id);
    if (lease === undefined || lease.lost) return;
    lease.lost = true;
    // Renewing it again would only report it again; its release still runs.
    this.leases.delete(id);
    this.leasesLost += 1;
    if (this.listening('leaseLost')) this.emit('leaseLost', { lease: id });
  }
}

/**
 * A concurrency limit shared by every instance through Redis: at most
 * `limit` calls run at once fleet-wide, the rest are rejected at once with
 * `BulkheadFullError`. Each running call holds a lease in a sorted set scored
 * by expiry; the lease is renewed while the call runs and freed when it
 * settles, and it expires `leaseTtl` ms after an instance dies, so no slot is
 * ever lost for good.
 */
export function distributedBulkhead(options: DistributedBulkheadOptions): DistributedBulkheadPolicy {
  return new DistributedBulkheadPolicy(options);
}
