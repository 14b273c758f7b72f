// bulwark/fastify against a real Fastify 5 server on 127.0.0.1 and Node's fetch.
import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import {
  bulkhead,
  chaos,
  circuitBreaker,
  keyed,
  pipeline,
  rateLimit,
  retry,
  TimeoutError,
  timeout,
} from '../../../src/index.js';
import bulwark, { BULWARK_PLUGIN_OPTIONS, fastifyBulwark } from '../../../src/integrations/fastify/index.js';
import { Broken, type Gate, gate, get, Probe, tally, until } from '../../integrations/server/helpers.js';
import { fastifyApps, listen } from './helpers.js';

const { app } = fastifyApps();

/** Adds GET /hold, which waits for `holding` before answering and records who got in. */
function holdRoute(fastify: FastifyInstance, holding: Gate, config: Record<string, unknown> = {}) {
  const state = { entered: 0, signals: [] as AbortSignal[] };
  fastify.get('/hold', { config }, async (request) => {
    state.entered += 1;
    state.signals.push(request.bulwark.signal);
    await holding.opened;
    return { ok: true };
  });
  return state;
}

describe('bulwark/fastify: load shedding', () => {
  it('sheds a burst beyond the bulkhead: exactly 5 × 200 and 15 × 503 for 20 concurrent requests', async () => {
    const limiter = bulkhead({ limit: 5, queue: 0 });
    const holding = gate();
    const { fastify } = app();
    await fastify.register(bulwark, { policy: limiter });
    const state = holdRoute(fastify, holding);
    const url = await listen(fastify);

    const answers = Array.from({ length: 20 }, () => get(`${url}/hold`));
    let settled = 0;
    for (const answer of answers) void answer.then(() => settled++);
    await until(() => settled === 15 && state.entered === 5, '15 refusals and 5 running handlers');
    expect(limiter.stats.running).toBe(5);
    holding.open();
    const all = await Promise.all(answers);
    expect(tally(all)).toEqual({ 200: 5, 503: 15 });
    for (const refused of all.filter((a) => a.status === 503)) {
      expect(JSON.parse(refused.body)).toEqual({ error: 'ERR_BULKHEAD_FULL' });
      expect(refused.contentType).toMatch(/^application\/json/);
      expect(refused.retryAfter).toBeNull();
    }
    await until(() => limiter.stats.running === 0, 'the bulkhead to empty');
  });

  it('answers 429 with Retry-After in whole seconds, rounded up, for a rate limit', async () => {
    const { fastify } = app();
    await fastify.register(bulwark, {
      policy: rateLimit({ type: 'slidingWindow', limit: 3, window: 60_000 }),
    });
    fastify.get('/', async () => 'ok');
    const url = await listen(fastify);
    const answers = await Promise.all(Array.from({ length: 10 }, () => get(url)));
    expect(tally(answers)).toEqual({ 200: 3, 429: 7 });
    for (const limited of answers.filter((a) => a.status === 429)) {
      expect(JSON.parse(limited.body)).toEqual({ error: 'ERR_RATE_LIMITED' });
      expect(limited.retryAfter).toBe('60');
    }
  });

  it('answers 503 with Retry-After from an open breaker, and counts 5xx replies as failures', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 2, openFor: 2_500 });
    const { fastify } = app();
    await fastify.register(bulwark, { policy: breaker });
    fastify.get('/fail', async (_request, reply) => reply.code(502).send('bad gateway'));
    const url = await listen(fastify);
    expect((await get(`${url}/fail`)).status).toBe(502);
    expect((await get(`${url}/fail`)).status).toBe(502);
    const refused = await get(`${url}/fail`);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toEqual({ error: 'ERR_CIRCUIT_OPEN' });
    expect(refused.retryAfter).toBe('3');
  });

  it('advertises the retryAfter option on refusals that give no wait of their own', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1 });
    breaker.isolate();
    const { fastify } = app();
    await fastify.register(bulwark, { policy: breaker, retryAfter: 10_000 });
    fastify.get('/', async () => 'never');
    const refused = await get(await listen(fastify));
    expect(refused).toMatchObject({ status: 503, retryAfter: '10', body: '{"error":"ERR_CIRCUIT_OPEN"}' });
  });

  it('routes by key: one full tenant does not refuse another', async () => {
    const holding = gate();
    const { fastify } = app();
    await fastify.register(bulwark, {
      policy: keyed(() => bulkhead({ limit: 1 })),
      key: (request) => request.headers['x-tenant'],
    });
    const state = holdRoute(fastify, holding);
    const url = await listen(fastify);
    const a1 = get(`${url}/hold`, { headers: { 'x-tenant': 'a' } });
    await until(() => state.entered === 1, 'tenant a to get in');
    const a2 = await get(`${url}/hold`, { headers: { 'x-tenant': 'a' } });
    const b1 = get(`${url}/hold`, { headers: { 'x-tenant': 'b' } });
    await until(() => state.entered === 2, 'tenant b to get in');
    holding.open();
    expect(a2.status).toBe(503);
    expect((await a1).status).toBe(200);
    expect((await b1).status).toBe(200);
  });
});

describe('bulwark/fastify: per-route policies', () => {
  it('guards each route with its config.bulwark, falls back to the plugin policy, and skips false', async () => {
    const shared = bulkhead({ limit: 1, name: 'shared' });
    const own = bulkhead({ limit: 1, name: 'own' });
    const holding = gate();
    const { fastify } = app();
    await fastify.register(bulwark, { policy: shared });
    const state = holdRoute(fastify, holding);
    fastify.get('/own', { config: { bulwark: own } }, async () => {
      await holding.opened;
      return 'own';
    });
    fastify.get('/free', { config: { bulwark: false } }, async (request) => ({
      policy: request.bulwark.policy === undefined,
      signal: request.bulwark.signal instanceof AbortSignal,
    }));
    const url = await listen(fastify);

    const held = get(`${url}/hold`);
    await until(() => state.entered === 1, 'the shared slot to be taken');
    // /own has its own bulkhead, so it is admitted while /hold holds the shared one.
    const ownHeld = get(`${url}/own`);
    await until(() => own.stats.running === 1, 'the own slot to be taken');
    expect((await get(`${url}/hold`)).status).toBe(503);
    expect((await get(`${url}/own`)).status).toBe(503);
    expect(JSON.parse((await get(`${url}/free`)).body)).toEqual({ policy: true, signal: true });
    holding.open();
    expect((await held).status).toBe(200);
    expect((await ownHeld).body).toBe('own');
  });

  it('guards only routes with config.bulwark when the plugin has no policy', async () => {
    const limiter = bulkhead({ limit: 1 });
    const { fastify } = app();
    await fastify.register(bulwark);
    fastify.get(
      '/guarded',
      { config: { bulwark: limiter } },
      async (request) => request.bulwark.policy === limiter,
    );
    fastify.get('/open', async (request) => request.bulwark.policy === undefined);
    const url = await listen(fastify);
    expect((await get(`${url}/guarded`)).body).toBe('true');
    expect((await get(`${url}/open`)).body).toBe('true');
  });

  it('guards routes registered after the plugin, in child plugins too', async () => {
    const limiter = bulkhead({ limit: 1 });
    const { fastify } = app();
    await fastify.register(bulwark, { policy: limiter });
    fastify.get('/top', async (request) => String(request.bulwark.policy === limiter));
    await fastify.register(
      async (child) => {
        child.get('/child', async (request) => String(request.bulwark.policy === limiter));
      },
      { prefix: '/api' },
    );
    const url = await listen(fastify);
    expect((await get(`${url}/top`)).body).toBe('true');
    expect((await get(`${url}/api/child`)).body).toBe('true');
  });

  it('refuses a route whose policy would re-run or replace the response', async () => {
    const { fastify } = app();
    await fastify.register(bulwark);
    expect(() => fastify.get('/bad', { config: { bulwark: pipeline(retry()) } }, async () => 'x')).toThrow(
      /config\.bulwark of GET \/bad contains a retry policy/,
    );
    expect(() => fastify.get('/bad2', { config: { bulwark: 'nope' as never } }, async () => 'x')).toThrow(
      /must be a policy/,
    );
  });
});

describe('bulwark/fastify: timeouts', () => {
  it('ends a request whose handler never responds with 503 {error: ERR_TIMEOUT} and aborts request.bulwark.signal', async () => {
    const limiter = bulkhead({ limit: 2 });
    const signals: AbortSignal[] = [];
    const { fastify } = app();
    await fastify.register(bulwark, { policy: pipeline(timeout(30), limiter) });
    fastify.get('/never', (request) => {
      signals.push(request.bulwark.signal);
      return new Promise(() => {});
    });
    const url = await listen(fastify);
    const answer = await get(`${url}/never`);
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({ error: 'ERR_TIMEOUT' });
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[0]!.reason).toBeInstanceOf(TimeoutError);
    await until(() => limiter.stats.running === 0, 'the slot to come back');
  });

  it('answers 503 ERR_TIMEOUT, not the error handler, when the handler rethrows the abort', async () => {
    const { fastify, errors } = app();
    await fastify.register(bulwark, { policy: timeout(20) });
    fastify.get('/rethrow', async (request) => {
      const { signal } = request.bulwark;
      await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    });
    const url = await listen(fastify);
    for (let i = 0; i < 5; i++) {
      expect(await get(`${url}/rethrow`)).toMatchObject({ status: 503, body: '{"error":"ERR_TIMEOUT"}' });
    }
    // Fastify drops an error raised after the reply was sent (it only logs it).
    expect(errors).toEqual([]);
  });

  it('answers with timeoutStatus when configured', async () => {
    const { fastify } = app();
    await fastify.register(bulwark, { policy: timeout(20), timeoutStatus: 504 });
    fastify.get('/never', () => new Promise(() => {}));
    const answer = await get(`${await listen(fastify)}/never`);
    expect(answer).toMatchObject({ status: 504, body: '{"error":"ERR_TIMEOUT"}' });
  });

  it('cuts a reply that already started when the deadline passes, and releases the slot', async () => {
    const limiter = bulkhead({ limit: 1 });
    const { fastify } = app();
    await fastify.register(bulwark, { policy: pipeline(limiter, timeout(30)) });
    fastify.get('/stream', (_request, reply) => {
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'text/plain' });
      reply.raw.write('partial');
    });
    const url = await listen(fastify);
    const answer = await get(`${url}/stream`);
    expect(answer).toMatchObject({ status: 0, body: 'TypeError' });
    await until(() => limiter.stats.running === 0, 'the slot to come back');
  });

  it("releases the slot on Fastify's connectionTimeout (onTimeout), aborting the signal", async () => {
    const limiter = bulkhead({ limit: 1 });
    const signals: AbortSignal[] = [];
    const { fastify } = app({ connectionTimeout: 40 });
    await fastify.register(bulwark, { policy: limiter });
    fastify.get('/never', (request) => {
      signals.push(request.bulwark.signal);
      return new Promise(() => {});
    });
    const url = await listen(fastify);
    const answer = await get(`${url}/never`);
    // The server hung up without answering.
    expect(answer.status).toBe(0);
    await until(() => limiter.stats.running === 0, 'the slot to be released');
    expect(signals[0]!.aborted).toBe(true);
    expect((signals[0]!.reason as DOMException).name).toBe('TimeoutError');
  });
});

describe('bulwark/fastify: client disconnects', () => {
  it('releases the slot when the client aborts mid-request, and capacity returns', async () => {
    const limiter = bulkhead({ limit: 1 });
    const holding = gate();
    const { fastify } = app();
    await fastify.register(bulwark, { policy: limiter });
    const state = holdRoute(fastify, holding);
    const url = await listen(fastify);
    const client = new AbortController();
    const abandoned = get(`${url}/hold`, { signal: client.signal });
    await until(() => state.entered === 1, 'the handler to start');
    client.abort();
    expect((await abandoned).body).toBe('AbortError');
    await until(() => limiter.stats.running === 0, 'the slot to be released');
    expect(state.signals[0]!.aborted).toBe(true);
    expect((state.signals[0]!.reason as DOMException).name).toBe('AbortError');
    holding.open();
    expect((await get(`${url}/hold`)).status).toBe(200);
  });
});

describe('bulwark/fastify: errors and options', () => {
  it("passes errors thrown by handlers to Fastify's error handler, and releases the slot", async () => {
    const limiter = bulkhead({ limit: 1 });
    const { fastify, errors } = app();
    await fastify.register(bulwark, { policy: limiter });
    fastify.get('/boom', async () => {
      throw new Error('handler boom');
    });
    const url = await listen(fastify);
    expect(await get(`${url}/boom`)).toMatchObject({ status: 500, body: '{"handled":"handler boom"}' });
    expect(errors.map((e) => e.message)).toEqual(['handler boom']);
    await until(() => limiter.stats.running === 0, 'the slot to come back');
  });

  it("passes a policy's own non-bulwark error to Fastify's error handler", async () => {
    const { fastify } = app();
    await fastify.register(bulwark, { policy: new Broken(new Error('redis is down')) });
    fastify.get('/', async () => 'never');
    expect(await get(await listen(fastify))).toMatchObject({
      status: 500,
      body: '{"handled":"redis is down"}',
    });
  });

  it('wraps a thrown non-Error in an Error for Fastify', async () => {
    const { fastify, errors } = app();
    await fastify.register(bulwark, { policy: new Broken('a bare string') });
    fastify.get('/', async () => 'never');
    expect((await get(await listen(fastify))).status).toBe(500);
    expect(errors[0]).toBeInstanceOf(Error);
    expect(errors[0]!.message).toBe('a bare string');
  });

  it('hands a policy that answered without running the request to the error handler', async () => {
    const { fastify, errors } = app();
    await fastify.register(bulwark, { policy: chaos.result({ rate: 1, value: 'canned' }) });
    fastify.get('/', async () => 'never');
    expect((await get(await listen(fastify))).status).toBe(500);
    expect(errors[0]!.message).toMatch(/answered without running/);
  });

  it('never runs the handler twice when a keyed policy hides a retry', async () => {
    let runs = 0;
    const { fastify } = app();
    await fastify.register(bulwark, {
      policy: keyed(() => pipeline(retry({ maxAttempts: 3, backoff: 1 }), timeout(15))),
      key: () => 'k',
    });
    fastify.get('/', () => {
      runs += 1;
      return new Promise(() => {});
    });
    expect(await get(await listen(fastify))).toMatchObject({ status: 503, body: '{"error":"ERR_TIMEOUT"}' });
    expect(runs).toBe(1);
  });

  it("hands an onReject failure on a timeout to Fastify's error handler", async () => {
    const { fastify, errors } = app();
    await fastify.register(bulwark, {
      policy: timeout(20),
      onReject: () => {
        throw new Error('onReject broke late');
      },
    });
    fastify.get('/never', () => new Promise(() => {}));
    const answer = await get(`${await listen(fastify)}/never`);
    expect(answer).toMatchObject({ status: 500, body: '{"handled":"onReject broke late"}' });
    expect(errors.map((e) => e.message)).toEqual(['onReject broke late']);
  });

  it("keeps a route's own hooks and runs admission after its onRequest hooks", async () => {
    const limiter = bulkhead({ limit: 1 });
    const order: string[] = [];
    const { fastify } = app();
    await fastify.register(bulwark, { policy: limiter });
    fastify.get(
      '/a',
      {
        onRequest: async (request, reply) => {
          order.push(`auth running=${limiter.stats.running}`);
          if (request.headers.authorization === undefined) return reply.code(401).send('who are you');
        },
        onResponse: [async () => void order.push('own onResponse')],
      },
      async () => 'in',
    );
    const url = await listen(fastify);
    expect((await get(`${url}/a`)).status).toBe(401);
    expect(await get(`${url}/a`, { headers: { authorization: 'x' } })).toMatchObject({
      status: 200,
      body: 'in',
    });
    await until(() => order.length === 4, 'both responses');
    // The auth hook ran before admission took a slot; a turned-away request never took one.
    expect(order).toEqual(['auth running=0', 'own onResponse', 'auth running=0', 'own onResponse']);
    await until(() => limiter.stats.running === 0, 'the slot to come back');
  });

  it('lets onReject take over the reply, and sends the default when it does not reply', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1 });
    breaker.isolate();
    const seen: string[] = [];
    const { fastify } = app();
    await fastify.register(bulwark, {
      policy: breaker,
      onReject: async (error, request, reply) => {
        seen.push(`${error.code} ${request.url}`);
        if (request.url === '/custom') await reply.code(503).type('text/plain').send('maintenance');
      },
    });
    fastify.get('/custom', async () => 'never');
    fastify.get('/default', async () => 'never');
    const url = await listen(fastify);
    expect(await get(`${url}/custom`)).toMatchObject({ status: 503, body: 'maintenance' });
    expect(await get(`${url}/default`)).toMatchObject({ status: 503, body: '{"error":"ERR_CIRCUIT_OPEN"}' });
    expect(seen).toEqual(['ERR_CIRCUIT_OPEN /custom', 'ERR_CIRCUIT_OPEN /default']);
  });

  it('validates its options at registration', async () => {
    expect(BULWARK_PLUGIN_OPTIONS).toContain('healthRoute');
    expect(fastifyBulwark).toBe(bulwark);
    const attempts: [Record<string, unknown>, RegExp][] = [
      [{ polcy: bulkhead(1) }, /unknown option "polcy"/],
      [{ policy: retry() }, /policy contains a retry policy/],
      [{ timeoutStatus: 302 }, /timeoutStatus must be an integer ≥ 400/],
      [{ healthRoute: 'health' }, /healthRoute.url must start with "\/"/],
      [{ healthRoute: { url: '/h', extra: 1 } }, /unknown option "healthRoute.extra"/],
      [{ healthRoute: 5 }, /healthRoute must be a URL/],
      [{ healthRoute: { policies: [1] } }, /is not a policy/],
    ];
    for (const [options, message] of attempts) {
      const fastify = Fastify({ logger: false });
      await expect(fastify.register(bulwark, options as never).ready()).rejects.toThrow(message);
      await fastify.close();
    }
  });
});

describe('bulwark/fastify: health route', () => {
  it('reports every guarding policy by default: 200, then 503 once one is down', async () => {
    const probe = new Probe('dependency');
    const perRoute = bulkhead({ limit: 3, name: 'search' });
    const { fastify } = app();
    await fastify.register(bulwark, { policy: pipeline(timeout(1_000), probe), healthRoute: '/health' });
    fastify.get('/search', { config: { bulwark: perRoute } }, async () => 'found');
    const url = await listen(fastify);

    const healthy = await get(`${url}/health`);
    expect(healthy.status).toBe(200);
    const report = JSON.parse(healthy.body);
    expect(report.status).toBe('ok');
    expect(report.policies.map((p: { kind: string }) => p.kind)).toEqual([
      'pipeline',
      'timeout',
      'probe',
      'bulkhead',
    ]);

    probe.status = 'down';
    const down = await get(`${url}/health`);
    expect(down.status).toBe(503);
    expect(JSON.parse(down.body).status).toBe('down');
  });

  it('is never guarded itself: it answers while the service sheds everything', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1 });
    breaker.isolate();
    const { fastify } = app();
    await fastify.register(bulwark, {
      policy: breaker,
      healthRoute: { url: '/ready', policies: { api: breaker }, downStatus: 500 },
    });
    fastify.get('/', async () => 'never');
    const url = await listen(fastify);
    expect((await get(url)).status).toBe(503);
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(500);
    expect(ready.headers.get('cache-control')).toBe('no-store');
    expect(await ready.json()).toMatchObject({
      status: 'down',
      policies: [{ path: 'api', state: 'isolated' }],
    });
  });
});
