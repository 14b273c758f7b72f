import express from 'express';
import { describe, expect, it } from 'vitest';
import { bulkhead, circuitBreaker, pipeline, timeout } from '../../../src/index.js';
import { HEALTH_HANDLER_OPTIONS, healthHandler, protect } from '../../../src/integrations/express/index.js';
import { gate, get, Probe, serverStarter, until } from '../../integrations/server/helpers.js';

const listen = serverStarter();

describe('healthHandler', () => {
  it('answers 200 while the policies serve, then 503 once a breaker is isolated', async () => {
    const breaker = circuitBreaker({ consecutiveFailures: 5 });
    const app = express();
    app.get('/health', healthHandler({ inventory: pipeline(timeout(1_000), breaker) }));
    const url = `${await listen(app)}/health`;

    const healthy = await get(url);
    expect(healthy.status).toBe(200);
    const report = JSON.parse(healthy.body);
    expect(report.status).toBe('ok');
    expect(report.policies.map((p: { path: string }) => p.path)).toEqual([
      'inventory',
      'inventory/timeout',
      'inventory/circuitBreaker',
    ]);

    const release = breaker.isolate();
    const down = await get(url);
    expect(down.status).toBe(503);
    const downReport = JSON.parse(down.body);
    expect(downReport.status).toBe('down');
    expect(downReport.policies[2]).toMatchObject({
      kind: 'circuitBreaker',
      status: 'down',
      state: 'isolated',
    });

    release();
    expect((await get(url)).status).toBe(200);
  });

  it('reports a full bulkhead as degraded with 200, and answers even while the service sheds', async () => {
    const limiter = bulkhead({ limit: 1 });
    const holding = gate();
    const app = express();
    // Mounted before protect(): the probe is never shed.
    app.get('/health', healthHandler([limiter]));
    app.use(protect(limiter));
    app.get('/work', async (_req, res) => {
      await holding.opened;
      res.send('done');
    });
    const url = await listen(app);
    const busy = get(`${url}/work`);
    await until(() => limiter.stats.running === 1, 'the slot to be taken');
    expect((await get(`${url}/work`)).status).toBe(503);
    const degraded = await get(`${url}/health`);
    expect(degraded.status).toBe(200);
    expect(JSON.parse(degraded.body)).toMatchObject({
      status: 'degraded',
      policies: [{ kind: 'bulkhead', status: 'degraded', running: 1, limit: 1 }],
    });
    holding.open();
    await busy;
  });

  it('uses degradedStatus and downStatus, and is never cached', async () => {
    const probe = new Probe();
    const app = express();
    app.get('/health', healthHandler([probe], { degradedStatus: 429, downStatus: 500 }));
    const url = `${await listen(app)}/health`;
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    await ok.text();
    probe.status = 'degraded';
    expect((await get(url)).status).toBe(429);
    probe.status = 'down';
    expect((await get(url)).status).toBe(500);
  });

  it('validates its arguments at construction', () => {
    expect(HEALTH_HANDLER_OPTIONS).toEqual(['degradedStatus', 'downStatus']);
    expect(() => healthHandler('x' as never)).toThrow(TypeError);
    expect(() => healthHandler([{} as never])).toThrow('healthHandler: policies["0"] is not a policy');
    expect(() => healthHandler([], { downStatus: 99 })).toThrow(
      'healthHandler: downStatus must be an integer ≥ 200 and ≤ 599, got 99',
    );
    expect(() => healthHandler([], { other: 1 } as never)).toThrow(/unknown option "other"/);
  });
});
