import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigIssue, registry } from '../../src/config/index.js';
import {
  adaptiveConcurrency,
  backoff,
  bulkhead,
  chaos,
  circuitBreaker,
  fallback,
  hedge,
  keyed,
  rateLimit,
  retry,
  retryBudget,
  throttle,
  timeout,
} from '../../src/index.js';
import { closedSnapshot } from '../helpers/snapshots.js';

function issuesOf(config: unknown): ConfigIssue[] {
  try {
    registry(config as never);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error('expected the configuration to be rejected');
}

function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a throw');
}

describe('validation errors', () => {
  it('every error names the path, the expected value and the received one', () => {
    expect(issuesOf({ payments: { retry: { maxAttempts: -2 } } })).toEqual([
      {
        path: 'payments.retry.maxAttempts',
        message: 'must be an integer ≥ 1, got -2',
        expected: 'an integer ≥ 1',
        received: '-2',
      },
    ]);
  });

  it('received shows the value as written in the configuration ("0s", not 0)', () => {
    expect(issuesOf({ p: { timeout: '0s' } })).toEqual([
      {
        path: 'p.timeout',
        message: 'must be a number > 0, got 0',
        expected: 'a number > 0',
        received: '"0s"',
      },
    ]);
    expect(issuesOf({ p: { timeout: { ms: '0ms' } } })[0]).toMatchObject({
      path: 'p.timeout.ms',
      received: '"0ms"',
    });
  });

  it('all errors at once: across pipelines, policies, and options of one policy', () => {
    const issues = issuesOf({
      a: { retry: { maxAttempts: 0, maxDuration: -1 }, bulkhead: { limit: 0 } },
      b: { timeout: 'soon', circuitBreaker: { failureRate: 2, halfOpenCalls: 0 } },
    });
    expect(issues.map((i) => i.path)).toEqual([
      'a.retry.maxAttempts',
      'a.retry.maxDuration',
      'a.bulkhead.limit',
      'b.circuitBreaker.failureRate',
      'b.circuitBreaker.halfOpenCalls',
      'b.timeout',
    ]);
    const error = (() => {
      try {
        registry({ a: { retry: { maxAttempts: 0 } }, b: { timeout: 'soon' } } as never);
      } catch (e) {
        return e as ConfigError;
      }
    })()!;
    expect(error.name).toBe('ConfigError');
    expect(error.code).toBe('ERR_CONFIG');
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe(
      'bulwark/config: 2 problems in the configuration:\n' +
        '  - a.retry.maxAttempts: must be an integer ≥ 1, got 0\n' +
        '  - b.timeout: must be a duration: ms as a number, or a string like "250ms", "2s", "1.5s", "1m", got "soon"',
    );
  });

  it('unknown keys are errors: pipeline keys, policy options, nested options, chaos strategies', () => {
    const issues = issuesOf({
      p: {
        retyr: {},
        retry: { maxAtempts: 3 },
        circuitBreaker: { window: { type: 'count', sise: 10 } },
        chaos: { faults: { rate: 1 } },
        fallback: { value: 1, lastKnownGood: { ttl: '1s', tll: 1 } },
      },
    });
    expect(issues.map((i) => [i.path, i.message.split(' (')[0]])).toEqual([
      ['p.retyr', 'unknown policy'],
      ['p.fallback.lastKnownGood.tll', 'unknown option'],
      ['p.retry.maxAtempts', 'unknown option'],
      ['p.circuitBreaker.window.sise', 'unknown option'],
      ['p.chaos.faults', 'unknown chaos strategy'],
    ]);
    expect(issues[2]!.expected).toBe(
      'one of: maxAttempts, backoff, retryOn, retryOnResult, maxDuration, delay, maxRetryAfter, budget, clock, name',
    );
  });

  it('garbage durations are rejected with a path-named error, nested ones included', () => {
    const issues = issuesOf({
      p: {
        retry: { backoff: { type: 'linear', initial: '1 s' }, maxDuration: true },
        circuitBreaker: { window: { type: 'time', duration: 'half a minute' }, openFor: '30 secs' },
        fallback: { lastKnownGood: { ttl: '5 min' } },
      },
    });
    expect(issues.map((i) => [i.path, i.received])).toEqual([
      ['p.fallback.lastKnownGood.ttl', '"5 min"'],
      ['p.retry.maxDuration', 'true'],
      ['p.retry.backoff.initial', '"1 s"'],
      ['p.circuitBreaker.window.duration', '"half a minute"'],
      ['p.circuitBreaker.openFor', '"30 secs"'],
    ]);
  });

  it('an error that only follows from another is reported once', () => {
    // A bad slowCallDuration makes "slowCallRate needs slowCallDuration" true too; a bad
    // required limit makes "limit must be an integer, got undefined" true too.
    expect(
      issuesOf({ p: { circuitBreaker: { slowCallDuration: 'x', slowCallRate: 0.5 } } }).map((i) => i.path),
    ).toEqual(['p.circuitBreaker.slowCallDuration']);
    expect(issuesOf({ p: { bulkhead: { limit: 'ten' } } }).map((i) => i.path)).toEqual(['p.bulkhead.limit']);
    expect(issuesOf({ p: { timeout: 'never' } }).map((i) => i.path)).toEqual(['p.timeout']);
  });

  it('an error is not taken for an echo because a dropped option is in its path or in the value it got', () => {
    // `window` is dropped for its bad size; the snapshot's own `window.type` is another problem.
    const snapshot = { ...closedSnapshot, window: { type: 'bogus' } };
    expect(
      issuesOf({
        p: { circuitBreaker: { window: { type: 'count', size: 0 }, initialState: snapshot } },
      }).map((i) => [i.path, i.message]),
    ).toEqual([
      ['p.circuitBreaker.window.size', 'must be an integer ≥ 1 and ≤ 1000000, got 0'],
      ['p.circuitBreaker.initialState.window.type', 'must be one of "count", "time", got "bogus"'],
    ]);
    expect(
      issuesOf({ p: { retry: { maxDuration: 'x', maxAttempts: 'maxDuration' } } }).map((i) => [
        i.path,
        i.received,
      ]),
    ).toEqual([
      ['p.retry.maxDuration', '"x"'],
      ['p.retry.maxAttempts', '"maxDuration"'],
    ]);
  });

  it('an unknown key holding a "." or "[" is reported as written, and the problems after it too', () => {
    for (const key of ['a.b', 'a[0]']) {
      expect(
        issuesOf({ p: { retry: { [key]: 1, maxAttempts: 0 } } }).map((i) => [i.path, i.received]),
      ).toEqual([
        [`p.retry.${key}`, '1'],
        ['p.retry.maxAttempts', '0'],
      ]);
    }
  });

  it('an error that names no option is reported at the section', () => {
    expect(issuesOf({ p: { fallback: {} } })).toEqual([
      { path: 'p.fallback', message: 'needs value or lastKnownGood, got neither' },
    ]);
  });

  it('a cross-option rule of a policy is reported at the option it names', () => {
    expect(issuesOf({ p: { rateLimit: { type: 'tokenBucket', rate: 1, maxWait: '1s' } } })).toEqual([
      {
        path: 'p.rateLimit.maxWait',
        message: `applies only to mode 'wait', got mode "reject"`,
        received: '"1s"',
      },
    ]);
  });

  it('sections of the wrong type', () => {
    expect(issuesOf({ p: { bulkhead: true, timeout: null } }).map((i) => [i.path, i.message])).toEqual([
      [
        'p.timeout',
        'must be a duration: ms as a number, or a string like "250ms", "2s", "1.5s", "1m", or an object, got null',
      ],
      ['p.bulkhead', 'must be a number, or an object, got true'],
    ]);
    expect(issuesOf({ p: { retry: 5, bulkhead: 'many', chaos: [] } })).toEqual([
      { path: 'p.retry', message: 'must be an object, got 5', expected: 'an object', received: '5' },
      // A bare value stands for the bulkhead's limit, which the bulkhead itself checks.
      {
        path: 'p.bulkhead',
        message: 'must be an integer ≥ 1, got "many"',
        expected: 'an integer ≥ 1',
        received: '"many"',
      },
      {
        path: 'p.chaos',
        message: 'must be an object of latency, fault, result, got an array',
        expected: 'an object of latency, fault, result',
        received: 'an array',
      },
    ]);
  });

  it('backoffs as data: an unknown type, or a bad option of the backoff’s own', () => {
    expect(
      issuesOf({
        a: { retry: { backoff: { type: 'fibonacci' } } },
        b: { retry: { backoff: { type: 'exponential', factor: 0.5 } } },
        c: { retry: { backoff: { type: 'constant' } } },
        d: { retry: { backoff: 'later' } },
        e: { circuitBreaker: { openFor: { type: 'exponential', initial: '1s', max: '10ms' } } },
      }).map((i) => [i.path, i.message]),
    ).toEqual([
      [
        'a.retry.backoff.type',
        'must be one of "constant", "linear", "exponential", "decorrelatedJitter", got "fibonacci"',
      ],
      ['b.retry.backoff.factor', 'must be a number ≥ 1, got 0.5'],
      ['c.retry.backoff.ms', 'must be a number ≥ 0, got undefined'],
      [
        'd.retry.backoff',
        'must be a duration: ms as a number, or a string like "250ms", "2s", "1.5s", "1m", or a backoff { type, ... }, got "later"',
      ],
      ['e.circuitBreaker.openFor.max', 'must be a number ≥ 1000, got 10'],
    ]);
  });

  it('configuration must be data: a function or a class instance is named by its path', () => {
    expect(issuesOf({ p: { retry: { retryOn: () => true } } })).toEqual([
      {
        path: 'p.retry.retryOn',
        message:
          'must be JSON data, got a function; give functions and objects in code (registry(config, { code }))',
        expected: 'JSON data',
        received: 'a function',
      },
    ]);
    expect(issuesOf({ p: { fallback: { value: new Date(0) } } })[0]!.path).toBe('p.fallback.value');
  });

  it('the configuration and its pipelines must be objects with valid names', () => {
    expect(issuesOf([])).toEqual([
      {
        path: '(config)',
        message: 'must be an object of named pipelines, got an array',
        expected: 'an object',
        received: 'an array',
      },
    ]);
    expect(issuesOf({ $schema: 1, $other: {}, p: 'fast' }).map((i) => i.path)).toEqual([
      '$schema',
      '"$other"',
      'p',
    ]);
  });

  it('a cyclic object is rejected rather than followed forever', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(issuesOf({ p: { fallback: { value: cyclic } } })[0]!.message).toBe(
      'is nested too deeply (a cycle?)',
    );
  });

  it('order: names must be policies the pipeline configures, each once, all of them', () => {
    expect(
      issuesOf({ p: { order: ['retry', 'retry', 'hedge', 'fallbak'], retry: {}, timeout: '1s' } }).map(
        (i) => [i.path, i.message],
      ),
    ).toEqual([
      ['p.order[1]', 'lists retry twice'],
      ['p.order[2]', 'names hedge, which this pipeline does not configure'],
      [
        'p.order[3]',
        'must be one of fallback, rateLimit, totalTimeout, retry, hedge, circuitBreaker, throttle, timeout, bulkhead, adaptiveConcurrency, chaos, got "fallbak"',
      ],
      ['p.order', 'must list every policy the pipeline configures; missing: timeout'],
    ]);
    expect(issuesOf({ p: { order: 'retry' } })[0]!.path).toBe('p.order');
  });

  it('keyed: policies must be listed, keep per-key state, and be configured', () => {
    expect(issuesOf({ p: { keyed: { maxKeys: 5 } } })[0]!.path).toBe('p.keyed.policies');
    expect(
      issuesOf({
        p: {
          keyed: { policies: ['retry', 'bulkhead', 'bulkhead', 'throttle'], maxKeys: 0 },
          retry: {},
          bulkhead: 1,
        },
      }).map((i) => [i.path, i.message]),
    ).toEqual([
      ['p.keyed.maxKeys', 'must be an integer ≥ 1, got 0'],
      [
        'p.keyed.policies[0]',
        'must be a policy that keeps state per key (rateLimit, hedge, circuitBreaker, throttle, bulkhead, adaptiveConcurrency), got "retry"',
      ],
      ['p.keyed.policies[2]', 'lists bulkhead twice'],
      ['p.keyed.policies[3]', 'names throttle, which this pipeline does not configure'],
    ]);
    expect(issuesOf({ p: { keyed: 'yes' } })[0]!.path).toBe('p.keyed');
  });

  it('retryBudget: a shared budget must name a pipeline that declares one', () => {
    expect(issuesOf({ a: { retryBudget: 'b', retry: {} }, b: { retry: {} } })[0]).toMatchObject({
      path: 'a.retryBudget',
      message: 'names pipeline "b", which declares no retryBudget of its own to share',
    });
    expect(issuesOf({ a: { retryBudget: { ratio: -1 } } })[0]!.path).toBe('a.retryBudget.ratio');
    expect(() =>
      registry({ a: { retryBudget: {}, retry: {} }, b: { retryBudget: 'a', hedge: { delay: 10 } } }),
    ).not.toThrow();
  });

  it('a budget in code and a retryBudget in data conflict', () => {
    let issues: readonly ConfigIssue[] = [];
    try {
      registry({ a: { retryBudget: {}, retry: {} } }, { code: { a: { retry: { budget: retryBudget() } } } });
    } catch (error) {
      issues = (error as ConfigError).issues;
    }
    expect(issues.map((i) => i.path)).toEqual(['code.a.retry.budget']);
  });
});

describe('validation reuses each policy’s own checks (no second source of truth)', () => {
  // Each row: a section as data, the same options given to the factory, and the
  // error's prefix. The issue must carry the factory's own message.
  const rows: [string, unknown, () => unknown, string, string][] = [
    ['retry', { maxAttempts: 1.5 }, () => retry({ maxAttempts: 1.5 }), 'retry', 'maxAttempts'],
    ['timeout', { ms: -1 }, () => timeout({ ms: -1 }), 'timeout', 'ms'],
    ['bulkhead', { limit: 2, queue: -1 }, () => bulkhead({ limit: 2, queue: -1 }), 'bulkhead', 'queue'],
    [
      'circuitBreaker',
      { window: { type: 'count', size: 0 } },
      () => circuitBreaker({ window: { type: 'count', size: 0 } }),
      'circuitBreaker',
      'window.size',
    ],
    [
      'circuitBreaker',
      { minimumCalls: 200 },
      () => circuitBreaker({ minimumCalls: 200 }),
      'circuitBreaker',
      'minimumCalls',
    ],
    [
      'rateLimit',
      { type: 'tokenBucket', rate: 0 },
      () => rateLimit({ type: 'tokenBucket', rate: 0 }),
      'rateLimit',
      'rate',
    ],
    [
      'rateLimit',
      { type: 'slidingWindow', limit: 1, window: 0 },
      () => rateLimit({ type: 'slidingWindow', limit: 1, window: 0 }),
      'rateLimit',
      'window',
    ],
    [
      'hedge',
      { delay: 5, minSamples: 10, sampleSize: 5 },
      () => hedge({ delay: 5, minSamples: 10, sampleSize: 5 }),
      'hedge',
      'sampleSize',
    ],
    ['throttle', { k: 0.5 }, () => throttle({ k: 0.5 }), 'throttle', 'k'],
    [
      'adaptiveConcurrency',
      { algorithm: 'aimd', tolerance: 2 },
      () => adaptiveConcurrency({ algorithm: 'aimd', tolerance: 2 }),
      'adaptiveConcurrency',
      'tolerance',
    ],
    [
      'adaptiveConcurrency',
      { minLimit: 5, maxLimit: 2 },
      () => adaptiveConcurrency({ minLimit: 5, maxLimit: 2 }),
      'adaptiveConcurrency',
      'maxLimit',
    ],
    [
      'fallback',
      { lastKnownGood: { ttl: 0 } },
      () => fallback({ lastKnownGood: { ttl: 0 } }),
      'fallback',
      'lastKnownGood.ttl',
    ],
    ['retryBudget', { window: 0 }, () => retryBudget({ window: 0 }), 'retryBudget', 'window'],
    ['chaos', { fault: { rate: 2 } }, () => chaos.fault({ rate: 2 }), 'chaos.fault', 'fault.rate'],
    [
      'keyed',
      { policies: ['bulkhead'], idleTtl: -1 },
      () => keyed(() => bulkhead(1), { idleTtl: -1 }),
      'keyed',
      'idleTtl',
    ],
    [
      'retry',
      { backoff: { type: 'linear', initial: 50, max: 10 } },
      () => backoff.linear({ initial: 50, max: 10 }),
      'backoff.linear',
      'backoff.max',
    ],
  ];
  it.each(rows)('%s %j: the factory’s message, at its path', (key, section, factory, prefix, option) => {
    const config = { p: { [key]: section, ...(key === 'keyed' ? { bulkhead: 1 } : {}) } };
    const [first] = issuesOf(config);
    const own = thrown(factory);
    const name = option.split('.').at(-1)!;
    expect(first!.path).toBe(`p.${key}.${option}`);
    expect(`${prefix}: ${option.replace(/^(fault|backoff)\./, '')} ${first!.message}`).toBe(own);
    expect(own.startsWith(`${prefix}: `) && own.includes(name)).toBe(true);
  });
});
