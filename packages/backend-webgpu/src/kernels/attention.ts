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
 * WGSL: `var acc = array<f32, rows>()` and, for each row r of a tile, acc[r] += the dot product of
 * `own(e)` (this invocation's row) with row r of the source over `width` dims. The tile's rows are
 * staged EK dims at a time through workgroup array `tile` by the workgroup's `threads`
 * invocations; rows failing `rowValid` read as 0. Expects `lid` and `live` in scope.
 */
function tileDots(o: {
  acc: string;
  tile: string;
  rows: number;
  threads: number;
  width: string;
  rowValid: (r: string) => string;
  srcAt: (r: string, e: string) => string;
  own: (e: string) => string;
}): string {
  return `      var ${o.acc} = array<f32, ${o.rows}>();
      for (var e0 = 0; e0 < ${o.width}; e0 += ${EK}) {
        for (var t = i32(lid); t < ${o.rows * EK}; t += ${o.threads}) {
          let r_ = t / ${EK};
          let e_ = e0 + t % ${EK};
          var x_ = 0.0;
          if (${o.rowValid('r_')} && e_ < ${o.width}) { x_ = ${o.srcAt('r_', 'e_')}; }
          ${o.tile}[t] = x_;
        }
        workgroupBarrier();
        if (live) {
          for (var c = 0; c < min(${EK}, ${o.width} - e0); c++) {
            let own_ = ${o.own('e0 + c')};
            for (var r = 0; r < ${o.rows}; r++) { ${o.acc}[r] += own_ * ${o.tile}[r * ${EK} + c]; }
          }
        }
        workgroupBarrier();
      }
`;
}

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
  // q . k for each key of the tile, over E.
  const scores = tileDots({
    acc: 'w',
    tile: 'ks',
    rows: KT,
    threads: QB,
    width: E,
    rowValid: (r) => `j0 + ${r} < kend`,
    srcAt: (r, e) => `k[kb + (j0 + ${r}) * ${E} + ${e}]`,
    own: (e) => `q[qb + ${e}]`,
  });
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
${scores}      // Scores -> weights exp(score - m_new); keys past kend weigh 0.
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

/** Keys per workgroup of the dK / dV kernel (one per invocation). */
const KB = 64;
/** Queries per staged tile in the dK / dV kernel. */
const QT = 16;

/**
 * The attention backward (FusedKernels.attentionBackward), FlashAttention-2's scheme in three
 * kernels, none of which writes an [L, S] matrix:
 * 1. per query row, stats = (lse, delta = rowsum(dO * out)), interleaved in one scratch buffer;
 * 2. dQ: a workgroup of QB queries streams the keys in tiles of KT (like the forward), recomputes
 *    P = exp(scores - lse) and dS = P * (dO v^T - delta) * scale, and accumulates dS K;
 * 3. dK and dV: a workgroup of KB keys streams the queries in tiles of QT and accumulates
 *    dV += P^T dO and dK += dS^T Q.
 * Every score is recomputed twice (once per side) instead of being kept. Head dims beyond DV take
 * further passes, as in the forward. A query whose keys are all masked (lse equal to the lowest
 * float) weighs each of the S keys 1 / S, as the forward does.
 */
export function attentionBackward(
  rt: Runtime,
  gradOut: KernelTensor,
  q: KernelTensor,
  k: KernelTensor,
  v: KernelTensor,
  mask: KernelTensor | null,
  scale: number,
  causal: boolean,
  out: KernelTensor,
  lse: KernelTensor,
  gradQ: KernelTensor | null,
  gradK: KernelTensor | null,
  gradV: KernelTensor | null,
): void {
  const [b, h, l] = q.shape;
  const s = k.shape[2];
  const ev = v.shape[3];
  const rows = b * h * l;
  if (rows === 0 || s === 0) return;
  const stats = rt.alloc(rows * 2 * 4);

  const p = new Params();
  const [R, EV, go, oo, lo] = p.ints([rows, ev, gradOut.offset, out.offset, lse.offset]);
  const statsCode = `${p.decl()}${binding(1, 'g', 'f32', false)}${binding(2, 'o', 'f32', false)}${binding(3, 'lse', 'f32', false)}${binding(4, 'st', 'f32', true)}${entry(64)}  if (i >= ${R}) { return; }
  var delta = 0.0;
  for (var d = 0; d < ${EV}; d++) { delta += g[${go} + i * ${EV} + d] * o[${oo} + i * ${EV} + d]; }
  st[2 * i] = lse[${lo} + i];
  st[2 * i + 1] = delta;
}
`;
  rt.dispatch({
    key: statsCode,
    code: () => statsCode,
    buffers: [gradOut.buffer as GpuBuffer, out.buffer as GpuBuffer, lse.buffer as GpuBuffer, stats],
    params: p.values,
    workgroups: grid(Math.ceil(rows / 64)),
  });
  if (gradQ) attentionGradQ(rt, gradOut, q, k, v, mask, scale, causal, stats, gradQ);
  if (gradK || gradV) attentionGradKV(rt, gradOut, q, k, v, mask, scale, causal, stats, gradK, gradV);
  rt.free(stats);
}

/** Shapes, offsets and the masking of one (query `qi`, key `jj`) pair, shared by both sides. */
function backwardSetup(
  p: Params,
  q: KernelTensor,
  k: KernelTensor,
  v: KernelTensor,
  mask: KernelTensor | null,
  causal: boolean,
) {
  const [b, h, l, e] = q.shape;
  const s = k.shape[2];
  const ev = v.shape[3];
  const [H, L, S, E, EV, qo, ko, vo] = p.ints([h, l, s, e, ev, q.offset, k.offset, v.offset]);
  const allowed: string[] = [];
  let maskRow = '';
  if (mask) {
    const [mo, m0, m1, m2, m3] = p.ints([mask.offset, ...mask.strides]);
    maskRow = `${mo} + bi * ${m0} + hi * ${m1} + qi * ${m2}`;
    allowed.push(`mk[${maskRow} + jj * ${m3}] != 0`);
  }
  if (causal) allowed.push(`jj <= qi + ${S} - ${L}`);
  return {
    b,
    h,
    l,
    s,
    e,
    ev,
    H,
    L,
    S,
    E,
    EV,
    qo,
    ko,
    vo,
    allowed: allowed.length ? allowed.join(' && ') : 'true',
  };
}

function attentionGradQ(
  rt: Runtime,
  gradOut: KernelTensor,
  q: KernelTensor,
  k: KernelTensor,
  v: KernelTensor,
  mask: KernelTensor | null,
  scale: number,
  causal: boolean,
  stats: GpuBuffer,
  gradQ: KernelTensor,
): void {
  const p = new Params();
  const c = backwardSetup(p, q, k, v, mask, causal);
  const { H, L, S, E, EV, qo, ko, vo } = c;
  const blocks = Math.ceil(c.l / QB);
  const [BH, NB, passes, go, gqo] = p.ints([
    c.b * c.h,
    blocks,
    Math.ceil(c.e / DV),
    gradOut.offset,
    gradQ.offset,
  ]);
  const sc = p.float(scale);
  const lowest = p.float(finfo(q.dtype).min);
  const buffers = [gradOut, q, k, v].map((t) => t.buffer as GpuBuffer);
  buffers.push(stats, gradQ.buffer as GpuBuffer);
  let decls =
    binding(1, 'g', 'f32', false) +
    binding(2, 'q', 'f32', false) +
    binding(3, 'k', 'f32', false) +
    binding(4, 'v', 'f32', false) +
    binding(5, 'st', 'f32', false) +
    binding(6, 'gq', 'f32', true);
  if (mask) {
    decls += binding(7, 'mk', 'i32', false);
    buffers.push(mask.buffer as GpuBuffer);
  }
  // As in the forward: with causal and no mask, keys past the block's last query's limit weigh 0.
  const keyEnd = causal && !mask ? `min(${S}, min(i0 + ${QB}, ${L}) + ${S} - ${L})` : S;
  // Dot products of this query (`own`) with each key row of the tile starting at j0.
  const keyTile = (
    acc: string,
    width: string,
    srcAt: (r: string, e: string) => string,
    own: (e: string) => string,
  ) =>
    tileDots({
      acc,
      tile: 'ks',
      rows: KT,
      threads: QB,
      width,
      rowValid: (r) => `j0 + ${r} < kend`,
      srcAt,
      own,
    });
  const code = `${p.decl()}${decls}
var<workgroup> ks: array<f32, ${KT * EK}>;
var<workgroup> kd: array<f32, ${KT * DV}>;
${entry(QB)}  if (wg >= ${BH} * ${NB}) { return; }
  let bh = wg / ${NB};
  let i0 = (wg % ${NB}) * ${QB};
  let qi = i0 + i32(lid);
  let live = qi < ${L};
  let hi = bh % ${H};
  let bi = bh / ${H};
  let row = bh * ${L} + qi;
  let qb = ${qo} + row * ${E};
  let gb = ${go} + row * ${EV};
  let kb = ${ko} + bh * ${S} * ${E};
  let vb = ${vo} + bh * ${S} * ${EV};
  var rowLse = 0.0;
  var delta = 0.0;
  if (live) { rowLse = st[2 * row]; delta = st[2 * row + 1]; }
  let allMasked = rowLse == ${lowest};
  let kend = ${keyEnd};
  for (var ps = 0; ps < ${passes}; ps++) {
    let d0 = ps * ${DV};
    let dd = min(${DV}, ${E} - d0);
    var acc = array<f32, ${DV}>();
    for (var j0 = 0; j0 < kend; j0 += ${KT}) {
${keyTile(
  'w',
  E,
  (r, e) => `k[kb + (j0 + ${r}) * ${E} + ${e}]`,
  (e) => `q[qb + ${e}]`,
)}${keyTile(
  'dp',
  EV,
  (r, e) => `v[vb + (j0 + ${r}) * ${EV} + ${e}]`,
  (e) => `g[gb + ${e}]`,
)}      if (live) {
        for (var j = 0; j < ${KT}; j++) {
          let jj = j0 + j;
          var ds = 0.0;
          if (jj < kend) {
            var x = w[j] * ${sc};
            if (!(${c.allowed})) { x = ${lowest}; }
            let pj = select(exp(x - rowLse), 1.0 / f32(${S}), allMasked);
            ds = pj * (dp[j] - delta) * ${sc};
          }
          w[j] = ds;
        }
      }
      for (var t = i32(lid); t < ${KT * DV}; t += ${QB}) {
        let jj = j0 + t / ${DV};
        let d = t % ${DV};
        var x = 0.0;
        if (jj < kend && d < dd) { x = k[kb + jj * ${E} + d0 + d]; }
        kd[t] = x;
      }
      workgroupBarrier();
      if (live) {
        for (var d = 0; d < dd; d++) {
          var a = acc[d];
          for (var j = 0; j < ${KT}; j++) { a += w[j] * kd[j * ${DV} + d]; }
          acc[d] = a;
        }
      }
      workgroupBarrier();
    }
    if (live) {
      for (var d = 0; d < dd; d++) { gq[${gqo} + row * ${E} + d0 + d] = ${storeAs(gradQ.dtype, ['acc[d]', 'f32'])}; }
    }
  }
}
`;
  rt.dispatch({
    key: code,
    code: () => code,
    buffers,
    params: p.values,
    workgroups: grid(c.b * c.h * blocks),
  });
}

function attentionGradKV(
  rt: Runtime,
  gradOut: KernelTensor,
  q: KernelTensor,
  k: KernelTensor,
  v: KernelTensor,
  mask: KernelTensor | null,
  scale: number,
  causal: boolean,
  stats: GpuBuffer,
  gradK: KernelTensor | null,
  gradV: KernelTensor | null,
): void {
  const p = new Params();
  const c = backwardSetup(p, q, k, v, mask, causal);
  const { H, L, S, E, EV, qo, ko, vo } = c;
  const blocks = Math.ceil(c.s / KB);
  const [BH, NB, passes, go, gko, gvo] = p.ints([
    c.b * c.h,
    blocks,
    Math.max(gradK ? Math.ceil(c.e / DV) : 0, gradV ? Math.ceil(c.ev / DV) : 0),
    gradOut.offset,
    gradK?.offset ?? 0,
    gradV?.offset ?? 0,
  ]);
  const sc = p.float(scale);
  const lowest = p.float(finfo(q.dtype).min);
  const buffers = [gradOut, q, k, v].map((t) => t.buffer as GpuBuffer);
  buffers.push(stats);
  let decls =
    binding(1, 'g', 'f32', false) +
    binding(2, 'q', 'f32', false) +
    binding(3, 'k', 'f32', false) +
    binding(4, 'v', 'f32', false) +
    binding(5, 'st', 'f32', false);
  let next = 6;
  for (const [name, t] of [
    ['gk', gradK],
    ['gv', gradV],
    ['mk', mask],
  ] as const) {
    if (!t) continue;
    decls += binding(next++, name, name === 'mk' ? 'i32' : 'f32', name !== 'mk');
    buffers.push(t.buffer as GpuBuffer);
  }
  // With causal and no mask, queries before the block's first key's position see none of its keys.
  const queryStart = causal && !mask ? `max(0, j0w - (${S} - ${L}))` : '0';
  const accumulate = (
    acc: string,
    coef: string,
    src: string,
    width: string,
    count: string,
  ) => `      for (var t = i32(lid); t < ${QT * DV}; t += ${KB}) {
        let ii = i0 + t / ${DV};
        let d = t % ${DV};
        var x = 0.0;
        if (ii < ${L} && d < ${count}) { x = ${src}[${src === 'g' ? go : qo} + (bh * ${L} + ii) * ${width} + d0 + d]; }
        qd[t] = x;
      }
      workgroupBarrier();
      if (live) {
        for (var d = 0; d < ${count}; d++) {
          var a = ${acc}[d];
          for (var i = 0; i < ${QT}; i++) { a += ${coef}[i] * qd[i * ${DV} + d]; }
          ${acc}[d] = a;
        }
      }
      workgroupBarrier();
`;
  // Dot products of this key (`own`) with each query row of the tile starting at i0.
  const queryTile = (
    acc: string,
    width: string,
    srcAt: (r: string, e: string) => string,
    own: (e: string) => string,
  ) =>
    tileDots({
      acc,
      tile: 'qs',
      rows: QT,
      threads: KB,
      width,
      rowValid: (r) => `i0 + ${r} < ${L}`,
      srcAt,
      own,
    });
  const code = `${p.decl()}${decls}
var<workgroup> qs: array<f32, ${QT * EK}>;
var<workgroup> sts: array<f32, ${QT * 2}>;
var<workgroup> qd: array<f32, ${QT * DV}>;
${entry(KB)}  if (wg >= ${BH} * ${NB}) { return; }
  let bh = wg / ${NB};
  let j0w = (wg % ${NB}) * ${KB};
  let jj = j0w + i32(lid);
  let live = jj < ${S};
  let hi = bh % ${H};
  let bi = bh / ${H};
  let kb = ${ko} + (bh * ${S} + jj) * ${E};
  let vb = ${vo} + (bh * ${S} + jj) * ${EV};
  let qstart = ${queryStart};
  for (var ps = 0; ps < ${passes}; ps++) {
    let d0 = ps * ${DV};
    let dk = clamp(${E} - d0, 0, ${DV});
    let dv = clamp(${EV} - d0, 0, ${DV});
    var accK = array<f32, ${DV}>();
    var accV = array<f32, ${DV}>();
    for (var i0 = qstart; i0 < ${L}; i0 += ${QT}) {
${queryTile(
  'w',
  E,
  (r, e) => `q[${qo} + (bh * ${L} + i0 + ${r}) * ${E} + ${e}]`,
  (e) => `k[kb + ${e}]`,
)}${queryTile(
  'dp',
  EV,
  (r, e) => `g[${go} + (bh * ${L} + i0 + ${r}) * ${EV} + ${e}]`,
  (e) => `v[vb + ${e}]`,
)}      for (var t = i32(lid); t < ${QT * 2}; t += ${KB}) {
        let ii = i0 + t / 2;
        var x = 0.0;
        if (ii < ${L}) { x = st[2 * (bh * ${L} + ii) + t % 2]; }
        sts[t] = x;
      }
      workgroupBarrier();
      var pw = array<f32, ${QT}>();
      if (live) {
        for (var i = 0; i < ${QT}; i++) {
          let qi = i0 + i;
          var pj = 0.0;
          var ds = 0.0;
          if (qi < ${L}) {
            var x = w[i] * ${sc};
            if (!(${c.allowed})) { x = ${lowest}; }
            let rowLse = sts[2 * i];
            pj = select(exp(x - rowLse), 1.0 / f32(${S}), rowLse == ${lowest});
            ds = pj * (dp[i] - sts[2 * i + 1]) * ${sc};
          }
          pw[i] = pj;
          w[i] = ds;
        }
      }
${gradV ? accumulate('accV', 'pw', 'g', EV, 'dv') : ''}${gradK ? accumulate('accK', 'w', 'q', E, 'dk') : ''}    }
    if (live) {
${gradK ? `      for (var d = 0; d < dk; d++) { gk[${gko} + (bh * ${S} + jj) * ${E} + d0 + d] = ${storeAs(gradK.dtype, ['accK[d]', 'f32'])}; }\n` : ''}${gradV ? `      for (var d = 0; d < dv; d++) { gv[${gvo} + (bh * ${S} + jj) * ${EV} + d0 + d] = ${storeAs(gradV.dtype, ['accV[d]', 'f32'])}; }\n` : ''}    }
  }
}
`;
  rt.dispatch({
    key: code,
    code: () => code,
    buffers,
    params: p.values,
    workgroups: grid(c.b * c.h * blocks),
  });
}
