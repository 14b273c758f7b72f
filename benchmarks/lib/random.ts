/**
 * Seeded randomness for simulations: the same seed gives the same run, so a
 * table in the docs can be reproduced exactly.
 */

/** A source of numbers in [0, 1), as `Math.random`. */
export type Random = () => number;

/** mulberry32: a tiny, fast 32-bit PRNG, good enough for simulations (not for cryptography). */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** An exponential variate with the given mean (inter-arrival times of a Poisson process). */
export function exponential(random: Random, mean: number): number {
  return -mean * Math.log(1 - random());
}

/** A log-normal variate with the given median and shape `sigma` (service times). */
export function logNormal(random: Random, median: number, sigma: number): number {
  // Box–Muller; 1 - u keeps the logarithm's argument in (0, 1].
  const u = 1 - random();
  const v = random();
  const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return median * Math.exp(sigma * normal);
}
