// The Redis gateway's own guarantees, with clients that misbehave on purpose.
import { describe, expect, it } from 'vitest';
import { TimerRecordingClock } from '../../helpers/clocks.js';
import {
  RedisTimeoutError,
  type RedisClient,
  distributedRateLimit,
} from '../../../src/integrations/redis/index.js';

/** A client whose every command settles as `behaviour` says. */
function client(behaviour: () => Promise<unknown>, status?: string): RedisClient {
  return { evalsha: behaviour, eval: behaviour, ...(status === undefined ? {} : { status }) };
}

describe('bulwark/redis gateway', () => {
  it('a client that throws synchronously is a Redis error, not a crash', async () => {
    const limiter = distributedRateLimit({
      redis: client(() => {
        throw new Error('socket exploded');
      }),
      key: 'k',
      rate: 1,
    });
    const errors: unknown[] = [];
    limiter.on('redisError', ({ error }) => errors.push(error));
    await expect(limiter.execute(() => 'admitted')).resolves.toBe('admitted');
    expect(String(errors[0])).toMatch(/socket exploded/);
  });

  it('a command that never answers times out after redisTimeout; its late failure is ignored', async () => {
    let rejectLate!: (error: Error) => void;
    const limiter = distributedRateLimit({
      redis: client(
        () =>
          new Promise((_, reject) => {
            rejectLate = reject;
          }),
      ),
      key: 'k',
      rate: 1,
      redisTimeout: 20,
      onRedisError: 'failClosed',
    });
    const started = Date.now();
    const error = await limiter.execute(() => 'ran').catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(200);
    expect((error as { cause?: unknown }).cause).toBeInstanceOf(RedisTimeoutError);
    rejectLate(new Error('too late'));
    await Promise.resolve();
    expect(limiter.stats.redisErrors).toBe(1);
  });

  it('a client that says it is reconnecting fails at once instead of queueing', async () => {
    let sent = 0;
    const limiter = distributedRateLimit({
      redis: client(() => {
        sent += 1;
        return new Promise(() => {});
      }, 'reconnecting'),
      key: 'k',
      rate: 1,
      redisTimeout: 10_000,
    });
    const started = Date.now();
    await expect(limiter.execute(() => 'admitted')).resolves.toBe('admitted');
    expect(Date.now() - started).toBeLessThan(100);
    expect(sent).toBe(0);
  });
});

describe('bulwark/redis gateway and the process lifetime', () => {
  it('keeps the process alive until a command that never answers has timed out', async () => {
    // A process whose only pending work is the command must not exit before
    // the caller hears the timeout (failClosed) or runs the work (failOpen).
    const clock = new TimerRecordingClock();
    const limiter = distributedRateLimit({
      redis: client(() => new Promise(() => {})),
      key: 'k',
      rate: 1,
      redisTimeout: 5,
      onRedisError: 'failClosed',
      clock,
    });
    const call = limiter.execute(() => 'ran');
    await clock.advance(5);
    await expect(call).rejects.toThrow(
      'Redis unavailable during take; rejected without calling (failClosed)',
    );
    // The deadline's timer and the extra turn after it both hold the process.
    expect(clock.armed.map((timer) => [timer.ms, timer.unref === true])).toEqual([
      [5, false],
      [0, false],
    ]);
  });
});
