// The data pipeline's own seeded generator, so that data order is reproducible independently of
// core's global RNG (`k.manualSeed` drives model initialisation and dropout; shuffling must not
// shift when a model draws one more random number, and vice versa).
//
// Algorithm: PCG32 (PCG-XSH-RR with 64-bit state and 32-bit output), M. E. O'Neill, "PCG: A Family
// of Simple Fast Space-Efficient Statistically Good Algorithms for Random Number Generation" (2014),
// exactly as `pcg32_srandom_r` / `pcg32_random_r` / `pcg32_boundedrand_r` in the reference
// pcg-c-basic code. A generator is named by (seed, stream): each odd increment `2 * stream + 1`
// selects one of 2^63 distinct sequences. The 64-bit state is held as two 32-bit halves so the
// hot path needs no BigInt. Tests compare against the reference implementation's demo output.

const TWO_32 = 4294967296;
// The LCG multiplier 6364136223846793005 = 0x5851f42d_4c957f2d.
const MUL_HI = 0x5851f42d;
const MUL_LO = 0x4c957f2d;

/** Non-negative integers below 2^64 (numbers must be safe integers). */
export type Seed = number | bigint;

function splitSeed(what: string, value: Seed): [hi: number, lo: number] {
  if (typeof value === 'bigint') {
    const v = BigInt.asUintN(64, value);
    if (v !== value) throw new RangeError(`Random: ${what} must be in [0, 2^64) (got ${value})`);
    return [Number(v >> 32n), Number(v & 0xffffffffn)];
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Random: ${what} must be a non-negative safe integer or a bigint (got ${value})`);
  }
  return [Math.floor(value / TWO_32), value >>> 0];
}

/** A seed drawn from the platform's entropy source (53 bits, so it prints and round-trips as a number). */
export function randomSeed(): number {
  const words = new Uint32Array(2);
  globalThis.crypto.getRandomValues(words);
  return (words[0] & 0x1fffff) * TWO_32 + words[1];
}

export class Random {
  /** The seed and stream this generator started from (for logging and reproduction). */
  readonly seed: Seed;
  readonly stream: Seed;
  private hi = 0;
  private lo = 0;
  private readonly incHi: number;
  private readonly incLo: number;

  constructor(seed: Seed = randomSeed(), stream: Seed = 0) {
    this.seed = seed;
    this.stream = stream;
    const [seedHi, seedLo] = splitSeed('seed', seed);
    const [streamHi, streamLo] = splitSeed('stream', stream);
    // inc = (stream << 1) | 1, modulo 2^64.
    this.incHi = ((streamHi << 1) | (streamLo >>> 31)) >>> 0;
    this.incLo = ((streamLo << 1) | 1) >>> 0;
    // pcg32_srandom_r: state = 0; step; state += seed; step.
    this.step();
    this.add(seedHi, seedLo);
    this.step();
  }

  /** The next 32-bit output, in [0, 2^32). */
  nextUint32(): number {
    const hi = this.hi;
    const lo = this.lo;
    this.step();
    // XSH-RR output of the old state: xorshifted = ((s >> 18) ^ s) >> 27 (low 32 bits), rot = s >> 59.
    const xHi = hi ^ (hi >>> 18);
    const xLo = lo ^ ((lo >>> 18) | (hi << 14));
    const xorshifted = ((xLo >>> 27) | (xHi << 5)) >>> 0;
    const rot = hi >>> 27;
    return ((xorshifted >>> rot) | (xorshifted << (-rot & 31))) >>> 0;
  }

  /** A uniform float in [0, 1) with 32 random bits. */
  float(): number {
    return this.nextUint32() / TWO_32;
  }

  /** A uniform integer in [0, bound), without modulo bias (pcg32_boundedrand_r's rejection rule). */
  int(bound: number): number {
    if (!Number.isInteger(bound) || bound < 1 || bound > TWO_32) {
      throw new RangeError(`Random.int: bound must be an integer in [1, 2^32] (got ${bound})`);
    }
    // threshold = 2^32 mod bound: outputs below it would make small results more likely.
    const threshold = TWO_32 % bound;
    for (;;) {
      const r = this.nextUint32();
      if (r >= threshold) return r % bound;
    }
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.float() < p;
  }

  /** Shuffles `items` in place (Fisher-Yates, drawing from the top as pcg32-demo's card shuffle does). */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length; i > 1; i--) {
      const j = this.int(i);
      const t = items[j];
      items[j] = items[i - 1];
      items[i - 1] = t;
    }
    return items;
  }

  /** A uniformly random permutation of 0 .. n-1. */
  permutation(n: number): number[] {
    if (!Number.isInteger(n) || n < 0)
      throw new RangeError(`Random.permutation: n must be a non-negative integer (got ${n})`);
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  /** state = state * MUL + inc (mod 2^64). */
  private step(): void {
    const aLo = this.lo;
    // Low 64 bits of aLo * MUL_LO from 16-bit limbs (each partial product is exact in a double).
    const a0 = aLo & 0xffff;
    const a1 = aLo >>> 16;
    const b0 = MUL_LO & 0xffff;
    const b1 = MUL_LO >>> 16;
    const p00 = a0 * b0;
    const p01 = a0 * b1;
    const p10 = a1 * b0;
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    const lo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
    const carry = a1 * b1 + Math.floor(p01 / 65536) + Math.floor(p10 / 65536) + Math.floor(mid / 65536);
    const hi = (carry + Math.imul(this.hi, MUL_LO) + Math.imul(aLo, MUL_HI)) >>> 0;
    this.hi = hi;
    this.lo = lo;
    this.add(this.incHi, this.incLo);
  }

  private add(hi: number, lo: number): void {
    const sumLo = this.lo + lo;
    this.lo = sumLo >>> 0;
    this.hi = (this.hi + hi + (sumLo >= TWO_32 ? 1 : 0)) >>> 0;
  }
}

/**
 * The generator for one epoch of a seeded shuffle: PCG32 with the user's seed and stream = epoch.
 * Every epoch thus gets its own sequence, fixed by (seed, epoch) alone, so resuming at epoch e
 * reproduces epoch e's order without replaying the earlier ones.
 */
export function epochRandom(seed: Seed, epoch: number): Random {
  return new Random(seed, epoch);
}
