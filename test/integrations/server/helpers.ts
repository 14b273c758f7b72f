// Shared by the Express and Fastify integration tests: gates, bounded polling, a policy with a settable health.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';
import { PolicyBase, type PolicyHealth } from '../../../src/index.js';

/** A promise the test opens when it likes: handlers wait on it to hold their slot. */
export interface Gate {
  readonly opened: Promise<void>;
  open(): void;
}

export function gate(): Gate {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/**
 * Polls `check` every 2 ms until it holds, at most `limit` times (bounded:
 * 2 000 × 2 ms, a few seconds on a loaded machine); throws with `what` if it never does.
 */
export async function until(check: () => boolean, what: string, limit = 2_000): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** The base URL of a listening server. */
export function baseUrl(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * For one test file: starts apps (Express, or anything with `listen(port, host)`) on a free
 * 127.0.0.1 port and resolves with their base URL; every server started is closed after the
 * file's tests. Call it at the top of the file.
 */
export function serverStarter(): (app: { listen(port: number, host: string): Server }) => Promise<string> {
  const servers: Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.splice(0).map(closeServer));
  });
  return async (app) => {
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise<void>((resolve) => server.once('listening', resolve));
    return baseUrl(server);
  };
}

/** Closes a Node server and any connection it still has (keep-alive sockets would hold it open). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A response reduced to what the tests compare. */
export interface Answer {
  status: number;
  body: string;
  retryAfter: string | null;
  contentType: string | null;
}

/** Fetches and reads the whole body; network errors become status 0 with the error's name. */
export async function get(url: string, init: RequestInit = {}): Promise<Answer> {
  try {
    const response = await fetch(url, init);
    const body = await response.text();
    return {
      status: response.status,
      body,
      retryAfter: response.headers.get('retry-after'),
      contentType: response.headers.get('content-type'),
    };
  } catch (error) {
    return { status: 0, body: (error as Error).name, retryAfter: null, contentType: null };
  }
}

/** Counts answers per status code. */
export function tally(answers: readonly Answer[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of answers) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

/** A do-nothing policy whose health the test sets: stands in for anything that can be degraded or down. */
export class Probe extends PolicyBase {
  status: PolicyHealth['status'] = 'ok';
  constructor(name = 'probe') {
    super('probe', name);
  }
  override _health(): PolicyHealth {
    return { kind: this.kind, name: this.name, status: this.status };
  }
}

/** A policy whose admission throws a plain error: a bug or an infrastructure failure, not a refusal. */
export class Broken extends PolicyBase {
  constructor(readonly error: unknown) {
    super('broken', undefined);
  }
  override _enter(): unknown {
    throw this.error;
  }
}
