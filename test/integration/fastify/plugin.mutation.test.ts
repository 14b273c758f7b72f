// Edge cases of bulwark/fastify against a real Fastify 5 server on 127.0.0.1 and Node's fetch.
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { bulkhead, timeout } from '../../../src/index.js';
import bulwark from '../../../src/integrations/fastify/index.js';
import { gate, get, until } from '../../integrations/server/helpers.js';
import { fastifyApps, listen } from './helpers.js';

const { app, track } = fastifyApps();

/** A Fastify app logging at info level into `logs` (one entry per line: level and message). */
function loggingApp() {
  const logs: string[] = [];
  const fastify = track(
    Fastify({
      logger: {
        level: 'info',
        stream: {
          write: (line: string) => {
            const entry = JSON.parse(line) as { level: number; msg: string; err?: { message: string } };
            logs.push(
              `${entry.level} ${entry.msg}${entry.err === undefined ? '' : `: ${entry.err.message}`}`,
            );
          },
        },
      },
    }),
  );
  return { fastify, logs };
}

describe('bulwark/fastify plugin', () => {
  it('names itself and the option in every registration error', async () => {
    const attempts: [unknown, string][] = [
      [() => 5, 'bulwark/fastify: options must be an object, got 5'],
      [{ polcy: 1 }, 'bulwark/fastify: unknown option "polcy"'],
      [{ healthRoute: null }, 'bulwark/fastify: healthRoute must be a URL or { url, policies }, got null'],
      [{ healthRoute: { url: '' } }, 'bulwark/fastify: healthRoute.url must be a non-empty string, got ""'],
      [
        { healthRoute: { policies: [1] } },
        'bulwark/fastify: healthRoute: policies["0"] is not a policy, got 1',
      ],
      [
        { healthRoute: { downStatus: 99 } },
        'bulwark/fastify: healthRoute: downStatus must be an integer ≥ 200 and ≤ 599, got 99',
      ],
    ];
    for (const [options, message] of attempts) {
      const fastify = Fastify({ logger: false });
      await expect(fastify.register(bulwark, options as never).ready()).rejects.toThrow(message);
      await fastify.close();
    }
  });

  it('registers under the plugin name "bulwark", so other plugins can depend on it', async () => {
    const { fastify } = app();
    await fastify.register(bulwark);
    await fastify.register(async () => {}, { dependencies: ['bulwark'] } as never);
    expect(fastify.hasPlugin('bulwark')).toBe(true);
  });

  it('reports only the per-route policies on the health route when the plugin has no policy', async () => {
    const search = bulkhead({ limit: 3, name: 'search' });
    const { fastify } = app();
    await fastify.register(bulwark, { healthRoute: '/health' });
    fastify.get('/search', { config: { bulwark: search } }, async () => 'found');
    const url = await listen(fastify);
    const answer = await get(`${url}/health`);
    expect(answer.status).toBe(200);
    const report = JSON.parse(answer.body) as { status: string; policies: { kind: string; name: string }[] };
    expect(report.status).toBe('ok');
    expect(report.policies.map((p) => `${p.kind} ${p.name}`)).toEqual(['bulkhead search']);
  });

  it('lets a response that a handler ended from its abort listener flush in full', async () => {
    const big = 'x'.repeat(4 * 1024 * 1024);
    const { fastify } = app();
    await fastify.register(bulwark, { policy: timeout(20) });
    fastify.get('/late', (request, reply) => {
      request.bulwark.signal.addEventListener('abort', () => void reply.code(200).send(big));
    });
    const answer = await get(`${await listen(fastify)}/late`);
    expect(answer.status).toBe(200);
    expect(answer.body.length).toBe(big.length);
  });

  it('completes the request in Fastify’s log, for admitted requests and ones turned away before admission', async () => {
    const limiter = bulkhead({ limit: 1 });
    const { fastify, logs } = loggingApp();
    await fastify.register(bulwark, { policy: limiter });
    fastify.get(
      '/a',
      {
        onRequest: async (request, reply) => {
          if (request.headers.authorization === undefined) return reply.code(401).send('who are you');
        },
      },
      async () => 'in',
    );
    const url = await listen(fastify);
    expect((await get(`${url}/a`)).status).toBe(401);
    expect((await get(`${url}/a`, { headers: { authorization: 'x' } })).status).toBe(200);
    await until(() => logs.filter((l) => l.endsWith('request completed')).length === 2, 'both completions');
    expect(logs.filter((l) => /request (completed|errored)/.test(l))).toEqual([
      '30 request completed',
      '30 request completed',
    ]);
    expect(limiter.stats.running).toBe(0);
  });

  it("aborts the signal with a TimeoutError naming Fastify's connectionTimeout", async () => {
    const signals: AbortSignal[] = [];
    const { fastify } = app({ connectionTimeout: 40 });
    await fastify.register(bulwark, { policy: bulkhead({ limit: 1 }) });
    fastify.get('/never', (request) => {
      signals.push(request.bulwark.signal);
      return new Promise(() => {});
    });
    expect((await get(`${await listen(fastify)}/never`)).status).toBe(0);
    await until(() => signals[0]?.aborted === true, 'the signal to abort');
    const reason = signals[0]!.reason as DOMException;
    expect([reason.name, reason.message]).toEqual([
      'TimeoutError',
      "The connection timed out (Fastify's connectionTimeout)",
    ]);
  });

  it('leaves later onTimeout hooks running for a request that timed out before admission', async () => {
    const timedOut: string[] = [];
    const { fastify } = app({ connectionTimeout: 40 });
    await fastify.register(bulwark, { policy: bulkhead({ limit: 1 }) });
    // Another plugin that, like bulwark, appends its own onTimeout hook to each route, after bulwark's.
    fastify.addHook('onRoute', (routeOptions) => {
      const own = routeOptions.onTimeout;
      const hooks = own === undefined ? [] : Array.isArray(own) ? own : [own];
      routeOptions.onTimeout = [
        ...hooks,
        (request, _reply, done) => {
          timedOut.push(request.url);
          done();
        },
      ];
    });
    fastify.get(
      '/stuck',
      // An onRequest hook that never finishes: the request times out before bulwark admits it.
      { onRequest: (_request, _reply, _done) => {} },
      async () => 'never',
    );
    expect((await get(`${await listen(fastify)}/stuck`)).status).toBe(0);
    await until(() => timedOut.length === 1, 'the later onTimeout hook');
    expect(timedOut).toEqual(['/stuck']);
  });

  it("logs an onReject failure that comes after the client left in the request's log", async () => {
    const called = gate();
    let thrown = false;
    const { fastify, logs } = loggingApp();
    const errors: Error[] = [];
    fastify.setErrorHandler((error, _request, reply) => {
      errors.push(error as Error);
      void reply.code(500).send();
    });
    await fastify.register(bulwark, {
      policy: timeout(20),
      onReject: async (_error, _request, reply) => {
        called.open();
        await new Promise((resolve) => reply.raw.once('close', resolve));
        thrown = true;
        throw new Error('onReject broke after the client left');
      },
    });
    fastify.get('/never', () => new Promise(() => {}));
    const client = new AbortController();
    const answer = get(`${await listen(fastify)}/never`, { signal: client.signal });
    await called.opened;
    client.abort();
    expect((await answer).body).toBe('AbortError');
    await until(() => thrown, 'onReject to throw');
    await until(() => logs.some((line) => line.startsWith('50 ')), 'the error in the log');
    // Too late for the error handler, which would answer a client that is gone: the log has it.
    expect(errors).toEqual([]);
    expect(logs.filter((line) => line.startsWith('50 '))).toEqual([
      '50 bulwark/fastify: onReject failed after the response started or the client left: onReject broke after the client left',
    ]);
  });

  it('hands an onReject failure on a refusal to the error handler even after the client left', async () => {
    const holding = gate();
    const called = gate();
    const { fastify, errors } = app();
    await fastify.register(bulwark, {
      policy: bulkhead({ limit: 1, queue: 0 }),
      onReject: async (_error, _request, reply) => {
        called.open();
        await new Promise((resolve) => reply.raw.once('close', resolve));
        throw new Error('onReject broke after the client left');
      },
    });
    let entered = 0;
    fastify.get('/hold', async () => {
      entered += 1;
      await holding.opened;
      return 'held';
    });
    const url = await listen(fastify);
    const held = get(`${url}/hold`);
    await until(() => entered === 1, 'the slot to be taken');
    const client = new AbortController();
    const refused = get(`${url}/hold`, { signal: client.signal });
    await called.opened;
    client.abort();
    expect((await refused).body).toBe('AbortError');
    // The request never entered: its error goes the way of any error before the handler.
    await until(() => errors.length === 1, 'the error handler');
    expect(errors.map((e) => e.message)).toEqual(['onReject broke after the client left']);
    holding.open();
    expect((await held).body).toBe('held');
  });
});
