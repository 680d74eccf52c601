// Matrix products. Everything reduces to one batched kernel, [B, M, K] x [B, K, N], fed strided
// views: transposes and broadcast batches are strides, never copies where a view will do.
import { record } from '../autograd/record.js';
import { commonDevice, emptyTensor, requireCompute } from '../dispatch/dispatch.js';
import { broadcastShapes, formatShape, numel, viewStrides } from '../shape/shape.js';
import { composite } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { arange, zeros } from './creation.js';
import { ge, le, mul, sub, where } from './elementwise.js';
import { sum } from './reduction.js';
import { cat, expand, makeView, permute, reshape, squeeze, transpose, unsqueeze } from './shape.js';

/** The batched core: a [B, M, K] and b [B, K, N] (same B) -> [B, M, N]. */
function bmmCore(a: Tensor, b: Tensor): Tensor {
  if (a.dtype !== b.dtype) {
    // As torch.matmul: no implicit promotion between operands of a matrix product.
    throw new TypeError(
      `matmul: expected both operands to have the same dtype, but got ${a.dtype} and ${b.dtype}`,
    );
  }
  const device = commonDevice('matmul', [a, b]);
  const backend = requireCompute('matmul', device, a.dtype);
  const out = emptyTensor([a.shape[0], a.shape[1], b.shape[2]], a.dtype, device);
  backend.matmul(a.kernel, b.kernel, out.kernel);
  return record(
    'BmmBackward',
    out,
    [a, b],
    (g, [x, y], _out, needs) => [
      needs[0] ? productLaidOutLike(x, g, transpose(y, 1, 2)) : null,
      needs[1] ? productLaidOutLike(y, transpose(x, 1, 2), g) : null,
    ],
    { save: [a, b] },
  );
}

/**
 * a b for the gradient of `like` (a's rows by b's columns, the last two dims), in like's own
 * layout: when `like` is the transpose of contiguous memory (a model's `w.T`, tied embeddings'
 * `wte.T`), the product is computed as (b^T a^T)^T, so the gradient reaching the leaf behind it is
 * contiguous and autograd adopts or adds it as it is instead of through a strided copy.
 */
export function productLaidOutLike(like: Tensor, a: Tensor, b: Tensor): Tensor {
  const n = like.ndim;
  const [rows, cols] = like.shape.slice(-2);
  const transposed = rows > 1 && cols > 1 && like.strides[n - 2] === 1 && like.strides[n - 1] === rows;
  const product = n === 3 ? bmmCore : matmul;
  if (!transposed) return product(a, b);
  return composite(() => transpose(product(transpose(b, -2, -1), transpose(a, -2, -1)), -2, -1));
}

function mismatch(op: string, a: Tensor, b: Tensor, k1: number, k2: number): Error {
  return new Error(
    `${op}: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} cannot be multiplied (${k1} != ${k2})`,
  );
}

/** torch.matmul: dot, matrix-vector, vector-matrix, matrix-matrix and broadcast batched products. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return composite(() => matmulImpl(a, b));
}

function matmulImpl(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) {
    throw new Error(`matmul: both arguments need to be at least 1D, but they are ${a.ndim}D and ${b.ndim}D`);
  }
  if (a.ndim === 1 && b.ndim === 1) {
    if (a.shape[0] !== b.shape[0]) throw mismatch('matmul', a, b, a.shape[0], b.shape[0]);
    return dot(a, b);
  }
  const a2 = a.ndim === 1 ? unsqueeze(a, 0) : a;
  const b2 = b.ndim === 1 ? unsqueeze(b, 1) : b;
  const [m, k] = a2.shape.slice(-2);
  const [k2, n] = b2.shape.slice(-2);
  if (k !== k2) throw mismatch('matmul', a, b, k, k2);
  const batch = broadcastShapes('matmul', a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  const bsz = numel(batch);
  // A batch of matrices times one matrix (x W in a linear layer over [B, T, E]) is one product with
  // the batch folded into the rows, as torch.matmul does: one GEMM of B*M rows instead of B that
  // each pack W again, and W's gradient is one product with K = B*M instead of B products and a
  // sum over the batch. Only when the fold is a view: a copy of `a` would cost what it saves.
  if (b2.ndim === 2 && a2.ndim > 2 && viewStrides(a2.shape, a2.strides, [bsz * m, k])) {
    let out = reshape(bmmCore(reshape(a2, [1, bsz * m, k]), unsqueeze(b2, 0)), [...batch, m, n]);
    if (b.ndim === 1) out = squeeze(out, -1);
    return out;
  }
  const a3 = reshape(expand(a2, [...batch, m, k]), [bsz, m, k]);
  const b3 = reshape(expand(b2, [...batch, k, n]), [bsz, k, n]);
  let out = reshape(bmmCore(a3, b3), [...batch, m, n]);
  if (a.ndim === 1) out = squeeze(out, -2);
  if (b.ndim === 1) out = squeeze(out, -1);
  return out;
}

export function mm(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 2 || b.ndim !== 2)
    throw new Error(`mm: expected 2-D tensors, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  if (a.shape[1] !== b.shape[0]) throw mismatch('mm', a, b, a.shape[1], b.shape[0]);
  return matmul(a, b);
}

export function bmm(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 3 || b.ndim !== 3)
    throw new Error(`bmm: expected 3-D tensors, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  if (a.shape[0] !== b.shape[0])
    throw new Error(`bmm: batch sizes differ: ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  if (a.shape[2] !== b.shape[1]) throw mismatch('bmm', a, b, a.shape[2], b.shape[1]);
  return bmmCore(a, b);
}

export function dot(a: Tensor, b: Tensor): Tensor {
  return composite(() => dotImpl(a, b));
}

function dotImpl(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 1 || b.ndim !== 1)
    throw new Error(`dot: 1D tensors expected, but got ${a.ndim}D and ${b.ndim}D tensors`);
  if (a.shape[0] !== b.shape[0]) {
    throw new Error(
      `dot: inconsistent tensor size, expected tensor [${a.shape[0]}] and src [${b.shape[0]}] to have the same number of elements`,
    );
  }
  const r = bmmCore(reshape(a, [1, 1, -1]), reshape(b, [1, -1, 1]));
  return reshape(r, []);
}

export function outer(a: Tensor, b: Tensor): Tensor {
  return composite(() => outerImpl(a, b));
}

function outerImpl(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 1 || b.ndim !== 1)
    throw new Error(`outer: expected 1-D tensors, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  return mul(unsqueeze(a, 1), unsqueeze(b, 0));
}

/** The `offset`-th diagonal of the last two dims as a strided view (torch.diagonal). */
export function diagonal(x: Tensor, offset = 0): Tensor {
  if (x.ndim < 2) throw new Error(`diagonal: expected at least 2 dims, got ${formatShape(x.shape)}`);
  const [r, c] = x.shape.slice(-2);
  const len = Math.max(0, offset >= 0 ? Math.min(r, c - offset) : Math.min(r + offset, c));
  // Select row i, column i + offset: a view with stride (rowStride + colStride).
  const rows = offset >= 0 ? 0 : -offset;
  const cols = Math.max(offset, 0);
  const rs = x.strides[x.ndim - 2];
  const cs = x.strides[x.ndim - 1];
  const view = makeView(
    x,
    [...x.shape.slice(0, -2), len],
    [...x.strides.slice(0, -2), rs + cs],
    x.offset + (len > 0 ? rows * rs + cols * cs : 0),
    (b) => diagonal(b, offset),
  );
  const inShape = x.shape;
  return record('DiagonalBackward', view, [x], (g) => [diagEmbed(g, inShape, offset)]);
}

/** Places `g` (the diagonal) into zeros of `shape`: diagonal's gradient, differentiable itself. */
function diagEmbed(g: Tensor, shape: readonly number[], offset: number): Tensor {
  const [r, c] = shape.slice(-2);
  const rows = unsqueeze(arange(r, undefined, 1, { device: g.device }), 1);
  const cols = unsqueeze(arange(c, undefined, 1, { device: g.device }), 0);
  const onDiag = sub(cols, rows).eq(offset);
  // Row i of the matrix takes g[i - rowStart]; pad g to r entries by position.
  const rowStart = offset >= 0 ? 0 : -offset;
  const len = g.shape[g.ndim - 1];
  const padded = len === r ? g : padLast(g, rowStart, r - rowStart - len);
  return where(onDiag, unsqueeze(padded, -1), 0);
}

function padLast(g: Tensor, before: number, after: number): Tensor {
  const lead = g.shape.slice(0, -1);
  const opts = { dtype: g.dtype, device: g.device };
  const parts = [
    ...(before > 0 ? [zeros([...lead, before], opts)] : []),
    g,
    ...(after > 0 ? [zeros([...lead, after], opts)] : []),
  ];
  return cat(parts, -1);
}

/** torch.diag: a 1-D input becomes a diagonal matrix; a 2-D input gives its diagonal. */
export function diag(x: Tensor, offset = 0): Tensor {
  return composite(() => diagImpl(x, offset));
}

function diagImpl(x: Tensor, offset = 0): Tensor {
  if (x.ndim === 1) {
    const n = x.shape[0] + Math.abs(offset);
    return diagEmbed(x, [n, n], offset);
  }
  if (x.ndim === 2) return diagonal(x, offset);
  throw new Error(`diag: expected a 1D or 2D tensor, got ${formatShape(x.shape)}`);
}

export function trace(x: Tensor): Tensor {
  return composite(() => traceImpl(x));
}

function traceImpl(x: Tensor): Tensor {
  if (x.ndim !== 2) throw new Error(`trace: expected a matrix, but got tensor with dim ${x.ndim}`);
  return sum(diagonal(x));
}

function triangle(name: string, x: Tensor, diagonalOffset: number, lower: boolean): Tensor {
  return composite(() => triangleImpl(name, x, diagonalOffset, lower));
}

function triangleImpl(name: string, x: Tensor, diagonalOffset: number, lower: boolean): Tensor {
  if (x.ndim < 2)
    throw new Error(`${name}: input tensor must have at least 2 dimensions (got ${formatShape(x.shape)})`);
  const [r, c] = x.shape.slice(-2);
  const rows = unsqueeze(arange(r, undefined, 1, { device: x.device }), 1);
  const cols = unsqueeze(arange(c, undefined, 1, { device: x.device }), 0);
  const diff = sub(cols, rows);
  const mask = lower ? le(diff, diagonalOffset) : ge(diff, diagonalOffset);
  return where(mask, x, x.dtype === 'bool' ? false : 0);
}

export function tril(x: Tensor, diagonalOffset = 0): Tensor {
  return triangle('tril', x, diagonalOffset, true);
}

export function triu(x: Tensor, diagonalOffset = 0): Tensor {
  return triangle('triu', x, diagonalOffset, false);
}

/**
 * einsum over explicit (`ij,jk->ik`) or implicit (`ij,jk`) equations. Two operands contract through
 * one batched matmul; other arities multiply pairwise from the left, then sum.
 */
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  return composite(() => einsumImpl(equation, ...operands));
}

function einsumImpl(equation: string, ...operands: Tensor[]): Tensor {
  const [lhs, rhsGiven] = expandEllipsis(equation.replace(/\s+/g, ''), operands);
  const inputs = lhs.split(',');
  if (inputs.length !== operands.length) {
    throw new Error(
      `einsum: equation '${equation}' names ${inputs.length} operands but ${operands.length} were given`,
    );
  }
  inputs.forEach((s, i) => {
    if (s.length !== operands[i].ndim || !/^[a-zA-Z]*$/.test(s)) {
      throw new Error(
        `einsum: subscripts '${s}' do not match operand ${i} of shape ${formatShape(operands[i].shape)} `,
      );
    }
  });
  const counts = new Map<string, number>();
  for (const s of inputs) for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const rhs =
    rhsGiven ??
    [...counts.keys()]
      .filter((ch) => counts.get(ch) === 1)
      .sort()
      .join('');
  const sizes = new Map<string, number>();
  inputs.forEach((s, i) => {
    [...s].forEach((ch, j) => {
      const d = operands[i].shape[j];
      const prev = sizes.get(ch);
      if (prev !== undefined && prev !== d && prev !== 1 && d !== 1) {
        throw new Error(`einsum: subscript '${ch}' has size ${prev} in one operand and ${d} in another`);
      }
      sizes.set(ch, Math.max(prev ?? 1, d));
    });
  });
  // Repeated subscripts within one operand (a diagonal, 'ii->i') take the diagonal first.
  const prepared = inputs.map((s, i) => takeRepeatedDiagonals(s, operands[i]));
  let [accSubs, acc] = prepared[0];
  for (let i = 1; i < prepared.length; i++) {
    const [subs, t] = prepared[i];
    const later =
      prepared
        .slice(i + 1)
        .map(([s]) => s)
        .join('') + rhs;
    [accSubs, acc] = contractPair(accSubs, acc, subs, t, later, sizes);
  }
  // Sum subscripts that are not in the output, then order as the output asks.
  const sumDims = [...accSubs].map((ch, i) => (rhs.includes(ch) ? -1 : i)).filter((i) => i >= 0);
  let out = sumDims.length ? sum(acc, sumDims) : acc;
  const remaining = [...accSubs].filter((ch) => rhs.includes(ch));
  if (remaining.length !== rhs.length)
    throw new Error(`einsum: output subscript(s) in '${rhs}' not found in inputs`);
  out = permute(
    out,
    [...rhs].map((ch) => remaining.indexOf(ch)),
  );
  return out;
}

/**
 * Rewrites '...' as explicit subscripts: the broadcast dims each operand's ellipsis covers get
 * letters not used elsewhere, aligned from the right as broadcasting aligns them. Without an
 * explicit output, the ellipsis dims lead the output (torch.einsum's implicit mode).
 */
function expandEllipsis(eq: string, operands: readonly Tensor[]): [string, string | undefined] {
  const [lhs, rhs] = eq.split('->');
  if (!eq.includes('...')) return [lhs, rhs];
  const used = new Set(eq.replace(/[^a-zA-Z]/g, ''));
  const free = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'].filter((c) => !used.has(c));
  const parts = lhs.split(',');
  const spans = parts.map((p, i) => (p.includes('...') ? (operands[i]?.ndim ?? 0) - (p.length - 3) : 0));
  const widest = Math.max(0, ...spans);
  if (widest > free.length) throw new Error(`einsum: too many broadcast dims in '${eq}'`);
  const letters = free.slice(0, widest);
  const expanded = parts.map((p, i) => p.replace('...', letters.slice(widest - spans[i]).join('')));
  let out = rhs;
  if (out === undefined) {
    const counts = new Map<string, number>();
    for (const p of parts) for (const ch of p.replace('...', '')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    out = `...${[...counts.keys()]
      .filter((c) => counts.get(c) === 1)
      .sort()
      .join('')}`;
  }
  return [expanded.join(','), out.replace('...', letters.join(''))];
}

function takeRepeatedDiagonals(subs: string, t: Tensor): [string, Tensor] {
  let s = subs;
  let x = t;
  for (let j = 0; j < s.length; j++) {
    const k = s.indexOf(s[j], j + 1);
    if (k < 0) continue;
    // Move the pair to the end and take the diagonal of the last two dims.
    const order = [...s].map((_, i) => i).filter((i) => i !== j && i !== k);
    x = diagonal(permute(x, [...order, j, k]));
    s = order.map((i) => s[i]).join('') + s[j];
    j = -1;
  }
  return [s, x];
}

/** Contracts two operands with one bmm: batch dims (kept), contracted dims, and free dims of each. */
function contractPair(
  sa: string,
  a: Tensor,
  sb: string,
  b: Tensor,
  later: string,
  sizes: Map<string, number>,
): [string, Tensor] {
  const inA = new Set(sa);
  const inB = new Set(sb);
  const batch = [...inA].filter((c) => inB.has(c) && later.includes(c));
  const contract = [...inA].filter((c) => inB.has(c) && !later.includes(c));
  const freeA = [...inA].filter((c) => !inB.has(c));
  const freeB = [...inB].filter((c) => !inA.has(c));
  const size = (cs: string[]) => cs.reduce((p, c) => p * sizes.get(c)!, 1);
  const arrange = (s: string, t: Tensor, order: string[]) => {
    const p = permute(
      t,
      order.map((c) => s.indexOf(c)),
    );
    return expand(
      p,
      order.map((c) => sizes.get(c)!),
    );
  };
  const a3 = reshape(arrange(sa, a, [...batch, ...freeA, ...contract]), [
    size(batch),
    size(freeA),
    size(contract),
  ]);
  const b3 = reshape(arrange(sb, b, [...batch, ...contract, ...freeB]), [
    size(batch),
    size(contract),
    size(freeB),
  ]);
  const out = bmmCore(a3, b3);
  const subs = [...batch, ...freeA, ...freeB];
  return [
    subs.join(''),
    reshape(
      out,
      subs.map((c) => sizes.get(c)!),
    ),
  ];
}
