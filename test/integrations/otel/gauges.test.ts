import { describe, expect, it } from 'vitest';
import { PolicyBase, type PolicyHealth, pipeline } from '../../../src/index.js';
import { readGauges } from '../../../src/integrations/otel/gauges.js';
import { BREAKER_STATE_VALUES, HEALTH_VALUES } from '../../../src/integrations/otel/index.js';

/** A policy from elsewhere (another package, a later release) that reports the usual details. */
class Reporting extends PolicyBase {
  constructor(
    name: string,
    private readonly details: Record<string, unknown>,
    private readonly status: PolicyHealth['status'] = 'ok',
  ) {
    super('custom', name);
  }
  override _health(): PolicyHealth {
    return { kind: this.kind, name: this.name, status: this.status, ...this.details };
  }
}

describe('readGauges', () => {
  it('reads gauges by the details a policy reports, not by its kind', () => {
    const groups = readGauges(
      pipeline(
        new Reporting('limiter', { inflight: 3, limit: 8, waiting: 2 }),
        new Reporting('shared-quota', { remaining: 40, limit: 100 }),
        new Reporting('remote-cb', { state: 'halfOpen' }, 'degraded'),
        new Reporting('odd', { state: 'weird', running: Number.POSITIVE_INFINITY, queued: 'many' }, 'down'),
        new Reporting('throttle', { probability: 0.25 }, 'degraded'),
      ),
      'svc',
    );
    const none = {
      state: undefined,
      active: undefined,
      limit: undefined,
      queued: undefined,
      available: undefined,
      probability: undefined,
    };
    const view = [...groups.values()].map(({ attributes, ...rest }) => ({
      name: attributes['bulwark.policy.name'],
      ...rest,
    }));
    expect(view).toEqual([
      { ...none, name: 'limiter', health: 0, active: 3, limit: 8, queued: 2 },
      // A rate limiter's limit is its burst, not a concurrency limit: only reported next to running calls.
      { ...none, name: 'shared-quota', health: 0, available: 40 },
      { ...none, name: 'remote-cb', health: 1, state: 1 },
      { ...none, name: 'odd', health: 2 },
      { ...none, name: 'throttle', health: 1, probability: 0.25 },
    ]);
  });

  it("reads only the tables' own states and statuses: names of Object.prototype members count as unknown", () => {
    const groups = readGauges(
      pipeline(
        new Reporting('proto-state', { state: 'constructor' }),
        new Reporting('proto-status', {}, 'toString' as PolicyHealth['status']),
      ),
      'svc',
    );
    expect([...groups.values()].map(({ health, state }) => ({ health, state }))).toEqual([
      { health: 0, state: undefined },
      { health: 0, state: undefined },
    ]);
  });

  it('folds policies sharing kind and name into one series: counts add, state and health take the worst', () => {
    const a = new Reporting('same', { state: 'closed', running: 1, limit: 2, probability: 0.5 }, 'ok');
    const b = new Reporting('same', { state: 'open', running: 2, limit: 2, probability: 0.1 }, 'down');
    const groups = readGauges(pipeline(a, b, a), 'svc');
    expect([...groups.values()]).toEqual([
      {
        attributes: {
          'bulwark.pipeline.name': 'svc',
          'bulwark.policy.kind': 'custom',
          'bulwark.policy.name': 'same',
        },
        health: 2,
        state: 2,
        active: 3,
        limit: 4,
        queued: undefined,
        available: undefined,
        probability: 0.5,
      },
    ]);
  });

  it('state and health values are ordered by severity', () => {
    expect(BREAKER_STATE_VALUES).toEqual({ closed: 0, halfOpen: 1, open: 2, isolated: 3 });
    expect(HEALTH_VALUES).toEqual({ ok: 0, degraded: 1, down: 2 });
  });
});
