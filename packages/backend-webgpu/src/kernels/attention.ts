// Fused scaled-dot-product attention forward, FlashAttention-style: a workgroup takes QB query rows
// of one (batch, head), one per invocation, and streams the keys in tiles of KT staged through
// workgroup memory (shared by all its queries). Each invocation keeps an online softmax (running
// max m and sum l, its output accumulator rescaled by exp(m_old - m_new)), so no [L, S] score
// matrix is written and each key and value is read once per workgroup.
import type { KernelTensor } from '@kiln/core';
import { finfo } from '@kiln/core';
import { type GpuBuffer, grid, type Runtime } from '../runtime.js';
import { binding, entry, FLOAT_PRELUDE, Params } from '../wgsl.js';
import { storeAs } from './elementwise.js';

/** Query rows per workgroup (one per invocation). */
const QB = 64;
/** Keys per tile. */
const KT = 16;
/** Head dims of q . k per staged key tile (KT x EK). */
const EK = 16;
/** Output dims per pass over the keys (the private accumulator; the value tile is KT x DV). */
const DV = 64;

/**
 * out = softmax(q k^T * scale, masked) v and lse = m + log(l) per query row
 * (FusedKernels.attention). Per tile of KT keys: the scores are summed over E in steps of EK dims
 * (the KT x EK key slice staged in workgroup memory), the tile's weights folded into m and l, and
 * the KT x DV value slice staged and accumulated. Ev beyond DV takes further passes over the keys,
 * so any E and Ev run in the same pipeline.
 *
 * Masked scores are the dtype's most negative finite value, as in core's composite, and the
 * running max starts there. With `causal` and no mask, keys after the workgroup's last query's
 * limit are skipped: their weights exp(lowest - m) are exactly 0, since every such row has an
 * allowed key.
 */
export function attention(
  rt: Runtime,
  q: KernelTensor,
  k: KernelTensor,
  v: KernelTensor,
  mask: KernelTensor | null,
  scale: number,
  causal: boolean,
  out: KernelTensor,
  lse: KernelTensor,
): void {
  const [b, h, l, e] = q.shape;
  const s = k.shape[2];
  const ev = v.shape[3];
  if (b * h * l === 0 || s === 0) return;
  const blocks = Math.ceil(l / QB);
  const p = new Params();
  const [BH, NB, H, L, S, E, EV, passes, qo, ko, vo, oo, lo] = p.ints([
    b * h,
    blocks,
    h,
    l,
    s,
    e,
    ev,
    Math.max(1, Math.ceil(ev / DV)),
    q.offset,
    k.offset,
    v.offset,
    out.offset,
    lse.offset,
  ]);
  const sc = p.float(scale);
  const lowest = p.float(finfo(q.dtype).min);
  const buffers = [q, k, v, out, lse];
  let decls =
    binding(1, 'q', 'f32', false) +
    binding(2, 'k', 'f32', false) +
    binding(3, 'v', 'f32', false) +
    binding(4, 'out', 'f32', true) +
    binding(5, 'lse', 'f32', true);
  const allowed: string[] = [];
  let rowSetup = '';
  if (mask) {
    const [mo, m0, m1, m2, m3] = p.ints([mask.offset, ...mask.strides]);
    decls += binding(6, 'mk', 'i32', false);
    buffers.push(mask);
    rowSetup = `  let mrow = ${mo} + bi * ${m0} + hi * ${m1} + qi * ${m2};\n`;
    allowed.push(`mk[mrow + jj * ${m3}] != 0`);
  }
  if (causal) allowed.push(`jj <= qi + ${S} - ${L}`);
  const keyEnd = causal && !mask ? `min(${S}, min(i0 + ${QB}, ${L}) + ${S} - ${L})` : S;
  const applyMask = allowed.length ? `            if (!(${allowed.join(' && ')})) { x = ${lowest}; }\n` : '';
  const code = `${p.decl()}${decls}${FLOAT_PRELUDE}
var<workgroup> ks: array<f32, ${KT * EK}>;
var<workgroup> vs: array<f32, ${KT * DV}>;
${entry(QB)}  if (wg >= ${BH} * ${NB}) { return; }
  let bh = wg / ${NB};
  let i0 = (wg % ${NB}) * ${QB};
  let qi = i0 + i32(lid);
  let live = qi < ${L};
  let hi = bh % ${H};
  let bi = bh / ${H};
  let row = bh * ${L} + qi;
  let qb = ${qo} + row * ${E};
  let kb = ${ko} + bh * ${S} * ${E};
  let vb = ${vo} + bh * ${S} * ${EV};
${rowSetup}  let kend = ${keyEnd};
  for (var chunk = 0; chunk < ${passes}; chunk++) {
    let d0 = chunk * ${DV};
    let dv = min(${DV}, ${EV} - d0);
    var m = ${lowest};
    var l = 0.0;
    // Explicit initialisers: SwiftShader does not re-zero a loop-scoped var declared without one.
    var acc = array<f32, ${DV}>();
    for (var j0 = 0; j0 < kend; j0 += ${KT}) {
      var w = array<f32, ${KT}>();
      for (var e0 = 0; e0 < ${E}; e0 += ${EK}) {
        for (var t = i32(lid); t < ${KT * EK}; t += ${QB}) {
          let jj = j0 + t / ${EK};
          let ee = e0 + t % ${EK};
          var kv = 0.0;
          if (jj < kend && ee < ${E}) { kv = k[kb + jj * ${E} + ee]; }
          ks[t] = kv;
        }
        workgroupBarrier();
        if (live) {
          for (var c = 0; c < min(${EK}, ${E} - e0); c++) {
            let qv = q[qb + e0 + c];
            for (var j = 0; j < ${KT}; j++) { w[j] += qv * ks[j * ${EK} + c]; }
          }
        }
        workgroupBarrier();
      }
      // Scores -> weights exp(score - m_new); keys past kend weigh 0.
      var alpha = 1.0;
      if (live) {
        var mn = m;
        for (var j = 0; j < ${KT}; j++) {
          let jj = j0 + j;
          if (jj < kend) {
            var x = w[j] * ${sc};
${applyMask}            w[j] = x;
            mn = max_(mn, x);
          }
        }
        alpha = exp(m - mn);
        l *= alpha;
        for (var j = 0; j < ${KT}; j++) {
          var pj = 0.0;
          if (j0 + j < kend) { pj = exp(w[j] - mn); }
          w[j] = pj;
          l += pj;
        }
        m = mn;
      }
      for (var t = i32(lid); t < ${KT * DV}; t += ${QB}) {
        let jj = j0 + t / ${DV};
        let d = t % ${DV};
        var vv = 0.0;
        if (jj < kend && d < dv) { vv = v[vb + jj * ${EV} + d0 + d]; }
        vs[t] = vv;
      }
      workgroupBarrier();
      if (live) {
        for (var d = 0; d < dv; d++) {
          var a = acc[d] * alpha;
          for (var j = 0; j < ${KT}; j++) { a += w[j] * vs[j * ${DV} + d]; }
          acc[d] = a;
        }
      }
      workgroupBarrier();
    }
    if (live) {
      let rowLse = m + log(l);
      // The weights are exp(s_j - m) / l: a query whose keys are all masked (every score the most
      // negative float) weighs them equally, as core's composite does.
      let inv = 1.0 / l;
      let ob = ${oo} + row * ${EV} + d0;
      for (var d = 0; d < dv; d++) { out[ob + d] = ${storeAs(out.dtype, ['acc[d] * inv', 'f32'])}; }
      if (chunk == 0) { lse[${lo} + row] = ${storeAs(lse.dtype, ['rowLse', 'f32'])}; }
    }
  }
}
`;
  rt.dispatch({
    key: code,
    code: () => code,
    buffers: buffers.map((t) => t.buffer as GpuBuffer),
    params: p.values,
    workgroups: grid(b * h * blocks),
  });
}
