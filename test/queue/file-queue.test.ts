import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileQueue } from '../../examples/queue-for-later/file-queue.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const adapter = pathToFileURL(join(root, 'examples/queue-for-later/file-queue.ts')).href;

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bulwark-file-queue-'));
  file = join(dir, 'orders.jsonl');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function drainAll<T>(queue: FileQueue<T>): Promise<T[]> {
  const items: T[] = [];
  await queue.drain(async (item) => {
    items.push(item);
  });
  return items;
}

/** Runs a script in a child process (tsx) that is expected to kill itself with SIGKILL. */
function runChild(
  source: string,
): Promise<{ signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return (async () => {
    const script = join(dir, `child-${Math.random().toString(36).slice(2)}.mts`);
    await writeFile(script, source);
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', script],
        { cwd: root, timeout: 15_000, killSignal: 'SIGKILL' },
        (error, stdout, stderr) =>
          resolve({ signal: (error as { signal?: NodeJS.Signals } | null)?.signal ?? null, stdout, stderr }),
      );
    });
  })();
}

describe('the file-backed DeferredQueue (examples/queue-for-later)', () => {
  it('stores items in order and removes each once handled', async () => {
    const queue = await FileQueue.open<{ id: string }>(file);
    await queue.enqueue({ id: 'a' });
    await queue.enqueue({ id: 'b' });
    expect(queue.size()).toBe(2);
    expect(await drainAll(queue)).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(queue.size()).toBe(0);
    // Nothing pending: the log was compacted away.
    expect(await readFile(file, 'utf8')).toBe('');
    await queue.close();
  });

  it('no loss on restart: a new instance reads the file and drains what the old one left', async () => {
    const first = await FileQueue.open<string>(file);
    for (const item of ['a', 'b', 'c']) await first.enqueue(item);
    await expect(
      first.drain(async (item) => {
        if (item === 'b') throw new Error('gateway down');
      }),
    ).rejects.toThrow('gateway down');
    // "Crash": the instance is dropped without any shutdown step.
    const second = await FileQueue.open<string>(file);
    expect(second.size()).toBe(2);
    expect(await drainAll(second)).toEqual(['b', 'c']);
    await first.close();
    await second.close();
  });

  it('opening compacts the log to the pending items', async () => {
    const queue = await FileQueue.open<string>(file);
    for (const item of ['a', 'b']) await queue.enqueue(item);
    await expect(
      queue.drain(async (item) => {
        if (item === 'b') throw new Error('later');
      }),
    ).rejects.toThrow('later');
    await queue.close();
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(3);
    const reopened = await FileQueue.open<string>(file);
    expect(await readFile(file, 'utf8')).toBe('{"id":2,"item":"b"}\n');
    await reopened.enqueue('c');
    expect(await drainAll(reopened)).toEqual(['b', 'c']);
    await reopened.close();
  });

  it('a last line cut short by a crash is ignored; a corrupt line in the middle is refused', async () => {
    await writeFile(file, '{"id":1,"item":"a"}\n{"id":2,"it');
    const queue = await FileQueue.open<string>(file);
    expect(await drainAll(queue)).toEqual(['a']);
    await queue.close();
    await writeFile(file, '{"id":1,"item":"a"}\nnot json\n{"id":3,"item":"c"}\n');
    await expect(FileQueue.open<string>(file)).rejects.toThrow(/line 2 is not JSON/);
  });

  it('at-least-once: a crash between handling and acknowledging hands the item out again', async () => {
    const queue = await FileQueue.open<{ id: string }>(file);
    await queue.enqueue({ id: 'order-1' });
    const charges = new Map<string, number>();
    const charge = (order: { id: string }) => charges.set(order.id, (charges.get(order.id) ?? 0) + 1);
    // The handler's work is done, then the process "dies" before the ack is written.
    void queue.drain(async (order) => {
      charge(order);
      await new Promise<never>(() => {});
    });
    await Promise.resolve();
    const restarted = await FileQueue.open<{ id: string }>(file);
    expect(await drainAll(restarted)).toEqual([{ id: 'order-1' }]);
    await restarted.close();
    // Redelivered once: an idempotency key (the order id) is what keeps this a single charge.
    expect(charges.get('order-1')).toBe(1);
  });

  it('survives a real process kill (SIGKILL) right after enqueue resolved', async () => {
    const child = await runChild(`
      import { FileQueue } from ${JSON.stringify(adapter)};
      const queue = await FileQueue.open(${JSON.stringify(file)});
      for (const id of ['o1', 'o2', 'o3']) await queue.enqueue({ id });
      process.stdout.write('stored\\n');
      process.kill(process.pid, 'SIGKILL');
    `);
    expect(child.stdout, child.stderr).toBe('stored\n');
    expect(child.signal).toBe('SIGKILL');
    const queue = await FileQueue.open<{ id: string }>(file);
    expect(await drainAll(queue)).toEqual([{ id: 'o1' }, { id: 'o2' }, { id: 'o3' }]);
    await queue.close();
  });

  it('a process killed after the work but before the ack: the next process redelivers the item', async () => {
    const log = join(dir, 'charges.log');
    const first = await FileQueue.open<{ id: string }>(file);
    for (const id of ['o1', 'o2']) await first.enqueue({ id });
    await first.close();
    const child = await runChild(`
      import { appendFileSync } from 'node:fs';
      import { FileQueue } from ${JSON.stringify(adapter)};
      const queue = await FileQueue.open(${JSON.stringify(file)});
      await queue.drain(async (order) => {
        appendFileSync(${JSON.stringify(log)}, order.id + '\\n');
        if (order.id === 'o2') process.kill(process.pid, 'SIGKILL');
      });
    `);
    expect(child.signal, child.stderr).toBe('SIGKILL');
    const queue = await FileQueue.open<{ id: string }>(file);
    const redelivered = await drainAll(queue);
    for (const order of redelivered) await appendFile(log, `${order.id}\n`);
    await queue.close();
    // o1 was acknowledged; o2's work ran but its ack never reached the file, so it runs again.
    expect(redelivered).toEqual([{ id: 'o2' }]);
    expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual(['o1', 'o2', 'o2']);
  });

  it('refuses a second drain while one runs; a failed write stores nothing', async () => {
    const queue = await FileQueue.open<string>(file);
    await queue.enqueue('a');
    let release: () => void = () => {};
    const first = queue.drain(() => new Promise<void>((r) => (release = r)));
    await expect(queue.drain(async () => {})).rejects.toThrow('FileQueue: a drain is already running');
    release();
    expect(await first).toBe(1);
    await queue.close();
    // The handle is closed: the write fails, and the item is not counted as stored.
    await expect(queue.enqueue('b')).rejects.toThrow();
    expect(queue.size()).toBe(0);
  });
});
