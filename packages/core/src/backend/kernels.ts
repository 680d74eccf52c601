// The contract between core and a backend. Core owns every op (validation, shapes, dtype
// promotion, autograd); a backend owns memory and a small set of primitive kernels. Kernels are
// fire-and-forget: a GPU backend may only enqueue work, and the one way back to the host is `read`
// (a promise). Outputs are always allocated by core and handed to the kernel, so a kernel never
// decides a shape or a dtype.
import type { DType, TypedArray } from '../dtype/dtype.js';

/** A backend's buffer. Opaque to core: only the backend that made it looks inside. */
export interface DeviceBuffer {
  readonly byteLength: number;
}

/**
 * What a kernel sees of a tensor: a buffer plus a strided layout in elements. Broadcast operands
 * arrive already expanded to the output shape with stride 0 on broadcast dims, and transposed
 * operands as swapped strides, so kernels need no broadcasting or transpose logic of their own.
 */
export interface KernelTensor {
  readonly buffer: DeviceBuffer;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export type UnaryOp =
  | 'neg'
  | 'abs'
  | 'exp'
  | 'expm1'
  | 'log'
  | 'log1p'
  | 'sqrt'
  | 'rsqrt'
  | 'sin'
  | 'cos'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'gelu'
  | 'geluTanh'
  | 'silu'
  | 'erf'
  | 'sign'
  | 'floor'
  | 'ceil'
  | 'round'
  | 'trunc'
  | 'reciprocal'
  | 'logicalNot'
  | 'isnan';

export type BinaryOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'maximum'
  | 'minimum'
  | 'remainder'
  | 'floorDivide'
  | 'atan2'
  | 'eq'
  | 'ne'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge'
  | 'logicalAnd'
  | 'logicalOr'
  | 'logicalXor'
  // (g, x) -> g * gelu'(x), GELU's backward in one pass: exact (erf) and tanh-approximate forms.
  | 'geluBackward'
  | 'geluTanhBackward'
  // (g, y) -> y > 0 ? g : 0, ReLU's backward from its output (threshold_backward) in one pass.
  | 'reluBackward';

export type ReduceOp = 'sum' | 'prod' | 'max' | 'min' | 'any' | 'all';
export type ArgReduceOp = 'argmax' | 'argmin';

export interface Conv2dParams {
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

export interface Pool2dParams {
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  /** avg pooling: divide by the full window including padding (PyTorch's default true). */
  readonly countIncludePad: boolean;
}

export type RandomDistribution = 'uniform' | 'normal';

/**
 * The primitive kernel set every backend implements. Semantics of each:
 * - `unary`/`binary`/`where`: elementwise over `out.shape`; inputs share the compute dtype chosen by
 *   core (comparisons and logical ops write bool `out`). Integer `div` and GELU backward never occur
 *   (core promotes).
 * - `reduce`: `out` has `x`'s rank with every reduced dim of size 1 (keepdim layout).
 * - `argReduce`: as `reduce` over one dim, writing int32 indices of the first extreme value.
 * - `matmul`: `a` [B, M, K] times `b` [B, K, N] into `out` [B, M, N], any strides (batch
 *   broadcasting is stride 0, transposes are swapped strides).
 * - `gather`: out[i][j][k] = x[index[i][j][k]][j][k] for dim 0 (and likewise for other dims).
 * - `scatterAdd`/`indexAdd`: accumulate into `dst` in place.
 * - `cumsum`: inclusive prefix sums along `dim`.
 * - `sort`: stable, along `dim`, writing values and int32 indices.
 * - `random`: element i of the contiguous `out` takes Philox4x32-10 at counter `offset + i` with
 *   `key`; see random/philox.ts for the exact mapping to uniform and normal values.
 */
export interface PrimitiveKernels {
  unary(op: UnaryOp, x: KernelTensor, out: KernelTensor): void;
  binary(op: BinaryOp, a: KernelTensor, b: KernelTensor, out: KernelTensor): void;
  where(cond: KernelTensor, a: KernelTensor, b: KernelTensor, out: KernelTensor): void;
  reduce(op: ReduceOp, x: KernelTensor, dims: readonly number[], out: KernelTensor): void;
  argReduce(op: ArgReduceOp, x: KernelTensor, dim: number, out: KernelTensor): void;
  matmul(a: KernelTensor, b: KernelTensor, out: KernelTensor): void;
  gather(x: KernelTensor, dim: number, index: KernelTensor, out: KernelTensor): void;
  scatterAdd(dst: KernelTensor, dim: number, index: KernelTensor, src: KernelTensor): void;
  indexSelect(x: KernelTensor, dim: number, index: KernelTensor, out: KernelTensor): void;
  indexAdd(dst: KernelTensor, dim: number, index: KernelTensor, src: KernelTensor): void;
  cumsum(x: KernelTensor, dim: number, out: KernelTensor): void;
  sort(x: KernelTensor, dim: number, descending: boolean, values: KernelTensor, indices: KernelTensor): void;
  conv2d(x: KernelTensor, weight: KernelTensor, out: KernelTensor, p: Conv2dParams): void;
  conv2dBackwardInput(
    gradOut: KernelTensor,
    weight: KernelTensor,
    gradIn: KernelTensor,
    p: Conv2dParams,
  ): void;
  conv2dBackwardWeight(
    x: KernelTensor,
    gradOut: KernelTensor,
    gradWeight: KernelTensor,
    p: Conv2dParams,
  ): void;
  maxPool2d(x: KernelTensor, out: KernelTensor, indices: KernelTensor, p: Pool2dParams): void;
  maxPool2dBackward(
    gradOut: KernelTensor,
    indices: KernelTensor,
    gradIn: KernelTensor,
    p: Pool2dParams,
  ): void;
  avgPool2d(x: KernelTensor, out: KernelTensor, p: Pool2dParams): void;
  avgPool2dBackward(gradOut: KernelTensor, gradIn: KernelTensor, p: Pool2dParams): void;
  random(dist: RandomDistribution, key: readonly [number, number], offset: number, out: KernelTensor): void;
}

/**
 * Fused kernels a backend may add for speed or numerical stability. Core computes the same result
 * from primitives when one is missing, and owns the backward rule either way.
 */
export interface FusedKernels {
  /** softmax along `dim` of `x` into `out` (same shape). */
  softmax(x: KernelTensor, dim: number, out: KernelTensor): void;
  logSoftmax(x: KernelTensor, dim: number, out: KernelTensor): void;
  /** log(sum(exp(x))) along `dim` into `out` (keepdim layout). */
  logsumexp(x: KernelTensor, dim: number, out: KernelTensor): void;
  /**
   * Layer norm of each row of `x` viewed as [rows, n] (contiguous; `n` = the normalised numel):
   * out = (x - mean) * rstd * weight + bias, with the biased variance and rstd = 1 / sqrt(var +
   * eps). Writes `mean` and `rstd` ([rows]) for the backward pass. `weight` and `bias` are [n] or
   * null. Float dtypes of the backend's compute set.
   */
  layerNorm(
    x: KernelTensor,
    weight: KernelTensor | null,
    bias: KernelTensor | null,
    eps: number,
    out: KernelTensor,
    mean: KernelTensor,
    rstd: KernelTensor,
  ): void;
  /**
   * Gradients of layerNorm from `gradOut` [rows, n] and the saved `mean` / `rstd`:
   * gradIn = rstd * (gy - mean(gy) - xhat * mean(gy * xhat)) with gy = gradOut * weight and
   * xhat = (x - mean) * rstd; gradWeight = sum over rows of gradOut * xhat and gradBias = sum of
   * gradOut (each written only when not null).
   */
  layerNormBackward(
    gradOut: KernelTensor,
    x: KernelTensor,
    weight: KernelTensor | null,
    mean: KernelTensor,
    rstd: KernelTensor,
    gradIn: KernelTensor | null,
    gradWeight: KernelTensor | null,
    gradBias: KernelTensor | null,
  ): void;
  /**
   * Cross entropy of each row of `logits` [N, C] (contiguous) against the class index `target[i]`
   * (int32 [N]), with label smoothing e: loss[i] = lse_i - (1 - e) logits[i, t_i] - e / C *
   * sum_c logits[i, c], where lse_i = log(sum_c exp(logits[i, c])); rows whose target equals
   * `ignoreIndex` get loss 0 (and any lse). Writes `loss` [N] and `lse` [N] (for the backward).
   * A target outside [0, C) other than ignoreIndex throws `crossEntropyRows: target T is out of
   * bounds for C classes` where the backend can check (CPU); GPU kernels cannot report it.
   */
  crossEntropy(
    logits: KernelTensor,
    target: KernelTensor,
    ignoreIndex: number,
    labelSmoothing: number,
    loss: KernelTensor,
    lse: KernelTensor,
  ): void;
  /**
   * Gradient of crossEntropy with respect to the logits: gradLogits[i, c] = gradLoss[i] *
   * (exp(logits[i, c] - lse[i]) - (1 - e) [c = t_i] - e / C), and 0 on ignored rows.
   */
  crossEntropyBackward(
    gradLoss: KernelTensor,
    logits: KernelTensor,
    target: KernelTensor,
    lse: KernelTensor,
    ignoreIndex: number,
    labelSmoothing: number,
    gradLogits: KernelTensor,
  ): void;
  /**
   * A linear layer with its epilogue in one kernel: out = act(x w^T + bias) for x [M, K]
   * (contiguous), w [N, K] through its strides (a transposed view of a [K, N] weight is common),
   * bias [N] or null. `activation` is 'none', 'relu', 'gelu' (erf) or 'geluTanh'. When
   * `preActivation` [M, N] is not null it receives x w^T + bias (the backward of gelu needs it).
   */
  linear(
    x: KernelTensor,
    weight: KernelTensor,
    bias: KernelTensor | null,
    activation: LinearActivation,
    out: KernelTensor,
    preActivation: KernelTensor | null,
  ): void;
  /**
   * Scaled dot-product attention per (batch, head): q [B, H, L, E], k [B, H, S, E], v [B, H, S, Ev]
   * (contiguous) -> out [B, H, L, Ev] = softmax(q k^T * scale, masked) v, and lse [B, H, L], the
   * log-sum-exp of each query's masked scaled scores (for a fused backward). A key takes part when
   * `mask` (bool, broadcast to [B, H, L, S] through its strides; null = all) is true and, with
   * `causal`, when its index is at most the query's index + S - L (queries are the last L positions,
   * as with a key/value cache). Masked scores are the dtype's most negative finite value, not -inf
   * (Hugging Face's convention), so a query with every key masked averages all values evenly.
   */
  attention(
    q: KernelTensor,
    k: KernelTensor,
    v: KernelTensor,
    mask: KernelTensor | null,
    scale: number,
    causal: boolean,
    out: KernelTensor,
    lse: KernelTensor,
  ): void;
  /**
   * The backward of `attention` (FlashAttention-2's): from gradOut [B, H, L, Ev] and the forward's
   * q, k, v, mask, scale, causal, out and lse (all contiguous), writes gradQ [B, H, L, E], gradK
   * [B, H, S, E] and gradV [B, H, S, Ev] (each null when not needed), recomputing the weights
   * P = exp(scores - lse) tile by tile instead of reading a saved [L, S] matrix:
   * dV = P^T dO, dS = P * (dO V^T - rowsum(dO * out)), dQ = dS K * scale, dK = dS^T Q * scale.
   * A query whose keys are all masked has lse equal to the dtype's most negative value and weighs
   * every key 1 / S, as in the forward.
   */
  attentionBackward(
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
  ): void;
  /**
   * One Adam / AdamW update of `param` in place (all four tensors contiguous, same shape and float
   * dtype), with torch.optim's formulas: for AdamW (`decoupled`) param *= 1 - lr * weightDecay,
   * for Adam grad += weightDecay * param; then m = beta1 m + (1 - beta1) grad, v = beta2 v +
   * (1 - beta2) grad^2, param -= lr / (1 - beta1^step) * m / (sqrt(v / (1 - beta2^step)) + eps).
   */
  adamStep(
    param: KernelTensor,
    grad: KernelTensor,
    expAvg: KernelTensor,
    expAvgSq: KernelTensor,
    hyper: AdamHyper,
  ): void;
}

/** The activations a fused linear kernel applies after the bias. */
export type LinearActivation = 'none' | 'relu' | 'gelu' | 'geluTanh';

/** Hyperparameters of one fused Adam / AdamW step (`step` counts from 1). */
export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW's decoupled weight decay (true) or Adam's L2 term added to the gradient (false). */
  decoupled: boolean;
  step: number;
}

export interface Backend extends PrimitiveKernels {
  /** Device type this backend serves: 'cpu', 'webgpu', 'cuda'. */
  readonly name: string;
  /** dtypes whose arithmetic the backend implements; memory kernels accept every dtype it can store. */
  readonly computeDTypes: ReadonlySet<DType>;
  /** dtypes the backend can hold in memory (a superset of computeDTypes). */
  readonly storageDTypes: ReadonlySet<DType>;
  readonly fused: Partial<FusedKernels>;

  alloc(numel: number, dtype: DType): DeviceBuffer;
  free(buffer: DeviceBuffer): void;
  /** Host -> device. `data` is `hostArrayFor(dtype)`'s type (int64 as BigInt64Array). */
  write(buffer: DeviceBuffer, dtype: DType, data: TypedArray): void;
  /**
   * Host -> device without a copy where the backend can use host memory directly (CPU): the backend
   * takes ownership of `data`'s memory. Optional; core falls back to alloc + write.
   */
  adopt?(dtype: DType, data: TypedArray): DeviceBuffer;
  /** Device -> host: the strided view `x` as a new contiguous host array. */
  read(x: KernelTensor): Promise<TypedArray>;
  /** Blocking read where the backend can block; absent on WebGPU. */
  readSync?(x: KernelTensor): TypedArray;
  /** Strided copy with dtype conversion: `dst` and `src` have the same shape. */
  copy(src: KernelTensor, dst: KernelTensor): void;
  fill(dst: KernelTensor, value: number): void;
  /** Waits for queued work (benchmarks, tests); resolves at once on synchronous backends. */
  sync(): Promise<void>;
  /** Bytes the backend holds, including pooled free buffers. */
  memoryStats?(): { allocatedBytes: number; pooledBytes: number };
}
