import type { AnyListener } from './events.js';
import type { PolicyBase } from './policy.js';

/**
 * Events after which a policy's children may have changed: a keyed policy
 * emits `create` when it makes a key's policy and `evict` when it drops one;
 * a `bulwark/config` pipeline handle emits `reload` when an update replaces
 * its policies.
 */
const CHILDREN_CHANGED = new Set(['create', 'evict', 'reload']);

/** Options of {@link observeTree}. @internal */
export interface ObserveOptions {
  /** Whether `root`'s own events are wanted too (a pipeline's are only its success and failure). */
  readonly includeRoot: boolean;
  /** `false`: skip every policy's `success` and `failure` (see `onAny`). Default true. */
  readonly outcomes?: boolean;
}

/**
 * Subscribes `listener` to every policy in `root`'s tree (walking
 * `_children()`), each once however often it appears, and keeps the
 * subscription set in step with a tree that changes: after one of the
 * `CHILDREN_CHANGED` events the tree is walked again, so a keyed policy's
 * per-key policies are heard from their first call and dropped once evicted.
 * Returns a function that unsubscribes from everything. Shared by
 * `pipeline.onEvent` and `bulwark/otel`, so logs and telemetry see the same
 * event stream.
 * @internal
 */
export function observeTree(
  root: PolicyBase<any>,
  listener: AnyListener,
  options: ObserveOptions | boolean,
): () => void {
  // A bare boolean is `includeRoot` (the first form of this function).
  const { includeRoot, outcomes = true } = typeof options === 'boolean' ? { includeRoot: options } : options;
  const subscribeOptions = { outcomes };
  let subscriptions = new Map<PolicyBase<any>, () => void>();
  let active = true;

  const forward: AnyListener = (event, data, source) => {
    // An emit already under way when we unsubscribed still calls us.
    if (!active) return;
    // Re-walk before forwarding, so the new key's policy is heard during the very call that made it.
    if (CHILDREN_CHANGED.has(event)) sync();
    listener(event, data, source);
  };

  const sync = (): void => {
    const next = new Map<PolicyBase<any>, () => void>();
    const visit = (policy: PolicyBase<any>): void => {
      if (next.has(policy)) return;
      next.set(
        policy,
        subscriptions.get(policy) ??
          (policy === root && !includeRoot ? watchRoot() : policy.onAny(forward, subscribeOptions)),
      );
      for (const child of policy._children()) visit(child);
    };
    visit(root);
    for (const [policy, unsubscribe] of subscriptions) if (!next.has(policy)) unsubscribe();
    subscriptions = next;
  };

  // An excluded root is still watched for changes to its children, through
  // listeners for those events only: `onAny` would make it build every
  // event (and make a pipeline add a promise reaction to every call).
  const watchRoot = (): (() => void) => {
    const resync = () => {
      if (active) sync();
    };
    const offs = [...CHILDREN_CHANGED].map((event) => root.on(event as never, resync));
    return () => {
      for (const off of offs) off();
    };
  };

  sync();
  return () => {
    if (!active) return;
    active = false;
    for (const unsubscribe of subscriptions.values()) unsubscribe();
    subscriptions.clear();
  };
}
