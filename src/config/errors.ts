import { show } from '../core/validate.js';

/** One problem found in a configuration. */
export interface ConfigIssue {
  /** Where: the pipeline, the policy and the option, e.g. `payments.retry.maxAttempts`. */
  readonly path: string;
  /** What is wrong, in the words of the policy's own validation, e.g. `must be an integer ≥ 1, got -2`. */
  readonly message: string;
  /** What the option accepts, e.g. `an integer ≥ 1`, when it can be told. */
  readonly expected?: string;
  /** The value found in the configuration, rendered, e.g. `-2` or `"2 seconds"`. */
  readonly received?: string;
}

/**
 * A configuration was rejected. `issues` lists every problem found (not just
 * the first), each with its path; the message lists them one per line.
 */
export class ConfigError extends Error {
  /** Stable code for callers that match on codes. */
  readonly code = 'ERR_CONFIG';
  /** Every problem found, in configuration order. */
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    const lines = issues.map((issue) => `\n  - ${issue.path}: ${issue.message}`);
    super(`bulwark/config: ${count} in the configuration:${lines.join('')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** How a received value is given to {@link issue}: the value itself, or text already rendered. */
export type Received = { readonly value: unknown } | { readonly text: string };

/** Builds an issue. */
export function issue(path: string, message: string, expected?: string, received?: Received): ConfigIssue {
  const out: { path: string; message: string; expected?: string; received?: string } = { path, message };
  if (expected !== undefined) out.expected = expected;
  if (received !== undefined) out.received = 'text' in received ? received.text : show(received.value);
  return out;
}

/** A policy's validation error, taken apart. */
export interface ParsedError {
  /** The option the message is about (`maxAttempts`, `window.size`), if it names one. */
  readonly option: string | undefined;
  /** The message without the policy prefix and without the option name. */
  readonly message: string;
  readonly expected: string | undefined;
  /** The value as the message rendered it. */
  readonly received: string | undefined;
  /** An unknown key: its removal can never make another option's check fail. */
  readonly unknownKey: boolean;
}

const MUST_BE = /^([\w.[\]]+) must be (.+?), got (.+)$/s;
const UNKNOWN = /^unknown option "([^"]+)" \(expected one of: (.*)\)$/s;
const LEADING_OPTION = /^([A-Za-z][\w.[\]]*) (.+)$/s;

/**
 * Takes apart a message thrown by a policy constructor
 * (`retry: maxAttempts must be an integer ≥ 1, got -2`), so the config can
 * report it at its path. `options` are the names that policy accepts: a
 * message that starts with one of them is about that option.
 */
export function parsePolicyError(error: unknown, prefix: string, options: readonly string[]): ParsedError {
  let text = error instanceof Error ? error.message : String(error);
  if (text.startsWith(`${prefix}: `)) text = text.slice(prefix.length + 2);
  const unknown = UNKNOWN.exec(text);
  if (unknown !== null) {
    return {
      option: unknown[1]!,
      message: `unknown option (expected one of: ${unknown[2]!})`,
      expected: `one of: ${unknown[2]!}`,
      received: undefined,
      unknownKey: true,
    };
  }
  const mustBe = MUST_BE.exec(text);
  if (mustBe !== null && isOption(mustBe[1]!, options)) {
    return {
      option: mustBe[1]!,
      message: `must be ${mustBe[2]!}, got ${mustBe[3]!}`,
      expected: mustBe[2]!,
      received: mustBe[3]!,
      unknownKey: false,
    };
  }
  const leading = LEADING_OPTION.exec(text);
  if (leading !== null && isOption(leading[1]!, options)) {
    return {
      option: leading[1]!,
      message: leading[2]!,
      expected: undefined,
      received: undefined,
      unknownKey: false,
    };
  }
  return { option: undefined, message: text, expected: undefined, received: undefined, unknownKey: false };
}

/** Whether `path` (`window.size`, `initialState.window.counts[3]`) starts with one of the options. */
function isOption(path: string, options: readonly string[]): boolean {
  return options.includes(topKey(path));
}

/** The first segment of an option path: `window` for `window.size`. */
export function topKey(path: string): string {
  const end = path.search(/[.[]/);
  return end === -1 ? path : path.slice(0, end);
}

/** Whether a message names `key` as a word (so it may stem from that key's removal). */
export function mentions(message: string, key: string): boolean {
  return new RegExp(`(^|[^\\w])${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^\\w]|$)`).test(message);
}
