import { describe, expect, it, vi } from 'vitest';
import { Emitter, setListenerErrorHandler } from '../../src/core/events.js';
import { observeTree } from '../../src/core/observe.js';
import {
  circuitBreaker,
  CircuitOpenError,
  keyed,
  type PipelineEvent,
  pipeline,
  retry,
  timeout,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

const boom = () => Promise.reject(new Error('down'));

describe('observeTree', () => {
  it('subscribes every policy in the tree once; the root only when asked', async () => {
    const r = retry({ maxAttempts: 1, name: 'r' });
    const p = pipeline({ name: 'p' }, r, pipeline(r, timeout(1_000)));
    const withoutRoot: string[] = [];
    const withRoot: string[] = [];
    const off1 = observeTree(p, (event, _data, source) => withoutRoot.push(`${source.name}.${event}`), {
      includeRoot: false,
    });
    const off2 = observeTree(p, (event, _data, source) => withRoot.push(`${source.name}.${event}`), {
      includeRoot: true,
    });
    await p.execute(() => 'v');
    expect(withoutRoot).toEqual(['timeout.success', 'r.success', 'r.success']);
    expect(withRoot).toEqual(['timeout.success', 'r.success', 'r.success', 'p.success']);
    off1();
    off2();
    off2();
    await p.execute(() => 'v');
    expect(withRoot).toHaveLength(4);
  });

  it("follows a keyed policy's children: per-key policies created later are heard from their first call", async () => {
    const clock = new VirtualClock();
    const hosts = keyed((_host: string) => circuitBreaker({ consecutiveFailures: 1, clock, name: 'host' }), {
      clock,
    });
    const seen: string[] = [];
    observeTree(
      hosts,
      (event, data, source) => {
        // The keyed policy's own success and failure are its business; the per-key breaker's are the point.
        if (source.kind === 'keyed' && event !== 'create') return;
        seen.push(
          `${source.name}.${event}${source.kind === 'keyed' ? `(${(data as { key: string }).key})` : ''}`,
        );
      },
      { includeRoot: true },
    );
    await hosts.execute('a', boom).catch(() => {});
    await expect(hosts.execute('a', () => 'x')).rejects.toBeInstanceOf(CircuitOpenError);
    expect(seen).toEqual(['keyed.create(a)', 'host.stateChange', 'host.open', 'host.failure', 'host.reject']);
  });

  it('drops the policies a keyed policy evicted, and stops re-walking once unsubscribed', async () => {
    const clock = new VirtualClock();
    const made: ReturnType<typeof timeout>[] = [];
    const perKey = keyed(
      (_key: string) => {
        const r = timeout({ ms: 1_000, clock, name: `r${made.length}` });
        made.push(r);
        return r;
      },
      { maxKeys: 1, clock },
    );
    const seen: string[] = [];
    const off = observeTree(perKey, (event, _data, source) => seen.push(`${source.name}.${event}`), {
      includeRoot: false,
    });
    await perKey.execute('a', () => 1);
    await perKey.execute('b', () => 2); // evicts a (maxKeys 1)
    // The root (excluded) is watched for create and evict only: its own events are not forwarded.
    expect(seen).toEqual(['r0.success', 'r1.success']);
    // The evicted policy run directly is no longer heard.
    await made[0]!.execute(() => 'direct');
    expect(seen).toEqual(['r0.success', 'r1.success']);
    off();
    await perKey.execute('c', () => 3);
    expect(seen).toEqual(['r0.success', 'r1.success']);
  });

  it('a listener unsubscribed during an emit hears nothing more, even from that emit', async () => {
    const r = retry({ maxAttempts: 1 });
    const p = pipeline(r, timeout(1_000));
    const seen: string[] = [];
    let off = () => {};
    off = observeTree(
      p,
      (event, _data, source) => {
        seen.push(`${source.kind}.${event}`);
        off();
      },
      { includeRoot: false },
    );
    // A second observer on the same policy keeps the emit loop going after the first unsubscribes.
    observeTree(p, () => {}, { includeRoot: false });
    await p.execute(() => 'v');
    expect(seen).toEqual(['timeout.success']);
  });
});

describe('pipeline.onEvent (the logging hook)', () => {
  it("sees a keyed policy's per-key policies, tagged with the pipeline name", async () => {
    const clock = new VirtualClock();
    const http = pipeline(
      { name: 'http' },
      retry({ maxAttempts: 2, backoff: 0, clock }),
      keyed((_host: string) => circuitBreaker({ consecutiveFailures: 1, clock, name: 'host' }), { clock }),
    );
    const events: PipelineEvent[] = [];
    http.onEvent((e) => {
      if (e.policy !== 'keyed' || e.event === 'create') events.push(e);
    });
    const call = http.execute(boom, { key: 'a.example' });
    await clock.runAll();
    await expect(call).rejects.toBeInstanceOf(CircuitOpenError);
    expect(events.map((e) => `${e.pipeline}/${e.policyName}:${e.event}`)).toEqual([
      'http/keyed:create',
      'http/host:stateChange',
      'http/host:open',
      'http/host:failure',
      'http/retry:retry',
      'http/host:reject',
      'http/retry:failure',
    ]);
  });

  it('forwards to a pino-like or winston-like logger without touching each policy', async () => {
    // The shapes of pino's `logger.warn(obj, msg)` and winston's `logger.log({ level, message, ...meta })`.
    const pinoLines: { obj: Record<string, unknown>; msg: string }[] = [];
    const pino = { warn: (obj: Record<string, unknown>, msg: string) => pinoLines.push({ obj, msg }) };
    const winstonLines: Record<string, unknown>[] = [];
    const winston = { log: (entry: Record<string, unknown>) => winstonLines.push(entry) };

    const clock = new VirtualClock();
    const checkout = pipeline(
      { name: 'checkout' },
      retry({ maxAttempts: 2, backoff: 10, clock }),
      timeout(1_000),
    );
    checkout.onEvent(({ pipeline: name, policy, policyName, event, data }) => {
      if (event === 'success' || event === 'failure') return;
      const error = (data as { error?: unknown }).error;
      pino.warn({ pipeline: name, policy, policyName, event, err: error }, `${name}: ${policy} ${event}`);
      winston.log({ level: 'warn', message: `${name}: ${policy} ${event}`, pipeline: name, event });
    });
    let n = 0;
    const call = checkout.execute(() => (n++ === 0 ? Promise.reject(new Error('flaky')) : 'ok'));
    await clock.runAll();
    await expect(call).resolves.toBe('ok');
    expect(pinoLines).toEqual([
      {
        obj: {
          pipeline: 'checkout',
          policy: 'retry',
          policyName: 'retry',
          event: 'retry',
          err: new Error('flaky'),
        },
        msg: 'checkout: retry retry',
      },
    ]);
    expect(winstonLines).toEqual([
      { level: 'warn', message: 'checkout: retry retry', pipeline: 'checkout', event: 'retry' },
    ]);
  });
});

describe('onAny({ outcomes: false })', () => {
  it('hears every event but success and failure, and leaves those unbuilt', async () => {
    const emit = vi.spyOn(Emitter.prototype as unknown as { emit: (event: string) => void }, 'emit');
    try {
      const clock = new VirtualClock();
      const r = retry({ maxAttempts: 2, backoff: 0, clock });
      const quiet: string[] = [];
      const off = r.onAny((event) => quiet.push(event), { outcomes: false });
      await r.execute(() => 'ok');
      // Nobody wants outcomes: the success event was never even built.
      expect(emit).not.toHaveBeenCalled();
      let n = 0;
      const call = r.execute(() => (n++ === 0 ? Promise.reject(new Error('once')) : 'ok'));
      await clock.runAll();
      await call;
      expect(quiet).toEqual(['retry']);
      // A full listener alongside still gets outcomes; the quiet one still does not.
      const loud: string[] = [];
      const offLoud = r.onAny((event) => loud.push(event));
      await r.execute(() => 'ok');
      expect(loud).toEqual(['success']);
      expect(quiet).toEqual(['retry']);
      off();
      off();
      offLoud();
      n = 0;
      const again = r.execute(() => (n++ === 0 ? Promise.reject(new Error('once')) : 'ok'));
      await clock.runAll();
      await again;
      expect(quiet).toEqual(['retry']);
    } finally {
      emit.mockRestore();
    }
  });

  it('a quiet listener that throws never breaks the call; the error is reported', async () => {
    const reported: unknown[] = [];
    const previous = setListenerErrorHandler((e) => reported.push(e));
    try {
      const clock = new VirtualClock();
      const r = retry({ maxAttempts: 2, backoff: 0, clock });
      const bad = new Error('bad listener');
      r.onAny(
        () => {
          throw bad;
        },
        { outcomes: false },
      );
      let n = 0;
      const call = r.execute(() => (n++ === 0 ? Promise.reject(new Error('once')) : 'ok'));
      await clock.runAll();
      await expect(call).resolves.toBe('ok');
      expect(reported).toEqual([bad]);
    } finally {
      setListenerErrorHandler(previous);
    }
  });

  it('a quiet subscription on a pipeline builds no outcome event for its calls', async () => {
    const emit = vi.spyOn(Emitter.prototype as unknown as { emit: (event: string) => void }, 'emit');
    try {
      const p = pipeline(retry({ maxAttempts: 1 }));
      observeTree(p, () => {}, { includeRoot: true, outcomes: false });
      await p.execute(() => 'v');
      await expect(p.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
      // Only what the retry did (gave up) is built; no success or failure, by the retry or the pipeline.
      expect(emit.mock.calls.map((c) => c[0])).toEqual(['giveUp']);
    } finally {
      emit.mockRestore();
    }
  });

  it('observeTree passes it on, and still accepts a bare includeRoot boolean', async () => {
    const t = timeout({ ms: 1_000, name: 't' });
    const p = pipeline({ name: 'p' }, t);
    const quiet: string[] = [];
    const all: string[] = [];
    observeTree(p, (event, _d, source) => quiet.push(`${source.name}.${event}`), {
      includeRoot: true,
      outcomes: false,
    });
    observeTree(p, (event, _d, source) => all.push(`${source.name}.${event}`), true);
    await p.execute(() => 'v');
    expect(quiet).toEqual([]);
    expect(all).toEqual(['t.success', 'p.success']);
  });
});
