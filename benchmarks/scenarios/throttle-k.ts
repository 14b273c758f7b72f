/**
 * The `k` trade-off of client-side throttling, in virtual time: a client
 * sends one request per millisecond for 20 s to a backend that accepts one
 * request per 10 ms and refuses the rest at once (10× overload). For each k:
 * requests that reached the backend, accepted ones, the ratio between them
 * (≈ k), calls shed locally, and accepted calls as a share of what the
 * backend could have taken.
 *
 *   npx tsx benchmarks/scenarios/throttle-k.ts
 *
 * Seeded (SEED=n to change it): the same command prints the same table.
 */
import { ThrottledError, throttle } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { mulberry32 } from '../lib/random.js';
import { table } from '../lib/table.js';

const DURATION = 20_000;
const BACKEND_INTERVAL = 10;

async function run(k: number | undefined, seed: number): Promise<string[]> {
  const clock = new VirtualClock({ settleRounds: 5 });
  const client = k === undefined ? undefined : throttle({ k, clock, random: mulberry32(seed) });
  let freeAt = 0;
  let sent = 0;
  let accepted = 0;
  let shed = 0;
  const backend = async () => {
    sent += 1;
    if (clock.now() < freeAt) throw new Error('503 Service Unavailable');
    freeAt = clock.now() + BACKEND_INTERVAL;
    return 'ok';
  };
  for (let ms = 0; ms < DURATION; ms++) {
    await (client === undefined ? backend() : client.execute(backend)).then(
      () => {
        accepted += 1;
      },
      (error: unknown) => {
        if (error instanceof ThrottledError) shed += 1;
      },
    );
    await clock.advance(1);
  }
  const capacity = DURATION / BACKEND_INTERVAL;
  return [
    k === undefined ? 'no throttle' : `k = ${k}`,
    String(sent),
    String(accepted),
    (sent / accepted).toFixed(2),
    String(shed),
    `${Math.round((100 * accepted) / capacity)} %`,
  ];
}

const seed = Number(process.env.SEED ?? 1);
const rows: string[][] = [];
for (const k of [undefined, 1.1, 1.5, 2, 3, 5]) rows.push(await run(k, seed));
console.log(
  table(['client', 'sent to backend', 'accepted', 'sent / accepted', 'shed locally', 'goodput'], rows),
);
