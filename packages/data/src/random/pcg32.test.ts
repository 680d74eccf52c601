import { describe, expect, it } from 'vitest';
import { epochRandom, Random } from './pcg32.js';
// Made by scripts/pcg32-reference.c: O'Neill's pcg-c-basic reference code and the first round of
// its pcg32-demo program. The same values are printed in pcg-c-basic's published demo output.
import reference from './pcg32.reference.json' with { type: 'json' };

describe('Random (PCG32)', () => {
  it('reproduces the reference outputs for seed 42, stream 54', () => {
    const rng = new Random(reference.seed, reference.stream);
    expect(Array.from({ length: 6 }, () => rng.nextUint32())).toEqual(reference.outputs);
  });

  it('reproduces the reference bounded draws: coins, dice, and the Fisher-Yates card shuffle', () => {
    const rng = new Random(42, 54);
    for (let i = 0; i < 6; i++) rng.nextUint32();
    const coins = Array.from({ length: 65 }, () => (rng.int(2) ? 'H' : 'T')).join('');
    expect(coins).toBe(reference.coins);
    expect(Array.from({ length: 33 }, () => rng.int(6) + 1)).toEqual(reference.rolls);
    const deck = rng.permutation(52);
    const cards = deck.map((c) => 'A23456789TJQK'[Math.floor(c / 4)] + 'hcds'[c % 4]).join(' ');
    expect(cards).toBe(reference.cards);
  });

  it('uses all 64 bits of seed and stream (numbers and bigints agree)', () => {
    const { seed, stream, outputs } = reference.bigSeed;
    const a = new Random(seed, stream);
    const b = new Random(BigInt(seed), BigInt(stream));
    expect(Array.from({ length: 4 }, () => a.nextUint32())).toEqual(outputs);
    expect(Array.from({ length: 4 }, () => b.nextUint32())).toEqual(outputs);
  });

  it('gives each epoch its own stream, fixed by (seed, epoch) alone', () => {
    expect(epochRandom(7, 3).permutation(20)).toEqual(epochRandom(7, 3).permutation(20));
    expect(epochRandom(7, 3).permutation(20)).not.toEqual(epochRandom(7, 4).permutation(20));
    expect(epochRandom(7, 3).permutation(20)).not.toEqual(epochRandom(8, 3).permutation(20));
  });

  it('draws permutations uniformly (chi-square over where element 0 lands)', () => {
    // 5 positions, 5000 permutations: chi-square with 4 degrees of freedom; 18.47 is the 0.999 quantile.
    const counts = new Array(5).fill(0);
    for (let e = 0; e < 5000; e++) counts[epochRandom(1, e).permutation(5).indexOf(0)]++;
    const chi2 = counts.reduce((s, c) => s + (c - 1000) ** 2 / 1000, 0);
    expect(chi2).toBeLessThan(18.47);
  });

  it('rejects seeds that are not non-negative integers below 2^64', () => {
    expect(() => new Random(-1)).toThrow(/seed must be a non-negative safe integer/);
    expect(() => new Random(1.5)).toThrow(/seed must be a non-negative safe integer/);
    expect(() => new Random(1n << 64n)).toThrow(/seed must be in \[0, 2\^64\)/);
    expect(() => new Random(1).int(0)).toThrow(/bound must be an integer in \[1, 2\^32\]/);
  });

  it('floats lie in [0, 1)', () => {
    const rng = new Random(3);
    for (let i = 0; i < 1000; i++) {
      const x = rng.float();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });
});
