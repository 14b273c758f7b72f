// A separate "instance" for the multi-process tests: `node --import tsx fixture.mts '<json>'`.
// It reports on stdout, one JSON line per event, and stays alive when told to hold.
import { Redis } from 'ioredis';
import {
  distributedBulkhead,
  distributedRateLimit,
  sharedCircuitBreaker,
} from '../../../src/integrations/redis/index.js';

interface Task {
  url: string;
  prefix: string;
  key: string;
  /** hold: take `count` bulkhead slots and keep them; take: `count` rate-limit takes; fail: `count` failures. */
  mode: 'hold' | 'take' | 'fail';
  count: number;
  limit?: number;
  leaseTtl?: number;
  burst?: number;
}

const task = JSON.parse(process.argv[2] ?? '{}') as Task;
const redis = new Redis(task.url, { maxRetriesPerRequest: 1 });
const report = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);
// As a service would: take traffic once the client is connected, or the first calls fail open.
await redis.ping();
const { prefix, key, count } = task;
// Generous: the test machine may be loaded; the outage tests cover short timeouts.
const redisTimeout = 5_000;

if (task.mode === 'hold') {
  const policy = distributedBulkhead({
    redis,
    key,
    prefix,
    redisTimeout,
    limit: task.limit ?? 1,
    leaseTtl: task.leaseTtl ?? 300,
  });
  const results = await Promise.allSettled(
    Array.from({ length: count }, () =>
      // A rejected call settles; an admitted one holds its slot until this process dies.
      policy
        .execute(() => new Promise<void>(() => {}))
        .catch((error: { code?: string }) => {
          throw error.code;
        }),
    ).map((call) => Promise.race([call, new Promise((resolve) => setTimeout(resolve, 300, 'held'))])),
  );
  report({ held: results.filter((r) => r.status === 'fulfilled').length });
  // Stays alive (the held calls never settle) until the test kills it.
} else if (task.mode === 'take') {
  const policy = distributedRateLimit({
    redis,
    key,
    prefix,
    redisTimeout,
    rate: 1,
    per: 60_000,
    burst: task.burst ?? 1,
  });
  const results = await Promise.allSettled(Array.from({ length: count }, () => policy.execute(() => 1)));
  report({ admitted: results.filter((r) => r.status === 'fulfilled').length });
  redis.disconnect();
} else {
  const policy = sharedCircuitBreaker({
    redis,
    key,
    prefix,
    redisTimeout,
    minimumCalls: count,
    openFor: 60_000,
  });
  for (let i = 0; i < count; i++)
    await policy.execute(() => Promise.reject(new Error('down'))).catch(() => {});
  await policy.flush();
  report({ state: policy.state });
  redis.disconnect();
}
