import { show } from '../core/validate.js';
import { DURATION_EXPECTED, toMs } from './duration.js';
import { type ConfigIssue, issue, mentions, parsePolicyError, topKey } from './errors.js';
import { BACKOFF_DURATIONS, BACKOFF_TYPES, backoffDataOptions, buildBackoff, type Spec } from './sections.js';

type Options = Record<string, unknown>;

/** Whether a value is a plain data object (not an array, a class instance or null). @internal */
export function isPlainObject(value: unknown): value is Options {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Reads `window.size` or `counts[3]` from data; `found` false when a segment is missing. */
function lookup(data: unknown, path: string): { found: boolean; value: unknown } {
  let value = data;
  for (const segment of path.split(/\.|\[(\d+)\]/).filter((s) => s !== undefined && s !== '')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, segment)) {
      return { found: false, value: undefined };
    }
    value = (value as Options)[segment];
  }
  return { found: true, value };
}

/** What one section's constructor is called with, and how its messages map to paths. */
interface Target {
  readonly build: (options: Options) => object;
  readonly prefix: string;
  readonly options: readonly string[];
  /** The config path of the section. */
  readonly path: string;
  /** The section as written, to report received values verbatim (`"0s"`, not 0). */
  readonly raw: unknown;
  /** Set when the section was a bare value standing for this option. */
  readonly shorthand: string | undefined;
}

function optionPath(target: Target, option: string | undefined): string {
  if (option === undefined || option === target.shorthand) return target.path;
  return `${target.path}.${option}`;
}

function rawAt(target: Target, option: string): { found: boolean; value: unknown } {
  if (option === target.shorthand) return { found: true, value: target.raw };
  // A key written with a `.` or `[` in it is read as it is, not as a path.
  if (isPlainObject(target.raw) && Object.hasOwn(target.raw, option)) {
    return { found: true, value: target.raw[option] };
  }
  return lookup(target.raw, option);
}

/**
 * Runs the policy's constructor, the one source of truth for its options.
 * A constructor stops at its first error; to report every bad option at
 * once, the offending option is dropped and the constructor run again, until
 * it passes or the error names no option. An error that only follows from a
 * dropped option (`slowCallRate needs slowCallDuration` after a bad
 * `slowCallDuration`) is not reported twice.
 */
function construct(
  target: Target,
  options: Options,
  removed: string[],
  issues: ConfigIssue[],
  before: number,
): object | undefined {
  const candidate = { ...options };
  for (let round = Object.keys(candidate).length + 1; round >= 0; round--) {
    try {
      const built = target.build(candidate);
      return issues.length === before ? built : undefined;
    } catch (error) {
      const parsed = parsePolicyError(error, target.prefix, target.options);
      const option = parsed.option;
      // An unknown key may itself hold a `.` or `[` (`{ 'a.b': 1 }`): it is
      // the key to drop, not a path into one.
      const top =
        option === undefined ? undefined : Object.hasOwn(candidate, option) ? option : topKey(option);
      // An echo of a dropped option names it in what it asks for (`needs
      // slowCallDuration`), not in its own path (`initialState.window.type`
      // after `window` was dropped) nor in the value it got.
      const asks = parsed.expected ?? parsed.message;
      const echo = !parsed.unknownKey && removed.some((key) => key === top || mentions(asks, key));
      if (!echo || issues.length === before) {
        const raw = option === undefined ? undefined : rawAt(target, option);
        const received =
          raw?.found === true
            ? { value: raw.value }
            : parsed.received === undefined
              ? undefined
              : { text: parsed.received };
        issues.push(issue(optionPath(target, option), parsed.message, parsed.expected, received));
      }
      if (top === undefined || !Object.hasOwn(candidate, top)) return undefined;
      delete candidate[top];
      removed.push(top);
    }
  }
  return undefined;
}

/** Sets `path` (possibly nested, e.g. `window.duration`) in a copy-on-write way. */
function setAt(data: Options, path: string, value: unknown): void {
  const dot = path.indexOf('.');
  if (dot === -1) {
    data[path] = value;
    return;
  }
  const head = path.slice(0, dot);
  const inner = { ...(data[head] as Options) };
  setAt(inner, path.slice(dot + 1), value);
  data[head] = inner;
}

/**
 * Converts the duration options of `data` (a copy) in place; a value that is
 * not a duration is reported and its top-level option dropped.
 */
function convertDurations(
  data: Options,
  durations: readonly string[],
  path: string,
  raw: unknown,
  shorthand: string | undefined,
  removed: string[],
  issues: ConfigIssue[],
  keep: (option: string, value: unknown) => boolean,
): void {
  for (const option of durations) {
    const { found, value } = lookup(data, option);
    if (!found || value === undefined || keep(option, value)) continue;
    const ms = toMs(value);
    if (ms !== undefined) {
      setAt(data, option, ms);
      continue;
    }
    const at = option === shorthand ? path : `${path}.${option}`;
    issues.push(
      issue(at, `must be ${DURATION_EXPECTED}, got ${show(value)}`, DURATION_EXPECTED, {
        value: option === shorthand ? raw : value,
      }),
    );
    const top = topKey(option);
    delete data[top];
    removed.push(top);
  }
}

/** A backoff given as data (`{ type: 'exponential', initial: '100ms' }`), built by `backoff`'s own factories. */
function dataBackoff(
  value: Options,
  path: string,
  issues: ConfigIssue[],
): { data: Options; backoff: object | undefined } {
  const type = value.type;
  if (typeof type !== 'string' || !(BACKOFF_TYPES as string[]).includes(type)) {
    const expected = `one of ${BACKOFF_TYPES.map((t) => JSON.stringify(t)).join(', ')}`;
    issues.push(issue(`${path}.type`, `must be ${expected}, got ${show(type)}`, expected, { value: type }));
    return { data: value, backoff: undefined };
  }
  const kind = type as (typeof BACKOFF_TYPES)[number];
  const data = { ...value };
  const removed: string[] = [];
  const before = issues.length;
  convertDurations(data, BACKOFF_DURATIONS, path, value, undefined, removed, issues, () => false);
  const target: Target = {
    build: (o) => buildBackoff(kind, o),
    prefix: `backoff.${kind}`,
    options: backoffDataOptions(kind),
    path,
    raw: value,
    shorthand: undefined,
  };
  const built = construct(target, data, removed, issues, before);
  return { data, backoff: issues.length === before ? built : undefined };
}

/** What a section is built from. @internal */
export interface SectionInput {
  readonly spec: Spec;
  /** The section's config path, e.g. `payments.retry`. */
  readonly path: string;
  /** The section as written (already copied and frozen). */
  readonly raw: unknown;
  /** Options given in code for this section: functions and objects data cannot hold. */
  readonly code: Options | undefined;
  /** Defaults applied when neither data nor code sets them (name, clock, budget). */
  readonly inject: Options;
}

/** A section, normalised and (if valid) built. @internal */
export interface SectionOutcome {
  /** The data with durations converted and a shorthand expanded: compared for reuse, read by cross-checks. */
  readonly data: Options | undefined;
  /** The options the constructor got. */
  readonly options: Options | undefined;
  /** The policy (or budget), when the section is valid. */
  readonly instance: object | undefined;
}

/**
 * Normalises a section (durations, shorthand, backoffs), merges the options
 * given in code, and builds the policy with its own constructor, reporting
 * every problem with its path.
 * @internal
 */
export function buildSection(input: SectionInput, issues: ConfigIssue[]): SectionOutcome {
  const { spec, path, raw, code } = input;
  let data: Options;
  let shorthand: string | undefined;
  if (spec.shorthand !== undefined && (typeof raw === 'number' || typeof raw === 'string')) {
    shorthand = spec.shorthand;
    data = { [shorthand]: raw };
  } else if (isPlainObject(raw)) {
    data = { ...raw };
  } else {
    const bare = spec.durations.includes(spec.shorthand ?? '') ? DURATION_EXPECTED : 'a number';
    const expected = spec.shorthand === undefined ? 'an object' : `${bare}, or an object`;
    issues.push(issue(path, `must be ${expected}, got ${show(raw)}`, expected, { value: raw }));
    return { data: undefined, options: undefined, instance: undefined };
  }
  const before = issues.length;
  const removed: string[] = [];
  // A hedge delay may be a latency quantile such as "p95" rather than a duration.
  const keep = (option: string, value: unknown) =>
    spec.prefix === 'hedge' && option === 'delay' && typeof value === 'string' && value.startsWith('p');
  convertDurations(data, spec.durations, path, raw, shorthand, removed, issues, keep);
  for (const option of spec.infinities)
    if (data[option] === 'Infinity') data[option] = Number.POSITIVE_INFINITY;

  const options: Options = { ...data };
  for (const option of spec.backoffs) {
    const value = data[option];
    if (isPlainObject(value)) {
      const built = dataBackoff(value, `${path}.${option}`, issues);
      data[option] = built.data;
      if (built.backoff === undefined) {
        delete options[option];
        removed.push(option);
      } else {
        options[option] = built.backoff;
      }
    } else if (typeof value === 'string') {
      // A string is a constant delay; anything else goes to the policy as is, to be judged there.
      const ms = toMs(value);
      if (ms === undefined) {
        const expected = `${DURATION_EXPECTED}, or a backoff { type, ... }`;
        issues.push(
          issue(`${path}.${option}`, `must be ${expected}, got ${show(value)}`, expected, { value }),
        );
        delete options[option];
        removed.push(option);
      } else {
        data[option] = ms;
        options[option] = ms;
      }
    }
  }

  if (code !== undefined) {
    for (const [option, value] of Object.entries(code)) {
      if (value === undefined) continue;
      if (Object.hasOwn(data, option)) {
        issues.push(
          issue(
            `${path}.${option}`,
            'is given both in the configuration and in code; give it in one place',
            undefined,
            {
              value: lookup(raw, option).value,
            },
          ),
        );
        continue;
      }
      options[option] = value;
    }
  }
  for (const [option, value] of Object.entries(input.inject)) {
    if (options[option] === undefined && spec.options.includes(option)) options[option] = value;
  }

  const target: Target = {
    build: spec.build,
    prefix: spec.prefix,
    options: spec.options,
    path,
    raw,
    shorthand,
  };
  const instance = construct(target, options, removed, issues, before);
  const valid = issues.length === before && instance !== undefined;
  return { data, options: valid ? options : undefined, instance: valid ? instance : undefined };
}

/**
 * Copies configuration data, checking that it is data: plain objects,
 * arrays, strings, numbers, booleans and null. The copy is frozen, so a
 * fallback value served to many callers cannot be changed by one of them,
 * and the caller's later edits to their object change nothing here.
 * @internal
 */
export function copyData(value: unknown, path: string, issues: ConfigIssue[], depth = 0): unknown {
  if (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean'
  ) {
    return value;
  }
  if (depth > 64) {
    issues.push(issue(path, 'is nested too deeply (a cycle?)'));
    return undefined;
  }
  if (Array.isArray(value)) {
    return Object.freeze(value.map((item, i) => copyData(item, `${path}[${i}]`, issues, depth + 1)));
  }
  if (isPlainObject(value)) {
    const out: Options = {};
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      out[key] = copyData(item, path === '' ? key : `${path}.${key}`, issues, depth + 1);
    }
    return Object.freeze(out);
  }
  issues.push(
    issue(
      path,
      `must be JSON data, got ${show(value)}; give functions and objects in code (registry(config, { code }))`,
      'JSON data',
      { value },
    ),
  );
  return undefined;
}
