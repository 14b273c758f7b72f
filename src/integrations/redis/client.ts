import type { Clock } from '../../core/clock.js';
import { type DeadlineEntry, DeadlineQueue } from '../../timeout/deadlines.js';
import { RedisTimeoutError } from './errors.js';

/**
 * The part of a Redis client that `bulwark/redis` uses: an ioredis `Redis` or
 * `Cluster` instance fits as is. Only `EVALSHA` and `EVAL` are sent, so every
 * operation is one atomic script.
 */
export interface RedisClient {
  /** Runs a script already loaded in Redis by its SHA-1 (`EVALSHA`). */
  evalsha(sha1: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  /** Runs a script, loading it (`EVAL`); used when `EVALSHA` reports `NOSCRIPT`. */
  eval(script: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  /** ioredis' connection status; when it says the connection is gone, calls fail at once. */
  readonly status?: string;
}

/** Connection states in which ioredis would only queue a command: failing at once beats waiting. */
const DOWN_STATUSES = new Set(['reconnecting', 'close', 'end']);

/** Checks that `value` looks like a Redis client, naming the policy in the error. */
export function checkRedisClient(policy: string, value: unknown): RedisClient {
  const client = value as Partial<RedisClient> | null;
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof client.evalsha !== 'function' ||
    typeof client.eval !== 'function'
  ) {
    throw new TypeError(
      `${policy}: redis must be an ioredis client (Redis or Cluster) with eval() and evalsha(), got ${value === null ? 'null' : typeof value}`,
    );
  }
  return client as RedisClient;
}

/**
 * A Lua script sent by SHA once Redis knows it. The source is constant: keys
 * and user values only ever travel as KEYS and ARGV.
 */
export class LuaScript {
  /** The script, its parts joined. */
  readonly source: string;
  private sha: string | undefined;
  private hashing = false;

  /**
   * Takes the source in parts rather than as a template literal with substitutions: scripts are
   * module constants, created with a pure annotation so that a bundle drops those it does not use,
   * and a bundler must keep a template literal with substitutions (it cannot tell they are strings).
   */
  constructor(...parts: string[]) {
    this.source = parts.join('');
  }

  run(client: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const sha = this.sha;
    if (sha === undefined) {
      this.hash();
      // EVAL also caches the script server-side, so the EVALSHA calls after it hit.
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
    return client.evalsha(sha, keys.length, ...keys, ...args).catch((error: unknown) => {
      // A restarted server (or another cluster node) has never seen the script.
      if (!isNoScript(error)) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    });
  }

  /** SHA-1 through WebCrypto, so the entry point needs no Node-only module. */
  private hash(): void {
    if (this.hashing) return;
    this.hashing = true;
    const subtle = globalThis.crypto?.subtle;
    if (subtle === undefined) return;
    subtle.digest('SHA-1', new TextEncoder().encode(this.source)).then(
      (digest) => {
        let hex = '';
        for (const byte of new Uint8Array(digest)) hex += byte.toString(16).padStart(2, '0');
        this.sha = hex;
      },
      () => {
        // Without a hash we keep sending EVAL: slower, still correct.
      },
    );
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** One command in flight, linked into the policy's deadline queue. */
class PendingCommand implements DeadlineEntry {
  deadline = 0;
  prev: DeadlineEntry | undefined = undefined;
  next: DeadlineEntry | undefined = undefined;
  queued = false;
  settled = false;

  constructor(
    private readonly timeout: number,
    private readonly clock: Clock,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: unknown) => void,
  ) {}

  /**
   * The deadline passed. After the event loop was blocked (a long synchronous
   * stretch, a GC pause), timers run before the socket is read, so the answer
   * may be waiting unread: give it one more turn of the loop before giving up.
   * That turn keeps the process alive, as the deadline did: a caller waiting
   * on the command must hear the timeout even when nothing else holds the loop.
   */
  expire(): void {
    this.clock.setTimeout(this.giveUp, 0);
  }

  private readonly giveUp = (): void => {
    if (this.settled) return;
    this.settled = true;
    this.reject(new RedisTimeoutError(this.timeout));
  };
}

/**
 * Runs scripts for one policy with a hard deadline. ioredis may hold a
 * command in its offline queue or retry it for seconds; the policy gives up
 * after `timeout` ms whatever the client does. One timer serves every
 * command in flight (all have the same deadline); it keeps the process alive
 * only while a command waits on it.
 */
export class RedisGateway {
  private readonly deadlines: DeadlineQueue;

  constructor(
    readonly client: RedisClient,
    readonly timeout: number,
    private readonly clock: Clock,
  ) {
    this.deadlines = new DeadlineQueue(clock);
  }

  /**
   * Runs `script`; rejects with `RedisTimeoutError` after the timeout, or at
   * once when the client says it is disconnected. `onLate` receives a result
   * that arrives after the timeout, so the caller can undo what the script did
   * (free a lease it no longer wants).
   */
  run(
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    onLate?: (result: unknown) => void,
  ): Promise<unknown> {
    const status = this.client.status;
    if (status !== undefined && DOWN_STATUSES.has(status)) {
      return Promise.reject(new Error(`Redis connection is ${status}`));
    }
    let work: Promise<unknown>;
    try {
      work = script.run(this.client, keys, args);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const pending = new PendingCommand(this.timeout, this.clock, resolve, reject);
      pending.deadline = this.clock.now() + this.timeout;
      this.deadlines.add(pending);
      work.then(
        (result) => {
          this.deadlines.remove(pending);
          if (pending.settled) {
            onLate?.(result);
            return;
          }
          pending.settled = true;
          resolve(result);
        },
        (error: unknown) => {
          this.deadlines.remove(pending);
          if (pending.settled) return;
          pending.settled = true;
          reject(error);
        },
      );
    });
  }
}
