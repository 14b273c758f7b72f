import { CircuitBreakerPolicy } from '../breaker/breaker.js';
import type { RetryBudget } from '../budget/budget.js';
import type { Clock } from '../core/clock.js';
import { type Pipeline, pipeline } from '../core/pipeline.js';
import type { PolicyBase } from '../core/policy.js';
import { show } from '../core/validate.js';
import { KeyedPolicy } from '../keyed/keyed.js';
import { crossCheck } from './checks.js';
import { type ConfigIssue, issue } from './errors.js';
import { DEFAULT_ORDER, KEYABLE, type LayerKey, PIPELINE_KEYS, withLayerKeys } from './order.js';
import { buildSection, copyData, isPlainObject, type SectionOutcome } from './section.js';
import { BUDGET_SPEC, CHAOS_SPECS, KEYED_SPEC, LAYER_SPECS, type Spec } from './sections.js';

type Options = Record<string, unknown>;

/** What decides whether a policy can be kept across an update: data compared by value, the rest by identity. */
interface Signature {
  readonly data: unknown;
  readonly refs: readonly unknown[];
}

/** One built section of a pipeline. @internal */
export interface SectionState {
  readonly signature: Signature;
  /** The layers it contributes, outermost first (chaos may give several). */
  readonly policies: readonly PolicyBase<any>[];
}

/** A built pipeline. @internal */
export interface PipelineState {
  readonly name: string;
  readonly order: readonly LayerKey[];
  readonly sections: ReadonlyMap<LayerKey, SectionState>;
  /** The budget its retry and hedge draw from (its own or another pipeline's). */
  readonly budget: RetryBudget | undefined;
  /** Its own budget, when it declares one. */
  readonly ownBudget: { readonly signature: Signature; readonly budget: RetryBudget } | undefined;
  readonly pipeline: Pipeline;
}

/** Everything a registry holds for one configuration. @internal */
export interface RegistryState {
  readonly pipelines: ReadonlyMap<string, PipelineState>;
}

/** How a registry builds policies besides the data. @internal */
export interface BuildOptions {
  readonly clock: Clock | undefined;
  readonly code: unknown;
}

/** A section built but not yet assembled. */
interface Pending {
  readonly key: LayerKey;
  readonly signature: Signature;
  /** Per chaos strategy, or one entry for any other policy. */
  readonly parts: readonly { readonly spec: Spec; readonly outcome: SectionOutcome }[];
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && deepEqual((a as Options)[k], (b as Options)[k]));
}

function sameSignature(a: Signature | undefined, b: Signature): boolean {
  return (
    a !== undefined &&
    a.refs.length === b.refs.length &&
    a.refs.every((ref, i) => ref === b.refs[i]) &&
    deepEqual(a.data, b.data)
  );
}

/** Code options flattened for an identity comparison: `[key, value, key, value, ...]`. */
function refsOf(code: Options | undefined, extra: readonly unknown[]): unknown[] {
  const refs = [...extra];
  if (code !== undefined) {
    for (const key of Object.keys(code).sort()) {
      const value = code[key];
      if (isPlainObject(value)) refs.push(key, ...refsOf(value, []));
      else refs.push(key, value);
    }
  }
  return refs;
}

const CODE_SECTION_KEYS: readonly string[] = /* @__PURE__ */ withLayerKeys('retryBudget', 'keyed');

/** Checks the `code` option's shape: pipelines that exist, policy keys that exist, objects. */
function checkCode(code: unknown, names: readonly string[], issues: ConfigIssue[]): Record<string, Options> {
  if (code === undefined) return {};
  if (!isPlainObject(code)) {
    issues.push(
      issue('code', `must be an object of pipelines, got ${show(code)}`, 'an object', { value: code }),
    );
    return {};
  }
  const out: Record<string, Options> = {};
  for (const [name, sections] of Object.entries(code)) {
    if (sections === undefined) continue;
    if (!names.includes(name)) {
      issues.push(
        issue(
          `code.${name}`,
          `extends pipeline ${JSON.stringify(name)}, which the configuration does not define`,
          `one of: ${names.join(', ')}`,
        ),
      );
      continue;
    }
    if (!isPlainObject(sections)) {
      issues.push(issue(`code.${name}`, `must be an object of policies, got ${show(sections)}`, 'an object'));
      continue;
    }
    for (const [key, value] of Object.entries(sections)) {
      if (!CODE_SECTION_KEYS.includes(key)) {
        issues.push(
          issue(`code.${name}.${key}`, `unknown policy (expected one of: ${CODE_SECTION_KEYS.join(', ')})`),
        );
      } else if (value !== undefined && !isPlainObject(value)) {
        issues.push(
          issue(`code.${name}.${key}`, `must be an object of options, got ${show(value)}`, 'an object'),
        );
      }
    }
    out[name] = sections;
  }
  return out;
}

function codeFor(code: Options | undefined, key: string): Options | undefined {
  const value = code?.[key];
  return isPlainObject(value) ? value : undefined;
}

/** The order to build in: the convention, or the pipeline's own `order` once checked. */
function resolveOrder(name: string, section: Options, issues: ConfigIssue[]): LayerKey[] {
  const configured = DEFAULT_ORDER.filter((key) => section[key] !== undefined);
  const raw = section.order;
  if (raw === undefined) return configured;
  const expected = `an array of policy names, outermost first (${DEFAULT_ORDER.join(', ')})`;
  if (!Array.isArray(raw)) {
    issues.push(issue(`${name}.order`, `must be ${expected}, got ${show(raw)}`, expected, { value: raw }));
    return configured;
  }
  const before = issues.length;
  const seen = new Set<string>();
  raw.forEach((key: unknown, i) => {
    const at = `${name}.order[${i}]`;
    if (typeof key !== 'string' || !(DEFAULT_ORDER as readonly string[]).includes(key)) {
      const one = `one of ${DEFAULT_ORDER.join(', ')}`;
      issues.push(issue(at, `must be ${one}, got ${show(key)}`, one, { value: key }));
    } else if (seen.has(key)) {
      issues.push(issue(at, `lists ${key} twice`, undefined, { value: key }));
    } else if (section[key] === undefined) {
      issues.push(
        issue(at, `names ${key}, which this pipeline does not configure`, undefined, { value: key }),
      );
    }
    if (typeof key === 'string') seen.add(key);
  });
  const missing = configured.filter((key) => !seen.has(key));
  if (missing.length > 0) {
    issues.push(
      issue(
        `${name}.order`,
        `must list every policy the pipeline configures; missing: ${missing.join(', ')}`,
      ),
    );
  }
  return issues.length === before ? (raw as LayerKey[]) : configured;
}

/** `keyed`: its options (checked by `keyed` itself) and the policies to build per key. */
function resolveKeyed(
  name: string,
  section: Options,
  code: Options | undefined,
  clock: Clock | undefined,
  issues: ConfigIssue[],
): { options: Options; listed: readonly LayerKey[]; data: unknown } | undefined {
  const raw = section.keyed;
  if (raw === undefined) return undefined;
  const outcome = buildSection(
    { spec: KEYED_SPEC, path: `${name}.keyed`, raw, code: codeFor(code, 'keyed'), inject: { clock } },
    issues,
  );
  if (!isPlainObject(raw)) return undefined;
  const policies = raw.policies;
  const at = `${name}.keyed.policies`;
  const expected = `a non-empty array of: ${KEYABLE.join(', ')}`;
  if (!Array.isArray(policies) || policies.length === 0) {
    issues.push(issue(at, `must be ${expected}, got ${show(policies)}`, expected, { value: policies }));
    return undefined;
  }
  const listed: LayerKey[] = [];
  policies.forEach((key: unknown, i) => {
    if (typeof key !== 'string' || !(KEYABLE as readonly string[]).includes(key)) {
      issues.push(
        issue(
          `${at}[${i}]`,
          `must be a policy that keeps state per key (${KEYABLE.join(', ')}), got ${show(key)}`,
          `one of ${KEYABLE.join(', ')}`,
          {
            value: key,
          },
        ),
      );
    } else if (listed.includes(key as LayerKey)) {
      issues.push(issue(`${at}[${i}]`, `lists ${key} twice`, undefined, { value: key }));
    } else if (section[key] === undefined) {
      issues.push(
        issue(`${at}[${i}]`, `names ${key}, which this pipeline does not configure`, undefined, {
          value: key,
        }),
      );
    } else {
      listed.push(key as LayerKey);
    }
  });
  if (outcome.options === undefined) return undefined;
  const { policies: _, ...options } = outcome.options;
  return { options, listed, data: outcome.data };
}

/** Builds one layer section (chaos: each strategy it configures). */
function buildLayer(
  name: string,
  key: LayerKey,
  raw: unknown,
  code: Options | undefined,
  inject: Options,
  issues: ConfigIssue[],
): Pending['parts'] {
  const path = `${name}.${key}`;
  if (key !== 'chaos') {
    const spec = LAYER_SPECS[key];
    return [{ spec, outcome: buildSection({ spec, path, raw, code, inject }, issues) }];
  }
  if (!isPlainObject(raw)) {
    const expected = `an object of ${Object.keys(CHAOS_SPECS).join(', ')}`;
    issues.push(issue(path, `must be ${expected}, got ${show(raw)}`, expected, { value: raw }));
    return [];
  }
  for (const kind of Object.keys(raw)) {
    if (!Object.hasOwn(CHAOS_SPECS, kind)) {
      issues.push(
        issue(
          `${path}.${kind}`,
          `unknown chaos strategy (expected one of: ${Object.keys(CHAOS_SPECS).join(', ')})`,
        ),
      );
    }
  }
  const parts: { spec: Spec; outcome: SectionOutcome }[] = [];
  for (const [kind, spec] of Object.entries(CHAOS_SPECS)) {
    if (raw[kind] === undefined) continue;
    const outcome = buildSection(
      {
        spec,
        path: `${path}.${kind}`,
        raw: raw[kind],
        code: codeFor(code, kind),
        inject: { ...inject, name: `${path}.${kind}` },
      },
      issues,
    );
    parts.push({ spec, outcome });
  }
  return parts;
}

/**
 * Validates a whole configuration and builds its pipelines. Policies whose
 * section (as data, with durations converted), code options, clock and
 * budget are unchanged from `previous` are kept, with their state; a changed
 * circuit breaker starts from its predecessor's `snapshot()`. Nothing is
 * returned unless every check passed.
 * @internal
 */
export function buildState(
  config: unknown,
  options: BuildOptions,
  previous: RegistryState | undefined,
): { state: RegistryState | undefined; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  if (!isPlainObject(config)) {
    issues.push(
      issue('(config)', `must be an object of named pipelines, got ${show(config)}`, 'an object', {
        value: config,
      }),
    );
    return { state: undefined, issues };
  }
  const data = copyData(config, '', issues) as Options;
  if (issues.length > 0) return { state: undefined, issues };
  const names: string[] = [];
  for (const [name, section] of Object.entries(data)) {
    if (name === '$schema') {
      if (typeof section !== 'string') {
        issues.push(
          issue('$schema', `must be a string, got ${show(section)}`, 'a string', { value: section }),
        );
      }
    } else if (name === '' || name.startsWith('$')) {
      issues.push(
        issue(
          JSON.stringify(name),
          'is not a valid pipeline name (empty, or starting with $, which is reserved)',
        ),
      );
    } else if (!isPlainObject(section)) {
      issues.push(
        issue(name, `must be an object of policies, got ${show(section)}`, 'an object', { value: section }),
      );
    } else {
      names.push(name);
      for (const key of Object.keys(section)) {
        if (!PIPELINE_KEYS.includes(key)) {
          issues.push(
            issue(`${name}.${key}`, `unknown policy (expected one of: ${PIPELINE_KEYS.join(', ')})`),
          );
        }
      }
    }
  }
  const code = checkCode(options.code, names, issues);
  const clock = options.clock;

  // Budgets first: retry and hedge are built around them, and may share another pipeline's.
  const ownBudgets = new Map<string, { signature: Signature; budget: RetryBudget }>();
  for (const name of names) {
    const raw = (data[name] as Options).retryBudget;
    if (raw === undefined || typeof raw === 'string') continue;
    const budgetCode = codeFor(code[name], 'retryBudget');
    const outcome = buildSection(
      {
        spec: BUDGET_SPEC,
        path: `${name}.retryBudget`,
        raw,
        code: budgetCode,
        inject: { name: `${name}.retryBudget`, clock },
      },
      issues,
    );
    if (outcome.instance === undefined) continue;
    const signature = { data: outcome.data, refs: refsOf(budgetCode, [clock]) };
    const before = previous?.pipelines.get(name)?.ownBudget;
    ownBudgets.set(
      name,
      sameSignature(before?.signature, signature)
        ? before!
        : { signature, budget: outcome.instance as RetryBudget },
    );
  }

  const pending = new Map<
    string,
    { order: LayerKey[]; sections: Pending[]; keyed: ReturnType<typeof resolveKeyed> }
  >();
  for (const name of names) {
    const section = data[name] as Options;
    const pipelineCode = code[name];
    let budget: RetryBudget | undefined = ownBudgets.get(name)?.budget;
    const ref = section.retryBudget;
    if (typeof ref === 'string') {
      budget = ownBudgets.get(ref)?.budget;
      if (budget === undefined && !isPlainObject((data[ref] as Options | undefined)?.retryBudget)) {
        issues.push(
          issue(
            `${name}.retryBudget`,
            `names pipeline ${JSON.stringify(ref)}, which declares no retryBudget of its own to share`,
            'a budget { ratio, minPerSecond, window } or the name of a pipeline declaring one',
            { value: ref },
          ),
        );
      }
    }
    for (const user of ['retry', 'hedge'] as const) {
      if (section.retryBudget !== undefined && codeFor(pipelineCode, user)?.budget !== undefined) {
        issues.push(
          issue(
            `code.${name}.${user}.budget`,
            `conflicts with the pipeline's retryBudget; give the budget in one place`,
          ),
        );
      }
    }
    const order = resolveOrder(name, section, issues);
    const keyed = resolveKeyed(name, section, pipelineCode, clock, issues);
    const sections: Pending[] = [];
    for (const key of DEFAULT_ORDER) {
      if (section[key] === undefined) continue;
      const sectionCode = codeFor(pipelineCode, key);
      const inject: Options = { name: `${name}.${key}`, clock };
      if (budget !== undefined && (key === 'retry' || key === 'hedge')) inject.budget = budget;
      const parts = buildLayer(name, key, section[key], sectionCode, inject, issues);
      const keyedData = keyed?.listed.includes(key) === true ? keyed.data : undefined;
      const signature = {
        data: { data: parts.map((part) => part.outcome.data), keyed: keyedData },
        refs: refsOf(sectionCode, [clock, inject.budget]),
      };
      sections.push({ key, signature, parts });
    }
    const valid = new Map<LayerKey, Options>();
    for (const { key, parts } of sections) {
      if (parts.length > 0 && parts.every((part) => part.outcome.instance !== undefined)) {
        valid.set(key, parts[0]!.outcome.data!);
      }
    }
    crossCheck(name, order, valid, issues);
    pending.set(name, { order, sections, keyed });
  }
  if (issues.length > 0) return { state: undefined, issues };

  const pipelines = new Map<string, PipelineState>();
  for (const name of names) {
    const { order, sections, keyed } = pending.get(name)!;
    const before = previous?.pipelines.get(name);
    const built = new Map<LayerKey, SectionState>();
    for (const pendingSection of sections) {
      const old = before?.sections.get(pendingSection.key);
      built.set(
        pendingSection.key,
        sameSignature(old?.signature, pendingSection.signature)
          ? old!
          : assemble(name, pendingSection, keyed, old),
      );
    }
    const policies = order.flatMap((key) => built.get(key)!.policies);
    const unchanged =
      before !== undefined &&
      before.order.length === order.length &&
      before.order.every((key, i) => key === order[i]) &&
      order.every((key) => built.get(key) === before.sections.get(key));
    const own = ownBudgets.get(name);
    const ref = (data[name] as Options).retryBudget;
    pipelines.set(name, {
      name,
      order,
      sections: built,
      budget: typeof ref === 'string' ? ownBudgets.get(ref)?.budget : own?.budget,
      ownBudget: own,
      pipeline: unchanged ? before.pipeline : pipeline({ name }, ...policies),
    });
  }
  return { state: { pipelines }, issues };
}

/** Makes the layers of a new or changed section. */
function assemble(
  name: string,
  section: Pending,
  keyed: ReturnType<typeof resolveKeyed>,
  old: SectionState | undefined,
): SectionState {
  const { key, parts, signature } = section;
  if (keyed?.listed.includes(key) === true) {
    const { spec, outcome } = parts[0]!;
    const options = outcome.options!;
    const prefix = typeof keyed.options.name === 'string' ? keyed.options.name : name;
    const wrapper = new KeyedPolicy(() => spec.build(options) as PolicyBase<any>, {
      ...keyed.options,
      name: `${prefix}.${key}`,
    });
    return { signature, policies: [wrapper] };
  }
  const policies = parts.map(({ spec, outcome }) => {
    const instance = outcome.instance as PolicyBase<any>;
    const predecessor = old?.policies.length === 1 ? old.policies[0] : undefined;
    if (!(instance instanceof CircuitBreakerPolicy) || !(predecessor instanceof CircuitBreakerPolicy)) {
      return instance;
    }
    // A breaker whose options changed keeps its state, unless the change is to initialState itself.
    const previousData = (old!.signature.data as { data: Options[] }).data[0];
    if (!deepEqual(previousData?.initialState, outcome.data?.initialState)) return instance;
    try {
      return spec.build({ ...outcome.options, initialState: predecessor.snapshot() }) as PolicyBase<any>;
    } catch {
      return instance;
    }
  });
  return { signature, policies };
}
