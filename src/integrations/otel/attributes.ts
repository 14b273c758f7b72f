import type { Attributes } from '@opentelemetry/api';
import { ATTRIBUTE_NAMES, EVENT_DETAIL_PREFIX } from './names.js';

/** OpenTelemetry's value for errors that have no usable type name. */
const OTHER = '_OTHER';

/**
 * OpenTelemetry's `error.type` for a thrown value: low-cardinality and
 * predictable, as the semantic conventions ask. An error's class name
 * (`TimeoutError`, `CircuitOpenError`); for a plain `Error`, which says
 * nothing, its string `code` when it has one (`ECONNRESET`); `_OTHER` for
 * anything else (a thrown string, an object).
 */
export function errorType(error: unknown): string {
  if (typeof error !== 'object' || error === null) return OTHER;
  const { name, code } = error as { name?: unknown; code?: unknown };
  if (typeof name !== 'string' || name === '') return OTHER;
  if (name === 'Error' && typeof code === 'string' && code !== '') return code;
  return name;
}

/** `retryAfter` → `retry_after`: OpenTelemetry attribute names are snake_case. */
function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * A span event's attributes: who emitted it, plus the payload's primitive
 * fields under `bulwark.event.*` (`attempt`, `delay`, `reason`, `state`,
 * `retryAfter`...; times in ms, as in the payload). An `error` becomes
 * `error.type`. Results, values and keyed policies' keys are left out: they
 * are the user's data, of unknown size, cardinality and sensitivity.
 */
export function spanEventAttributes(
  pipeline: string,
  kind: string,
  name: string,
  event: string,
  data: unknown,
): Attributes {
  const attributes: Attributes = {
    [ATTRIBUTE_NAMES.pipeline]: pipeline,
    [ATTRIBUTE_NAMES.policyKind]: kind,
    [ATTRIBUTE_NAMES.policyName]: name,
    [ATTRIBUTE_NAMES.event]: event,
  };
  if (typeof data !== 'object' || data === null) return attributes;
  for (const [key, value] of Object.entries(data)) {
    if (key === 'error') attributes[ATTRIBUTE_NAMES.errorType] = errorType(value);
    else if (key === 'value' || key === 'result' || key === 'key') continue;
    else if (typeof value === 'string' || typeof value === 'boolean') {
      attributes[EVENT_DETAIL_PREFIX + snake(key)] = value;
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      attributes[EVENT_DETAIL_PREFIX + snake(key)] = value;
    }
  }
  return attributes;
}

/** The events counter's attributes: fixed keys only, never payload fields, to keep cardinality bounded. */
export function eventCounterAttributes(
  pipeline: string,
  kind: string,
  name: string,
  event: string,
  data: unknown,
): Attributes {
  const attributes: Attributes = {
    [ATTRIBUTE_NAMES.pipeline]: pipeline,
    [ATTRIBUTE_NAMES.policyKind]: kind,
    [ATTRIBUTE_NAMES.policyName]: name,
    [ATTRIBUTE_NAMES.event]: event,
  };
  if (typeof data === 'object' && data !== null && 'error' in data) {
    attributes[ATTRIBUTE_NAMES.errorType] = errorType((data as { error: unknown }).error);
  }
  return attributes;
}
