import { describe, expect, it } from 'vitest';
import type { ExecutionContext } from '../../src/core/context.js';
import { LayerMode, PolicyBase, RECOVER, runLayers } from '../../src/core/policy.js';
import { fallback, pipeline, retry } from '../../src/index.js';
import { Around, Recorder } from './layers.js';

describe('executor (runLayers)', () => {
  it('runs enters outermost first and exits innermost first around the work', async () => {
    const log: string[] = [];
    const p = pipeline(
      new Recorder('a', log),
      new Recorder('b', log, { enter: 'async' }),
      new Recorder('c', log),
    );
    const result = await p.execute(() => {
      log.push('work');
      return 42;
    });
    expect(result).toBe(42);
    expect(log).toEqual([
      'enter a',
      'enter b',
      'enter c',
      'work',
      'success c token c',
      'success b token b',
      'success a token a',
    ]);
  });

  it('a failing enter releases outer layers: their exits run, its own and inner ones do not', async () => {
    const log: string[] = [];
    let called = false;
    const p = pipeline(
      new Recorder('a', log),
      new Recorder('b', log, { enter: 'throw' }),
      new Recorder('c', log),
    );
    await expect(
      p.execute(() => {
        called = true;
      }),
    ).rejects.toThrow('enter b failed');
    expect(called).toBe(false);
    expect(log).toEqual(['enter a', 'enter b', 'failure a token a enter b failed']);
  });

  it('an enter that returns a rejected promise is handled like one that throws', async () => {
    const log: string[] = [];
    const p = pipeline(new Recorder('a', log), new Recorder('b', log, { enter: 'reject' }));
    await expect(p.execute(() => 1)).rejects.toThrow('enter b rejected');
    expect(log).toEqual(['enter a', 'enter b', 'failure a token a enter b rejected']);
  });

  it('exits always run when the work fails, and an exit may replace the error', async () => {
    const log: string[] = [];
    const replaced = new Error('replaced by b');
    const p = pipeline(
      new Recorder('a', log),
      new Recorder('b', log, { replaceError: replaced }),
      new Recorder('c', log),
    );
    await expect(p.execute(() => Promise.reject(new Error('work failed')))).rejects.toBe(replaced);
    expect(log).toEqual([
      'enter a',
      'enter b',
      'enter c',
      'failure c token c work failed',
      'failure b token b work failed',
      'failure a token a replaced by b',
    ]);
  });

  it('a work function that throws synchronously is a failure like a rejection', async () => {
    const log: string[] = [];
    const p = pipeline(new Recorder('a', log));
    await expect(
      p.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(log).toEqual(['enter a', 'failure a token a sync']);
  });

  it('an exit step that throws becomes the failure and outer layers still exit', async () => {
    const log: string[] = [];
    const p = pipeline(
      new Recorder('a', log),
      new Recorder('b', log, { exit: 'throw' }),
      new Recorder('c', log),
    );
    await expect(p.execute(() => 'fine')).rejects.toThrow('exit b failed');
    expect(log).toEqual([
      'enter a',
      'enter b',
      'enter c',
      'success c token c',
      'success b token b',
      'failure a token a exit b failed',
    ]);
  });

  it('user predicates that throw become the failure and still release every layer', async () => {
    const bug = new Error('predicate bug');
    const cases = [
      retry({
        backoff: 0,
        retryOnResult: () => {
          throw bug;
        },
      }),
      retry({
        backoff: 0,
        retryOn: () => {
          throw bug;
        },
      }),
      fallback({
        value: 'x',
        fallbackOn: () => {
          throw bug;
        },
      }),
    ];
    for (const [index, policy] of cases.entries()) {
      const log: string[] = [];
      const p = pipeline(new Recorder('outer', log), policy, new Recorder('inner', log));
      const failsWork = index > 0;
      await expect(
        p.execute(() => {
          if (failsWork) throw new Error('work failed');
          return 'value';
        }),
      ).rejects.toBe(bug);
      expect(log[0]).toBe('enter outer');
      expect(log[1]).toBe('enter inner');
      expect(log[2]).toMatch(/^(success|failure) inner/);
      expect(log[3]).toBe('failure outer token outer predicate bug');
      expect(log).toHaveLength(4);
    }
  });

  it('a predicate that throws on a later attempt is the failure, not one more attempt to retry', async () => {
    let calls = 0;
    const bug = new Error('predicate bug');
    const policy = retry({
      maxAttempts: 5,
      backoff: 0,
      retryOnResult: (_result, attempt) => {
        if (attempt === 2) throw bug;
        return true;
      },
    });
    await expect(policy.execute(() => ++calls)).rejects.toBe(bug);
    expect(calls).toBe(2);
  });

  it('an Around layer runs the inner layers through next; outer steps wrap it', async () => {
    const log: string[] = [];
    const p = pipeline(new Recorder('a', log), new Around('x', log), new Recorder('b', log));
    await expect(
      p.execute(() => {
        log.push('work');
        return 'v';
      }),
    ).resolves.toBe('v');
    expect(log).toEqual([
      'enter a',
      'around x start',
      'enter b',
      'work',
      'success b token b',
      'around x end',
      'success a token a',
    ]);
  });

  it('a wrapper whose _success returns RECOVER gets _recover with the value and may rerun the inner layers', async () => {
    const log: string[] = [];
    class Again extends PolicyBase {
      constructor() {
        super('again', undefined);
        this._mode = LayerMode.Wrapper;
      }
      override _success(): unknown {
        return RECOVER;
      }
      override async _recover(
        ctx: ExecutionContext,
        _token: unknown,
        failed: boolean,
        outcome: unknown,
        rerun: (ctx: ExecutionContext) => Promise<unknown>,
      ): Promise<unknown> {
        log.push(`recover failed=${failed} outcome=${String(outcome)}`);
        return `${String(await rerun(ctx))} after rerun`;
      }
    }
    let n = 0;
    const p = pipeline(new Again(), new Recorder('inner', log));
    await expect(p.execute(() => ++n)).resolves.toBe('2 after rerun');
    expect(log).toEqual([
      'enter inner',
      'success inner token inner',
      'recover failed=false outcome=1',
      'enter inner',
      'success inner token inner',
    ]);
  });

  it('the base policy steps: default wrapper _recover rethrows or returns, default _around calls next', async () => {
    class Plain extends PolicyBase {
      constructor(mode: LayerMode) {
        super('plain', undefined);
        this._mode = mode;
      }
    }
    const wrapper = new Plain(LayerMode.Wrapper);
    await expect(wrapper.execute(() => Promise.reject(new Error('kept')))).rejects.toThrow('kept');
    const around = new Plain(LayerMode.Around);
    await expect(around.execute(() => 'through')).resolves.toBe('through');
    expect(around._health()).toEqual({ kind: 'plain', name: 'plain', status: 'ok' });
    expect(around._children()).toEqual([]);
    const ctx = { attempt: 1 } as unknown as ExecutionContext;
    await expect(runLayers([], 0, ctx, (c) => c.attempt)).resolves.toBe(1);
  });

  it('a wrapper that is also scoped gets its own scope as the token of _recover, as its exit steps do', async () => {
    const seen: unknown[] = [];
    class ScopedWrapper extends PolicyBase {
      scopes: ExecutionContext[] = [];
      constructor() {
        super('scopedWrapper', undefined);
        this._mode = LayerMode.Wrapper;
        this._scoped = true;
      }
      override _enter(ctx: ExecutionContext): unknown {
        const scope = ctx.fork();
        this.scopes.push(scope);
        return scope;
      }
      override _recover(
        _ctx: ExecutionContext,
        token: unknown,
        failed: boolean,
        outcome: unknown,
      ): Promise<unknown> {
        seen.push(token);
        return failed
          ? Promise.resolve(`recovered from ${(outcome as Error).message}`)
          : Promise.resolve(outcome);
      }
    }
    const wrapper = new ScopedWrapper();
    await expect(
      wrapper.execute(() => {
        throw new Error('boom');
      }),
    ).resolves.toBe('recovered from boom');
    expect(wrapper.scopes).toHaveLength(1);
    expect(seen).toEqual([wrapper.scopes[0]]);
  });
});
