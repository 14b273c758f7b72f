import type { Attributes } from '@opentelemetry/api';
import { Pipeline } from '../../core/pipeline.js';
import type { PolicyBase, PolicyHealth } from '../../core/policy.js';
import { ATTRIBUTE_NAMES } from './names.js';

/** `bulwark.circuit_breaker.state` values: ordered by severity, so `max` is the worst. */
export const BREAKER_STATE_VALUES: Readonly<Record<string, number>> = {
  closed: 0,
  halfOpen: 1,
  open: 2,
  isolated: 3,
};

/** `bulwark.policy.health` values: ordered by severity, so `max` is the worst. */
export const HEALTH_VALUES: Readonly<Record<PolicyHealth['status'], number>> = {
  ok: 0,
  degraded: 1,
  down: 2,
};

/**
 * What the gauges report for one (kind, name) pair. Policies that share a
 * kind and name (a keyed policy's per-key policies, say) are folded into one
 * series, so a thousand keys do not make a thousand series: counts add up,
 * states, health and throttle probability take the worst.
 */
export interface GaugeGroup {
  readonly attributes: Attributes;
  health: number;
  state: number | undefined;
  active: number | undefined;
  limit: number | undefined;
  queued: number | undefined;
  available: number | undefined;
  probability: number | undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function add(total: number | undefined, value: number | undefined): number | undefined {
  return value === undefined ? total : (total ?? 0) + value;
}

/**
 * Reads every policy in `root`'s tree once, through `_health()`, by the
 * details policies report rather than by kind, so policies that land later
 * (or live in other packages) are covered when they report the same details:
 * `state` (a breaker), `running` / `inflight` with `limit` (a concurrency
 * limit), `queued` / `waiting` (a queue), `available` / `remaining` (permits).
 * Pipelines are containers and report nothing of their own.
 */
export function readGauges(root: PolicyBase<any>, pipeline: string): Map<string, GaugeGroup> {
  const groups = new Map<string, GaugeGroup>();
  const seen = new Set<PolicyBase<any>>();
  const visit = (policy: PolicyBase<any>): void => {
    if (seen.has(policy)) return;
    seen.add(policy);
    if (!(policy instanceof Pipeline)) record(groups, policy._health(), pipeline);
    for (const child of policy._children()) visit(child);
  };
  visit(root);
  return groups;
}

function record(groups: Map<string, GaugeGroup>, health: PolicyHealth, pipeline: string): void {
  const key = `${health.kind}\u0000${health.name}`;
  let group = groups.get(key);
  if (group === undefined) {
    group = {
      attributes: {
        [ATTRIBUTE_NAMES.pipeline]: pipeline,
        [ATTRIBUTE_NAMES.policyKind]: health.kind,
        [ATTRIBUTE_NAMES.policyName]: health.name,
      },
      health: 0,
      state: undefined,
      active: undefined,
      limit: undefined,
      queued: undefined,
      available: undefined,
      probability: undefined,
    };
    groups.set(key, group);
  }
  group.health = Math.max(group.health, tableValue(HEALTH_VALUES, health.status) ?? 0);
  const state = tableValue(BREAKER_STATE_VALUES, health.state);
  if (state !== undefined) group.state = Math.max(group.state ?? 0, state);
  const active = num(health.running) ?? num(health.inflight);
  if (active !== undefined) {
    group.active = add(group.active, active);
    // A limit means a concurrency limit only next to a count of running calls
    // (a rate limiter's `limit` is its burst, reported through `available`).
    group.limit = add(group.limit, num(health.limit));
  }
  group.queued = add(group.queued, num(health.queued) ?? num(health.waiting));
  group.available = add(group.available, num(health.available) ?? num(health.remaining));
  const probability = num(health.probability);
  if (probability !== undefined) group.probability = Math.max(group.probability ?? 0, probability);
}

/**
 * `values[name]` for the table's own names only: a third-party policy may
 * report any string, and `'constructor'` must not read `Object.prototype`.
 */
function tableValue(values: Readonly<Record<string, number>>, name: unknown): number | undefined {
  return typeof name === 'string' && Object.hasOwn(values, name) ? values[name] : undefined;
}
