// Batched matmul [B, M, K] x [B, K, N] with register tiling: a 16x16 workgroup computes a 64x64
// tile of the output, each invocation a 4x4 block held in four vec4 accumulators. Each K step of
// 16 stages A and B tiles in workgroup memory as vec4s (four rows of A, four columns of B), so the
// inner loop is four vec4 multiply-adds per pair of vec4 loads. Operands are read through their
// strides: transposed and batch-broadcast operands are never materialised.
import type { KernelTensor } from '@kiln/core';
import type { GpuBuffer, Runtime } from '../runtime.js';
import { binding, Params, wordOf } from '../wgsl.js';

const TILE = 64;
const TK = 16;

export function matmul(rt: Runtime, a: KernelTensor, b: KernelTensor, out: KernelTensor): void {
  const [batch, m, k] = a.shape;
  const n = b.shape[2];
  if (batch === 0 || m === 0 || n === 0) return;
  const w = wordOf(out.dtype);
  const p = new Params();
  const [M, N, K] = p.ints([m, n, k]);
  const [ao, asb, asm, ask] = p.ints([a.offset, ...a.strides]);
  const [bo, bsb, bsk, bsn] = p.ints([b.offset, ...b.strides]);
  const [oo, osb, osm, osn] = p.ints([out.offset, ...out.strides]);
  const zero = w === 'f32' ? '0.0' : '0';
  const code = `${p.decl()}${binding(1, 'a', w, false)}${binding(2, 'b', w, false)}${binding(3, 'out', w, true)}
var<workgroup> As: array<vec4<${w}>, ${TK * 16}>;
var<workgroup> Bs: array<vec4<${w}>, ${TK * 16}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = i32(lid.x);
  let ty = i32(lid.y);
  let t = ty * 16 + tx;
  let bi = i32(wid.z);
  let m0 = i32(wid.y) * ${TILE};
  let n0 = i32(wid.x) * ${TILE};
  let aBase = ${ao} + bi * ${asb};
  let bBase = ${bo} + bi * ${bsb};
  var acc0 = vec4<${w}>(${zero});
  var acc1 = vec4<${w}>(${zero});
  var acc2 = vec4<${w}>(${zero});
  var acc3 = vec4<${w}>(${zero});
  let lk = t / 16;
  let lq = (t % 16) * 4;
  for (var k0 = 0; k0 < ${K}; k0 += ${TK}) {
    let kk = k0 + lk;
    var av = vec4<${w}>(${zero});
    var bv = vec4<${w}>(${zero});
    if (kk < ${K}) {
      for (var j = 0; j < 4; j++) {
        let mm = m0 + lq + j;
        if (mm < ${M}) { av[j] = a[aBase + mm * ${asm} + kk * ${ask}]; }
        let nn = n0 + lq + j;
        if (nn < ${N}) { bv[j] = b[bBase + kk * ${bsk} + nn * ${bsn}]; }
      }
    }
    As[t] = av;
    Bs[t] = bv;
    workgroupBarrier();
    for (var q = 0; q < ${TK}; q++) {
      let a4 = As[q * 16 + ty];
      let b4 = Bs[q * 16 + tx];
      acc0 += a4.x * b4;
      acc1 += a4.y * b4;
      acc2 += a4.z * b4;
      acc3 += a4.w * b4;
    }
    workgroupBarrier();
  }
  let oBase = ${oo} + bi * ${osb};
  let rows = array<vec4<${w}>, 4>(acc0, acc1, acc2, acc3);
  for (var r = 0; r < 4; r++) {
    let mm = m0 + ty * 4 + r;
    if (mm >= ${M}) { break; }
    for (var c = 0; c < 4; c++) {
      let nn = n0 + tx * 4 + c;
      if (nn < ${N}) { out[oBase + mm * ${osm} + nn * ${osn}] = rows[r][c]; }
    }
  }
}
`;
  if (batch > 65535) throw new RangeError(`webgpu: matmul batch ${batch} exceeds 65535`);
  rt.dispatch({
    key: code,
    code: () => code,
    buffers: [a.buffer as GpuBuffer, b.buffer as GpuBuffer, out.buffer as GpuBuffer],
    params: p.values,
    workgroups: [Math.ceil(n / TILE), Math.ceil(m / TILE), batch],
  });
}
