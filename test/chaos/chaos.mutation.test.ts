/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/chaos (see docs/testing.md, "Mutation testing"): each pins a
 * behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { ChaosError, type ChaosEvents, chaos } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

describe('chaos (chaos/chaos)', () => {
  it('names the options argument and the name option in validation messages', () => {
    expect(() => chaos.fault(5 as never)).toThrow(
      new TypeError('chaos.fault: options must be an object, got 5'),
    );
    expect(() => chaos.result(null as never)).toThrow(
      new TypeError('chaos.result: options must be an object, got null'),
    );
    expect(() => chaos.latency({ rate: 1, ms: 1, name: '' })).toThrow(
      new TypeError('chaos.latency: name must be a non-empty string, got ""'),
    );
  });

  it('enabled: true behaves like the default: rate alone decides', async () => {
    const on = chaos.fault({ rate: 1, enabled: true });
    await expect(on.execute(() => 'ok')).rejects.toBeInstanceOf(ChaosError);
    const never = chaos.fault({ rate: 0, enabled: true });
    await expect(never.execute(() => 'ok')).resolves.toBe('ok');
    const result = chaos.result({ rate: 1, value: 'fake', enabled: true });
    await expect(result.execute(() => 'live')).resolves.toBe('fake');
  });

  it('reports a -0 delay as 0 in the latency event', async () => {
    const clock = new VirtualClock();
    const events: ChaosEvents['chaos'][] = [];
    const fixed = chaos.latency({ rate: 1, ms: -0, clock });
    const computed = chaos.latency({ rate: 1, ms: () => -0, clock });
    fixed.on('chaos', (e) => events.push(e));
    computed.on('chaos', (e) => events.push(e));
    const calls = [fixed.execute(() => clock.now()), computed.execute(() => clock.now())];
    await clock.advance(0);
    await expect(Promise.all(calls)).resolves.toEqual([0, 0]);
    // toEqual tells -0 from 0 (Object.is), as would a listener dividing by ms.
    expect(events).toEqual([
      { kind: 'latency', ms: 0 },
      { kind: 'latency', ms: 0 },
    ]);
  });

  it('chaos.result passes success through to a lone success listener when it does not inject', async () => {
    const policy = chaos.result({ rate: 0, value: 'fake' });
    const events: unknown[] = [];
    policy.on('success', (e) => events.push(e));
    await expect(policy.execute(() => 'live')).resolves.toBe('live');
    const boom = new Error('boom');
    await expect(policy.execute(() => Promise.reject(boom))).rejects.toBe(boom);
    expect(events).toEqual([{ value: 'live' }]);
  });

  it('chaos.result passes failure through to a lone failure listener when it does not inject', async () => {
    const policy = chaos.result({ rate: 0, value: 'fake' });
    const events: unknown[] = [];
    policy.on('failure', (e) => events.push(e));
    await expect(policy.execute(() => 'live')).resolves.toBe('live');
    const boom = new Error('boom');
    await expect(policy.execute(() => Promise.reject(boom))).rejects.toBe(boom);
    expect(events).toEqual([{ error: boom }]);
  });
});
