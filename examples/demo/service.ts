import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the flaky service misbehaves. Times are ms. */
export interface FlakyServiceOptions {
  /** Share of requests answered with a 500 (after a normal delay). */
  errorRate: number;
  /** Share of requests answered after a latency spike of `slowMs`. */
  slowRate: number;
  /** Normal response time range. */
  fastMs: readonly [number, number];
  /** Latency spike range. */
  slowMs: readonly [number, number];
  /** Whether the service is down right now: every request then gets a 503 at once. */
  down: () => boolean;
  /** Source of randomness in [0, 1) (seeded, so runs can be compared). */
  random: () => number;
}

/** A running flaky service. */
export interface FlakyService {
  readonly url: string;
  readonly port: number;
  /** Requests received, per `x-demo-client` header, whatever the answer was. */
  readonly reached: ReadonlyMap<string, number>;
  /** Stops listening, drops every connection and pending answer. */
  close(): Promise<void>;
}

/**
 * Starts an HTTP service on 127.0.0.1 (random port) that fails the way real
 * dependencies do: some errors, some very slow answers, and outages.
 */
export async function startFlakyService(options: FlakyServiceOptions): Promise<FlakyService> {
  const reached = new Map<string, number>();
  /** Answers scheduled for later: cleared when the client leaves or the service closes. */
  const pending = new Set<NodeJS.Timeout>();
  const between = ([low, high]: readonly [number, number]) => low + (high - low) * options.random();

  const answer = (res: ServerResponse, status: number, body: object) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const later = (req: IncomingMessage, ms: number, reply: () => void) => {
    const timer = setTimeout(() => {
      pending.delete(timer);
      reply();
    }, ms);
    pending.add(timer);
    // A client that gave up (deadline, timeout) is not answered: the slot is freed at once.
    req.once('close', () => {
      clearTimeout(timer);
      pending.delete(timer);
    });
  };

  const server = createServer((req, res) => {
    const client = String(req.headers['x-demo-client'] ?? 'unknown');
    reached.set(client, (reached.get(client) ?? 0) + 1);
    if (options.down()) {
      answer(res, 503, { error: 'service unavailable' });
      return;
    }
    const roll = options.random();
    if (roll < options.errorRate) {
      later(req, between(options.fastMs), () => answer(res, 500, { error: 'internal error' }));
    } else if (roll < options.errorRate + options.slowRate) {
      later(req, between(options.slowMs), () => answer(res, 200, { stock: 42 }));
    } else {
      later(req, between(options.fastMs), () => answer(res, 200, { stock: 42 }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/stock`,
    port,
    reached,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of pending) clearTimeout(timer);
        pending.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** mulberry32: a small seeded PRNG, so two runs with one seed see the same service. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
