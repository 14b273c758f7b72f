// Policies for tests of code that walks a policy tree.
import { PolicyBase, type PolicyEvents } from '../../src/core/policy.js';

/** A container of a kind of its own whose children change on `reload`, like a bulwark/config pipeline handle. */
export class Reloadable extends PolicyBase<PolicyEvents & { reload: object }> {
  children: PolicyBase<any>[];
  constructor(children: PolicyBase<any>[]) {
    super('reloadable', undefined);
    this.children = children;
  }
  override _children(): readonly PolicyBase<any>[] {
    return this.children;
  }
  reload(children: PolicyBase<any>[]): void {
    this.children = children;
    this.emit('reload', {});
  }
}
