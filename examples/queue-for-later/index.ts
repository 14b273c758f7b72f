/**
 * Queue orders for later processing when the payment gateway is down.
 *
 *   npx tsx examples/queue-for-later/index.ts [queue-file]
 *
 * A fake gateway is down for its first second. Orders submitted meanwhile
 * are stored in a file-backed queue instead of failing; once the breaker's
 * open period ends, the oldest queued order is sent as the half-open probe,
 * the breaker closes, and the rest are drained. Charging is idempotent (the
 * order id is the idempotency key), so an order handed out twice after a
 * crash is charged once. Kill the process while orders wait and run it
 * again: the new process drains what the old one left.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Clock,
  circuitBreaker,
  type Context,
  pipeline,
  queueForLater,
  retry,
  systemClock,
  timeout,
} from '../../src/index.js';
import { FileQueue } from './file-queue.js';

/** An order to charge. */
export interface Order {
  readonly id: string;
  readonly amount: number;
}

/** A payment gateway that is down until `upAt`, and charges each idempotency key once. */
export class FakeGateway {
  /** Charges made, by idempotency key. */
  readonly charges = new Map<string, number>();
  /** Requests received, duplicates included. */
  requests = 0;

  constructor(
    private readonly clock: Clock,
    /** When the gateway comes back (clock time); may be moved, e.g. by a test. */
    public upAt: number,
  ) {}

  async charge(order: Order, idempotencyKey: string, _signal: AbortSignal): Promise<string> {
    this.requests++;
    if (this.clock.now() < this.upAt) throw new Error('gateway: 503 Service Unavailable');
    // A key seen before returns the first charge's receipt instead of charging again.
    if (!this.charges.has(idempotencyKey)) this.charges.set(idempotencyKey, order.amount);
    return `receipt-${idempotencyKey}`;
  }
}

/** Builds the protected payment service around a gateway and a durable queue. */
export async function paymentService(options: { clock: Clock; file: string; gateway: FakeGateway }) {
  const { clock, gateway } = options;
  const breaker = circuitBreaker({ consecutiveFailures: 3, openFor: 500, clock });
  const payments = pipeline(
    retry({ maxAttempts: 2, backoff: 50, clock }),
    breaker,
    timeout({ ms: 2_000, clock }),
  );
  const queue = await FileQueue.open<Order>(options.file);
  const orders = queueForLater<Order, string>({
    policy: payments,
    queue,
    handler: (order, ctx: Context) => gateway.charge(order, order.id, ctx.signal),
    clock,
  });
  return { orders, queue, breaker };
}

async function main(): Promise<void> {
  const file = process.argv[2] ?? join(await mkdtemp(join(tmpdir(), 'bulwark-orders-')), 'orders.jsonl');
  const gateway = new FakeGateway(systemClock, Date.now() + 1_000);
  const { orders, queue, breaker } = await paymentService({ clock: systemClock, file, gateway });
  breaker.on('open', () => console.log('breaker: open'));
  breaker.on('close', () => console.log('breaker: closed'));
  orders.on('drained', ({ removed }) => {
    if (removed > 0) console.log(`drained ${removed} queued orders`);
  });

  for (let i = 1; i <= 5; i++) {
    const outcome = await orders.submit({ id: `order-${i}`, amount: 10 * i });
    console.log(`order-${i}:`, outcome.queued ? 'queued for later' : outcome.value);
  }
  // Wait for the re-drive (the open period is 500 ms; the gateway is back after 1 s).
  while (queue.size() > 0) await new Promise((resolve) => setTimeout(resolve, 100));
  console.log(
    `charged ${gateway.charges.size} orders with ${gateway.requests} gateway requests; queue file: ${file}`,
  );
  orders.close();
  await queue.close();
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  await main();
}
