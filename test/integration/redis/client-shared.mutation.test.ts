/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/integrations/redis (client.ts, errors.ts, shared.ts; see docs/testing.md,
 * "Mutation testing"): each pins a behaviour that no other test observed.
 * No Redis needed: the clients are fakes that record what they are sent.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { circuitBreaker } from '../../../src/index.js';
import { LuaScript, RedisGateway, type RedisClient } from '../../../src/integrations/redis/client.js';
import {
  RedisTimeoutError,
  RedisUnavailableError,
  distributedBulkhead,
  distributedRateLimit,
} from '../../../src/integrations/redis/index.js';
import { VirtualClock } from '../../../src/testing/index.js';

/** One command as the client received it: `eval` or `evalsha:<sha>`, then numkeys, keys and args. */
type Sent = [string, ...(string | number)[]];

/** A fake client whose commands all settle as `answer` says; `sent` records them. */
function fakeClient(answer: () => Promise<unknown>, status?: string): RedisClient & { sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    evalsha: (sha, numkeys, ...args) => {
      sent.push([`evalsha:${sha}`, numkeys, ...args]);
      return answer();
    },
    eval: (_script, numkeys, ...args) => {
      sent.push(['eval', numkeys, ...args]);
      return answer();
    },
    ...(status === undefined ? {} : { status }),
  };
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** A fresh script whose SHA-1 is known to it (it was sent once by EVAL, and hashed). */
async function hashedScript(source: string): Promise<LuaScript> {
  const digest = vi.spyOn(globalThis.crypto.subtle, 'digest');
  const script = new LuaScript(source);
  await script.run(
    fakeClient(() => Promise.resolve(null)),
    [],
    [],
  );
  await digest.mock.results[0]!.value;
  digest.mockRestore();
  return script;
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('bulwark/redis client.ts', () => {
  it('rejects a redis option that is not a client, naming what it got', () => {
    const message = (got: string) =>
      `distributedRateLimit: redis must be an ioredis client (Redis or Cluster) with eval() and evalsha(), got ${got}`;
    const make = (redis: unknown) => () => distributedRateLimit({ redis: redis as never, key: 'k', rate: 1 });
    expect(make(null)).toThrow(new TypeError(message('null')));
    expect(make(undefined)).toThrow(new TypeError(message('undefined')));
    expect(make('redis://localhost')).toThrow(new TypeError(message('string')));
    expect(make({})).toThrow(new TypeError(message('object')));
    // Both commands are needed: one alone is not enough.
    expect(make({ eval: () => Promise.resolve(null) })).toThrow(new TypeError(message('object')));
    expect(make({ evalsha: () => Promise.resolve(null) })).toThrow(new TypeError(message('object')));
  });

  it('sends EVAL until the SHA-1 is known, hashing once, then EVALSHA with the script SHA-1', async () => {
    const digest = vi.spyOn(globalThis.crypto.subtle, 'digest');
    const source = 'return {KEYS[1], ARGV[1]}';
    const script = new LuaScript('return {KEYS[1], ', 'ARGV[1]}');
    const client = fakeClient(() => Promise.resolve('reply'));
    // Two calls before the hash is ready: both EVAL, one hash.
    const first = script.run(client, ['k1'], [7]);
    const second = script.run(client, ['k2'], ['x']);
    expect(digest).toHaveBeenCalledTimes(1);
    expect(digest.mock.calls[0]![0]).toBe('SHA-1');
    await digest.mock.results[0]!.value;
    await expect(Promise.all([first, second])).resolves.toEqual(['reply', 'reply']);
    await expect(script.run(client, ['k3'], [8])).resolves.toBe('reply');
    expect(client.sent).toEqual([
      ['eval', 1, 'k1', 7],
      ['eval', 1, 'k2', 'x'],
      [`evalsha:${sha1(source)}`, 1, 'k3', 8],
    ]);
    expect(digest).toHaveBeenCalledTimes(1);
  });

  it('falls back to EVAL only when EVALSHA says NOSCRIPT; other errors are passed on', async () => {
    const script = await hashedScript('return 1');
    const sha = `evalsha:${sha1('return 1')}`;
    const refused = new Error('ERR Error running script: user_script:1: boom');
    const failing = fakeClient(() => Promise.reject(refused));
    await expect(script.run(failing, ['k'], [])).rejects.toBe(refused);
    expect(failing.sent).toEqual([[sha, 1, 'k']]);

    let first = true;
    const restarted = fakeClient(() => {
      if (!first) return Promise.resolve(1);
      first = false;
      return Promise.reject(new Error('NOSCRIPT No matching script. Please use EVAL.'));
    });
    await expect(script.run(restarted, ['k'], [])).resolves.toBe(1);
    expect(restarted.sent).toEqual([
      [sha, 1, 'k'],
      ['eval', 1, 'k'],
    ]);
  });

  it('keeps sending EVAL where WebCrypto is missing', async () => {
    for (const crypto of [undefined, {}]) {
      vi.stubGlobal('crypto', crypto);
      const script = new LuaScript('return 2');
      const client = fakeClient(() => Promise.resolve(2));
      expect(await script.run(client, [], [])).toBe(2);
      expect(await script.run(client, [], [])).toBe(2);
      expect(client.sent).toEqual([
        ['eval', 0],
        ['eval', 0],
      ]);
      vi.unstubAllGlobals();
    }
  });

  it('fails at once, sending nothing, while the client is closed or ended; sends when it is ready', async () => {
    const clock = new VirtualClock();
    const script = new LuaScript('return 3');
    for (const status of ['close', 'end']) {
      const client = fakeClient(() => Promise.resolve(3), status);
      const gateway = new RedisGateway(client, 100, clock);
      await expect(gateway.run(script, ['k'], [])).rejects.toThrow(
        new Error(`Redis connection is ${status}`),
      );
      expect(client.sent).toEqual([]);
    }
    for (const status of ['ready', undefined]) {
      const client = fakeClient(() => Promise.resolve(3), status);
      await expect(new RedisGateway(client, 100, clock).run(script, ['k'], [])).resolves.toBe(3);
      expect(client.sent).toHaveLength(1);
    }
  });
});

describe('bulwark/redis errors.ts', () => {
  it('failClosed rejects at the deadline with a retryable RedisUnavailableError caused by a RedisTimeoutError', async () => {
    const clock = new VirtualClock();
    const limiter = distributedRateLimit({
      redis: fakeClient(() => new Promise(() => {})),
      key: 'k',
      rate: 1,
      redisTimeout: 20,
      onRedisError: 'failClosed',
      clock,
    });
    let settled = false;
    const call = limiter
      .execute(() => 'ran')
      .then(
        () => 'resolved',
        (error: unknown) => {
          settled = true;
          return error;
        },
      );
    await clock.advance(19);
    expect(settled).toBe(false);
    await clock.advance(1);
    const error = (await call) as RedisUnavailableError;
    expect(clock.now()).toBe(20);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error.message).toBe('Redis unavailable during take; rejected without calling (failClosed)');
    expect(error.code).toBe('ERR_REDIS_UNAVAILABLE');
    expect(error.operation).toBe('take');
    expect(error.retryable).toBe(true);
    const cause = error.cause as RedisTimeoutError;
    expect(cause).toBeInstanceOf(RedisTimeoutError);
    expect(cause.message).toBe('Redis did not answer within 20 ms');
    expect(cause.code).toBe('ERR_REDIS_TIMEOUT');
    expect(cause.timeout).toBe(20);
  });
});

describe('bulwark/redis shared.ts', () => {
  /** The GCRA reply of an admitted call with 4 permits left. */
  const admitted = () => Promise.resolve([1, 0, 4]);

  it("puts keys under the default prefix 'bulwark:'", async () => {
    const client = fakeClient(admitted);
    const limiter = distributedRateLimit({
      redis: client,
      key: 'orders',
      rate: 5,
      clock: new VirtualClock(),
    });
    await expect(limiter.execute(() => 'ok')).resolves.toBe('ok');
    expect(client.sent).toHaveLength(1);
    expect(client.sent[0]!.slice(1, 3)).toEqual([1, 'bulwark:rate:{orders}']);
  });

  it('names the name option when it is invalid', () => {
    expect(() =>
      distributedBulkhead({ redis: fakeClient(admitted), key: 'k', limit: 1, name: 5 as never }),
    ).toThrow(new TypeError('distributedBulkhead: name must be a non-empty string, got 5'));
  });

  it('has the local policy as its only child, and no child without one', () => {
    const redis = fakeClient(admitted);
    expect(distributedRateLimit({ redis, key: 'k', rate: 1 })._children()).toEqual([]);
    const local = circuitBreaker({ clock: new VirtualClock() });
    expect(distributedRateLimit({ redis, key: 'k', rate: 1, local })._children()).toEqual([local]);
  });

  it('a call decided by local while Redis fails exits through local, which emits its own outcome', async () => {
    const clock = new VirtualClock();
    const local = circuitBreaker({ clock, consecutiveFailures: 5 });
    const events: unknown[] = [];
    local.on('success', ({ value }) => events.push(['success', value]));
    local.on('failure', ({ error }) => events.push(['failure', error]));
    const limiter = distributedRateLimit({
      redis: fakeClient(() => Promise.reject(new Error('connection lost'))),
      key: 'k',
      rate: 1,
      local,
      clock,
    });
    await expect(limiter.execute(() => 'ok')).resolves.toBe('ok');
    expect(events).toEqual([['success', 'ok']]);
    const failure = new Error('work failed');
    await expect(limiter.execute(() => Promise.reject(failure))).rejects.toBe(failure);
    expect(events).toEqual([
      ['success', 'ok'],
      ['failure', failure],
    ]);
    expect(limiter.stats).toMatchObject({ failedOpen: 2, redisErrors: 2 });
  });
});
