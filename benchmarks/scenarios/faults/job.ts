/**
 * One unit of work of the harness: a scenario with one seed, through every
 * library. Runs in the main process or in a worker process (pool.ts).
 */
import { type Contender, contenders } from './contenders.js';
import { type RunSummary, summarize } from './metrics.js';
import { FULL, type FaultScenario, faultScenarios, QUICK } from './scenarios.js';
import { simulate } from './simulate.js';

/** What a job needs; plain data, so it can be sent to a worker process. */
export interface Job {
  readonly scenario: string;
  readonly quick: boolean;
  readonly seed: number;
  /** Names of the libraries to run; default all. */
  readonly only?: readonly string[];
}

/** The scenario a job names, for the timing it asks for. */
export function scenarioOf(job: Pick<Job, 'scenario' | 'quick'>): FaultScenario {
  const scenario = faultScenarios(job.quick ? QUICK : FULL).find((s) => s.name === job.scenario);
  if (scenario === undefined) throw new Error(`unknown scenario ${job.scenario}`);
  return scenario;
}

/** The libraries a job runs, in table order. */
export function contendersOf(job: Pick<Job, 'only'>): readonly Contender[] {
  if (job.only === undefined) return contenders;
  const unknown = job.only.filter((name) => !contenders.some((c) => c.name === name));
  if (unknown.length > 0) throw new Error(`unknown libraries: ${unknown.join(', ')}`);
  return contenders.filter((c) => job.only?.includes(c.name) === true);
}

/** Runs the job: one summary per library, in table order. */
export async function runJob(job: Job): Promise<RunSummary[]> {
  const scenario = scenarioOf(job);
  const summaries: RunSummary[] = [];
  for (const contender of contendersOf(job)) {
    const log = await simulate(scenario, contender, { seed: job.seed });
    summaries.push(summarize(log, scenario));
  }
  return summaries;
}
