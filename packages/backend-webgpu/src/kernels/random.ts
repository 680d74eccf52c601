// Philox4x32-10 in WGSL with 32-bit unsigned math only (the high half of a 32x32 product from
// 16-bit halves), mapping counters to values exactly as core's philoxFill does, so a seed gives the
// same stream here as on the CPU backend.
import type { KernelTensor, RandomDistribution } from '@kiln/core';
import { numel } from '@kiln/core';
import { type GpuBuffer, grid, type Runtime } from '../runtime.js';
import { binding, entry, FLOAT_PRELUDE, Params } from '../wgsl.js';

const PHILOX = /* wgsl */ `
fn mulhi_(a: u32, b: u32) -> u32 {
  let aHi = a >> 16u; let aLo = a & 0xffffu; let bHi = b >> 16u; let bLo = b & 0xffffu;
  let lo = aLo * bLo; let mid1 = aHi * bLo; let mid2 = aLo * bHi;
  let carry = ((lo >> 16u) + (mid1 & 0xffffu) + (mid2 & 0xffffu)) >> 16u;
  return aHi * bHi + (mid1 >> 16u) + (mid2 >> 16u) + carry;
}
fn philox_(c0: u32, c1: u32, k0: u32, k1: u32) -> vec2<u32> {
  var x0 = c0; var x1 = c1; var x2 = 0u; var x3 = 0u; var key0 = k0; var key1 = k1;
  for (var r = 0; r < 10; r++) {
    let hi0 = mulhi_(0xd2511f53u, x0); let lo0 = 0xd2511f53u * x0;
    let hi1 = mulhi_(0xcd9e8d57u, x2); let lo1 = 0xcd9e8d57u * x2;
    x0 = hi1 ^ x1 ^ key0; x1 = lo1; x2 = hi0 ^ x3 ^ key1; x3 = lo0;
    key0 = key0 + 0x9e3779b9u; key1 = key1 + 0xbb67ae85u;
  }
  return vec2<u32>(x0, x1);
}
`;

const TWO_POW_32 = 2 ** 32;

export function random(
  rt: Runtime,
  dist: RandomDistribution,
  key: readonly [number, number],
  offset: number,
  out: KernelTensor,
): void {
  const n = numel(out.shape);
  if (n === 0) return;
  const p = new Params();
  const total = p.int(n);
  const base = p.int(out.offset);
  const lo = p.int((offset % TWO_POW_32) | 0);
  const hi = p.int(Math.floor(offset / TWO_POW_32) | 0);
  const k0 = p.int(key[0] | 0);
  const k1 = p.int(key[1] | 0);
  const value =
    dist === 'uniform'
      ? 'f32(w.x >> 8u) * 5.9604644775390625e-8'
      : 'sqrt(-2.0 * log(f32((w.x >> 8u) + 1u) * 5.9604644775390625e-8)) * cos2pi_(f32(w.y >> 8u) * 5.9604644775390625e-8)';
  const code = `${p.decl()}${binding(1, 'out', 'f32', true)}${dist === 'normal' ? FLOAT_PRELUDE : ''}${PHILOX}${entry(256)}  if (i >= ${total}) { return; }
  let lo = bitcast<u32>(${lo}) + u32(i);
  let hi = bitcast<u32>(${hi}) + select(0u, 1u, lo < bitcast<u32>(${lo}));
  let w = philox_(lo, hi, bitcast<u32>(${k0}), bitcast<u32>(${k1}));
  out[${base} + i] = ${value};
}
`;
  rt.dispatch({
    key: code,
    code: () => code,
    buffers: [out.buffer as GpuBuffer],
    params: p.values,
    workgroups: grid(Math.ceil(n / 256)),
  });
}
