/**
 * Fault outcomes against the peers: bulwark's recommended configuration,
 * cockatiel, opossum, p-retry and a naked client facing the same incidents
 * on the same simulated dependency, in virtual time.
 *
 *   npm run scenarios                             5 seeds (median), every scenario, charts to docs/img/
 *                                                 (any other run writes its charts to reports/faults/)
 *   npm run scenarios -- --scenario retry-storm   one scenario (comma-separate several)
 *   npm run scenarios -- --seed 7 --seeds 1       one seed
 *   npm run scenarios -- --quick                  15-s incidents instead of 60-s ones
 *   npm run scenarios -- --jobs 1                 no worker processes
 *   npm run scenarios -- --no-charts              print the tables only
 *   npm run scenarios -- --update-docs            also rewrite the results in docs/benchmarks.md
 *
 * Same command, same numbers: every random draw is seeded.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { amplificationChart, successChart, timelineChart, timelineFile } from './charts.js';
import { contenders } from './contenders.js';
import type { Job } from './job.js';
import { combine, RECOVERED_SUCCESS, SETTLE } from './metrics.js';
import { runInPool, runInProcess } from './pool.js';
import { report, type ScenarioResult } from './report.js';
import { DEADLINE, FULL, faultScenarios, QUEUE, QUICK, SERVICE_MEDIAN, WORKERS } from './scenarios.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const DOCS = `${root}docs/benchmarks.md`;
const BEGIN = '<!-- faults:results:begin -->';
const END = '<!-- faults:results:end -->';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    seeds: { type: 'string', default: '5' },
    scenario: { type: 'string', multiple: true },
    quick: { type: 'boolean', default: false },
    jobs: { type: 'string' },
    'no-charts': { type: 'boolean', default: false },
    'update-docs': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

function positiveInteger(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be an integer ≥ 1, got ${text}`);
  return n;
}

async function main(): Promise<void> {
  if (values.help) {
    const source = readFileSync(fileURLToPath(import.meta.url), 'utf8');
    console.log(source.slice(source.indexOf('/**') + 3, source.indexOf('*/')).replace(/^ \* ?/gm, ''));
    return;
  }
  const seed = positiveInteger('seed', values.seed);
  const seedCount = positiveInteger('seeds', values.seeds);
  const quick = values.quick;
  const timing = quick ? QUICK : FULL;
  const all = faultScenarios(timing);
  const wanted = (values.scenario ?? []).flatMap((s) => s.split(',')).filter((s) => s !== '');
  const unknown = wanted.filter((name) => !all.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${all.map((s) => s.name).join(', ')}`);
  }
  const scenarios = wanted.length === 0 ? all : all.filter((s) => wanted.includes(s.name));
  const seeds = Array.from({ length: seedCount }, (_, i) => seed + i);
  const jobs: Job[] = scenarios.flatMap((s) => seeds.map((n) => ({ scenario: s.name, quick, seed: n })));
  const processes =
    values.jobs === undefined ? Math.min(2, availableParallelism()) : positiveInteger('jobs', values.jobs);

  // Only the documented run (full length, seeds 1–5) draws the docs' charts;
  // any other run draws its own under reports/, so the docs stay consistent.
  const documented = !quick && seed === 1 && seedCount === 5;
  if (values['update-docs'] && !(documented && scenarios.length === all.length)) {
    throw new Error('--update-docs needs the documented run: all scenarios, full length, seeds 1–5');
  }

  const started = performance.now();
  let done = 0;
  const progress = (job: Job, _results: unknown, ms: number) => {
    done += 1;
    process.stderr.write(
      `[${done}/${jobs.length}] ${job.scenario}, seed ${job.seed}: ${(ms / 1000).toFixed(1)} s\n`,
    );
  };
  const byJob =
    processes === 1 || jobs.length === 1
      ? await runInProcess(jobs, progress)
      : await runInPool(jobs, processes, progress);

  const results: ScenarioResult[] = scenarios.map((scenario) => {
    const perSeed = jobs
      .map((job, i) => ({ job, runs: byJob[i]! }))
      .filter(({ job }) => job.scenario === scenario.name)
      .map(({ runs }) => runs);
    const rows = contenders.map((_, c) => combine(perSeed.map((runs) => runs[c]!)));
    return { scenario, rows, seeds: perSeed };
  });

  const seedText =
    seedCount === 1 ? `seed ${seed}` : `seeds ${seed}–${seed + seedCount - 1} (median of each figure)`;
  const command = `npm run scenarios --${quick ? ' --quick' : ''}${seed === 1 ? '' : ` --seed ${seed}`}${seedCount === 5 ? '' : ` --seeds ${seedCount}`}`;
  const header = [
    `Virtual time, ${seedText}; \`${command.replace(/ --$/, '')}\`.`,
    `Each run: ${timing.warmup / 1000} s healthy, ${timing.bad / 1000} s of incident, ${timing.after / 1000} s healthy again.`,
    `Dependency: ${WORKERS} workers, a queue of ${QUEUE}, log-normal service time (median ${SERVICE_MEDIAN} ms).`,
    `Every request has a ${DEADLINE / 1000}-s deadline. Goodput, success, calls per request and latencies`,
    `cover the incident; "p99 settled" leaves out its first ${SETTLE / 1000} s; recovery is the time from`,
    `healing to the first 1-s window with ≥ ${RECOVERED_SUCCESS * 100} % success; late calls started after`,
    'their deadline (worst seed); wasted: requests the dependency served for a caller already gone.',
  ].join('\n');
  const text = report(results, header);
  process.stdout.write(text);

  if (!values['no-charts']) {
    const dir = documented ? 'docs/img/' : 'reports/faults/';
    mkdirSync(root + dir, { recursive: true });
    for (const result of results) {
      writeFileSync(root + dir + timelineFile(result.scenario.name), timelineChart(result));
    }
    if (results.length === all.length) {
      writeFileSync(`${root}${dir}faults-amplification.svg`, amplificationChart(results));
      writeFileSync(`${root}${dir}faults-success.svg`, successChart(results));
    }
    process.stderr.write(`charts written to ${dir}faults-*.svg\n`);
  }
  if (values['update-docs']) {
    const docs = readFileSync(DOCS, 'utf8');
    const from = docs.indexOf(BEGIN);
    const to = docs.indexOf(END);
    if (from < 0 || to < from) throw new Error(`docs/benchmarks.md has no ${BEGIN} … ${END} block`);
    writeFileSync(DOCS, `${docs.slice(0, from + BEGIN.length)}\n\n${text}\n${docs.slice(to)}`);
    process.stderr.write('docs/benchmarks.md updated\n');
  }
  process.stderr.write(`done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
