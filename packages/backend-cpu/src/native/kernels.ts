// The native fast path behind the kernel interface: each wrapper sends float32 work above a size
// threshold to the addon and everything else (other dtypes, small tensors where the call would
// cost more than it saves, layouts the addon does not take) to the TypeScript kernel it replaces.
// Core has validated shapes and dtypes before any of this runs.
import type {
  Backend,
  BinaryOp,
  Conv2dParams,
  FusedKernels,
  KernelTensor,
  PrimitiveKernels,
  ReduceOp,
  UnaryOp,
} from '@kiln/core';
import { coalesceDims } from '@kiln/core';
import { arrayOf } from '../buffer.js';
import { checkTargets } from '../kernels/loss.js';
import { adamConstants } from '../kernels/optim.js';
import type { Operand } from '../kernels/strided.js';
import { createFusion } from './fusion.js';
import type { NativeAddon } from './load.js';

/** The TypeScript kernels the native ones stand in front of. */
export type NativeCapable = Pick<Backend, 'copy'> &
  Pick<
    PrimitiveKernels,
    | 'matmul'
    | 'unary'
    | 'binary'
    | 'where'
    | 'reduce'
    | 'conv2d'
    | 'conv2dBackwardInput'
    | 'conv2dBackwardWeight'
  > &
  Pick<
    FusedKernels,
    | 'softmax'
    | 'logSoftmax'
    | 'logsumexp'
    | 'layerNorm'
    | 'layerNormBackward'
    | 'crossEntropy'
    | 'crossEntropyBackward'
    | 'adamStep'
    | 'attention'
    | 'attentionBackward'
  >;

/**
 * Below these sizes the TypeScript kernels are used: an addon call costs about a microsecond plus
 * the layout set-up, which a few thousand elements (or multiply-adds) of JIT-compiled loop beat.
 */
export const NATIVE_THRESHOLDS = {
  /** batch * m * k * n multiply-adds */
  matmul: 4096,
  /** output elements */
  elementwise: 2048,
  /** input elements */
  reduce: 2048,
  softmax: 1024,
  /** rows * n */
  layerNorm: 1024,
  /** rows * classes */
  crossEntropy: 1024,
  /** parameter elements */
  adamStep: 2048,
  /**
   * output elements of a unary / binary op recorded into a fused program (fusion.ts) instead of
   * run at once: below this the program's bookkeeping costs more than the memory trips it saves.
   */
  fusion: 1 << 15,
};

// KILN_CPU_NATIVE_THRESHOLD=0 sends every eligible call to the addon, however small: the
// conformance run on the native path uses it, since the op database's samples are tiny.
const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
const forced = env?.KILN_CPU_NATIVE_THRESHOLD;
if (forced !== undefined && forced !== '' && Number.isFinite(Number(forced))) {
  for (const key of Object.keys(NATIVE_THRESHOLDS) as (keyof typeof NATIVE_THRESHOLDS)[]) {
    NATIVE_THRESHOLDS[key] = Number(forced);
  }
}

// KILN_CPU_FUSION=0 runs every elementwise op at once (to compare, or to rule fusion out).
if (env?.KILN_CPU_FUSION === '0') NATIVE_THRESHOLDS.fusion = Number.POSITIVE_INFINITY;

const MAX_RANK = 8;
// One layout buffer reused by every call (the addon reads it during the call only).
const layout = new Float64Array(1 + MAX_RANK * 5 + 4);

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const isF32 = (t: KernelTensor): boolean => t.dtype === 'float32';
const f32 = (t: KernelTensor): Float32Array => arrayOf(t.buffer) as Float32Array;
const isF32OrAbsent = (t: KernelTensor | null): boolean => t === null || isF32(t);
const f32OrNull = (t: KernelTensor | null): Float32Array | null => (t === null ? null : f32(t));

/** Writes the coalesced layout of `operands` over `shape` into `layout`; false if it is too deep. */
function writeLayout(shape: readonly number[], operands: readonly Operand[]): boolean {
  const c = coalesceDims(shape, operands);
  const rank = c.shape.length;
  if (rank > MAX_RANK) return false;
  layout[0] = rank;
  for (let d = 0; d < rank; d++) layout[1 + d] = c.shape[d];
  operands.forEach((op, k) => {
    for (let d = 0; d < rank; d++) layout[1 + (k + 1) * rank + d] = c.strides[k][d];
    layout[1 + (operands.length + 1) * rank + k] = op.offset;
  });
  return true;
}

function writeConvMeta(meta: Float64Array, ts: readonly KernelTensor[], p: Conv2dParams): void {
  ts.forEach((t, i) => {
    meta[i * 9] = t.offset;
    for (let d = 0; d < 4; d++) {
      meta[i * 9 + 1 + d] = t.shape[d];
      meta[i * 9 + 5 + d] = t.strides[d];
    }
  });
  meta.set(
    [p.stride[0], p.stride[1], p.padding[0], p.padding[1], p.dilation[0], p.dilation[1], p.groups],
    27,
  );
}

/** What the native path adds: kernels the TypeScript path leaves to core's composites. */
export type NativeOnly = Pick<FusedKernels, 'linear'>;

export function nativeKernels(addon: NativeAddon, ts: NativeCapable): NativeCapable & NativeOnly {
  const codes = (names: readonly string[]) => new Map(names.map((n, i) => [n, i]));
  const unaryCodes = codes(addon.info.unaryOps);
  const binaryCodes = codes(addon.info.binaryOps);
  const reduceCodes = codes(addon.info.reduceOps);
  const compareCodes = codes(addon.info.compareOps);
  const fusion = createFusion(addon, () => NATIVE_THRESHOLDS.fusion);
  const convMeta = new Float64Array(34);
  const fusedMeta = new Float64Array(12);
  const attentionMeta = new Float64Array(22);

  /** attentionMeta: the dims, scale, causal flag and mask view, then `operands`' offsets (the addon's layout). */
  function writeAttentionMeta(
    q: KernelTensor,
    k: KernelTensor,
    v: KernelTensor,
    mask: KernelTensor | null,
    scale: number,
    causal: boolean,
    operands: readonly (KernelTensor | null)[],
  ): void {
    const [b, h, l, e] = q.shape;
    attentionMeta.set([
      b,
      h,
      l,
      k.shape[2],
      e,
      v.shape[3],
      scale,
      causal ? 1 : 0,
      mask?.offset ?? 0,
      ...(mask?.strides ?? [0, 0, 0, 0]),
      ...operands.map((t) => t?.offset ?? 0),
    ]);
  }
  const maskBytes = (mask: KernelTensor | null): Uint8Array | null =>
    mask && (arrayOf(mask.buffer) as Uint8Array);
  const isMaskOrAbsent = (mask: KernelTensor | null): boolean => mask === null || mask.dtype === 'bool';

  function rowsAlong(x: KernelTensor, dim: number, out: KernelTensor): boolean {
    const kept = x.shape.map((_, d) => d).filter((d) => d !== dim);
    return writeLayout(
      kept.map((d) => x.shape[d]),
      [
        { strides: kept.map((d) => x.strides[d]), offset: x.offset },
        { strides: kept.map((d) => out.strides[d]), offset: out.offset },
      ],
    );
  }

  /** softmax (0), logSoftmax (1), logsumexp (2) along a dim that is contiguous in x (and out). */
  function softmaxLike(mode: 0 | 1 | 2, fallback: FusedKernels['softmax']) {
    return (x: KernelTensor, dim: number, out: KernelTensor): void => {
      const useNative =
        isF32(x) &&
        isF32(out) &&
        x.shape.length > 0 &&
        x.shape[dim] > 0 &&
        x.strides[dim] === 1 &&
        (mode === 2 || out.strides[dim] === 1) &&
        numel(x.shape) >= NATIVE_THRESHOLDS.softmax &&
        rowsAlong(x, dim, out);
      if (useNative) addon.softmaxF32(mode, f32(x), f32(out), layout, x.shape[dim]);
      else fallback(x, dim, out);
    };
  }

  function conv(
    fn: (a: Float32Array, b: Float32Array, c: Float32Array, meta: Float64Array) => void,
    fallback: PrimitiveKernels['conv2d'],
  ): PrimitiveKernels['conv2d'] {
    return (a, b, c, p) => {
      if (!(isF32(a) && isF32(b) && isF32(c))) return fallback(a, b, c, p);
      writeConvMeta(convMeta, [a, b, c], p);
      fn(f32(a), f32(b), f32(c), convMeta);
    };
  }

  const self: NativeCapable & NativeOnly = {
    copy(src, dst) {
      // Same-dtype float32 copies only (casts stay in TypeScript); above all the transposes that
      // make a weight gradient contiguous.
      const useNative =
        isF32(src) &&
        isF32(dst) &&
        numel(dst.shape) >= NATIVE_THRESHOLDS.elementwise &&
        writeLayout(dst.shape, [src, dst]);
      if (useNative) addon.copyF32(f32(src), f32(dst), layout);
      else ts.copy(src, dst);
    },

    matmul(a, b, out) {
      const [batch, m, k] = a.shape;
      const n = b.shape[2];
      if (!(isF32(a) && isF32(b) && isF32(out)) || batch * m * k * n < NATIVE_THRESHOLDS.matmul) {
        return ts.matmul(a, b, out);
      }
      // biome-ignore format: the argument list mirrors the addon's (a, b, out) x (offset, strides)
      addon.matmulF32(
        f32(a), a.offset, a.strides[0], a.strides[1], a.strides[2],
        f32(b), b.offset, b.strides[0], b.strides[1], b.strides[2],
        f32(out), out.offset, out.strides[0], out.strides[1], out.strides[2],
        batch, m, k, n,
      );
    },

    unary(op: UnaryOp, x, out) {
      const code = unaryCodes.get(op);
      if (code !== undefined && fusion.deferUnary(code, x, out)) return;
      const useNative =
        code !== undefined &&
        isF32(x) &&
        isF32(out) &&
        numel(out.shape) >= NATIVE_THRESHOLDS.elementwise &&
        writeLayout(out.shape, [x, out]);
      if (useNative) addon.unaryF32(code, f32(x), f32(out), layout);
      else ts.unary(op, x, out);
    },

    binary(op: BinaryOp, a, b, out) {
      const code = binaryCodes.get(op);
      if (code !== undefined && fusion.deferBinary(code, a, b, out)) return;
      const large = isF32(a) && isF32(b) && numel(out.shape) >= NATIVE_THRESHOLDS.elementwise;
      if (large && code !== undefined && isF32(out) && writeLayout(out.shape, [a, b, out])) {
        return addon.binaryF32(code, f32(a), f32(b), f32(out), layout);
      }
      const cmp = compareCodes.get(op);
      if (large && cmp !== undefined && out.dtype === 'bool' && writeLayout(out.shape, [a, b, out])) {
        return addon.compareF32(cmp, f32(a), f32(b), arrayOf(out.buffer) as Uint8Array, layout);
      }
      ts.binary(op, a, b, out);
    },

    where(cond, a, b, out) {
      const useNative =
        cond.dtype === 'bool' &&
        isF32(a) &&
        isF32(b) &&
        isF32(out) &&
        numel(out.shape) >= NATIVE_THRESHOLDS.elementwise &&
        writeLayout(out.shape, [cond, a, b, out]);
      if (useNative) addon.whereF32(arrayOf(cond.buffer) as Uint8Array, f32(a), f32(b), f32(out), layout);
      else ts.where(cond, a, b, out);
    },

    reduce(op: ReduceOp, x, dims, out) {
      if (op === 'sum' && isF32(out) && dims.length === x.shape.length) {
        // A full sum of a pending fused program runs the program without writing its buffer.
        const total = fusion.sumPending(x);
        if (total !== null) {
          (f32(out) as Float32Array)[out.offset] = total;
          return;
        }
      }
      const code = reduceCodes.get(op);
      if (code === undefined || !isF32(x) || !isF32(out) || numel(x.shape) < NATIVE_THRESHOLDS.reduce) {
        return ts.reduce(op, x, dims, out);
      }
      const kept = x.shape.map((_, d) => d).filter((d) => !dims.includes(d));
      const reduced = x.shape.map((_, d) => d).filter((d) => dims.includes(d));
      // The addon folds one strided run per output: the reduced dims must coalesce into one.
      const redShape = reduced.map((d) => x.shape[d]);
      const slice = coalesceDims(redShape, [{ strides: reduced.map((d) => x.strides[d]) }]);
      const keptOk = writeLayout(
        kept.map((d) => x.shape[d]),
        [
          { strides: kept.map((d) => x.strides[d]), offset: x.offset },
          { strides: kept.map((d) => out.strides[d]), offset: out.offset },
        ],
      );
      if (slice.shape.length > 1 || !keptOk) return ts.reduce(op, x, dims, out);
      const runLength = slice.shape.length === 0 ? (redShape.every((d) => d === 1) ? 1 : 0) : slice.shape[0];
      const runStride = slice.shape.length === 0 ? 0 : slice.strides[0][0];
      addon.reduceF32(code, f32(x), f32(out), layout, runLength, runStride);
    },

    softmax: softmaxLike(0, ts.softmax),
    logSoftmax: softmaxLike(1, ts.logSoftmax),
    logsumexp: softmaxLike(2, ts.logsumexp),

    // Core hands these contiguous operands ([rows, n] and [n] / [rows]); only offsets travel.
    layerNorm(x, weight, bias, eps, out, mean, rstd) {
      const [rows, n] = x.shape;
      const useNative =
        [x, out, mean, rstd].every(isF32) &&
        isF32OrAbsent(weight) &&
        isF32OrAbsent(bias) &&
        rows * n >= NATIVE_THRESHOLDS.layerNorm;
      if (!useNative) return ts.layerNorm(x, weight, bias, eps, out, mean, rstd);
      fusedMeta.set([rows, n, eps, ...[x, weight, bias, out, mean, rstd].map((t) => t?.offset ?? 0)]);
      addon.layerNormF32(
        f32(x),
        f32OrNull(weight),
        f32OrNull(bias),
        f32(out),
        f32(mean),
        f32(rstd),
        fusedMeta,
      );
    },

    layerNormBackward(gradOut, x, weight, mean, rstd, gradIn, gradWeight, gradBias) {
      const [rows, n] = x.shape;
      const operands = [gradOut, x, weight, mean, rstd, gradIn, gradWeight, gradBias];
      if (!operands.every(isF32OrAbsent) || rows * n < NATIVE_THRESHOLDS.layerNorm) {
        return ts.layerNormBackward(gradOut, x, weight, mean, rstd, gradIn, gradWeight, gradBias);
      }
      fusedMeta.set([rows, n, ...operands.map((t) => t?.offset ?? 0)]);
      // biome-ignore format: the argument list mirrors the addon's
      addon.layerNormBackwardF32(
        f32(gradOut), f32(x), f32OrNull(weight), f32(mean), f32(rstd),
        f32OrNull(gradIn), f32OrNull(gradWeight), f32OrNull(gradBias), fusedMeta,
      );
    },

    // Core hands these contiguous operands (logits [rows, classes], the rest [rows]); int32 targets.
    crossEntropy(logits, target, ignoreIndex, labelSmoothing, loss, lse) {
      const [rows, classes] = logits.shape;
      const useNative =
        [logits, loss, lse].every(isF32) &&
        target.dtype === 'int32' &&
        rows * classes >= NATIVE_THRESHOLDS.crossEntropy;
      if (!useNative) return ts.crossEntropy(logits, target, ignoreIndex, labelSmoothing, loss, lse);
      // Core's message for a bad target (the addon checks too, but words it as its own).
      checkTargets(target, classes, ignoreIndex);
      fusedMeta.set([
        rows,
        classes,
        ignoreIndex,
        labelSmoothing,
        logits.offset,
        target.offset,
        loss.offset,
        lse.offset,
      ]);
      addon.crossEntropyF32(
        f32(logits),
        arrayOf(target.buffer) as Int32Array,
        f32(loss),
        f32(lse),
        fusedMeta,
      );
    },

    crossEntropyBackward(gradLoss, logits, target, lse, ignoreIndex, labelSmoothing, gradLogits) {
      const [rows, classes] = logits.shape;
      const useNative =
        [gradLoss, logits, lse, gradLogits].every(isF32) &&
        target.dtype === 'int32' &&
        rows * classes >= NATIVE_THRESHOLDS.crossEntropy;
      if (!useNative) {
        return ts.crossEntropyBackward(
          gradLoss,
          logits,
          target,
          lse,
          ignoreIndex,
          labelSmoothing,
          gradLogits,
        );
      }
      const operands = [gradLoss, logits, target, lse, gradLogits];
      fusedMeta.set([rows, classes, ignoreIndex, labelSmoothing, ...operands.map((t) => t.offset)]);
      // biome-ignore format: the argument list mirrors the addon's
      addon.crossEntropyBackwardF32(
        f32(gradLoss), f32(logits), arrayOf(target.buffer) as Int32Array, f32(lse), f32(gradLogits), fusedMeta,
      );
    },

    adamStep(param, grad, expAvg, expAvgSq, hyper) {
      const total = numel(param.shape);
      if (![param, grad, expAvg, expAvgSq].every(isF32) || total < NATIVE_THRESHOLDS.adamStep) {
        return ts.adamStep(param, grad, expAvg, expAvgSq, hyper);
      }
      // The same per-step scalars as the TypeScript kernel, so the two agree bit for bit.
      const c = adamConstants(hyper);
      fusedMeta.set([
        total,
        param.offset,
        grad.offset,
        expAvg.offset,
        expAvgSq.offset,
        c.decay,
        c.l2,
        c.beta1,
        c.beta2,
        c.negStepSize,
        c.biasCorrection2Sqrt,
        c.eps,
      ]);
      addon.adamStepF32(f32(param), f32(grad), f32(expAvg), f32(expAvgSq), fusedMeta);
    },

    // Core hands these contiguous q, k, v, out, lse and gradients, and the mask as a [B, H, L, S]
    // view (stride 0 where it broadcasts) that the addon reads in place. Every float32 call goes
    // native, however small: the fused kernel replaces a dozen composite kernels, each a call too.
    attention(q, k, v, mask, scale, causal, out, lse) {
      if (![q, k, v, out, lse].every(isF32) || !isMaskOrAbsent(mask)) {
        return ts.attention(q, k, v, mask, scale, causal, out, lse);
      }
      writeAttentionMeta(q, k, v, mask, scale, causal, [q, k, v, out, lse]);
      addon.attentionF32(f32(q), f32(k), f32(v), maskBytes(mask), f32(out), f32(lse), attentionMeta);
    },

    attentionBackward(gradOut, q, k, v, mask, scale, causal, out, lse, gradQ, gradK, gradV) {
      const operands = [gradOut, q, k, v, out, lse, gradQ, gradK, gradV];
      if (!operands.every(isF32OrAbsent) || !isMaskOrAbsent(mask)) {
        return ts.attentionBackward(gradOut, q, k, v, mask, scale, causal, out, lse, gradQ, gradK, gradV);
      }
      writeAttentionMeta(q, k, v, mask, scale, causal, operands);
      // biome-ignore format: the argument list mirrors the addon's
      addon.attentionBackwardF32(
        f32(gradOut), f32(q), f32(k), f32(v), maskBytes(mask), f32(out), f32(lse),
        f32OrNull(gradQ), f32OrNull(gradK), f32OrNull(gradV), attentionMeta,
      );
    },

    conv2d: conv(addon.conv2dF32, ts.conv2d),
    conv2dBackwardInput: conv(addon.conv2dBackwardInputF32, ts.conv2dBackwardInput),
    conv2dBackwardWeight: conv(addon.conv2dBackwardWeightF32, ts.conv2dBackwardWeight),

    // act(x w^T + b) with the bias written into the destination first and the product accumulated
    // onto it (torch's addmm): no separate pass adds the bias. The destination is `preActivation`
    // when GELU's backward wants it (the activation then reads it into `out`), else `out` itself
    // (the activation, if any, in place).
    linear(x, weight, bias, activation, out, preActivation) {
      const [m, kDim] = x.shape;
      const n = weight.shape[0];
      const dst = preActivation ?? out;
      const x3: KernelTensor = { ...x, shape: [1, m, kDim], strides: [0, x.strides[0], x.strides[1]] };
      // w [N, K] read through its strides as the [K, N] right operand.
      const w3: KernelTensor = {
        ...weight,
        shape: [1, kDim, n],
        strides: [0, weight.strides[1], weight.strides[0]],
      };
      const d3: KernelTensor = { ...dst, shape: [1, m, n], strides: [0, dst.strides[0], dst.strides[1]] };
      const rowBias = bias && { ...bias, shape: [m, n], strides: [0, bias.strides[0]] };
      if (
        [x, weight, dst, bias].every((t) => t === null || isF32(t)) &&
        m * kDim * n >= NATIVE_THRESHOLDS.matmul
      ) {
        if (rowBias) self.copy(rowBias, dst);
        // biome-ignore format: the argument list mirrors the addon's (a, b, out) x (offset, strides)
        addon.matmulF32(
          f32(x3), x3.offset, 0, x3.strides[1], x3.strides[2],
          f32(w3), w3.offset, 0, w3.strides[1], w3.strides[2],
          f32(d3), d3.offset, 0, d3.strides[1], d3.strides[2],
          1, m, kDim, n, rowBias !== null,
        );
      } else {
        self.matmul(x3, w3, d3);
        if (rowBias) self.binary('add', dst, rowBias, dst);
      }
      if (activation !== 'none') self.unary(activation, dst, out);
      else if (dst !== out) self.copy(dst, out);
    },
  };
  return self;
}
