/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/queue/queue-for-later.ts, lines 280 on (see docs/testing.md, "Mutation
 * testing"): how `queueForLater` watches the breakers of its policy's tree.
 * The other tests close a breaker through a live `submit`, whose success
 * starts a drain by itself; here a breaker closes with no live call, so only
 * its `close` event can re-drive the queue. Named after the behaviour, not
 * the mutant.
 */
import { describe, expect, it } from 'vitest';
import { registry } from '../../src/config/index.js';
import type { PolicyBase } from '../../src/core/policy.js';
import {
  CircuitBreakerPolicy,
  circuitBreaker,
  keyed,
  pipeline,
  type QueueForLater,
  queueForLater,
  retry,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { Reloadable } from '../helpers/policies.js';

const HOUR = 3_600_000;

/** Whether anyone listens to `event` on `policy` (the emitter's own check). */
const listening = (policy: unknown, event: string): boolean =>
  (policy as { listening(e: string): boolean }).listening(event);

/**
 * A queue for later over `policy` whose handler fails until `state.up`, with
 * a re-drive timer too far off to fire during a test: only a breaker's
 * `close` (or an explicit drain) re-drives it.
 */
function start(policy: PolicyBase<any>, clock: VirtualClock) {
  const state = { up: false };
  const done: string[] = [];
  const events: unknown[] = [];
  const later = queueForLater<string>({
    policy,
    handler: (item) => {
      if (!state.up) throw new Error('down');
      done.push(item);
    },
    clock,
    retryInterval: HOUR,
  });
  for (const name of ['drained', 'paused'] as const) later.on(name, (e) => events.push([name, e]));
  return { state, done, events, later };
}

const breakerOptions = (clock: VirtualClock) => ({ consecutiveFailures: 1, openFor: HOUR, clock });

/** The breaker a registry pipeline handle holds now. */
function breakerOf(handle: { policy(key: 'circuitBreaker'): unknown }): CircuitBreakerPolicy {
  const breaker = handle.policy('circuitBreaker');
  if (!(breaker instanceof CircuitBreakerPolicy)) throw new Error('no circuit breaker in the pipeline');
  return breaker;
}

/**
 * A registry whose `pay` pipeline holds one breaker, and an update that
 * replaces that breaker with a new one (other options), returning it.
 */
function payRegistry(clock: VirtualClock) {
  const policies = registry(
    { pay: { circuitBreaker: { consecutiveFailures: 1, openFor: '1m' } } },
    { clock },
  );
  const handle = policies.get('pay');
  const replaceBreaker = (): CircuitBreakerPolicy => {
    policies.update({ pay: { circuitBreaker: { consecutiveFailures: 1, openFor: '2m' } } });
    return breakerOf(handle);
  };
  return { handle, replaceBreaker };
}

describe('queue for later: watching the policy’s breakers (queue/queue-for-later)', () => {
  it('a breaker that closes re-drives the queue, with no live call and long before the timer', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker(breakerOptions(clock));
    const { state, done, events, later } = start(pipeline(retry({ maxAttempts: 1 }), breaker), clock);
    await clock.settle();
    events.length = 0;
    await later.submit('a'); // fails: the breaker opens, the timer is an hour away
    expect(breaker.state).toBe('open');
    state.up = true;
    await clock.settle();
    expect(done).toEqual([]);
    breaker.reset(); // closes the breaker: its `close` is the only trigger
    await clock.settle();
    expect(done).toEqual(['a']);
    expect(events).toEqual([['drained', { removed: 1 }]]);
    expect(clock.now()).toBe(0);
    expect(clock.pending).toBe(0); // the drain cancelled the hour-long timer
    later.close();
  });

  it('a breaker a keyed policy creates after the start is watched from its creation', async () => {
    const clock = new VirtualClock();
    // Drains cannot run items through a keyed policy (no call key), so the queue stays empty: a drain shows as `drained`.
    const byHost = keyed((host: string) => circuitBreaker({ name: host, ...breakerOptions(clock) }), {
      clock,
    });
    const { events, later } = start(byHost, clock);
    await clock.settle();
    expect(events).toEqual([['drained', { removed: 0 }]]);
    events.length = 0;
    const breaker = byHost.get('h1'); // the keyed policy had no key when queueForLater walked it
    breaker.isolate()(); // isolated, then released: the breaker closes
    await clock.settle();
    expect(events).toEqual([['drained', { removed: 0 }]]);
    later.close();
  });

  it('a breaker a registry update puts into an empty pipeline re-drives the queue when it closes', async () => {
    const clock = new VirtualClock();
    const policies = registry({ pay: {} }, { clock });
    const handle = policies.get('pay');
    const { state, done, later } = start(handle, clock);
    await clock.settle();
    await later.submit('a'); // no breaker yet: stored, the timer an hour away
    policies.update({ pay: { circuitBreaker: { consecutiveFailures: 1, openFor: '1m' } } });
    const breaker = breakerOf(handle);
    state.up = true;
    breaker.isolate()();
    await clock.settle();
    expect(done).toEqual(['a']);
    later.close();
  });

  it('follows a container of any kind whose children change: the new breaker’s close re-drives', async () => {
    const clock = new VirtualClock();
    const first = circuitBreaker({ name: 'first', ...breakerOptions(clock) });
    const second = circuitBreaker({ name: 'second', ...breakerOptions(clock) });
    const container = new Reloadable([first]);
    const { state, done, later } = start(container, clock);
    await clock.settle();
    await later.submit('a');
    container.reload([second]);
    state.up = true;
    second.isolate()();
    await clock.settle();
    expect(done).toEqual(['a']);
    later.close();
  });

  it('a breaker an update replaced no longer re-drives the queue; its successor does', async () => {
    const clock = new VirtualClock();
    const { handle, replaceBreaker } = payRegistry(clock);
    const old = breakerOf(handle);
    const { state, done, events, later } = start(handle, clock);
    await clock.settle();
    events.length = 0;
    await later.submit('a');
    const current = replaceBreaker();
    expect(current).not.toBe(old);
    state.up = true;
    old.isolate()(); // the replaced breaker closes (a call still holding it could do the same)
    await clock.settle();
    expect(done).toEqual([]);
    expect(events).toEqual([]);
    current.isolate()();
    await clock.settle();
    expect(done).toEqual(['a']);
    later.close();
  });

  it('close() leaves no listener on any policy it watched, across updates of the tree', async () => {
    const clock = new VirtualClock();
    const { handle, replaceBreaker } = payRegistry(clock);
    const old = breakerOf(handle);
    const { later } = start(handle, clock);
    expect(listening(old, 'close')).toBe(true);
    expect(listening(handle, 'reload')).toBe(true);
    const current = replaceBreaker();
    expect(current).not.toBe(old);
    // The replaced breaker is dropped at once, the new one watched.
    expect(listening(old, 'close')).toBe(false);
    expect(listening(current, 'close')).toBe(true);
    later.close();
    for (const event of ['reload', 'create', 'evict']) expect(listening(handle, event)).toBe(false);
    expect(listening(current, 'close')).toBe(false);
    // A plain pipeline too: its tree events and its breaker's close.
    const breaker = circuitBreaker(breakerOptions(clock));
    const outer = pipeline(breaker);
    const plain = start(outer, clock).later;
    expect(listening(outer, 'reload')).toBe(true);
    plain.close();
    for (const event of ['reload', 'create', 'evict']) expect(listening(outer, event)).toBe(false);
    expect(listening(breaker, 'close')).toBe(false);
    await clock.settle();
  });

  it('closed by an earlier listener of the same breaker close, it does not re-drive', async () => {
    const clock = new VirtualClock();
    const breaker = circuitBreaker(breakerOptions(clock));
    let later: QueueForLater<string> | undefined;
    breaker.on('close', () => later?.close()); // subscribed before queueForLater's own listener
    const started = start(pipeline(breaker), clock);
    later = started.later;
    await clock.settle();
    started.events.length = 0;
    await later.submit('a');
    started.state.up = true;
    breaker.reset();
    await clock.settle();
    expect(started.done).toEqual([]);
    expect(started.events).toEqual([]);
    expect(await later.queue.size()).toBe(1);
  });

  it('closed by an earlier listener of the same update, it subscribes to nothing new', async () => {
    const clock = new VirtualClock();
    const policies = registry(
      { pay: { circuitBreaker: { consecutiveFailures: 1, openFor: '1m' } } },
      { clock },
    );
    const handle = policies.get('pay');
    let later: QueueForLater<string> | undefined;
    handle.on('reload', () => later?.close()); // subscribed before queueForLater's own listener
    later = start(handle, clock).later;
    policies.update({ pay: { circuitBreaker: { consecutiveFailures: 1, openFor: '2m' } } });
    expect(listening(breakerOf(handle), 'close')).toBe(false);
    expect(listening(handle, 'create')).toBe(false);
    expect(listening(handle, 'evict')).toBe(false);
    await clock.settle();
  });
});
