/** A node that links itself into a {@link WaitList}: the waiter is the node, no wrapper is allocated. */
export interface WaitNode<N> {
  prev: N | undefined;
  next: N | undefined;
  /** Whether the node is in a list now (removing twice is a no-op). */
  queued: boolean;
}

/**
 * A FIFO of waiting calls with O(1) push and removal anywhere (the head included),
 * so a queued call that aborts leaves at once however long the queue is
 * (an array `splice` would be O(n) per abort).
 * @internal
 */
export class WaitList<N extends WaitNode<N>> {
  head: N | undefined = undefined;
  private tail: N | undefined = undefined;
  size = 0;

  push(node: N): void {
    node.queued = true;
    node.next = undefined;
    node.prev = this.tail;
    if (this.tail === undefined) this.head = node;
    else this.tail.next = node;
    this.tail = node;
    this.size += 1;
  }

  /** Unlinks `node`; returns false when it was not queued. */
  remove(node: N): boolean {
    if (!node.queued) return false;
    node.queued = false;
    if (node.prev === undefined) this.head = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) this.tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = node.next = undefined;
    this.size -= 1;
    return true;
  }
}
