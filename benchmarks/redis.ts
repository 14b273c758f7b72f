/**
 * bulwark/redis: what sharing state through Redis costs per call.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx benchmarks/redis.ts
 *
 * Without REDIS_URL it starts a throwaway redis-server on a free port (it must
 * be installed). BENCH_TIME (ms per case per round, default 1000), BENCH_ROUNDS (3).
 *
 * Cases run in batches of sequential awaited calls; CPU time per call is the headline
 * number (a loaded machine disturbs it least), wall time is shown too:
 *   - bare `await fn()` and the local `circuitBreaker`, yielding to I/O every 100 calls;
 *   - `sharedCircuitBreaker` with a client answering from memory (the hot path and the flush
 *     bookkeeping, no socket), free-running on Redis (same rhythm: its flushes go out when they can,
 *     and at a million calls per second most outcomes are dropped, so this is the hot path
 *     alone), and with every outcome flushed (`flush()` awaited every 100 or 1000 calls:
 *     the amortised cost of the flushes included);
 *   - for scale, `distributedRateLimit` and `distributedBulkhead`, which pay one and two
 *     round trips per call.
 * Redis scripts sent per 1000 calls and outcomes dropped are counted too.
 * Results and method: docs/distributed.md.
 */
import os from 'node:os';
import { Redis } from 'ioredis';
import { circuitBreaker } from '../src/index.js';
import {
  type RedisClient,
  distributedBulkhead,
  distributedRateLimit,
  sharedCircuitBreaker,
} from '../src/integrations/redis/index.js';
import { RedisServer } from '../test/setup/redis-server.js';

const time = Number(process.env.BENCH_TIME ?? 1000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

/** Counts the scripts a policy sends, so the table can show Redis traffic per call. */
function counting(redis: RedisClient): RedisClient & { count: number } {
  const counter = {
    count: 0,
    evalsha(...args: Parameters<RedisClient['evalsha']>) {
      counter.count += 1;
      return redis.evalsha(...args);
    },
    eval(...args: Parameters<RedisClient['eval']>) {
      counter.count += 1;
      return redis.eval(...args);
    },
  };
  return counter;
}

let server: RedisServer | undefined;
let url = process.env.REDIS_URL;
if (url === undefined || url === '') {
  server = await RedisServer.start();
  url = server.url;
}
const redis = new Redis(url, { enableOfflineQueue: true });
await redis.ping();
const prefix = `bench:${Date.now().toString(36)}:`;

const work = async () => 1;
/** A service reads its sockets between requests: the loop reaches I/O once per batch, in every case. */
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

const local = circuitBreaker({ failureRate: 0.5, minimumCalls: 20 });
const breakerOf = (key: string, counter: RedisClient, maxBatch = 100) =>
  sharedCircuitBreaker({ redis: counter, key, prefix, failureRate: 0.5, minimumCalls: 20, maxBatch });
const freeClient = counting(redis);
const free = breakerOf('free', freeClient);
const flushedClient = counting(redis);
const flushed = breakerOf('flushed', flushedClient);
const flushed1kClient = counting(redis);
const flushed1k = breakerOf('flushed-1k', flushed1kClient, 1_000);
const limiter = distributedRateLimit({ redis, key: 'bench', prefix, rate: 1e9, redisTimeout: 1_000 });
const slots = distributedBulkhead({ redis, key: 'bench', prefix, limit: 1_000_000, redisTimeout: 1_000 });
// A client answering at once from memory (closed, generation 1): the hot path and the flush
// bookkeeping without a socket.
const closedReply = [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const inMemory: RedisClient = { evalsha: async () => closedReply, eval: async () => closedReply };
const hot = sharedCircuitBreaker({
  redis: inMemory,
  key: 'hot',
  prefix,
  maxBatch: 10_000,
  syncInterval: 1e9,
});
// The first call of a shared breaker reads the state once; do it before measuring.
for (const breaker of [free, flushed, flushed1k, hot]) await breaker.execute(work);

interface Case {
  name: string;
  call: () => Promise<unknown>;
  /** Calls between two `after()`. */
  batch: number;
  after: () => Promise<void>;
  counter?: RedisClient & { count: number };
  breaker?: typeof free;
}
const cases: Case[] = [
  { name: 'bare: await fn()', call: work, batch: 100, after: yieldToIo },
  { name: 'circuitBreaker (local)', call: () => local.execute(work), batch: 100, after: yieldToIo },
  {
    name: 'sharedCircuitBreaker, hot path (in-memory client)',
    call: () => hot.execute(work),
    batch: 100,
    after: yieldToIo,
    breaker: hot,
  },
  {
    name: 'sharedCircuitBreaker, free-running',
    call: () => free.execute(work),
    batch: 100,
    after: yieldToIo,
    counter: freeClient,
    breaker: free,
  },
  {
    name: 'sharedCircuitBreaker, every outcome flushed (maxBatch 100)',
    call: () => flushed.execute(work),
    batch: 100,
    after: () => flushed.flush(),
    counter: flushedClient,
    breaker: flushed,
  },
  {
    name: 'sharedCircuitBreaker, every outcome flushed (maxBatch 1000)',
    call: () => flushed1k.execute(work),
    batch: 1_000,
    after: () => flushed1k.flush(),
    counter: flushed1kClient,
    breaker: flushed1k,
  },
  {
    name: 'distributedRateLimit (1 round trip)',
    call: () => limiter.execute(work),
    batch: 100,
    after: yieldToIo,
  },
  {
    name: 'distributedBulkhead (2 round trips)',
    call: () => slots.execute(work),
    batch: 100,
    after: yieldToIo,
  },
];

interface Row {
  cpu: number[];
  wall: number[];
  scriptsPer1k: number[];
  dropped: number;
}
const rows = new Map<string, Row>(
  cases.map(({ name }) => [name, { cpu: [], wall: [], scriptsPer1k: [], dropped: 0 }]),
);

/**
 * Runs a case in batches for `ms` of wall time; returns CPU ns and wall ns per call and the
 * call count. CPU time (process.cpuUsage) is what a loaded machine disturbs least; wall time
 * includes the flushes' round trips where the case waits for them.
 */
async function measure(c: Case, ms: number): Promise<[number, number, number]> {
  let n = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < c.batch; i++) await c.call();
    await c.after();
    n += c.batch;
  }
  const wall = (performance.now() - t0) * 1e6;
  const cpu = process.cpuUsage(cpu0);
  return [((cpu.user + cpu.system) * 1e3) / n, wall / n, n];
}

for (let round = 0; round < rounds; round++) {
  // Interleaved rounds: a burst of load from elsewhere hits every case alike.
  for (const c of cases) {
    await measure(c, Math.min(200, time / 4)); // warm-up
    const scripts = c.counter?.count ?? 0;
    const dropped = c.breaker?.stats.dropped ?? 0;
    const [cpu, wall, n] = await measure(c, time);
    const row = rows.get(c.name)!;
    row.cpu.push(cpu);
    row.wall.push(wall);
    if (c.counter !== undefined) row.scriptsPer1k.push(((c.counter.count - scripts) * 1000) / n);
    row.dropped += (c.breaker?.stats.dropped ?? 0) - dropped;
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const bare = median(rows.get('bare: await fn()')!.cpu);
const localNs = median(rows.get('circuitBreaker (local)')!.cpu);
console.log(
  `\nbulwark/redis per-call cost — Node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} ×${os.cpus().length}, ` +
    `load ${os.loadavg()[0]!.toFixed(1)}, median of ${rounds} interleaved rounds × ${time} ms\n`,
);
console.log(
  '| case | CPU ns/call | × bare | × local breaker | wall ns/call | Redis scripts / 1000 calls | outcomes dropped |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const c of cases) {
  const row = rows.get(c.name)!;
  const ns = median(row.cpu);
  const scripts =
    c.counter !== undefined
      ? median(row.scriptsPer1k).toFixed(1)
      : c.name.startsWith('distributedRate')
        ? '1000'
        : c.name.startsWith('distributedBulk')
          ? '2000'
          : '0';
  console.log(
    `| ${c.name} | ${ns.toFixed(0)} | ${(ns / bare).toFixed(2)} | ${(ns / localNs).toFixed(2)} | ${median(row.wall).toFixed(0)} | ${scripts} | ${c.breaker === undefined ? '' : row.dropped} |`,
  );
}

redis.disconnect();
await server?.stop();
