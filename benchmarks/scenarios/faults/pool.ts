/**
 * Runs jobs on several processes (one simulation uses one core; seeds and
 * scenarios are independent). Each worker is this project's TypeScript run
 * through the same loader as the parent (tsx), with a larger young
 * generation: the simulations allocate many short-lived objects.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Job, runJob } from './job.js';
import type { RunSummary } from './metrics.js';

const workerFile = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** A message from a worker: the job's results, or its error. */
export type WorkerReply =
  | { readonly ok: true; readonly results: RunSummary[] }
  | { readonly ok: false; readonly error: string };

/** Calls `onDone` after each job, in completion order. */
export type Progress = (job: Job, results: readonly RunSummary[], ms: number) => void;

/** Runs `jobs` in this process, one after the other. */
export async function runInProcess(jobs: readonly Job[], onDone?: Progress): Promise<RunSummary[][]> {
  const out: RunSummary[][] = [];
  for (const job of jobs) {
    const started = performance.now();
    const results = await runJob(job);
    onDone?.(job, results, performance.now() - started);
    out.push(results);
  }
  return out;
}

/** Runs `jobs` on `processes` worker processes; results come back in job order. */
export async function runInPool(
  jobs: readonly Job[],
  processes: number,
  onDone?: Progress,
): Promise<RunSummary[][]> {
  const results: RunSummary[][] = new Array(jobs.length);
  let next = 0;
  const work = async (): Promise<void> => {
    if (next >= jobs.length) return;
    const child: ChildProcess = fork(workerFile, [], {
      execArgv: [...process.execArgv, '--max-semi-space-size=64'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Structured clone keeps Infinity and NaN (a recovery that never came), which JSON would not.
      serialization: 'advanced',
    });
    try {
      while (next < jobs.length) {
        const index = next++;
        const job = jobs[index]!;
        const started = performance.now();
        const reply = await ask(child, job);
        if (!reply.ok) throw new Error(`${job.scenario} (seed ${job.seed}): ${reply.error}`);
        results[index] = reply.results;
        onDone?.(job, reply.results, performance.now() - started);
      }
    } finally {
      child.kill();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(processes, jobs.length)) }, work));
  return results;
}

function ask(child: ChildProcess, job: Job): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: WorkerReply) => {
      child.off('exit', onExit);
      resolve(reply);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`worker exited (code ${code}) during ${job.scenario}, seed ${job.seed}`));
    };
    child.once('message', onMessage);
    child.once('exit', onExit);
    child.send(job);
  });
}
