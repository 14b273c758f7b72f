import { type FileHandle, open, readFile, rename, writeFile } from 'node:fs/promises';
import type { DeferredQueue } from '../../src/index.js';

/**
 * A durable DeferredQueue in one append-only file of JSON lines:
 *
 *   {"id":1,"item":{...}}   an item was stored
 *   {"ack":1}               item 1 was handled and removed
 *
 * Opening the file replays it, so items survive a crash or a restart. An
 * item is acknowledged only after the handler succeeded: a crash in between
 * hands it out again (at-least-once), so handlers must be idempotent.
 *
 * A crash can cut the last line short; that line is ignored (its enqueue
 * never resolved, so no caller was told the item was stored). The file is
 * compacted when it is opened and whenever the queue becomes empty.
 */
export class FileQueue<T> implements DeferredQueue<T> {
  private items: { id: number; item: T }[] = [];
  private nextId = 1;
  private draining = false;
  /** Writes run one after another, so lines never interleave and compaction never races an append. */
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    private readonly handle: FileHandle,
    private readonly fsync: boolean,
  ) {}

  /**
   * Opens (or creates) the queue file and replays it. With `fsync`, every
   * write is flushed to the disk before it resolves: slower, but an item
   * survives a power cut too, not only a process crash.
   */
  static async open<T>(path: string, options: { fsync?: boolean } = {}): Promise<FileQueue<T>> {
    const { items, nextId } = await replay<T>(path);
    // Compact: rewrite only what is still pending, atomically (write then rename).
    const temporary = `${path}.tmp`;
    await writeFile(temporary, items.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    await rename(temporary, path);
    const queue = new FileQueue<T>(await open(path, 'a'), options.fsync === true);
    queue.items = items;
    queue.nextId = nextId;
    return queue;
  }

  enqueue(item: T): Promise<void> {
    const entry = { id: this.nextId++, item };
    const line = `${JSON.stringify(entry)}\n`;
    // Held in memory only once the line is written: a failed write stores nothing.
    return this.write(async () => {
      await this.handle.write(line);
      if (this.fsync) await this.handle.datasync();
      this.items.push(entry);
    });
  }

  async drain(handler: (item: T) => Promise<void>): Promise<number> {
    if (this.draining) throw new Error('FileQueue: a drain is already running');
    this.draining = true;
    let removed = 0;
    try {
      for (let head = this.items[0]; head !== undefined; head = this.items[0]) {
        await handler(head.item);
        await this.write(async () => {
          await this.handle.write(`${JSON.stringify({ ack: head!.id })}\n`);
          if (this.fsync) await this.handle.datasync();
        });
        this.items.shift();
        removed++;
      }
      await this.write(async () => {
        // Nothing pending and no append queued behind us: the whole log can go.
        if (this.items.length === 0) await this.handle.truncate(0);
      });
      return removed;
    } finally {
      this.draining = false;
    }
  }

  size(): number {
    return this.items.length;
  }

  /** Closes the file. Items stay in it for the next `open`. */
  async close(): Promise<void> {
    await this.writes;
    await this.handle.close();
  }

  private write(step: () => Promise<void>): Promise<void> {
    const done = this.writes.then(step);
    // A failed write fails its own caller only, not the writes queued after it.
    this.writes = done.catch(() => {});
    return done;
  }
}

/** Reads the log: items stored and not acknowledged, in order. */
async function replay<T>(path: string): Promise<{ items: { id: number; item: T }[]; nextId: number }> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const pending = new Map<number, T>();
  let nextId = 1;
  const lines = text.split('\n');
  // The text after the last newline is a line whose write was cut short (or nothing).
  const complete = lines.slice(0, -1);
  complete.forEach((line, index) => {
    let record: { id?: number; item?: T; ack?: number };
    try {
      record = JSON.parse(line);
    } catch {
      throw new Error(`FileQueue: ${path} line ${index + 1} is not JSON; refusing to guess what it held`);
    }
    if (typeof record.ack === 'number') {
      pending.delete(record.ack);
    } else if (typeof record.id === 'number') {
      pending.set(record.id, record.item as T);
      nextId = Math.max(nextId, record.id + 1);
    }
  });
  return { items: [...pending].map(([id, item]) => ({ id, item })), nextId };
}
