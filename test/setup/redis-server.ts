// Starts throwaway redis-server processes on 127.0.0.1 for the integration tests.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

/** Whether a `redis-server` binary is on the PATH. */
export function redisServerInstalled(): boolean {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

/** A port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** One redis-server process; `stop()` and `start()` again on the same port to simulate an outage. */
export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  /** Starts a server with no persistence on a free port (or the given one). */
  static async start(port?: number): Promise<RedisServer> {
    const server = new RedisServer(port ?? (await freePort()));
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts the process and resolves once it accepts connections (5 s at most). */
  start(): Promise<void> {
    if (this.child !== undefined) return Promise.resolve();
    // Through a small shell that kills the server when its stdin closes: if the test run itself is
    // killed (a CI timeout), the pipe closes with it and no redis-server is left behind.
    const child = spawn(
      'sh',
      [
        '-c',
        'redis-server "$@" & pid=$!; read _ignored; kill -9 $pid; wait $pid',
        'redis-server',
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.child = child;
    return new Promise((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => fail(new Error(`redis-server did not start in 5 s:\n${output}`)), 5_000);
      const fail = (error: Error) => {
        clearTimeout(timer);
        child.stdin?.end();
        this.child = undefined;
        reject(error);
      };
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          // Keep draining its output so the pipe never fills and blocks it.
          child.stdout?.resume();
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.once('error', fail);
      child.once('exit', (code) => {
        if (this.child === child) this.child = undefined;
        if (!output.includes('Ready to accept connections'))
          fail(new Error(`redis-server exited (${code}):\n${output}`));
      });
    });
  }

  /** Kills the server abruptly (as a crash would) and resolves once it has exited. */
  stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return Promise.resolve();
    this.child = undefined;
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      // Closing stdin makes the wrapper kill -9 the server and wait for it.
      child.stdin?.end();
    });
  }
}
