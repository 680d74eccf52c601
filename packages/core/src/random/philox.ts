// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), the
// counter-based generator behind manualSeed. Every backend implements exactly this mapping, so the
// same seed gives the same stream on CPU, WebGPU and CUDA:
//   element i of a draw at generator offset `o` uses counter (lo = (o + i) mod 2^32, hi = floor((o + i) / 2^32), 0, 0)
//   and key (seed mod 2^32, floor(seed / 2^32) mod 2^32); x0..x3 are the four output words.
//   uniform: (x0 >>> 8) * 2^-24, in [0, 1)
//   normal:  u1 = ((x0 >>> 8) + 1) * 2^-24 (in (0, 1]), u2 = (x1 >>> 8) * 2^-24,
//            z = sqrt(-2 ln u1) * cos(2 pi u2)   (Box-Muller)

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32s. */
function mulhi(a: number, b: number): number {
  const aHi = a >>> 16;
  const aLo = a & 0xffff;
  const bHi = b >>> 16;
  const bLo = b & 0xffff;
  const lo = aLo * bLo;
  const mid1 = aHi * bLo;
  const mid2 = aLo * bHi;
  const carry = ((lo >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16;
  return (aHi * bHi + (mid1 >>> 16) + (mid2 >>> 16) + carry) >>> 0;
}

/** Philox4x32-10 of counter (c0, c1, c2, c3) under key (k0, k1), into `out`. */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
): void {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = c2 >>> 0;
  let x3 = c3 >>> 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi(M0, x0);
    const lo0 = Math.imul(M0, x0) >>> 0;
    const hi1 = mulhi(M1, x2);
    const lo1 = Math.imul(M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ key0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ key1) >>> 0;
    x3 = lo0;
    key0 = (key0 + W0) >>> 0;
    key1 = (key1 + W1) >>> 0;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
}

const TWO_POW_M24 = 2 ** -24;
const TWO_POW_32 = 2 ** 32;

/** Fills `out` with the uniform or normal stream at generator offset `offset` (see header). */
export function philoxFill(
  dist: 'uniform' | 'normal',
  key: readonly [number, number],
  offset: number,
  out: { length: number; [i: number]: number },
): void {
  const words = new Uint32Array(4);
  for (let i = 0; i < out.length; i++) {
    const c = offset + i;
    philox4x32(c % TWO_POW_32, Math.floor(c / TWO_POW_32), 0, 0, key[0], key[1], words);
    if (dist === 'uniform') {
      out[i] = (words[0] >>> 8) * TWO_POW_M24;
    } else {
      const u1 = ((words[0] >>> 8) + 1) * TWO_POW_M24;
      const u2 = (words[1] >>> 8) * TWO_POW_M24;
      out[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
  }
}
