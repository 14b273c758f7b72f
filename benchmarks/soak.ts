/**
 * Soak test: a million calls through two six-policy pipelines, under a
 * dependency whose health cycles through good, brownout and outage phases,
 * with random faults, slow and stuck work, and callers that abort. Seeded, so
 * a failing run can be replayed exactly.
 *
 * Time is virtual (one `VirtualClock` shared by every policy and by the
 * simulated dependency), but the event loop is real: each virtual
 * millisecond fires its timers and then lets every promise chain run, so a
 * million calls take seconds, not hours. A second, smaller phase runs the
 * same pipelines on the system clock with real (tiny) timers, to check that
 * nothing keeps a timer alive once the calls are done.
 *
 * Checked, and printed:
 * - every call settles exactly once, with an outcome of a known kind;
 * - a call whose caller aborted settles with the abort reason at once, and no
 *   work starts for it afterwards;
 * - heap growth between two idle points (after `gc()`) stays under 5 MB;
 * - no unhandled rejection;
 * - no abort listener left on a long-lived caller signal, nor on any
 *   caller's signal once its call settled;
 * - no virtual timer pending once idle, and no live `Timeout` handle after
 *   the system-clock phase;
 * - slot counters (bulkhead, adaptive limit, rate-limit queue) back to zero.
 *
 *   npm run soak                      # 1 000 000 calls, human-readable
 *   npm run soak -- --calls 50000 --json
 *
 * Needs `node --expose-gc` (the npm script passes it).
 */
import { getEventListeners, setMaxListeners } from 'node:events';
import { pathToFileURL } from 'node:url';
import {
  type AdaptiveConcurrencyPolicy,
  adaptiveConcurrency,
  BulkheadFullError,
  type BulkheadPolicy,
  backoff,
  bulkhead,
  ChaosError,
  CircuitOpenError,
  type CircuitBreakerPolicy,
  type Clock,
  type Context,
  chaos,
  circuitBreaker,
  fallback,
  hedge,
  keyed,
  type Pipeline,
  pipeline,
  RateLimitedError,
  type RateLimitPolicy,
  rateLimit,
  retry,
  retryBudget,
  setListenerErrorHandler,
  systemClock,
  TimeoutError,
  timeout,
} from '../src/index.js';
import { VirtualClock } from '../src/testing/index.js';
import { mulberry32, type Random } from './lib/random.js';

/** What the simulated dependency throws. */
export class DependencyError extends Error {
  constructor(message = 'dependency failed') {
    super(message);
    this.name = 'DependencyError';
  }
}

/** A thrown non-Error (some code does `throw 'x'`): must pass through as it is. */
const THROWN_STRING = 'string thrown by the dependency';
const FALLBACK = 'fallback';
const OK = 'ok';

/** Options of {@link runSoak}. */
export interface SoakOptions {
  /** Calls to run on the virtual clock. */
  calls: number;
  /** Calls to run on the system clock with real timers (0: skip). */
  realCalls: number;
  seed: number;
}

/** The figures a soak run produces; `failures` lists every broken invariant. */
export interface SoakReport {
  readonly seed: number;
  readonly calls: number;
  readonly settled: number;
  readonly outcomes: Record<string, number>;
  readonly worksStarted: number;
  readonly worksSettled: number;
  readonly worksStartedAfterAbort: number;
  readonly callerAborts: number;
  readonly abortsNotReportedAtOnce: number;
  readonly unhandledRejections: number;
  readonly listenerErrors: number;
  readonly events: Record<string, number>;
  readonly heap: { readonly baselineMB: number; readonly endMB: number; readonly growthMB: number };
  readonly sharedSignalListeners: { readonly max: number; readonly end: number };
  readonly callerSignalsWithListenersAfterSettle: number;
  readonly pendingTimersWhenIdle: number;
  readonly virtualMs: number;
  readonly wallMs: number;
  /** CPU time of the virtual-clock phase (wall time also counts other processes on a busy machine). */
  readonly cpuMs: number;
  readonly callsPerSecond: number;
  readonly real: {
    readonly calls: number;
    readonly settled: number;
    readonly activeTimeoutsAfter: number;
    readonly wallMs: number;
  };
  readonly failures: readonly string[];
}

const HEAP_LIMIT_MB = 5;
/** Calls started per virtual millisecond, on average. */
const ARRIVALS_PER_MS = 8;
const HOSTS = 12;

type WorkKind = 'ok' | 'okAsync' | 'fail' | 'failAsync' | 'throwString' | 'slowHonours' | 'stuckIgnores';

interface Phase {
  readonly name: string;
  /** Cumulative weights over WORK_KINDS. */
  readonly weights: readonly number[];
}

const WORK_KINDS: readonly WorkKind[] = [
  'ok',
  'okAsync',
  'fail',
  'failAsync',
  'throwString',
  'slowHonours',
  'stuckIgnores',
];

function phase(name: string, weights: readonly number[]): Phase {
  let sum = 0;
  const total = weights.reduce((a, b) => a + b, 0);
  return { name, weights: weights.map((w) => (sum += w) / total) };
}

// The dependency's health cycles every 3 s of virtual time, so breakers open,
// probe and close many times over a run.
const PHASES: readonly { until: number; phase: Phase }[] = [
  { until: 1_200, phase: phase('healthy', [40, 50, 2, 2, 0.5, 4, 1.5]) },
  { until: 2_000, phase: phase('brownout', [15, 30, 15, 15, 2, 15, 8]) },
  { until: 2_600, phase: phase('outage', [0, 0, 45, 45, 5, 0, 5]) },
  { until: 3_000, phase: phase('recovery', [40, 50, 2, 2, 0.5, 4, 1.5]) },
];
const CYCLE = 3_000;

function phaseAt(now: number): Phase {
  const t = now % CYCLE;
  for (const p of PHASES) if (t < p.until) return p.phase;
  return PHASES[PHASES.length - 1]!.phase;
}

function pick(random: Random, p: Phase): WorkKind {
  const r = random();
  for (let i = 0; i < WORK_KINDS.length; i++) if (r < p.weights[i]!) return WORK_KINDS[i]!;
  return 'ok';
}

/** The policies under test, built on `clock` (undefined: the system clock). */
interface Rig {
  readonly a: Pipeline;
  readonly b: Pipeline;
  readonly breaker: CircuitBreakerPolicy;
  readonly bulkhead: BulkheadPolicy;
  readonly adaptive: AdaptiveConcurrencyPolicy;
  readonly limiter: RateLimitPolicy;
  readonly halfOpenCalls: number;
  readonly bulkheadLimit: number;
}

function buildRig(clock: Clock | undefined, random: Random, scale: number): Rig {
  const c = clock === undefined ? {} : { clock };
  const ms = (n: number) => Math.max(1, Math.round(n * scale));
  const budget = retryBudget({ ratio: 0.2, minPerSecond: 50, window: 1_000, ...c });
  const halfOpenCalls = 3;
  const breaker = circuitBreaker({
    failureRate: 0.5,
    minimumCalls: 20,
    window: { type: 'count', size: 50 },
    openFor: backoff.exponential({ initial: ms(50), max: ms(400), random }),
    halfOpenCalls,
    ...c,
  });
  const bulkheadLimit = 16;
  const slots = bulkhead({ limit: bulkheadLimit, queue: 16, queueTimeout: ms(10), ...c });
  // A: the recommended order, outermost first.
  const a = pipeline(
    { name: 'soak-a' },
    fallback({
      value: () => Promise.resolve(FALLBACK),
      fallbackOn: (error) => error instanceof CircuitOpenError || error instanceof ChaosError,
      ...c,
    }),
    retry({
      maxAttempts: 3,
      backoff: backoff.exponential({ initial: ms(1), max: ms(8), random }),
      budget,
      ...c,
    }),
    breaker,
    timeout({ ms: ms(20), ...c }),
    slots,
    chaos.fault({ rate: 0.02, random }),
  );
  const adaptive = adaptiveConcurrency({
    algorithm: 'aimd',
    initialLimit: 32,
    maxLimit: 128,
    queue: 32,
    queueTimeout: ms(10),
    ...c,
  });
  const limiter = rateLimit({
    type: 'tokenBucket',
    rate: 4,
    per: 1,
    burst: 10,
    mode: 'wait',
    maxWait: ms(3),
    ...c,
  });
  // B: per-host breakers that come and go, hedging, an aggressive timeout
  // (work outlives its caller and holds its slot), a self-tuning limit and a
  // rate limit that queues.
  const b = pipeline(
    { name: 'soak-b' },
    retry({ maxAttempts: 2, backoff: ms(2), budget, ...c }),
    keyed(() => circuitBreaker({ consecutiveFailures: 5, openFor: ms(100), ...c }), {
      maxKeys: 8,
      idleTtl: ms(500),
      ...c,
    }),
    hedge({ delay: 'p90', minSamples: 20, fallbackDelay: ms(10), maxHedged: 1, budget, ...c }),
    timeout({ ms: ms(25), strategy: 'aggressive', ...c }),
    adaptive,
    limiter,
  );
  return { a, b, breaker, bulkhead: slots, adaptive, limiter, halfOpenCalls, bulkheadLimit };
}

/** A call in flight. */
interface Call {
  readonly controller: AbortController | undefined;
  /** Set when the caller aborted while the call was still pending. */
  abortedReason: unknown;
  abortedTick: number;
  settled: boolean;
}

class Counter {
  readonly counts: Record<string, number> = {};
  add(key: string, n = 1): void {
    this.counts[key] = (this.counts[key] ?? 0) + n;
  }
}

function heapMB(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('soak: run node with --expose-gc (npm run soak does)');
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1_048_576;
}

/** Lets every queued promise reaction run (setImmediate runs after the microtask queue drains). */
const drain = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs one soak on a given clock. `advance(ms)` moves time; on the virtual
 * clock it fires due timers, on the system clock it waits for real.
 */
async function soakOn(
  calls: number,
  seed: number,
  clock: Clock,
  policyClock: Clock | undefined,
  advance: (ms: number) => Promise<void>,
  scale: number,
  onIdle: (label: 'baseline' | 'end') => Promise<void>,
) {
  const random = mulberry32(seed);
  const policyRandom = mulberry32(seed ^ 0x5eed);
  const rig = buildRig(policyClock, policyRandom, scale);
  const outcomes = new Counter();
  const events = new Counter();
  const failures: string[] = [];
  const fail = (message: string) => {
    if (failures.length < 20) failures.push(message);
  };
  rig.a.onEvent((e) => events.add(`a.${e.policy}.${e.event}`));
  rig.b.onEvent((e) => events.add(`b.${e.policy}.${e.event}`));

  const shared = new AbortController();
  // Every call in flight holds one listener on its caller's signal; past 10,
  // Node warns about a possible leak. Here that is by design (and checked below).
  setMaxListeners(0, shared.signal);
  let maxShared = 0;
  let settled = 0;
  let worksStarted = 0;
  let worksSettled = 0;
  let startedAfterAbort = 0;
  let callerAborts = 0;
  let notAtOnce = 0;
  let signalsLeftWithListeners = 0;
  let tick = 0;
  let started = 0;
  const warmup = Math.min(Math.floor(calls / 10), 20_000);
  let baselineTaken = false;

  const dependency = (ctx: Context, call: Call): Promise<string> | string => {
    worksStarted++;
    if (call.abortedReason !== undefined) startedAfterAbort++;
    const kind = pick(random, phaseAt(clock.now()));
    const delay = Math.floor(random() * 15 * scale);
    switch (kind) {
      case 'ok':
        worksSettled++;
        return OK;
      case 'fail':
        worksSettled++;
        throw new DependencyError();
      case 'throwString':
        worksSettled++;
        throw THROWN_STRING;
      case 'okAsync':
        return later(ctx, delay, true, random() < 0.5);
      case 'failAsync':
        return later(ctx, delay, false, random() < 0.5);
      case 'slowHonours':
        return later(ctx, 40 * scale, true, true);
      case 'stuckIgnores':
        return later(ctx, 60 * scale, true, false);
    }
  };

  /** Settles after `ms`; with `honours`, at once with the signal's reason when it aborts. */
  const later = (ctx: Context, ms: number, ok: boolean, honours: boolean): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      let signal: AbortSignal | undefined;
      let onAbort: (() => void) | undefined;
      const handle = clock.setTimeout(() => {
        if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
        worksSettled++;
        if (ok) resolve(OK);
        else reject(new DependencyError('async failure'));
      }, ms);
      if (!honours) return;
      signal = ctx.signal;
      if (signal.aborted) {
        clock.clearTimeout(handle);
        worksSettled++;
        reject(signal.reason);
        return;
      }
      onAbort = () => {
        clock.clearTimeout(handle);
        worksSettled++;
        reject(signal!.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });

  const classify = (outcome: unknown, ok: boolean, call: Call): string => {
    if (call.abortedReason !== undefined) {
      if (ok || outcome !== call.abortedReason) {
        fail(`a call aborted by its caller settled with ${String(outcome)} instead of the abort reason`);
        return 'wrongAfterAbort';
      }
      if (call.abortedTick !== tick) notAtOnce++;
      return 'callerAbort';
    }
    if (ok) return outcome === OK ? 'ok' : outcome === FALLBACK ? 'fallback' : 'unexpectedValue';
    if (outcome === THROWN_STRING) return 'thrownString';
    if (outcome instanceof DependencyError) return 'dependencyError';
    if (outcome instanceof TimeoutError) return 'timeout';
    if (outcome instanceof CircuitOpenError) return 'circuitOpen';
    if (outcome instanceof BulkheadFullError) return 'bulkheadFull';
    if (outcome instanceof RateLimitedError) return 'rateLimited';
    if (outcome instanceof ChaosError) return 'chaos';
    fail(
      `unexpected outcome: ${outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : String(outcome)}`,
    );
    return 'unexpectedError';
  };

  const start = () => {
    const r = random();
    const useB = r < 0.4;
    const signalKind = random();
    let controller: AbortController | undefined;
    let signal: AbortSignal | undefined;
    if (signalKind < 0.25) {
      signal = shared.signal;
    } else if (signalKind < 0.4) {
      controller = new AbortController();
      signal = controller.signal;
    }
    const call: Call = { controller, abortedReason: undefined, abortedTick: -1, settled: false };
    if (controller !== undefined) {
      // Aborts happen between ticks, once every promise reaction has run, so
      // `call.settled` says exactly whether the call was still pending.
      const at = tick + 1 + Math.floor(random() * 30 * scale);
      const reason = random() < 0.5 ? new Error('caller went away') : undefined;
      let due = aborts.get(at);
      if (due === undefined) aborts.set(at, (due = []));
      due.push({ call, reason });
    }
    const fn = (ctx: Context) => dependency(ctx, call);
    const options = useB
      ? { signal, key: `host-${Math.floor(random() * HOSTS)}` }
      : signal === undefined
        ? undefined
        : { signal };
    const promise = useB ? rig.b.execute(fn, options) : rig.a.execute(fn, options);
    const done = (ok: boolean, outcome: unknown) => {
      if (call.settled) {
        fail('a call settled twice');
        return;
      }
      call.settled = true;
      settled++;
      outcomes.add(classify(outcome, ok, call));
      if (controller !== undefined && getEventListeners(controller.signal, 'abort').length > 0) {
        signalsLeftWithListeners++;
      }
    };
    promise.then(
      (value) => done(true, value),
      (error: unknown) => done(false, error),
    );
    started++;
  };

  const aborts = new Map<number, { call: Call; reason: unknown }[]>();
  const abortDue = () => {
    const due = aborts.get(tick);
    if (due === undefined) return false;
    aborts.delete(tick);
    for (const { call, reason } of due) {
      const pending = !call.settled;
      if (pending) {
        callerAborts++;
        call.abortedTick = tick;
      }
      call.controller!.abort(reason);
      if (pending) call.abortedReason = call.controller!.signal.reason;
    }
    return true;
  };

  /** One millisecond: fire due timers, let everything run, then abort the callers due now. */
  const step = async () => {
    tick++;
    await advance(1);
    await drain();
    if (abortDue()) await drain();
  };

  const checkSlots = () => {
    const { running } = rig.bulkhead.stats;
    if (running > rig.bulkheadLimit) fail(`bulkhead ran ${running} calls, limit ${rig.bulkheadLimit}`);
    const probes = rig.breaker.stats.probes;
    if (probes > rig.halfOpenCalls)
      fail(`breaker admitted ${probes} probes, halfOpenCalls ${rig.halfOpenCalls}`);
    const listeners = getEventListeners(shared.signal, 'abort').length;
    if (listeners > maxShared) maxShared = listeners;
  };

  /** Stops arrivals until every call settled and every timer ran out. */
  const quiesce = async () => {
    for (let guard = 0; settled < started; guard++) {
      if (guard > 100_000) {
        fail(`${started - settled} calls never settled`);
        break;
      }
      await step();
    }
    // Longer than any timer a policy or the harness sets.
    await advance(1_000 * scale);
    await drain();
    for (const due of aborts.values()) for (const { call } of due) call.controller!.abort();
    aborts.clear();
  };

  while (started < calls) {
    if (!baselineTaken && started >= warmup) {
      await quiesce();
      await onIdle('baseline');
      baselineTaken = true;
    }
    const arrivals = Math.min(calls - started, Math.floor(random() * 2 * ARRIVALS_PER_MS * scale) + 1);
    for (let i = 0; i < arrivals; i++) start();
    await step();
    checkSlots();
  }
  await quiesce();
  if (!baselineTaken) await onIdle('baseline');
  await onIdle('end');

  const end = getEventListeners(shared.signal, 'abort').length;
  if (end !== 0) fail(`${end} abort listeners left on the long-lived caller signal`);
  if (signalsLeftWithListeners !== 0)
    fail(`${signalsLeftWithListeners} caller signals kept listeners after their call settled`);
  if (settled !== calls) fail(`${calls - settled} of ${calls} calls did not settle`);
  if (worksSettled !== worksStarted) fail(`${worksStarted - worksSettled} works never settled`);
  if (startedAfterAbort !== 0) fail(`${startedAfterAbort} works started after their caller aborted`);
  if (notAtOnce !== 0) fail(`${notAtOnce} aborted calls did not reject at once`);
  const bulkheadStats = rig.bulkhead.stats;
  if (bulkheadStats.running !== 0 || bulkheadStats.queued !== 0) {
    fail(`bulkhead not idle: ${JSON.stringify(bulkheadStats)}`);
  }
  if (rig.adaptive.inflight !== 0 || rig.adaptive.queued !== 0) {
    fail(`adaptive limit not idle: ${rig.adaptive.inflight} in flight, ${rig.adaptive.queued} queued`);
  }
  if (rig.limiter.stats.waiting !== 0) fail(`rate limiter not idle: ${rig.limiter.stats.waiting} waiting`);
  for (const kind of ['unexpectedValue', 'unexpectedError', 'wrongAfterAbort']) {
    if ((outcomes.counts[kind] ?? 0) > 0) fail(`${outcomes.counts[kind]} outcomes of kind ${kind}`);
  }
  return {
    settled,
    outcomes: outcomes.counts,
    events: events.counts,
    worksStarted,
    worksSettled,
    startedAfterAbort,
    callerAborts,
    notAtOnce,
    maxShared,
    endShared: end,
    signalsLeftWithListeners,
    failures,
  };
}

/** Runs the whole soak and returns its figures (never throws for a broken invariant: see `failures`). */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  let unhandled = 0;
  const onUnhandled = () => {
    unhandled++;
  };
  process.on('unhandledRejection', onUnhandled);
  let listenerErrors = 0;
  const previousHandler = setListenerErrorHandler(() => {
    listenerErrors++;
  });
  try {
    // Virtual time: settleRounds 0, since the harness drains the event loop after every millisecond.
    const clock = new VirtualClock({ settleRounds: 0 });
    const heap = { baseline: 0, end: 0 };
    let pendingWhenIdle = 0;
    const wallStart = performance.now();
    const cpuStart = process.cpuUsage();
    const virtual = await soakOn(
      options.calls,
      options.seed,
      clock,
      clock,
      (ms) => clock.advance(ms),
      1,
      async (label) => {
        pendingWhenIdle = Math.max(pendingWhenIdle, clock.pending);
        heap[label] = heapMB();
      },
    );
    const wallMs = performance.now() - wallStart;
    const cpu = process.cpuUsage(cpuStart);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const failures = [...virtual.failures];
    if (pendingWhenIdle !== 0) failures.push(`${pendingWhenIdle} virtual timers pending when idle`);
    const growth = heap.end - heap.baseline;
    if (growth > HEAP_LIMIT_MB)
      failures.push(`heap grew ${growth.toFixed(2)} MB (limit ${HEAP_LIMIT_MB} MB)`);

    // System clock (policies built without `clock`), real timers of a few ms.
    let real = { calls: 0, settled: 0, activeTimeoutsAfter: 0, wallMs: 0 };
    if (options.realCalls > 0) {
      const realStart = performance.now();
      const result = await soakOn(
        options.realCalls,
        options.seed + 1,
        systemClock,
        undefined,
        (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        0.1,
        async () => {},
      );
      // Every call settled: nothing may hold a timer that keeps the process alive.
      const active = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      real = {
        calls: options.realCalls,
        settled: result.settled,
        activeTimeoutsAfter: active,
        wallMs: performance.now() - realStart,
      };
      for (const f of result.failures) failures.push(`system clock: ${f}`);
      if (active !== 0)
        failures.push(`system clock: ${active} Timeout handles alive after the calls settled`);
    }
    if (unhandled !== 0) failures.push(`${unhandled} unhandled rejections`);
    if (listenerErrors !== 0) failures.push(`${listenerErrors} event listeners threw`);

    return {
      seed: options.seed,
      calls: options.calls,
      settled: virtual.settled,
      outcomes: virtual.outcomes,
      worksStarted: virtual.worksStarted,
      worksSettled: virtual.worksSettled,
      worksStartedAfterAbort: virtual.startedAfterAbort,
      callerAborts: virtual.callerAborts,
      abortsNotReportedAtOnce: virtual.notAtOnce,
      unhandledRejections: unhandled,
      listenerErrors,
      events: virtual.events,
      heap: { baselineMB: round(heap.baseline), endMB: round(heap.end), growthMB: round(growth) },
      sharedSignalListeners: { max: virtual.maxShared, end: virtual.endShared },
      callerSignalsWithListenersAfterSettle: virtual.signalsLeftWithListeners,
      pendingTimersWhenIdle: pendingWhenIdle,
      virtualMs: clock.now(),
      wallMs: Math.round(wallMs),
      cpuMs: Math.round(cpuMs),
      callsPerSecond: Math.round((options.calls / wallMs) * 1000),
      real: { ...real, wallMs: Math.round(real.wallMs) },
      failures,
    };
  } finally {
    process.off('unhandledRejection', onUnhandled);
    setListenerErrorHandler(previousHandler);
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function argument(name: string, fallbackValue: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallbackValue;
  const value = Number(process.argv[index + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`soak: --${name} needs an integer ≥ 0`);
  return value;
}

function print(report: SoakReport): void {
  const line = (label: string, value: unknown) => console.log(`${label.padEnd(42)} ${String(value)}`);
  console.log(`bulwark soak — seed ${report.seed}\n`);
  line('calls (virtual clock)', report.calls.toLocaleString('en'));
  line('settled exactly once', report.settled.toLocaleString('en'));
  line(
    'wall time',
    `${(report.wallMs / 1000).toFixed(1)} s (${report.callsPerSecond.toLocaleString('en')} calls/s)`,
  );
  line(
    'CPU time',
    `${(report.cpuMs / 1000).toFixed(1)} s (${Math.round(report.calls / report.cpuMs).toLocaleString('en')} calls per CPU ms)`,
  );
  line('virtual time', `${(report.virtualMs / 1000).toFixed(1)} s`);
  line('heap after gc: baseline → end', `${report.heap.baselineMB} MB → ${report.heap.endMB} MB`);
  line('heap growth (limit 5 MB)', `${report.heap.growthMB} MB`);
  line('unhandled rejections', report.unhandledRejections);
  line(
    'listeners on long-lived signal (max/end)',
    `${report.sharedSignalListeners.max} / ${report.sharedSignalListeners.end}`,
  );
  line('caller signals with listeners after settle', report.callerSignalsWithListenersAfterSettle);
  line('virtual timers pending when idle', report.pendingTimersWhenIdle);
  line('caller aborts (while pending)', report.callerAborts);
  line('aborts not reported at once', report.abortsNotReportedAtOnce);
  line('works started / settled', `${report.worksStarted} / ${report.worksSettled}`);
  line('works started after caller abort', report.worksStartedAfterAbort);
  line(
    'system clock: calls settled, live Timeouts',
    `${report.real.settled}/${report.real.calls}, ${report.real.activeTimeoutsAfter} (${(report.real.wallMs / 1000).toFixed(1)} s)`,
  );
  console.log('\noutcomes');
  for (const [kind, n] of Object.entries(report.outcomes).sort((x, y) => y[1] - x[1])) line(`  ${kind}`, n);
  console.log('\nevents');
  for (const [kind, n] of Object.entries(report.events).sort((x, y) => y[1] - x[1])) line(`  ${kind}`, n);
  console.log(
    report.failures.length === 0 ? '\nall invariants held' : `\nFAILED:\n  ${report.failures.join('\n  ')}`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const report = await runSoak({
    calls: argument('calls', 1_000_000),
    realCalls: argument('real', 5_000),
    seed: argument('seed', 1),
  });
  if (process.argv.includes('--json')) console.log(JSON.stringify(report));
  else print(report);
  process.exitCode = report.failures.length === 0 ? 0 : 1;
}
