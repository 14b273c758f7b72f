// Stands in for 'vitest' when a docs block that contains tests is run from inside a test: vitest
// does not allow `it()` to be called while a test runs, so the shim records the block's tests and
// hooks, and `runRecorded()` runs them in order. `expect` and `vi` are vitest's own.
import { expect, vi } from 'vitest';

export { expect, vi };

type Body = () => unknown;

interface Recorded {
  name: string;
  body: Body;
}

let tests: Recorded[] = [];
let before: Body[] = [];
let after: Body[] = [];
let beforeOnce: Body[] = [];
let afterOnce: Body[] = [];
let prefix: string[] = [];

/** Records a test of the block. */
export function it(name: string, body: Body): void {
  tests.push({ name: [...prefix, name].join(' > '), body });
}
export { it as test };

/** Records the tests of a group, their names prefixed with the group's. */
export function describe(name: string, body: () => void): void {
  prefix.push(name);
  try {
    body();
  } finally {
    prefix.pop();
  }
}

/** Records a hook run before each test. */
export function beforeEach(body: Body): void {
  before.push(body);
}

/** Records a hook run after each test, also when it failed. */
export function afterEach(body: Body): void {
  after.push(body);
}

/** Records a hook run once before the tests. */
export function beforeAll(body: Body): void {
  beforeOnce.push(body);
}

/** Records a hook run once after the tests. */
export function afterAll(body: Body): void {
  afterOnce.push(body);
}

/** Runs the tests recorded since the last call, with their hooks, and forgets them. Returns their names. */
export async function runRecorded(): Promise<string[]> {
  const recorded = { tests, before, after, beforeOnce, afterOnce };
  tests = [];
  before = [];
  after = [];
  beforeOnce = [];
  afterOnce = [];
  prefix = [];
  for (const hook of recorded.beforeOnce) await hook();
  try {
    for (const test of recorded.tests) {
      try {
        for (const hook of recorded.before) await hook();
        await test.body();
      } catch (error) {
        throw new Error(`docs test "${test.name}" failed: ${String(error)}`, { cause: error });
      } finally {
        for (const hook of recorded.after) await hook();
      }
    }
  } finally {
    for (const hook of recorded.afterOnce) await hook();
  }
  return recorded.tests.map((test) => test.name);
}
