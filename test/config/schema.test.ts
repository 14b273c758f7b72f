import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ORDER, validateConfig } from '../../src/config/index.js';
import { RATE_LIMIT_OPTIONS } from '../../src/rate-limit/rate-limit.js';
import { KEYABLE, PIPELINE_KEYS } from '../../src/config/order.js';
import {
  BACKOFF_TYPES,
  BUDGET_SPEC,
  CHAOS_SPECS,
  KEYED_SPEC,
  LAYER_SPECS,
  type Spec,
} from '../../src/config/sections.js';
import { BULKHEAD_OPTIONS } from '../../src/bulkhead/bulkhead.js';
import {
  ADAPTIVE_CONCURRENCY_OPTIONS,
  BACKOFF_OPTIONS,
  CHAOS_OPTIONS,
  CIRCUIT_BREAKER_OPTIONS,
  FALLBACK_OPTIONS,
  HEDGE_OPTIONS,
  KEYED_OPTIONS,
  RETRY_BUDGET_OPTIONS,
  RETRY_OPTIONS,
  THROTTLE_OPTIONS,
  TIMEOUT_OPTIONS,
} from '../../src/index.js';

type Json = Record<string, any>;
const schema: Json = JSON.parse(
  readFileSync(new URL('../../schema/bulwark-config.schema.json', import.meta.url), 'utf8'),
);
const defs: Json = schema.definitions;
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

/** The object variant of a definition that is a plain object or a oneOf of a shorthand and an object. */
function objectOf(def: Json): Json {
  if (def.type === 'object') return def;
  const objects = (def.oneOf as Json[]).filter((d) => d.type === 'object');
  expect(objects).toHaveLength(1);
  return objects[0]!;
}

const keys = (def: Json) => Object.keys(def.properties).sort();
/** The options data may hold: the policy's own list, minus what only code can give, plus data-only ones. */
const dataOptions = (spec: Spec) =>
  [...spec.options.filter((o) => !spec.codeOnly.includes(o)), ...spec.dataOnly].sort();

function durationsIn(def: Json, prefix = ''): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(def.properties as Json)) {
    // A backoff option takes a duration too (a constant delay).
    const refs = [value.$ref, ...(value.anyOf ?? []).map((v: Json) => v.$ref)];
    if (refs.includes('#/definitions/duration') || refs.includes('#/definitions/backoff'))
      out.push(prefix + key);
    if (value.type === 'object' && value.properties !== undefined)
      out.push(...durationsIn(value, `${prefix}${key}.`));
    for (const variant of value.oneOf ?? []) {
      if (variant.type === 'object') out.push(...durationsIn(variant, `${prefix}${key}.`));
    }
  }
  return [...new Set(out)].sort();
}

describe('the JSON Schema agrees with the policies’ option lists', () => {
  it('the config reads each policy’s own exported option list (no copy of it)', () => {
    expect(LAYER_SPECS.retry.options).toBe(RETRY_OPTIONS);
    expect(LAYER_SPECS.timeout.options).toBe(TIMEOUT_OPTIONS);
    expect(LAYER_SPECS.totalTimeout.options).toBe(TIMEOUT_OPTIONS);
    expect(LAYER_SPECS.fallback.options).toBe(FALLBACK_OPTIONS);
    expect(LAYER_SPECS.circuitBreaker.options).toBe(CIRCUIT_BREAKER_OPTIONS);
    expect(LAYER_SPECS.bulkhead.options).toBe(BULKHEAD_OPTIONS);
    expect(LAYER_SPECS.hedge.options).toBe(HEDGE_OPTIONS);
    expect(LAYER_SPECS.throttle.options).toBe(THROTTLE_OPTIONS);
    expect(LAYER_SPECS.adaptiveConcurrency.options).toBe(ADAPTIVE_CONCURRENCY_OPTIONS);
    expect(BUDGET_SPEC.options).toBe(RETRY_BUDGET_OPTIONS);
    expect(KEYED_SPEC.options).toBe(KEYED_OPTIONS);
    expect(CHAOS_SPECS.fault.options).toBe(CHAOS_OPTIONS.fault);
    expect(CHAOS_SPECS.latency.options).toBe(CHAOS_OPTIONS.latency);
    expect(CHAOS_SPECS.result.options).toBe(CHAOS_OPTIONS.result);
    expect([...LAYER_SPECS.rateLimit.options].sort()).toEqual(
      [...new Set([...RATE_LIMIT_OPTIONS.tokenBucket, ...RATE_LIMIT_OPTIONS.slidingWindow])].sort(),
    );
    expect(BACKOFF_TYPES).toEqual(Object.keys(BACKOFF_OPTIONS));
  });

  it.each(Object.keys(LAYER_SPECS).filter((k) => k !== 'rateLimit' && k !== 'totalTimeout'))(
    'every %s option data can hold is in the schema, and the schema has no other',
    (key) => {
      const spec = LAYER_SPECS[key as keyof typeof LAYER_SPECS];
      expect(keys(objectOf(defs[key]))).toEqual(dataOptions(spec));
    },
  );

  it('rateLimit: each variant holds exactly its type’s options', () => {
    for (const variant of defs.rateLimit.oneOf as Json[]) {
      const type = variant.properties.type.const as keyof typeof RATE_LIMIT_OPTIONS;
      const codeOnly = LAYER_SPECS.rateLimit.codeOnly;
      expect(keys(variant)).toEqual(
        [...RATE_LIMIT_OPTIONS[type]].filter((o) => !codeOnly.includes(o)).sort(),
      );
    }
    expect((defs.rateLimit.oneOf as Json[]).map((v) => v.properties.type.const).sort()).toEqual(
      Object.keys(RATE_LIMIT_OPTIONS).sort(),
    );
  });

  it('chaos, retryBudget and keyed agree too', () => {
    expect(keys(defs.chaos)).toEqual(Object.keys(CHAOS_SPECS).sort());
    for (const [kind, spec] of Object.entries(CHAOS_SPECS)) {
      expect(keys(defs.chaos.properties[kind])).toEqual(dataOptions(spec));
    }
    expect(keys(objectOf(defs.retryBudget))).toEqual(dataOptions(BUDGET_SPEC));
    expect(keys(defs.keyed)).toEqual(dataOptions(KEYED_SPEC));
    expect(defs.keyed.properties.policies.items.enum).toEqual(KEYABLE);
  });

  it('backoffs: each variant holds its factory’s options (random only from code), type, and ms for constant', () => {
    const variants = (defs.backoff.oneOf as Json[]).filter((d) => d.type === 'object');
    expect(variants.map((v) => v.properties.type.const)).toEqual(BACKOFF_TYPES);
    for (const variant of variants) {
      const type = variant.properties.type.const as keyof typeof BACKOFF_OPTIONS;
      const own = (BACKOFF_OPTIONS[type] as readonly string[]).filter((o) => o !== 'random');
      expect(keys(variant)).toEqual(['type', ...own, ...(type === 'constant' ? ['ms'] : [])].sort());
    }
  });

  it('a pipeline holds exactly the pipeline keys; order lists the layers in the default order', () => {
    expect(keys(defs.pipeline)).toEqual([...PIPELINE_KEYS].sort());
    expect(defs.pipeline.properties.order.items.enum).toEqual(DEFAULT_ORDER);
  });

  it('the options the config converts as durations are the ones the schema types as durations', () => {
    const specs: [string, Spec, Json][] = [
      ...Object.entries(LAYER_SPECS)
        .filter(([k]) => k !== 'rateLimit')
        .map(
          ([k, spec]) =>
            [k, spec, objectOf(defs[k === 'totalTimeout' ? 'timeout' : k])] as [string, Spec, Json],
        ),
      ...(defs.rateLimit.oneOf as Json[]).map(
        (v) => ['rateLimit', LAYER_SPECS.rateLimit, v] as [string, Spec, Json],
      ),
      ...Object.entries(CHAOS_SPECS).map(
        ([k, spec]) => [k, spec, defs.chaos.properties[k]] as [string, Spec, Json],
      ),
      ['retryBudget', BUDGET_SPEC, objectOf(defs.retryBudget)],
      ['keyed', KEYED_SPEC, defs.keyed],
    ];
    for (const [, spec, def] of specs) {
      const inSchema = durationsIn(def).filter((d) => !spec.backoffs.some((b) => d.startsWith(`${b}.`)));
      const converted = [...spec.durations, ...spec.backoffs].filter((d) =>
        keys(def).includes(d.split('.')[0]!),
      );
      expect(inSchema).toEqual(converted.sort());
    }
  });
});

describe('sample configurations against the schema', () => {
  const valid = [
    {
      $schema: './node_modules/bulwark/schema/bulwark-config.schema.json',
      payments: {
        fallback: { value: { status: 'queued' } },
        rateLimit: { type: 'tokenBucket', rate: 100, per: '1s', burst: 200 },
        totalTimeout: '30s',
        retry: {
          maxAttempts: 3,
          backoff: { type: 'exponential', initial: '2s', max: '10s', jitter: 'full' },
        },
        circuitBreaker: {
          failureRate: 0.1,
          window: { type: 'time', duration: '30s' },
          minimumCalls: 100,
          openFor: '5s',
        },
        timeout: { ms: '10s', strategy: 'cooperative' },
        bulkhead: { limit: 10, queue: 'Infinity', queueTimeout: '1s' },
      },
      search: {
        order: ['timeout', 'hedge'],
        hedge: { delay: 'p95', maxHedged: 2, fallbackDelay: '50ms' },
        timeout: 1500,
        retryBudget: { ratio: 0.2, minPerSecond: 10, window: '10s' },
      },
      tenants: {
        keyed: { policies: ['rateLimit'], maxKeys: 10_000, idleTtl: '10m' },
        rateLimit: { type: 'slidingWindow', limit: 50, window: '1m', mode: 'wait', maxWait: '2s' },
        adaptiveConcurrency: { algorithm: 'aimd', latencyThreshold: '200ms', queue: 5 },
        throttle: { k: 2, window: '2m' },
        chaos: { latency: { rate: 0.01, ms: '1s' }, fault: { rate: 0.001, enabled: false } },
        retryBudget: 'search',
      },
    },
  ];

  it.each(valid)('a valid configuration passes both the schema and the registry', (config) => {
    expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
    expect(validateConfig(config)).toEqual([]);
  });

  it.each([
    [{ p: { retyr: {} } }, 'an unknown policy'],
    [{ p: { retry: { maxAtempts: 3 } } }, 'an unknown option'],
    [{ p: { timeout: '2 seconds' } }, 'a malformed duration'],
    [{ p: { retry: { backoff: { type: 'fibonacci' } } } }, 'an unknown backoff'],
    [{ p: { bulkhead: { limit: 0 } } }, 'a number out of range'],
    [{ p: { rateLimit: { type: 'tokenBucket', rate: 1, limit: 5 } } }, 'an option of the other rate limiter'],
    [{ $other: {} }, 'a reserved name'],
  ] as [unknown, string][])('%j is rejected by the schema (%s) and the registry alike', (config) => {
    expect(validate(config)).toBe(false);
    expect(validateConfig(config).length).toBeGreaterThan(0);
  });
});

describe('the schema never rejects a configuration the registry accepts (property)', () => {
  const scalars: unknown[] = [
    -1,
    0,
    0.5,
    1,
    2,
    3,
    10,
    100,
    1_000_000,
    '1s',
    '250ms',
    '1.5s',
    '1m',
    'Infinity',
    'p95',
    'p99.9',
    'x',
    'count',
    'time',
    'tokenBucket',
    'slidingWindow',
    'exponential',
    'constant',
    'cooperative',
    'aggressive',
    'wait',
    'reject',
    'gradient',
    'aimd',
    'full',
    'equal',
    'none',
    true,
    false,
    null,
  ];
  const value = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...scalars) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>(
        { type: 'count', size: 10 },
        { type: 'time', duration: '10s' },
        { type: 'exponential', initial: '10ms' },
        { type: 'constant', ms: 5 },
        { ttl: '1s' },
        ['bulkhead'],
        ['rateLimit', 'circuitBreaker'],
      ),
    },
  );
  // Random options laid over a valid minimal section, so that many samples are accepted.
  const bases: Record<string, Json[]> = {
    rateLimit: [
      { type: 'tokenBucket', rate: 10 },
      { type: 'slidingWindow', limit: 10, window: '1s' },
    ],
    hedge: [{ delay: 10 }, { delay: 'p90' }],
    bulkhead: [{ limit: 2 }],
    timeout: [{ ms: '1s' }],
    totalTimeout: [{ ms: '1s' }],
    fallback: [{ value: 1 }],
    keyed: [{ policies: ['bulkhead'] }],
    fault: [{ rate: 0.5 }],
    latency: [{ rate: 0.5, ms: 1 }],
    result: [{ rate: 0.5, value: 1 }],
  };
  const sectionOf = (key: string, spec: Spec) =>
    fc.oneof(
      fc
        .tuple(
          fc.constantFrom<Json>({}, ...(bases[key] ?? [])),
          fc.dictionary(fc.constantFrom(...dataOptions(spec), 'type'), value, { maxKeys: 3 }),
        )
        .map(([base, extra]) => ({ ...base, ...extra })),
      fc.constantFrom(...scalars),
    );

  const cases: [string, (data: unknown) => unknown, fc.Arbitrary<unknown>][] = [
    ...Object.entries(LAYER_SPECS).map(
      ([key, spec]) =>
        [key, (data: unknown) => ({ p: { [key]: data } }), sectionOf(key, spec)] as [
          string,
          (data: unknown) => unknown,
          fc.Arbitrary<unknown>,
        ],
    ),
    ...Object.entries(CHAOS_SPECS).map(
      ([kind, spec]) =>
        [`chaos.${kind}`, (data: unknown) => ({ p: { chaos: { [kind]: data } } }), sectionOf(kind, spec)] as [
          string,
          (data: unknown) => unknown,
          fc.Arbitrary<unknown>,
        ],
    ),
    [
      'retryBudget',
      (data: unknown) => ({ p: { retryBudget: data, retry: {} } }),
      sectionOf('retryBudget', BUDGET_SPEC),
    ],
    [
      'keyed',
      (data: unknown) => ({
        p: { keyed: data, bulkhead: 1, rateLimit: { type: 'tokenBucket', rate: 1 }, circuitBreaker: {} },
      }),
      sectionOf('keyed', KEYED_SPEC),
    ],
  ];
  it.each(cases)('%s sections', (_key, wrap, section) => {
    let accepted = 0;
    fc.assert(
      fc.property(section, (data) => {
        const config = wrap(data);
        if (validateConfig(config).length === 0) {
          accepted++;
          expect(validate(config), `${JSON.stringify(config)}: ${JSON.stringify(validate.errors)}`).toBe(
            true,
          );
        }
      }),
      { numRuns: 500 },
    );
    // The property must not hold only because nothing was accepted.
    expect(accepted).toBeGreaterThan(20);
  });
});
