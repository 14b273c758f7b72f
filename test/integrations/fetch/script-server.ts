// A local HTTP server whose every route plays a script: the n-th request to
// /s/<id> gets the n-th step (the last step repeats). It records what it saw.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer. */
export type Step =
  | { status: number; headers?: Record<string, string>; body?: string; delay?: number }
  /** Destroys the socket without answering. */
  | 'reset'
  /** Never answers; gives up when the client goes away. */
  | 'hang'
  /** A body trickled one chunk per ms, to see whether the client reads or cancels it. */
  | { trickle: number; chunks: number };

export interface Seen {
  method: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Resolves when the request's connection or response closed; true when the client left first. */
  closed: Promise<boolean>;
}

interface Script {
  steps: Step[];
  seen: Seen[];
}

export interface ScriptServer {
  /** Registers a script and returns its URL. */
  script(...steps: Step[]): { url: string; seen: Seen[] };
  close(): Promise<void>;
}

/** What a trickle sends per chunk. */
export const CHUNK = 'x'.repeat(1024);

function play(step: Step, req: IncomingMessage, res: ServerResponse, leftEarly: () => boolean): void {
  if (step === 'reset') {
    req.socket.destroy();
    return;
  }
  if (step === 'hang') return;
  if ('trickle' in step) {
    res.writeHead(step.trickle, { 'content-type': 'text/plain', 'retry-after': '0' });
    let sent = 0;
    // Bounded: at most `chunks` chunks, and it stops as soon as the client leaves.
    const pump = () => {
      if (leftEarly() || res.destroyed) return;
      if (sent >= step.chunks) {
        res.end();
        return;
      }
      sent += 1;
      res.write(CHUNK);
      setTimeout(pump, 1);
    };
    pump();
    return;
  }
  const answer = () => {
    if (leftEarly()) return;
    res.writeHead(step.status, { 'content-type': 'text/plain', ...step.headers });
    res.end(step.body ?? `status ${step.status}`);
  };
  if (step.delay === undefined) {
    answer();
    return;
  }
  const timer = setTimeout(answer, step.delay);
  res.on('close', () => clearTimeout(timer));
}

export async function startScriptServer(): Promise<ScriptServer> {
  const scripts = new Map<string, Script>();
  let next = 0;
  const server: Server = createServer((req, res) => {
    const id = /^\/s\/(\w+)/.exec(req.url ?? '')?.[1];
    const script = id === undefined ? undefined : scripts.get(id);
    if (script === undefined) {
      res.writeHead(404).end('no script');
      return;
    }
    const chunks: Buffer[] = [];
    let clientLeft = false;
    const closed = new Promise<boolean>((resolve) => {
      res.on('close', () => {
        clientLeft = !res.writableFinished;
        resolve(clientLeft);
      });
    });
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const step = script.steps[Math.min(script.seen.length, script.steps.length - 1)]!;
      script.seen.push({
        method: req.method ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        closed,
      });
      play(step, req, res, () => clientLeft);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    script(...steps) {
      const id = `t${next++}`;
      const seen: Seen[] = [];
      scripts.set(id, { steps, seen });
      return { url: `http://127.0.0.1:${port}/s/${id}`, seen };
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
