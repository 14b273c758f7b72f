/**
 * Option checks shared by every policy constructor, so every bad option fails
 * at construction with the same shape of message:
 * `retry: maxAttempts must be an integer ≥ 1, got -2`.
 */

/** Renders a received value for an error message, short and unambiguous. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return 'an array';
  try {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return 'an object';
  }
}

function fail(
  policy: string,
  option: string,
  expected: string,
  value: unknown,
  kind: 'type' | 'range',
): never {
  const message = `${policy}: ${option} must be ${expected}, got ${show(value)}`;
  throw kind === 'type' ? new TypeError(message) : new RangeError(message);
}

/** Throws when `options` is neither undefined nor a plain object. */
export function checkObject(
  policy: string,
  option: string,
  value: unknown,
): asserts value is object | undefined {
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    fail(policy, option, 'an object', value, 'type');
  }
}

/** Rejects keys a policy does not know, so a typo never silently falls back to a default. */
export function checkKeys(
  policy: string,
  options: object | undefined,
  allowed: readonly string[],
  prefix = '',
): void {
  if (options === undefined) return;
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new TypeError(
        `${policy}: unknown option ${JSON.stringify(prefix + key)} (expected one of: ${allowed.join(', ')})`,
      );
    }
  }
}

/** Bounds for {@link checkNumber}. */
export interface NumberBounds {
  min?: number;
  max?: number;
  /** The minimum itself is not allowed. */
  exclusiveMin?: boolean;
  integer?: boolean;
  /** Accepts Infinity. */
  infinite?: boolean;
}

/** Validates a number option; returns it (or the default when undefined). */
export function checkNumber(
  policy: string,
  option: string,
  value: unknown,
  bounds: NumberBounds,
  defaultValue?: number,
): number {
  if (value === undefined && defaultValue !== undefined) return defaultValue;
  const { min, max, exclusiveMin = false, integer = false, infinite = false } = bounds;
  const noun = integer ? 'an integer' : 'a number';
  const parts: string[] = [];
  if (min !== undefined) parts.push(`${exclusiveMin ? '>' : '≥'} ${min}`);
  if (max !== undefined) parts.push(`≤ ${max}`);
  const expected = parts.length > 0 ? `${noun} ${parts.join(' and ')}` : noun;
  if (typeof value !== 'number' || Number.isNaN(value)) fail(policy, option, expected, value, 'type');
  if (!Number.isFinite(value) && !(infinite && value === Number.POSITIVE_INFINITY)) {
    fail(policy, option, expected, value, 'range');
  }
  if (integer && Number.isFinite(value) && !Number.isInteger(value))
    fail(policy, option, expected, value, 'range');
  if (min !== undefined && (exclusiveMin ? value <= min : value < min))
    fail(policy, option, expected, value, 'range');
  if (max !== undefined && value > max) fail(policy, option, expected, value, 'range');
  return value;
}

/** Validates an optional function option. */
export function checkFunction<F>(policy: string, option: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') fail(policy, option, 'a function', value, 'type');
  return value as F;
}

/** Validates an option that must be one of a few strings. */
export function checkOneOf<T extends string>(
  policy: string,
  option: string,
  value: unknown,
  allowed: readonly T[],
  defaultValue?: T,
): T {
  if (value === undefined && defaultValue !== undefined) return defaultValue;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    fail(policy, option, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value, 'type');
  }
  return value as T;
}

/** Validates an optional boolean option. */
export function checkBoolean(policy: string, option: string, value: unknown, defaultValue: boolean): boolean {
  if (value === undefined) return defaultValue;
  if (typeof value !== 'boolean') fail(policy, option, 'a boolean', value, 'type');
  return value;
}

/** Validates an optional string option (e.g. a policy name). */
export function checkString(policy: string, option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0)
    fail(policy, option, 'a non-empty string', value, 'type');
  return value;
}
