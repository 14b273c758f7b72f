import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Emitter, reportCallbackError } from '../../src/core/events.js';
import { fallback, pipeline, retry, setListenerErrorHandler, timeout } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

interface TestEvents {
  ping: { readonly n: number };
  pong: { readonly s: string };
}

class TestEmitter extends Emitter<TestEvents> {
  fire<K extends keyof TestEvents & string>(event: K, payload: TestEvents[K]): void {
    this.emit(event, payload);
  }
  isListening(event: keyof TestEvents & string): boolean {
    return this.listening(event);
  }
}

let reported: unknown[];
let previousHandler: (error: unknown) => void;

beforeEach(() => {
  reported = [];
  previousHandler = setListenerErrorHandler((error) => reported.push(error));
});

afterEach(() => {
  setListenerErrorHandler(previousHandler);
  vi.restoreAllMocks();
});

describe('Emitter', () => {
  it('uses the kind as name unless named', () => {
    expect(new TestEmitter('thing', undefined).name).toBe('thing');
    expect(new TestEmitter('thing', 'mine')).toMatchObject({ kind: 'thing', name: 'mine' });
  });

  it('delivers an event only to that event’s listeners, in subscription order', () => {
    const e = new TestEmitter('t', undefined);
    const seen: string[] = [];
    e.on('ping', (p) => seen.push(`a${p.n}`));
    e.on('ping', (p) => seen.push(`b${p.n}`));
    e.on('pong', (p) => seen.push(`pong ${p.s}`));
    e.fire('ping', { n: 1 });
    expect(seen).toEqual(['a1', 'b1']);
  });

  it('on returns an unsubscribe function that is safe to call twice', () => {
    const e = new TestEmitter('t', undefined);
    const a = vi.fn();
    const b = vi.fn();
    const offA = e.on('ping', a);
    e.on('ping', b);
    offA();
    offA();
    e.fire('ping', { n: 1 });
    expect(a).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledTimes(1);
  });

  it('listening turns false again once the last listener left', () => {
    const e = new TestEmitter('t', undefined);
    expect(e.isListening('ping')).toBe(false);
    const off = e.on('ping', () => {});
    expect(e.isListening('ping')).toBe(true);
    expect(e.isListening('pong')).toBe(false);
    off();
    expect(e.isListening('ping')).toBe(false);
    const offAny = e.onAny(() => {});
    expect(e.isListening('pong')).toBe(true);
    offAny();
    offAny();
    expect(e.isListening('pong')).toBe(false);
  });

  it('a listener removed while an event is delivered still gets that event, not later ones', () => {
    const e = new TestEmitter('t', undefined);
    const second = vi.fn();
    let offSecond = () => {};
    e.on('ping', () => offSecond());
    offSecond = e.on('ping', second);
    e.fire('ping', { n: 1 });
    e.fire('ping', { n: 2 });
    expect(second).toHaveBeenCalledTimes(1);
  });

  it('onAny sees every event with its name, payload and the emitting source', () => {
    const e = new TestEmitter('t', 'named');
    const seen: unknown[] = [];
    e.onAny((name, payload, source) => seen.push([name, payload, source.kind, source.name]));
    e.fire('ping', { n: 1 });
    e.fire('pong', { s: 'x' });
    expect(seen).toEqual([
      ['ping', { n: 1 }, 't', 'named'],
      ['pong', { s: 'x' }, 't', 'named'],
    ]);
  });

  it('rejects a listener that is not a function', () => {
    const e = new TestEmitter('thing', undefined);
    expect(() => e.on('ping', 'nope' as never)).toThrow(/thing: on\("ping"\) needs a function listener/);
  });

  it('a listener that throws is reported and the other listeners still run', () => {
    const e = new TestEmitter('t', undefined);
    const boom = new Error('listener bug');
    const after = vi.fn();
    const any = vi.fn();
    e.on('ping', () => {
      throw boom;
    });
    e.on('ping', after);
    e.onAny(() => {
      throw boom;
    });
    e.onAny(any);
    e.fire('ping', { n: 1 });
    expect(after).toHaveBeenCalledTimes(1);
    expect(any).toHaveBeenCalledTimes(1);
    expect(reported).toEqual([boom, boom]);
  });

  it('setListenerErrorHandler returns the previous handler; the default logs with console.error', () => {
    const mine = () => {};
    const before = setListenerErrorHandler(mine);
    expect(setListenerErrorHandler(before)).toBe(mine);
    // Restore the library default to check it.
    setListenerErrorHandler(previousHandler);
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const e = new TestEmitter('t', undefined);
    const boom = new Error('x');
    e.on('ping', () => {
      throw boom;
    });
    e.fire('ping', { n: 1 });
    expect(log).toHaveBeenCalledWith('bulwark: an event listener threw', boom);
    setListenerErrorHandler((error) => reported.push(error));
  });
});

describe('events on policies', () => {
  it('a listener that throws never breaks a call and is reported through setListenerErrorHandler', async () => {
    const clock = new VirtualClock();
    const policy = retry({ maxAttempts: 2, backoff: 10, clock });
    const boom = new Error('listener bug');
    for (const event of ['retry', 'success', 'failure', 'giveUp'] as const) {
      policy.on(event, () => {
        throw boom;
      });
    }
    policy.onAny(() => {
      throw boom;
    });
    let calls = 0;
    const ok = policy.execute(() => {
      calls++;
      if (calls === 1) throw new Error('first fails');
      return 'second works';
    });
    await clock.runAll();
    await expect(ok).resolves.toBe('second works');
    // retry + success, each to its listener and to onAny
    expect(reported).toHaveLength(4);

    const failing = policy.execute(() => {
      throw new Error('always');
    });
    const outcome = failing.catch((error: unknown) => error);
    await clock.runAll();
    expect(await outcome).toMatchObject({ message: 'always' });
    // plus retry, giveUp, failure: twice each
    expect(reported).toHaveLength(10);
    expect(reported.every((r) => r === boom)).toBe(true);
  });

  it('typed on() hands each policy’s payload to its listener', async () => {
    const clock = new VirtualClock();
    const t = timeout({ ms: 50, clock });
    const timeouts: { timeout: number; attempt: number }[] = [];
    const off = t.on('timeout', (event) => timeouts.push({ timeout: event.timeout, attempt: event.attempt }));
    const call = t.execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    const outcome = call.catch(() => 'timed out');
    await clock.advance(50);
    expect(await outcome).toBe('timed out');
    expect(timeouts).toEqual([{ timeout: 50, attempt: 1 }]);
    off();
  });

  it('no event object is built when nobody listens', async () => {
    // Every payload is built inside `if (this.listening(...))`, so with no
    // listener, emit is never reached.
    const emit = vi.spyOn(Emitter.prototype as unknown as { emit: () => void }, 'emit');
    const clock = new VirtualClock();
    const policy = pipeline(
      fallback({ value: 'fb' }),
      retry({ maxAttempts: 2, backoff: 1, clock }),
      timeout({ ms: 5, clock }),
    );
    const run = () =>
      policy.execute(
        ({ signal }) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      );
    const quiet = run();
    await clock.runAll();
    expect(await quiet).toBe('fb');
    await policy.execute(() => 'ok');
    expect(emit).not.toHaveBeenCalled();

    // The same calls with a listener do emit: the spy can see it.
    policy.onEvent(() => {});
    const loud = run();
    await clock.runAll();
    expect(await loud).toBe('fb');
    expect(emit).toHaveBeenCalled();
  });
});

describe('reportCallbackError', () => {
  it('hands a callback error no caller can see to the listener error handler', () => {
    const error = new Error('late callback');
    reportCallbackError(error, 'protect: an error after the request reached its handler');
    expect(reported).toEqual([error]);
  });

  it('prints it by default, after saying what failed', () => {
    setListenerErrorHandler(previousHandler);
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const error = new Error('late callback');
      reportCallbackError(error, 'protect: an error after the request reached its handler');
      expect(printed.mock.calls).toEqual([
        ['bulwark: protect: an error after the request reached its handler', error],
      ]);
      expect(reported).toEqual([]);
    } finally {
      printed.mockRestore();
    }
  });
});
