/** A worker process of pool.ts: runs each job it is sent and replies with the results. */
import { type Job, runJob } from './job.js';
import type { WorkerReply } from './pool.js';

process.on('message', (job: Job) => {
  runJob(job).then(
    (results) => process.send?.({ ok: true, results } satisfies WorkerReply),
    (error: unknown) =>
      process.send?.({
        ok: false,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      } satisfies WorkerReply),
  );
});
