/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/keyed (see docs/testing.md, "Mutation testing"): each pins a
 * behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { circuitBreaker, keyed, PolicyBase, type PolicyHealth, pipeline, retry } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { deferred } from '../breaker/helpers.js';

const failing = () => Promise.reject(new Error('x'));

/** A policy whose health is fixed, counting how often it is asked, with the given children. */
class Fixed extends PolicyBase {
  asked = 0;
  constructor(
    private readonly status: PolicyHealth['status'],
    private readonly children: readonly PolicyBase[] = [],
  ) {
    super('fixed', undefined);
  }
  override _health(): PolicyHealth {
    this.asked++;
    return { kind: this.kind, name: this.name, status: this.status };
  }
  override _children(): readonly PolicyBase[] {
    return this.children;
  }
}

describe('keyed: health', () => {
  it('counts degraded keys apart from down ones', async () => {
    const clock = new VirtualClock();
    const policy = keyed(() => circuitBreaker({ consecutiveFailures: 1, openFor: 100, clock }), { clock });
    await policy.execute('a', () => 1);
    await policy.execute('b', failing).catch(() => {});
    await clock.advance(100);
    // b is half-open now: degraded, not down.
    expect(policy._health()).toMatchObject({ status: 'degraded', keys: 2, down: 0, degraded: 1 });
  });

  it('a key’s policy that is down is down: the policies inside it are not asked', () => {
    const inner = new Fixed('ok');
    const policy = keyed(() => new Fixed('down', [inner]));
    policy.get('a');
    expect(policy._health()).toMatchObject({ status: 'down', keys: 1, down: 1 });
    expect(inner.asked).toBe(0);
  });

  it('the worst status inside a key’s pipeline wins, whatever comes after it', async () => {
    const clock = new VirtualClock();
    const policy = keyed(
      () =>
        pipeline(
          circuitBreaker({ consecutiveFailures: 1, openFor: 100, clock }),
          retry({ maxAttempts: 1, clock }),
        ),
      { clock },
    );
    await policy.execute('a', failing).catch(() => {});
    await clock.advance(100);
    expect(policy._health()).toMatchObject({ status: 'degraded', degraded: 1 });
  });
});

describe('keyed: eviction after delete', () => {
  it('an idle key deleted is never evicted later', async () => {
    const clock = new VirtualClock();
    const policy = keyed(() => circuitBreaker({ clock }), { maxKeys: 2, clock });
    const evicted: unknown[] = [];
    policy.on('evict', (e) => evicted.push(e));
    policy.get('a');
    policy.get('b');
    policy.delete('a');
    policy.get('c');
    policy.get('d');
    expect(evicted).toEqual([{ key: 'b', reason: 'maxKeys' }]);
    expect([...policy.keys()]).toEqual(['c', 'd']);
  });

  it('a key deleted while busy does not come back when its call settles', async () => {
    const clock = new VirtualClock();
    const policy = keyed(() => circuitBreaker({ clock }), { idleTtl: 1_000, clock });
    const gate = deferred();
    const call = policy.execute('a', () => gate.promise);
    policy.delete('a');
    const fresh = policy.get('a');
    await clock.advance(100);
    gate.resolve('done');
    await call;
    await clock.advance(800);
    expect(policy.get('a')).toBe(fresh);
    await clock.advance(200);
    // The old entry, had it been re-listed, would be evicted now and take the new one with it.
    expect(policy.has('a')).toBe(true);
    expect(policy.get('a')).toBe(fresh);
  });
});

describe('keyed: options', () => {
  it('names the option in its message', () => {
    expect(() => keyed(() => circuitBreaker(), 5 as never)).toThrow(
      /^keyed: options must be an object, got 5$/,
    );
  });
});
