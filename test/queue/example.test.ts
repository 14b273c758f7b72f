import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGateway, paymentService } from '../../examples/queue-for-later/index.js';
import { VirtualClock } from '../../src/testing/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bulwark-example-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Moves virtual time in steps until `done()`; between steps real I/O (the
 * queue file) gets to complete. Bounded: fails rather than loops forever.
 */
async function runUntil(
  clock: VirtualClock,
  done: () => boolean,
  stepMs = 10,
  maxSteps = 2_000,
): Promise<void> {
  for (let i = 0; i < maxSteps; i++) {
    if (done()) return;
    await yieldToIo();
    await clock.advance(stepMs);
  }
  throw new Error(`not done after ${maxSteps} steps of ${stepMs} ms`);
}

async function submitAll(
  clock: VirtualClock,
  submit: (id: string) => Promise<{ queued: boolean }>,
  ids: string[],
) {
  const outcomes: boolean[] = [];
  for (const id of ids) {
    let result: { queued: boolean } | undefined;
    void submit(id).then((r) => (result = r));
    await runUntil(clock, () => result !== undefined);
    outcomes.push(result!.queued);
  }
  return outcomes;
}

describe('example: queue orders for later processing when the payment gateway is down', () => {
  it('orders submitted while the gateway is down are queued, then charged once each when it is back', async () => {
    const clock = new VirtualClock();
    // Down until the orders are in: how much virtual time passes while the
    // queue file is written depends on the machine's I/O, so the gateway
    // comes back a second after the last submit, not at a fixed time.
    const gateway = new FakeGateway(clock, Number.POSITIVE_INFINITY);
    const { orders, queue, breaker } = await paymentService({
      clock,
      file: join(dir, 'orders.jsonl'),
      gateway,
    });
    const ids = ['o1', 'o2', 'o3', 'o4', 'o5'];
    const queued = await submitAll(clock, (id) => orders.submit({ id, amount: 10 }), ids);
    expect(queued).toEqual([true, true, true, true, true]);
    expect(breaker.state).toBe('open');
    gateway.upAt = clock.now() + 1_000;
    await runUntil(clock, () => queue.size() === 0);
    expect(clock.now()).toBeGreaterThanOrEqual(gateway.upAt);
    expect([...gateway.charges.keys()]).toEqual(ids);
    expect(breaker.state).toBe('closed');
    orders.close();
    await queue.close();
  });

  it('no loss on restart: a new process drains what the crashed one queued', async () => {
    const file = join(dir, 'orders.jsonl');
    const clock = new VirtualClock();
    const down = new FakeGateway(clock, Number.POSITIVE_INFINITY);
    const before = await paymentService({ clock, file, gateway: down });
    await submitAll(clock, (id) => before.orders.submit({ id, amount: 5 }), ['o1', 'o2', 'o3']);
    // The process dies: nothing is drained, nothing is shut down cleanly.
    before.orders.close();

    const up = new FakeGateway(clock, 0);
    const after = await paymentService({ clock, file, gateway: up });
    await runUntil(clock, () => after.queue.size() === 0);
    expect([...up.charges.keys()]).toEqual(['o1', 'o2', 'o3']);
    after.orders.close();
    await after.queue.close();
    await before.queue.close();
  });
});
