import express, { type ErrorRequestHandler, type Express } from 'express';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  bulkhead,
  chaos,
  circuitBreaker,
  fallback,
  hedge,
  keyed,
  pipeline,
  rateLimit,
  retry,
  setListenerErrorHandler,
  TimeoutError,
  timeout,
} from '../../../src/index.js';
import { PROTECT_OPTIONS, protect } from '../../../src/integrations/express/index.js';
import {
  Broken,
  serverStarter,
  type Gate,
  gate,
  get,
  tally,
  until,
} from '../../integrations/server/helpers.js';

const start = serverStarter();

/** Errors that reached Express's error handling, per app. */
const reachedErrorHandler = new WeakMap<Express, unknown[]>();

/** Starts `app` on 127.0.0.1 with a final error handler that records what reaches it. */
async function listen(app: Express): Promise<string> {
  const seen: unknown[] = [];
  reachedErrorHandler.set(app, seen);
  const onError: ErrorRequestHandler = (error, _req, res, next) => {
    seen.push(error);
    // The usual idiom: once a response started, leave the error to Express's final handler.
    if (res.headersSent) return next(error);
    res.status(500).json({ handled: (error as Error).message });
  };
  app.use(onError);
  return start(app);
}

/** An app whose GET /hold waits for `holding` to open before answering, counting who got in. */
function holdingApp(policy: Parameters<typeof protect>[0], holding: Gate, options = {}) {
  const app = express();
  const state = { entered: 0, signals: [] as AbortSignal[] };
  app.use(protect(policy, options));
  app.get('/hold', async (_req, res) => {
    state.entered += 1;
    state.signals.push(res.locals.signal);
    await holding.opened;
    if (!res.writableEnded) res.json({ ok: true });
  });
  return { app, state };
}

describe('protect: load shedding', () => {
  it('sheds a burst beyond the bulkhead: exactly 5 × 200 and 15 × 503 for 20 concurrent requests', async () => {
    const limiter = bulkhead({ limit: 5, queue: 0 });
    const holding = gate();
    const { app, state } = holdingApp(limiter, holding);
    const url = await listen(app);

    const answers: Promise<Awaited<ReturnType<typeof get>>>[] = [];
    for (let i = 0; i < 20; i++) answers.push(get(`${url}/hold`));
    // The 15 refusals come back while the 5 admitted requests still hold their slots.
    const settled: number[] = [];
    answers.forEach((answer, i) => void answer.then(() => settled.push(i)));
    await until(() => settled.length === 15 && state.entered === 5, '15 refusals and 5 running handlers');
    expect(limiter.stats.running).toBe(5);
    holding.open();
    const all = await Promise.all(answers);

    expect(tally(all)).toEqual({ 200: 5, 503: 15 });
    for (const refused of all.filter((a) => a.status === 503)) {
      expect(JSON.parse(refused.body)).toEqual({ error: 'ERR_BULKHEAD_FULL' });
      expect(refused.contentType).toMatch(/^application\/json/);
      // A bulkhead cannot say when a slot frees up: no Retry-After.
      expect(refused.retryAfter).toBeNull();
    }
    await until(() => limiter.stats.running === 0, 'the bulkhead to empty');
  });

  it('holds the slot until the response finishes, not until the handler returns', async () => {
    const limiter = bulkhead({ limit: 1 });
    const app = express();
    const streaming = gate();
    app.use(protect(limiter));
    app.get('/stream', (_req, res) => {
      // The handler returns at once; the response goes on.
      res.write('part 1;');
      void streaming.opened.then(() => res.end('part 2'));
    });
    const url = await listen(app);
    const first = get(`${url}/stream`);
    await until(() => limiter.stats.running === 1, 'the first request to take the slot');
    const refused = await get(`${url}/stream`);
    expect(refused.status).toBe(503);
    streaming.open();
    expect((await first).body).toBe('part 1;part 2');
    await until(() => limiter.stats.running === 0, 'the slot to come back');
  });

  it('answers 429 with Retry-After in whole seconds, rounded up, for a rate limit', async () => {
    const limiter = rateLimit({ type: 'slidingWindow', limit: 3, window: 60_000 });
    const app = express();
    app.use(protect(limiter));
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    const url = await listen(app);
    const answers = await Promise.all(Array.from({ length: 10 }, () => get(url)));
    expect(tally(answers)).toEqual({ 200: 3, 429: 7 });
    for (const limited of answers.filter((a) => a.status === 429)) {
      expect(JSON.parse(limited.body)).toEqual({ error: 'ERR_RATE_LIMITED' });
      // The window frees a permit ~60 s after the first call: 60 (or 59.x rounded up to 60).
      expect(limited.retryAfter).toBe('60');
    }
  });

  it('answers 503 with Retry-After from an open breaker, and counts 5xx responses as failures', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 2, openFor: 2_500 });
    const app = express();
    app.use(protect(breaker));
    app.get('/fail', (_req, res) => {
      res.status(500).send('broken');
    });
    const url = await listen(app);
    expect((await get(`${url}/fail`)).status).toBe(500);
    expect((await get(`${url}/fail`)).status).toBe(500);
    expect(breaker.state).toBe('open');
    const refused = await get(`${url}/fail`);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toEqual({ error: 'ERR_CIRCUIT_OPEN' });
    // ~2.5 s left, rounded up to whole seconds.
    expect(refused.retryAfter).toBe('3');
  });

  it('sends no Retry-After when the error has no wait to give (an isolated breaker)', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 2 });
    breaker.isolate();
    const app = express();
    app.use(protect(breaker));
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    const refused = await get(await listen(app));
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toEqual({ error: 'ERR_CIRCUIT_OPEN' });
    expect(refused.retryAfter).toBeNull();
  });

  it('advertises the retryAfter option on refusals that give no wait of their own', async () => {
    const limiter = bulkhead({ limit: 1 });
    const holding = gate();
    const { app, state } = holdingApp(limiter, holding, { retryAfter: 2_500 });
    const url = await listen(app);
    const first = get(`${url}/hold`);
    await until(() => state.entered === 1, 'the slot to be taken');
    const refused = await get(`${url}/hold`);
    holding.open();
    await first;
    expect(refused).toMatchObject({ status: 503, retryAfter: '3', body: '{"error":"ERR_BULKHEAD_FULL"}' });
  });

  it('never sends a stack trace or an internal message in a refusal', async () => {
    const limiter = bulkhead({ limit: 1, name: 'secret-internal-name' });
    const holding = gate();
    const { app } = holdingApp(limiter, holding);
    const url = await listen(app);
    const first = get(`${url}/hold`);
    await until(() => limiter.stats.running === 1, 'the slot to be taken');
    const refused = await get(`${url}/hold`);
    holding.open();
    await first;
    expect(refused.body).toBe('{"error":"ERR_BULKHEAD_FULL"}');
  });

  it('routes by key: one full tenant does not refuse another', async () => {
    const perTenant = keyed(() => bulkhead({ limit: 1 }));
    const holding = gate();
    const { app, state } = holdingApp(perTenant, holding, {
      key: (req: express.Request) => req.get('x-tenant'),
    });
    const url = await listen(app);
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

describe('protect: timeouts', () => {
  it('ends a request whose handler never responds with 503 {error: ERR_TIMEOUT} and aborts res.locals.signal', async () => {
    const limiter = bulkhead({ limit: 2 });
    const app = express();
    const signals: AbortSignal[] = [];
    app.use(protect(pipeline(timeout(30), limiter)));
    app.get('/never', (_req, res) => {
      signals.push(res.locals.signal);
    });
    const url = await listen(app);
    const answer = await get(`${url}/never`);
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({ error: 'ERR_TIMEOUT' });
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[0]!.reason).toBeInstanceOf(TimeoutError);
    await until(() => limiter.stats.running === 0, 'the slot to come back');
  });

  it('answers 503 ERR_TIMEOUT even when the handler rethrows the abort', async () => {
    const app = express();
    app.use(protect(timeout(20)));
    app.get('/rethrow', async (_req, res) => {
      const { signal } = res.locals;
      await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    });
    const url = await listen(app);
    for (let i = 0; i < 5; i++) {
      const answer = await get(`${url}/rethrow`);
      expect(answer).toMatchObject({ status: 503, body: '{"error":"ERR_TIMEOUT"}' });
    }
    // The rethrown abort still reaches Express's error handling, after the answer.
    await until(() => reachedErrorHandler.get(app)!.length === 5, 'the five errors to reach the handler');
    expect(reachedErrorHandler.get(app)![0]).toBeInstanceOf(TimeoutError);
  });

  it('answers with timeoutStatus when configured', async () => {
    const app = express();
    app.use(protect(timeout(20), { timeoutStatus: 504 }));
    app.get('/never', () => {});
    const answer = await get(`${await listen(app)}/never`);
    expect(answer.status).toBe(504);
    expect(JSON.parse(answer.body)).toEqual({ error: 'ERR_TIMEOUT' });
  });

  it('an aggressive timeout answers at once and keeps the slot until the response ends', async () => {
    const limiter = bulkhead({ limit: 1 });
    const app = express();
    app.use(protect(pipeline(limiter, timeout({ ms: 20, strategy: 'aggressive' }))));
    app.get('/never', () => {});
    const url = await listen(app);
    const answer = await get(`${url}/never`);
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({ error: 'ERR_TIMEOUT' });
    // The 503 ended the response: that is when the work settled.
    await until(() => limiter.stats.running === 0, 'the slot to come back');
  });

  it('lets a handler that answers in its abort listener keep its own response', async () => {
    const app = express();
    app.use(protect(timeout(20)));
    app.get('/polite', (_req, res) => {
      res.locals.signal.addEventListener('abort', () => {
        res.status(504).send('gave up politely');
      });
    });
    const answer = await get(`${await listen(app)}/polite`);
    expect(answer.status).toBe(504);
    expect(answer.body).toBe('gave up politely');
  });

  it('cuts a response that already started when the deadline passes, and releases the slot', async () => {
    const limiter = bulkhead({ limit: 1 });
    const app = express();
    app.use(protect(pipeline(limiter, timeout(30))));
    app.get('/slow-stream', (_req, res) => {
      res.status(200).setHeader('content-type', 'text/plain');
      res.write('partial');
      // Never ends by itself.
    });
    const url = await listen(app);
    const answer = await get(`${url}/slow-stream`);
    // Headers were out: the client sees a 200 whose body breaks off, never a clean end.
    expect(answer.status).toBe(0);
    expect(answer.body).toBe('TypeError');
    await until(() => limiter.stats.running === 0, 'the slot to come back');
  });

  it('a timeout outside a queued bulkhead ends the wait with 503 ERR_TIMEOUT', async () => {
    const limiter = bulkhead({ limit: 1, queue: 5 });
    const holding = gate();
    const { app, state } = holdingApp(pipeline(timeout(25), limiter), holding);
    const url = await listen(app);
    // The first request holds the slot past its own deadline: cut off too, but the handler keeps waiting.
    const first = get(`${url}/hold`);
    await until(() => state.entered === 1, 'the first request to get in');
    const queued = await get(`${url}/hold`);
    expect(queued.status).toBe(503);
    expect(JSON.parse(queued.body)).toEqual({ error: 'ERR_TIMEOUT' });
    holding.open();
    await first;
    await until(() => limiter.stats.running === 0 && limiter.stats.queued === 0, 'the bulkhead to empty');
  });
});

describe('protect: client disconnects', () => {
  it('releases the slot when the client aborts mid-request, and capacity returns', async () => {
    const limiter = bulkhead({ limit: 1 });
    const holding = gate();
    const { app, state } = holdingApp(limiter, holding);
    const url = await listen(app);
    const client = new AbortController();
    const abandoned = get(`${url}/hold`, { signal: client.signal });
    await until(() => state.entered === 1, 'the handler to start');
    expect(limiter.stats.running).toBe(1);
    client.abort();
    expect((await abandoned).body).toBe('AbortError');
    await until(() => limiter.stats.running === 0, 'the slot to be released');
    // The handler is told through its signal.
    expect(state.signals[0]!.aborted).toBe(true);
    expect((state.signals[0]!.reason as DOMException).name).toBe('AbortError');
    // Capacity is back: a new request gets in (and this one finishes normally).
    holding.open();
    expect((await get(`${url}/hold`)).status).toBe(200);
  });

  it('takes a request that disconnects while queued out of the queue at once', async () => {
    const limiter = bulkhead({ limit: 1, queue: 1 });
    const holding = gate();
    const { app, state } = holdingApp(limiter, holding);
    const url = await listen(app);
    const first = get(`${url}/hold`);
    await until(() => state.entered === 1, 'the first request to get in');
    const client = new AbortController();
    const waiting = get(`${url}/hold`, { signal: client.signal });
    await until(() => limiter.stats.queued === 1, 'the second request to queue');
    client.abort();
    await waiting;
    await until(() => limiter.stats.queued === 0, 'the queue to empty');
    holding.open();
    expect((await first).status).toBe(200);
    // The abandoned request's handler never ran.
    expect(state.entered).toBe(1);
    await until(() => limiter.stats.running === 0, 'the slot to come back');
  });
});

describe('protect: errors and configuration', () => {
  it("passes errors thrown by route handlers to Express's error handling, and releases the slot", async () => {
    const limiter = bulkhead({ limit: 1 });
    const app = express();
    app.use(protect(limiter));
    app.get('/sync', () => {
      throw new Error('sync boom');
    });
    app.get('/async', async () => {
      await Promise.resolve();
      throw new Error('async boom');
    });
    const url = await listen(app);
    const sync = await get(`${url}/sync`);
    const failed = await get(`${url}/async`);
    expect(sync).toMatchObject({ status: 500, body: '{"handled":"sync boom"}' });
    expect(failed).toMatchObject({ status: 500, body: '{"handled":"async boom"}' });
    expect(reachedErrorHandler.get(app)).toHaveLength(2);
    await until(() => limiter.stats.running === 0, 'the slot to come back');
  });

  it("passes a policy's own non-bulwark error to Express's error handling", async () => {
    const app = express();
    app.use(protect(new Broken(new Error('redis is down'))));
    app.get('/', (_req, res) => {
      res.send('never');
    });
    const answer = await get(await listen(app));
    expect(answer).toMatchObject({ status: 500, body: '{"handled":"redis is down"}' });
  });

  it("passes a throwing key function's error to Express's error handling", async () => {
    const app = express();
    app.use(
      protect(bulkhead(1), {
        key: () => {
          throw new Error('no tenant');
        },
      }),
    );
    app.get('/', (_req, res) => {
      res.send('never');
    });
    expect(await get(await listen(app))).toMatchObject({ status: 500, body: '{"handled":"no tenant"}' });
  });

  it('lets onReject take over the response, sync or async', async () => {
    const holding = gate();
    const limiter = bulkhead({ limit: 1 });
    const seen: string[] = [];
    const { app, state } = holdingApp(limiter, holding, {
      onReject: async (error: { code: string }, req: express.Request, res: express.Response) => {
        seen.push(`${error.code} ${req.path}`);
        await Promise.resolve();
        res.status(429).type('text/plain').send('busy, come back later');
      },
    });
    const url = await listen(app);
    const first = get(`${url}/hold`);
    await until(() => state.entered === 1, 'the first request to get in');
    const refused = await get(`${url}/hold`);
    holding.open();
    await first;
    expect(refused).toMatchObject({ status: 429, body: 'busy, come back later' });
    expect(seen).toEqual(['ERR_BULKHEAD_FULL /hold']);
  });

  it('sends the default reply when onReject only observes', async () => {
    const seen: unknown[] = [];
    const breaker = circuitBreaker({ consecutiveFailures: 1 });
    breaker.isolate();
    const app = express();
    app.use(protect(breaker, { onReject: (error) => void seen.push(error) }));
    app.get('/', (_req, res) => {
      res.send('never');
    });
    const answer = await get(await listen(app));
    expect(answer).toMatchObject({ status: 503, body: '{"error":"ERR_CIRCUIT_OPEN"}' });
    expect(seen).toHaveLength(1);
  });

  it("passes an error thrown by onReject to Express's error handling", async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1 });
    breaker.isolate();
    const app = express();
    app.use(
      protect(breaker, {
        onReject: () => {
          throw new Error('onReject broke');
        },
      }),
    );
    app.get('/', (_req, res) => {
      res.send('never');
    });
    expect(await get(await listen(app))).toMatchObject({ status: 500, body: '{"handled":"onReject broke"}' });
  });

  it('answers 500 ERR_INTERNAL when onReject throws on a timeout (next() was already called), reporting the error', async () => {
    const reported: unknown[] = [];
    const previous = setListenerErrorHandler((error) => reported.push(error));
    onTestFinished(() => {
      setListenerErrorHandler(previous);
    });
    const app = express();
    app.use(
      protect(timeout(20), {
        onReject: () => {
          throw new Error('onReject broke late');
        },
      }),
    );
    app.get('/never', () => {});
    const answer = await get(`${await listen(app)}/never`);
    expect(answer).toMatchObject({ status: 500, body: '{"error":"ERR_INTERNAL"}' });
    expect(reported).toEqual([new Error('onReject broke late')]);
  });

  it('uses isFailure to decide what a breaker counts', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 1 });
    const app = express();
    app.use(protect(breaker, { isFailure: (status) => status === 418 }));
    app.get('/:status', (req, res) => {
      res.status(Number(req.params.status)).send('x');
    });
    const url = await listen(app);
    expect((await get(`${url}/500`)).status).toBe(500);
    expect(breaker.state).toBe('closed');
    expect((await get(`${url}/418`)).status).toBe(418);
    expect(breaker.state).toBe('open');
  });

  it('nests: a route-level protect inside an app-level timeout sees the outer deadline', async () => {
    const perRoute = bulkhead({ limit: 1 });
    const app = express();
    app.use(protect(timeout(25)));
    app.get('/nested', protect(perRoute), () => {});
    const url = await listen(app);
    const answer = await get(`${url}/nested`);
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({ error: 'ERR_TIMEOUT' });
    await until(() => perRoute.stats.running === 0, 'the inner slot to come back');
  });

  it('refuses at construction a policy that would re-run or replace the response', () => {
    expect(() => protect(retry())).toThrow(/retry policy/);
    expect(() => protect(pipeline(timeout(10), pipeline(bulkhead(1), retry())))).toThrow(/retry policy/);
    expect(() => protect(hedge({ delay: 10 }))).toThrow(/hedge policy/);
    expect(() => protect(fallback({ value: 1 }))).toThrow(/fallback policy/);
    expect(() => protect(pipeline(timeout(10), bulkhead(1)))).not.toThrow();
  });

  it('reports a policy that answered without running the request to the error handler', async () => {
    const app = express();
    app.use(protect(chaos.result({ rate: 1, value: 'canned' })));
    app.get('/', (_req, res) => {
      res.send('never');
    });
    const url = await listen(app);
    const answer = await get(url);
    expect(answer.status).toBe(500);
    expect(String((reachedErrorHandler.get(app)![0] as Error).message)).toMatch(/answered without running/);
  });

  it('never runs the handler twice when a keyed policy hides a retry', async () => {
    // The construction check cannot see inside a keyed factory; the run-time guard refuses the second run.
    const rerun = keyed(() => pipeline(retry({ maxAttempts: 3, backoff: 1 }), timeout(15)));
    let runs = 0;
    const app = express();
    app.use(protect(rerun, { key: () => 'k' }));
    app.get('/', () => {
      runs += 1;
    });
    const answer = await get(await listen(app));
    expect(answer).toMatchObject({ status: 503, body: '{"error":"ERR_TIMEOUT"}' });
    expect(runs).toBe(1);
  });

  it('validates its options', () => {
    expect(PROTECT_OPTIONS).toContain('onReject');
    expect(() => protect({} as never)).toThrow(TypeError);
    expect(() => protect(bulkhead(1), { timeoutStatus: 200 })).toThrow(
      'protect: timeoutStatus must be an integer ≥ 400 and ≤ 599, got 200',
    );
    expect(() => protect(bulkhead(1), { onReject: 'x' as never })).toThrow(
      'protect: onReject must be a function',
    );
    expect(() => protect(bulkhead(1), { nope: 1 } as never)).toThrow(/unknown option "nope"/);
    expect(() => protect(bulkhead(1), [] as never)).toThrow(TypeError);
  });
});
