import { type Backoff, backoff } from '../backoff/backoff.js';
import type { ConfigIssue } from './errors.js';
import { issue } from './errors.js';
import type { LayerKey } from './order.js';
import { isPlainObject } from './section.js';
import { type BACKOFF_TYPES, buildBackoff } from './sections.js';

type Options = Record<string, unknown>;

/** What the cross-policy checks read of one valid section: its normalised data. @internal */
export type SectionData = ReadonlyMap<LayerKey, Options>;

/** Retries summed at most when adding up backoff waits: enough to reach any sane total timeout. */
const MAX_SUMMED_RETRIES = 10_000;

function num(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

/** The backoff's delays before jitter: the same factory, with `jitter: 'none'` (or its lowest draw). */
function nominal(value: unknown): Backoff {
  if (value === undefined) return backoff.exponential({ jitter: 'none' });
  if (typeof value === 'number') return backoff.constant(value);
  const data = value as Options;
  const type = data.type as (typeof BACKOFF_TYPES)[number];
  return type === 'decorrelatedJitter'
    ? buildBackoff(type, { ...data, random: () => 0 })
    : buildBackoff(type, { ...data, jitter: 'none' });
}

/**
 * Checks between policies of one pipeline, as Microsoft's standard HTTP
 * pipeline validates its options: each finds a bound that can never take
 * effect because another, enclosing one always ends the call first.
 * Sections are checked only once each is valid on its own.
 * @internal
 */
export function crossCheck(
  name: string,
  order: readonly LayerKey[],
  sections: SectionData,
  issues: ConfigIssue[],
): void {
  const encloses = (outer: LayerKey, inner: LayerKey) => {
    const o = order.indexOf(outer);
    const i = order.indexOf(inner);
    return o !== -1 && i !== -1 && o < i;
  };
  const attempt = num(sections.get('timeout')?.ms);
  const total = num(sections.get('totalTimeout')?.ms);

  if (attempt !== undefined && total !== undefined && attempt > total) {
    issues.push(
      issue(
        `${name}.timeout`,
        `the attempt timeout (${attempt} ms) must be ≤ totalTimeout (${total} ms): a longer one can never fire`,
        `≤ ${total} ms`,
        { text: `${attempt} ms` },
      ),
    );
  }

  const retry = sections.get('retry');
  if (retry !== undefined && total !== undefined && encloses('totalTimeout', 'retry')) {
    const maxDuration = num(retry.maxDuration);
    if (maxDuration !== undefined && maxDuration > total) {
      issues.push(
        issue(
          `${name}.retry.maxDuration`,
          `must be ≤ totalTimeout (${total} ms), which ends the call first, got ${maxDuration} ms`,
          `≤ ${total} ms`,
          { text: `${maxDuration} ms` },
        ),
      );
    } else if (maxDuration === undefined) {
      checkBackoffSum(name, retry, total, issues);
    }
  }

  const breaker = sections.get('circuitBreaker');
  const window = breaker?.window;
  if (attempt !== undefined && isPlainObject(window) && window.type === 'time') {
    const duration = num(window.duration);
    if (duration !== undefined && duration < 2 * attempt) {
      issues.push(
        issue(
          `${name}.circuitBreaker.window.duration`,
          `must be at least twice the attempt timeout (2 × ${attempt} ms): a shorter window drops a slow call's outcome before it is known, got ${duration} ms`,
          `≥ ${2 * attempt} ms`,
          { text: `${duration} ms` },
        ),
      );
    }
  }

  const hedgeDelay = num(sections.get('hedge')?.delay);
  if (
    hedgeDelay !== undefined &&
    total !== undefined &&
    encloses('totalTimeout', 'hedge') &&
    hedgeDelay >= total
  ) {
    issues.push(
      issue(
        `${name}.hedge.delay`,
        `must be < totalTimeout (${total} ms), or no hedge could ever start, got ${hedgeDelay} ms`,
        `< ${total} ms`,
        { text: `${hedgeDelay} ms` },
      ),
    );
  }

  // Waits for a slot or a permit, bounded more tightly by a timeout around them.
  const waits: [LayerKey, string, unknown][] = [
    ['bulkhead', 'queueTimeout', sections.get('bulkhead')?.queueTimeout],
    ['adaptiveConcurrency', 'queueTimeout', sections.get('adaptiveConcurrency')?.queueTimeout],
    ['rateLimit', 'maxWait', sections.get('rateLimit')?.maxWait],
  ];
  for (const [key, option, value] of waits) {
    const wait = num(value);
    if (wait === undefined || !Number.isFinite(wait)) continue;
    for (const bound of ['timeout', 'totalTimeout'] as const) {
      const ms = bound === 'timeout' ? attempt : total;
      if (ms !== undefined && encloses(bound, key) && wait > ms) {
        issues.push(
          issue(
            `${name}.${key}.${option}`,
            `must be ≤ the enclosing ${bound} (${ms} ms), which ends the wait first, got ${wait} ms`,
            `≤ ${ms} ms`,
            { text: `${wait} ms` },
          ),
        );
        break;
      }
    }
  }
}

/**
 * The waits alone must leave time for the attempts: Microsoft's standard
 * pipeline rejects a retry whose cumulative delay reaches the total timeout.
 */
function checkBackoffSum(name: string, retry: Options, total: number, issues: ConfigIssue[]): void {
  let delays: Backoff;
  try {
    delays = nominal(retry.backoff);
  } catch {
    return;
  }
  const maxAttempts = num(retry.maxAttempts) ?? 3;
  const retries = Math.min(maxAttempts - 1, MAX_SUMMED_RETRIES);
  let sum = 0;
  let previous = 0;
  let used = 0;
  while (used < retries && sum < total) {
    used += 1;
    previous = delays.delay(used, previous);
    sum += previous;
  }
  if (used > 0 && sum >= total) {
    issues.push(
      issue(
        `${name}.retry`,
        `its backoff waits (before jitter) reach ${Math.round(sum)} ms after ${used} of its ${maxAttempts - 1} retries, and totalTimeout is ${total} ms: the last attempts could never run; lower maxAttempts or the backoff, raise totalTimeout, or set retry.maxDuration`,
        `backoff waits < ${total} ms`,
        { text: `${Math.round(sum)} ms` },
      ),
    );
  }
}
