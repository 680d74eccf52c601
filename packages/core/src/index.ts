// @kiln/core: tensors, dispatch, autograd, memory, randomness and safetensors.
export type { DType, TypedArray } from './dtype/dtype.js';
export { DTYPES, ITEMSIZE, isFloating, isIntegral, promoteTypes, resultType } from './dtype/dtype.js';
export { float16BitsToFloat32, float32ToFloat16Bits, bfloat16BitsToFloat32, float32ToBfloat16Bits } from './dtype/half.js';
export type { Shape } from './shape/shape.js';
export { broadcastShapes, contiguousStrides, numel } from './shape/shape.js';

export type {
  Backend,
  DeviceBuffer,
  KernelTensor,
  PrimitiveKernels,
  FusedKernels,
  UnaryOp,
  BinaryOp,
  ReduceOp,
  ArgReduceOp,
  Conv2dParams,
  Pool2dParams,
  RandomDistribution,
} from './backend/kernels.js';
export type { Device, BackendFactory } from './backend/registry.js';
export { registerBackend, ready, devices, setDefaultDevice, getDefaultDevice, cuda, canonicalDevice } from './backend/registry.js';

export { Tensor, isTensor } from './tensor/tensor.js';
export type { Scalar, TensorOrScalar, BackwardOptions } from './tensor/tensor.js';
export { memory } from './tensor/counters.js';
export type { MemoryInfo, DeviceMemory } from './tensor/counters.js';
export { tidy, keep, dispose } from './tensor/memory.js';

export { noGrad, enableGrad, isGradEnabled } from './autograd/grad-mode.js';
export { grad } from './autograd/engine.js';
export type { GradOptions } from './autograd/engine.js';
export type { Node, GradHook, BackwardFn } from './autograd/node.js';
export { customOp } from './autograd/custom-op.js';

export * from './ops/creation.js';
export {
  add, sub, mul, div, pow, remainder, floorDivide, atan2, maximum, minimum, clamp,
  neg, abs, exp, expm1, log, log1p, sqrt, rsqrt, square, sin, cos, tanh, sigmoid, relu, gelu, silu, erf,
  sign, floor, ceil, round, trunc, reciprocal, isnan,
  eq, ne, lt, le, gt, ge, logicalAnd, logicalOr, logicalXor, logicalNot, where, maskedFill, lerp,
} from './ops/elementwise.js';
export {
  sum, mean, variance as var, std, prod, norm, amax, amin, argmax, argmin, logsumexp, cumsum, any, all, sumTo,
} from './ops/reduction.js';
export type { ValuesIndices, VarianceOptions } from './ops/reduction.js';
export { max, min } from './ops/extrema.js';
export { softmax, logSoftmax } from './ops/activation.js';
export {
  reshape, view, flatten, squeeze, unsqueeze, permute, transpose, expand, contiguous, clone, slice, select,
  narrow, split, chunk, unbind, cat, stack, repeat, flip,
} from './ops/shape.js';
export { matmul, mm, bmm, dot, outer, einsum, diag, diagonal, trace, tril, triu } from './ops/linalg.js';
export { gather, scatterAdd, indexSelect, indexAdd, topk, sort } from './ops/indexing.js';
export { rand, randn, randint, randLike, randnLike, multinomial } from './ops/random.js';
export { to, toDeviceAsync } from './ops/convert.js';
export type { NestedArray } from './ops/convert.js';
export { manualSeed, getRngState, setRngState } from './random/generator.js';
export type { GeneratorState } from './random/generator.js';
export { philox4x32, philoxFill } from './random/philox.js';
export { saveSafetensors, loadSafetensors, parseSafetensors, serializeSafetensors } from './serialization/safetensors.js';
export type { SafetensorsEntry, SafetensorsMetadata } from './serialization/safetensors.js';
