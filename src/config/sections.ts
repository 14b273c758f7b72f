import { ADAPTIVE_CONCURRENCY_OPTIONS, AdaptiveConcurrencyPolicy } from '../adaptive/adaptive-concurrency.js';
import { BACKOFF_OPTIONS, type Backoff, backoff } from '../backoff/backoff.js';
import { CircuitBreakerPolicy } from '../breaker/breaker.js';
import { CIRCUIT_BREAKER_OPTIONS } from '../breaker/options.js';
import { RETRY_BUDGET_OPTIONS, RetryBudget } from '../budget/budget.js';
import { BULKHEAD_OPTIONS, BulkheadPolicy } from '../bulkhead/bulkhead.js';
import { CHAOS_OPTIONS, ChaosFaultPolicy, ChaosLatencyPolicy, ChaosResultPolicy } from '../chaos/chaos.js';
import { FALLBACK_OPTIONS, FallbackPolicy } from '../fallback/fallback.js';
import { HEDGE_OPTIONS, HedgePolicy } from '../hedge/hedge.js';
import { KEYED_OPTIONS, KeyedPolicy } from '../keyed/keyed.js';
import { RATE_LIMIT_OPTIONS, RateLimitPolicy } from '../rate-limit/rate-limit.js';
import { RETRY_OPTIONS, RetryPolicy } from '../retry/retry.js';
import { THROTTLE_OPTIONS, ThrottlePolicy } from '../throttle/throttle.js';
import { TIMEOUT_OPTIONS, TimeoutPolicy } from '../timeout/timeout.js';

/**
 * How the configuration maps onto each policy: which constructor validates a
 * section, under which error prefix, and which of its options are durations.
 * The options themselves come from each policy's own `*_OPTIONS` list, and
 * every value is checked by the policy's own constructor: this table adds no
 * rule of its own.
 */

type Options = Record<string, unknown>;

/** One policy kind as the configuration sees it. @internal */
export interface Spec {
  /** The prefix of the policy's error messages, e.g. `retry`, `chaos.fault`. */
  readonly prefix: string;
  /** The option names the policy accepts: its exported `*_OPTIONS` list. */
  readonly options: readonly string[];
  /** Options holding a duration (dotted paths for nested ones). */
  readonly durations: readonly string[];
  /** Options that may hold a backoff, given in data as `{ type, ... }`. */
  readonly backoffs: readonly string[];
  /** Count options that accept the string `"Infinity"`. */
  readonly infinities: readonly string[];
  /** A section given as a bare number or duration sets this option. */
  readonly shorthand: string | undefined;
  /** Options only code can give (functions, clocks, objects): absent from the JSON Schema. */
  readonly codeOnly: readonly string[];
  /** Options only data gives that the policy's list does not hold. */
  readonly dataOnly: readonly string[];
  /** Builds the policy; throws the policy's own validation error. */
  readonly build: (options: Options) => object;
}

/**
 * Options no JSON value can express: predicates, clocks, random sources,
 * error objects, budgets (shared through `retryBudget` instead). They may be
 * given in code (`registry(config, { code })`).
 */
export const CODE_ONLY_OPTIONS = [
  'retryOn',
  'retryOnResult',
  'delay',
  'budget',
  'clock',
  'random',
  'fallbackOn',
  'failOn',
  'failOnResult',
  'hedgeOn',
  'error',
  'isDrop',
  'isAccepted',
] as const;

function spec(
  prefix: string,
  options: readonly string[],
  build: (options: Options) => object,
  extra: Partial<Pick<Spec, 'durations' | 'backoffs' | 'infinities' | 'shorthand' | 'dataOnly'>> = {},
): Spec {
  return {
    prefix,
    options,
    build,
    durations: extra.durations ?? [],
    backoffs: extra.backoffs ?? [],
    infinities: extra.infinities ?? [],
    shorthand: extra.shorthand,
    dataOnly: extra.dataOnly ?? [],
    // hedge's `delay` is a duration, retry's is a function: the list decides per policy.
    codeOnly: CODE_ONLY_OPTIONS.filter(
      (option) => options.includes(option) && !(extra.durations ?? []).includes(option),
    ),
  };
}

const timeoutSpec = (prefix: string) =>
  spec(prefix, TIMEOUT_OPTIONS, (o) => new TimeoutPolicy(o as never), { durations: ['ms'], shorthand: 'ms' });

// The spreads and property reads below run inside functions called with a pure annotation: at the
// top level a bundler would have to keep them (and all they reference) in every bundle of the entry.

/** The options of either rate limit type, once each. */
function rateLimitOptions(): string[] {
  return [...new Set([...RATE_LIMIT_OPTIONS.tokenBucket, ...RATE_LIMIT_OPTIONS.slidingWindow])];
}

/** A chaos strategy's spec, from its own option list. */
function chaosSpec(
  kind: keyof typeof CHAOS_OPTIONS,
  build: Spec['build'],
  extra?: Parameters<typeof spec>[3],
): Spec {
  return spec(`chaos.${kind}`, CHAOS_OPTIONS[kind], build, extra);
}

/** The pipeline keys that become layers, and the policy each builds. @internal */
export const LAYER_SPECS = {
  fallback: /* @__PURE__ */ spec('fallback', FALLBACK_OPTIONS, (o) => new FallbackPolicy(o as never), {
    durations: ['lastKnownGood.ttl'],
  }),
  rateLimit: /* @__PURE__ */ spec(
    'rateLimit',
    /* @__PURE__ */ rateLimitOptions(),
    (o) => new RateLimitPolicy(o as never),
    {
      durations: ['per', 'window', 'maxWait'],
    },
  ),
  totalTimeout: /* @__PURE__ */ timeoutSpec('timeout'),
  retry: /* @__PURE__ */ spec('retry', RETRY_OPTIONS, (o) => new RetryPolicy(o as never), {
    durations: ['maxDuration', 'maxRetryAfter'],
    backoffs: ['backoff'],
  }),
  hedge: /* @__PURE__ */ spec('hedge', HEDGE_OPTIONS, (o) => new HedgePolicy(o as never), {
    durations: ['delay', 'fallbackDelay', 'minDelay'],
  }),
  circuitBreaker: /* @__PURE__ */ spec(
    'circuitBreaker',
    CIRCUIT_BREAKER_OPTIONS,
    (o) => new CircuitBreakerPolicy(o as never),
    {
      durations: ['slowCallDuration', 'window.duration'],
      backoffs: ['openFor'],
    },
  ),
  throttle: /* @__PURE__ */ spec('throttle', THROTTLE_OPTIONS, (o) => new ThrottlePolicy(o as never), {
    durations: ['window'],
  }),
  timeout: /* @__PURE__ */ timeoutSpec('timeout'),
  bulkhead: /* @__PURE__ */ spec('bulkhead', BULKHEAD_OPTIONS, (o) => new BulkheadPolicy(o as never), {
    durations: ['queueTimeout'],
    infinities: ['queue'],
    shorthand: 'limit',
  }),
  adaptiveConcurrency: /* @__PURE__ */ spec(
    'adaptiveConcurrency',
    ADAPTIVE_CONCURRENCY_OPTIONS,
    (o) => new AdaptiveConcurrencyPolicy(o as never),
    { durations: ['queueTimeout', 'latencyThreshold'], infinities: ['queue'] },
  ),
} as const satisfies Record<string, Spec>;

/** The three chaos strategies, in the order they are layered (latency first, so a delayed call may still fail). @internal */
export const CHAOS_SPECS = {
  latency: /* @__PURE__ */ chaosSpec('latency', (o) => new ChaosLatencyPolicy(o as never), {
    durations: ['ms'],
  }),
  fault: /* @__PURE__ */ chaosSpec('fault', (o) => new ChaosFaultPolicy(o as never)),
  result: /* @__PURE__ */ chaosSpec('result', (o) => new ChaosResultPolicy(o as never)),
} as const satisfies Record<string, Spec>;

/** A pipeline's retry budget, shared by its `retry` and `hedge`. @internal */
export const BUDGET_SPEC: Spec = /* @__PURE__ */ spec(
  'retryBudget',
  RETRY_BUDGET_OPTIONS,
  (o) => new RetryBudget(o as never),
  {
    durations: ['window'],
  },
);

/**
 * `keyed` in data: the listed policies are built once per key. Only its
 * options are checked here; `policies` is read by the pipeline builder.
 * @internal
 */
export const KEYED_SPEC: Spec = /* @__PURE__ */ spec(
  'keyed',
  KEYED_OPTIONS,
  // Validation only: the real keyed wrappers are made per listed policy.
  (o) => {
    const { policies: _, ...rest } = o;
    return new KeyedCheck(rest);
  },
  { durations: ['idleTtl'], dataOnly: ['policies'] },
);

/** Runs `keyed`'s own option checks without a real factory. */
class KeyedCheck {
  constructor(options: Options) {
    new KeyedPolicy(() => {
      throw new Error('never called');
    }, options as never);
  }
}

/** Every kind of backoff, from `backoff`'s own option lists. @internal */
export const BACKOFF_TYPES = /* @__PURE__ */ Object.keys(BACKOFF_OPTIONS) as (keyof typeof BACKOFF_OPTIONS)[];

/** Options a backoff takes in data: its own list, `type`, and `ms` for a constant one. @internal */
export function backoffDataOptions(type: keyof typeof BACKOFF_OPTIONS): readonly string[] {
  const own = BACKOFF_OPTIONS[type] as readonly string[];
  return type === 'constant' ? ['type', 'ms', ...own] : ['type', ...own];
}

/** Backoff options holding a duration. @internal */
export const BACKOFF_DURATIONS = ['ms', 'initial', 'step', 'max'] as const;

/** Builds a backoff from data (durations already converted); throws `backoff`'s own errors. @internal */
export function buildBackoff(type: keyof typeof BACKOFF_OPTIONS, options: Options): Backoff {
  const { type: _, ms, ...rest } = options;
  if (type === 'constant') return backoff.constant(ms as number, rest);
  // `ms` belongs to constant only: let the factory reject it by name.
  const all = ms === undefined ? rest : { ...rest, ms };
  return backoff[type](all as never);
}
