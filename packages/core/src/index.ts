// @kiln/core: tensors, dispatch, autograd, memory, randomness and safetensors.

export { customOp } from './autograd/custom-op.js';
export type { GradOptions } from './autograd/engine.js';
export { grad } from './autograd/engine.js';
export { enableGrad, isGradEnabled, noGrad } from './autograd/grad-mode.js';
export type { BackwardFn, GradHook, Node } from './autograd/node.js';

export type {
  AdamHyper,
  ArgReduceOp,
  Backend,
  BinaryOp,
  Conv2dParams,
  DeviceBuffer,
  FusedKernels,
  KernelTensor,
  LinearActivation,
  Pool2dParams,
  PrimitiveKernels,
  RandomDistribution,
  ReduceOp,
  UnaryOp,
} from './backend/kernels.js';
export type { BackendFactory, Device } from './backend/registry.js';
export {
  canonicalDevice,
  cuda,
  devices,
  getDefaultDevice,
  ready,
  registerBackend,
  setDefaultDevice,
} from './backend/registry.js';
export type { DType, FInfo, TypedArray } from './dtype/dtype.js';
export { DTYPES, finfo, ITEMSIZE, isFloating, isIntegral, promoteTypes, resultType } from './dtype/dtype.js';
export {
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from './dtype/half.js';
export { logSoftmax, softmax } from './ops/activation.js';
export type { AttentionOptions } from './ops/attention.js';
export { scaledDotProductAttention } from './ops/attention.js';
export type {
  AvgPool2dOptions,
  Conv1dOptions,
  Conv2dOptions,
  ConvTranspose2dOptions,
  MaxPool2dOptions,
  Size2,
} from './ops/conv.js';
export { adaptiveAvgPool2d, avgPool2d, conv1d, conv2d, convTranspose2d, maxPool2d } from './ops/conv.js';
export type { NestedArray } from './ops/convert.js';
export { to, toDeviceAsync } from './ops/convert.js';
export * from './ops/creation.js';
export {
  abs,
  add,
  atan2,
  ceil,
  clamp,
  cos,
  div,
  eq,
  erf,
  exp,
  expm1,
  floor,
  floorDivide,
  ge,
  gelu,
  gt,
  isnan,
  le,
  lerp,
  log,
  log1p,
  logicalAnd,
  logicalNot,
  logicalOr,
  logicalXor,
  lt,
  maskedFill,
  maximum,
  minimum,
  mul,
  ne,
  neg,
  pow,
  reciprocal,
  relu,
  remainder,
  round,
  rsqrt,
  sigmoid,
  sign,
  silu,
  sin,
  sqrt,
  square,
  sub,
  tanh,
  trunc,
  where,
} from './ops/elementwise.js';
export { max, min } from './ops/extrema.js';
export { gather, indexAdd, indexSelect, scatterAdd, sort, topk } from './ops/indexing.js';
export { bmm, diag, diagonal, dot, einsum, matmul, mm, outer, trace, tril, triu } from './ops/linalg.js';
export { linear } from './ops/linear.js';
export type { CrossEntropyRowsOptions } from './ops/loss.js';
export { crossEntropyRows } from './ops/loss.js';
export { layerNorm } from './ops/normalization.js';
export { adamStep_ } from './ops/optim.js';
export { multinomial, rand, randint, randLike, randn, randnLike } from './ops/random.js';
export type { ValuesIndices, VarianceOptions } from './ops/reduction.js';
export {
  all,
  amax,
  amin,
  any,
  argmax,
  argmin,
  cumsum,
  logsumexp,
  mean,
  norm,
  prod,
  std,
  sum,
  sumTo,
  variance as var,
} from './ops/reduction.js';
export {
  cat,
  chunk,
  clone,
  contiguous,
  expand,
  flatten,
  flip,
  narrow,
  permute,
  repeat,
  reshape,
  select,
  slice,
  split,
  squeeze,
  stack,
  transpose,
  unbind,
  unsqueeze,
  view,
} from './ops/shape.js';
export type { GeneratorState } from './random/generator.js';
export { getRngState, manualSeed, setRngState } from './random/generator.js';
export { philox4x32, philoxFill } from './random/philox.js';
export type { SafetensorsEntry, SafetensorsMetadata } from './serialization/safetensors.js';
export {
  loadSafetensors,
  parseSafetensors,
  saveSafetensors,
  serializeSafetensors,
} from './serialization/safetensors.js';
export type { Shape } from './shape/shape.js';
export { broadcastShapes, coalesceDims, contiguousStrides, numel } from './shape/shape.js';
export type { DeviceMemory, MemoryInfo } from './tensor/counters.js';
export { memory } from './tensor/counters.js';
export { dispose, keep, tidy } from './tensor/memory.js';
export type { BackwardOptions, Scalar, TensorOrScalar } from './tensor/tensor.js';
export { isTensor, Tensor } from './tensor/tensor.js';
