/** Element types. Names follow PyTorch (`torch.float32` -> 'float32'). */
export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int32'
  | 'int64'
  | 'int8'
  | 'uint8'
  | 'bool';

export const DTYPES: readonly DType[] = [
  'float32',
  'float64',
  'float16',
  'bfloat16',
  'int32',
  'int64',
  'int8',
  'uint8',
  'bool',
];

/** Host arrays a tensor's values are read into and written from. */
export type TypedArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | Int8Array
  | Uint8Array
  | Uint16Array;

/** Bytes per element as stored in memory and in safetensors files. */
export const ITEMSIZE: Record<DType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int32: 4,
  int64: 8,
  int8: 1,
  uint8: 1,
  bool: 1,
};

export const DEFAULT_FLOAT: DType = 'float32';
/** Kiln's default integer dtype is int32 (not PyTorch's int64): JS numbers and GPUs handle it natively. */
export const DEFAULT_INT: DType = 'int32';

export function isFloating(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

export function isIntegral(d: DType): boolean {
  return d === 'int32' || d === 'int64' || d === 'int8' || d === 'uint8';
}

export function assertDType(op: string, d: unknown): DType {
  if (typeof d === 'string' && (DTYPES as readonly string[]).includes(d)) return d as DType;
  throw new TypeError(`${op}: unknown dtype ${String(d)} (expected one of ${DTYPES.join(', ')})`);
}

/**
 * The host typed array a dtype is read into by `data()`. int64 reads as BigInt64Array (exact);
 * float16/bfloat16 read as Float32Array (decoded), since JS has no 16-bit float array everywhere.
 */
export function hostArrayFor(dtype: DType, length: number): TypedArray {
  switch (dtype) {
    case 'float32':
    case 'float16':
    case 'bfloat16':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'int64':
      return new BigInt64Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(length);
  }
}

// ---- type promotion (PyTorch's rules, with int32 as the default integer) ----

const CATEGORY: Record<DType, number> = {
  bool: 0,
  uint8: 1,
  int8: 1,
  int32: 1,
  int64: 1,
  float16: 2,
  bfloat16: 2,
  float32: 2,
  float64: 2,
};

// Lattice of torch.promote_types for the dtypes Kiln has.
const RANK: Record<DType, number> = {
  bool: 0,
  uint8: 1,
  int8: 1,
  int32: 3,
  int64: 4,
  float16: 5,
  bfloat16: 5,
  float32: 6,
  float64: 7,
};

/** torch.promote_types(a, b). */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  // uint8 with int8 -> int16 in PyTorch; Kiln has no int16, so the next wider signed type.
  if ((a === 'uint8' && b === 'int8') || (a === 'int8' && b === 'uint8')) return 'int32';
  // float16 with bfloat16 -> float32, as in PyTorch.
  if ((a === 'float16' && b === 'bfloat16') || (a === 'bfloat16' && b === 'float16')) return 'float32';
  return RANK[a] >= RANK[b] ? a : b;
}

/** One operand of a type-promoting op: a tensor's dtype and rank, or a JS scalar. */
export type PromotionOperand = { dtype: DType; ndim: number } | number | boolean;

/**
 * torch.result_type: dimensioned tensors decide first; 0-d tensors and then scalars only raise the
 * result when they belong to a higher category (bool < integer < floating).
 */
export function resultType(operands: readonly PromotionOperand[]): DType {
  let dimResult: DType | undefined;
  let zeroDimResult: DType | undefined;
  let scalarCategory = -1;
  for (const o of operands) {
    if (typeof o === 'number' || typeof o === 'boolean') {
      const cat = typeof o === 'boolean' ? 0 : Number.isInteger(o) ? 1 : 2;
      scalarCategory = Math.max(scalarCategory, cat);
    } else if (o.ndim > 0) {
      dimResult = dimResult === undefined ? o.dtype : promoteTypes(dimResult, o.dtype);
    } else {
      zeroDimResult = zeroDimResult === undefined ? o.dtype : promoteTypes(zeroDimResult, o.dtype);
    }
  }
  let result = dimResult;
  if (zeroDimResult !== undefined) {
    if (result === undefined) result = zeroDimResult;
    else if (CATEGORY[zeroDimResult] > CATEGORY[result]) result = promoteTypes(result, zeroDimResult);
  }
  if (scalarCategory >= 0) {
    const scalarType: DType =
      scalarCategory === 0 ? 'bool' : scalarCategory === 1 ? DEFAULT_INT : DEFAULT_FLOAT;
    if (result === undefined) result = scalarType;
    else if (scalarCategory > CATEGORY[result]) result = scalarType;
  }
  return result ?? DEFAULT_FLOAT;
}

/** The dtype an op computes floating results in: floats keep theirs, everything else -> float32. */
export function toFloating(d: DType): DType {
  return isFloating(d) ? d : DEFAULT_FLOAT;
}

/** Machine limits of a floating point dtype (torch.finfo). */
export interface FInfo {
  /** Bits of storage. */
  bits: number;
  /** Smallest x with 1 + x != 1. */
  eps: number;
  /** Largest finite value, and its negation. */
  max: number;
  min: number;
  /** Smallest positive normal value. */
  tiny: number;
}

const FINFO: Partial<Record<DType, FInfo>> = {
  float64: { bits: 64, eps: 2 ** -52, max: Number.MAX_VALUE, min: -Number.MAX_VALUE, tiny: 2 ** -1022 },
  float32: {
    bits: 32,
    eps: 2 ** -23,
    max: 3.4028234663852886e38,
    min: -3.4028234663852886e38,
    tiny: 2 ** -126,
  },
  float16: { bits: 16, eps: 2 ** -10, max: 65504, min: -65504, tiny: 2 ** -14 },
  bfloat16: {
    bits: 16,
    eps: 2 ** -7,
    max: 3.3895313892515355e38,
    min: -3.3895313892515355e38,
    tiny: 2 ** -126,
  },
};

/** torch.finfo: the limits of a floating point dtype (e.g. the most negative finite value for masking). */
export function finfo(dtype: DType): FInfo {
  const info = FINFO[dtype];
  if (!info) throw new TypeError(`finfo: ${dtype} is not a floating point dtype`);
  return info;
}
