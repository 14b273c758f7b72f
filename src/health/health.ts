import { Pipeline } from '../core/pipeline.js';
import { PolicyBase, type PolicyHealth } from '../core/policy.js';
import { show } from '../core/validate.js';

/** The status of a policy, or of a whole report. */
export type HealthStatus = PolicyHealth['status'];

/**
 * One policy's entry in a {@link HealthReport}: its `_health()` plus where it
 * sits. A pipeline's entry carries the worst status of the policies inside it.
 */
export interface HealthEntry extends PolicyHealth {
  /**
   * Where the policy sits: the record key (or the root policy's name, for an
   * array), then the names of the policies inside, joined by `/`, e.g.
   * `inventory/circuitBreaker`.
   */
  readonly path: string;
}

/** What `health()` returns: JSON-ready, for a readiness endpoint. */
export interface HealthReport {
  /**
   * `down` when any policy says this instance cannot serve (an open or
   * isolated breaker); `degraded` when any is shedding or recovering (a full
   * bulkhead, an exhausted rate limit, a half-open breaker); `ok` otherwise.
   */
  readonly status: HealthStatus;
  /** Every policy, nested ones included, outermost first; each appears once. */
  readonly policies: readonly HealthEntry[];
}

/** The policies a health report covers: a list, or a record naming each one. */
export type HealthInput = readonly PolicyBase<any>[] | Readonly<Record<string, PolicyBase<any>>>;

const RANK: Readonly<Record<HealthStatus, number>> = { ok: 0, degraded: 1, down: 2 };

/** Checks `policies` up front, so a bad health route fails at startup rather than on its first probe. */
export function checkHealthInput(owner: string, policies: unknown): HealthInput {
  if (typeof policies !== 'object' || policies === null) {
    throw new TypeError(
      `${owner}: policies must be an array or a { name: policy } record, got ${show(policies)}`,
    );
  }
  const entries = Array.isArray(policies)
    ? policies.map((p, i) => [String(i), p] as const)
    : Object.entries(policies);
  for (const [at, policy] of entries) {
    if (!(policy instanceof PolicyBase)) {
      throw new TypeError(`${owner}: policies[${JSON.stringify(at)}] is not a policy, got ${show(policy)}`);
    }
  }
  return policies as HealthInput;
}

/**
 * A JSON snapshot of the policies' health for a readiness endpoint: each
 * policy's own entry (breaker state and counts, bulkhead load, limiter
 * permits...) and an overall `status`.
 *
 * A pipeline is only a container, so its status is the worst of the policies
 * inside it. Any other policy's status speaks for everything inside it: a
 * keyed policy is `degraded`, not `down`, when one key's breaker is open, and
 * that key's entry is listed without taking the whole report down.
 */
export function health(policies: HealthInput): HealthReport {
  checkHealthInput('health', policies);
  const seen = new Set<PolicyBase<any>>();
  const entries: HealthEntry[] = [];
  let worst: HealthStatus = 'ok';
  const roots: [string, PolicyBase<any>][] = Array.isArray(policies)
    ? (policies as readonly PolicyBase<any>[]).map((policy) => [policy.name, policy])
    : Object.entries(policies as Readonly<Record<string, PolicyBase<any>>>);
  for (const [path, policy] of roots) {
    const status = visit(policy, path, seen, entries);
    if (RANK[status] > RANK[worst]) worst = status;
  }
  return { status: worst, policies: entries };
}

/** Records `policy` and everything inside it; returns the status it counts for. */
function visit(
  policy: PolicyBase<any>,
  path: string,
  seen: Set<PolicyBase<any>>,
  out: HealthEntry[],
): HealthStatus {
  const own = policy._health();
  // A policy reached twice (shared by two pipelines) is listed once, where
  // first seen. Its place is taken now so the list stays outermost first; the
  // entry is written once its children are known (a pipeline's status is theirs).
  const at = seen.has(policy) ? -1 : out.length;
  if (at >= 0) {
    seen.add(policy);
    out.push(undefined as never);
  }
  let status = own.status;
  const container = policy instanceof Pipeline;
  for (const child of policy._children()) {
    const childStatus = visit(child, `${path}/${child.name}`, seen, out);
    if (container && RANK[childStatus] > RANK[status]) status = childStatus;
  }
  if (at >= 0) out[at] = { ...own, status, path };
  return status;
}
