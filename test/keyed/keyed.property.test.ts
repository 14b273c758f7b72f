import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { circuitBreaker, type CircuitBreakerPolicy, keyed } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { deferred } from '../breaker/helpers.js';

type Step =
  | { op: 'start'; key: number }
  | { op: 'finish'; pick: number }
  | { op: 'advance'; ms: number }
  | { op: 'get'; key: number }
  | { op: 'delete'; key: number };

const steps: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({ op: fc.constant('start' as const), key: fc.integer({ min: 0, max: 7 }) }),
    },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('finish' as const), pick: fc.nat() }) },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 80 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant('get' as const), key: fc.integer({ min: 0, max: 7 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 7 }) }),
    },
  ),
  { maxLength: 80 },
);

describe('keyed properties', () => {
  it('keys in use are never evicted, memory stays bounded, idle keys expire', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 10, max: 200 }),
        steps,
        async (maxKeys, idleTtl, plan) => {
          const clock = new VirtualClock();
          const policy = keyed((_key: number) => circuitBreaker({ clock }), { maxKeys, idleTtl, clock });
          /** Calls in flight: key, the policy that ran it, how to finish it. */
          const inFlight: { key: number; ran: CircuitBreakerPolicy; finish: () => Promise<unknown> }[] = [];
          /** When each key was last used (a call started or finished, or get()). */
          const lastUsed = new Map<number, number>();
          const busy = (key: number) => inFlight.some((c) => c.key === key);
          const evictedBusy: unknown[] = [];
          policy.on('evict', ({ key }) => {
            if (busy(key as number)) evictedBusy.push(key);
          });
          for (const step of plan) {
            if (step.op === 'start') {
              const work = deferred();
              let ran: CircuitBreakerPolicy | undefined;
              const call = policy.execute(step.key, () => {
                ran = policy.get(step.key);
                return work.promise;
              });
              expect(ran).toBeDefined();
              lastUsed.set(step.key, clock.now());
              const key = step.key;
              inFlight.push({
                key,
                ran: ran!,
                finish: async () => {
                  work.resolve('ok');
                  await call;
                  await clock.settle();
                  lastUsed.set(key, clock.now());
                },
              });
            } else if (step.op === 'finish') {
              if (inFlight.length === 0) continue;
              const [call] = inFlight.splice(step.pick % inFlight.length, 1);
              await call!.finish();
            } else if (step.op === 'advance') {
              await clock.advance(step.ms);
            } else if (step.op === 'get') {
              policy.get(step.key);
              lastUsed.set(step.key, clock.now());
            } else {
              policy.delete(step.key);
              for (const call of inFlight) if (call.key === step.key) call.key = -1 - step.key;
            }
            // A key with a call in flight keeps the policy that call runs under.
            for (const call of inFlight) {
              if (call.key >= 0) {
                expect(policy.has(call.key)).toBe(true);
                expect(policy.get(call.key)).toBe(call.ran);
              }
            }
            expect(evictedBusy).toEqual([]);
            const busyKeys = new Set(inFlight.filter((c) => c.key >= 0).map((c) => c.key)).size;
            // Bounded: beyond maxKeys only by keys in use (plus one just fetched with get()).
            expect(policy.size).toBeLessThanOrEqual(Math.max(maxKeys, busyKeys + 1));
            // No idle key outlives idleTtl.
            for (const key of policy.keys()) {
              if (!busy(key)) expect(clock.now() - lastUsed.get(key)!).toBeLessThan(idleTtl);
            }
          }
          while (inFlight.length > 0) {
            await inFlight.shift()!.finish();
            expect(evictedBusy).toEqual([]);
          }
          expect(policy.size).toBeLessThanOrEqual(maxKeys);
        },
      ),
      { numRuns: 200 },
    );
  });
});
