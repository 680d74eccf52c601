import { describe, expect, it } from 'vitest';
import { promoteTypes, resultType } from './dtype.js';
import {
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from './half.js';

describe('float16 / bfloat16 conversion', () => {
  // IEEE 754 binary16 reference bit patterns.
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [1365 / 4096, 0x3555], // 0x3555 = 0.333251953125 exactly
    [6.103515625e-5, 0x0400],
    [2 ** -24, 0x0001], // the smallest subnormal
    [Number.POSITIVE_INFINITY, 0x7c00],
    [1e6, 0x7c00],
    [0, 0],
  ])('float16(%d) has bits %i and round-trips', (v, bits) => {
    expect(float32ToFloat16Bits(v)).toBe(bits);
    expect(float16BitsToFloat32(bits)).toBeCloseTo(v > 65504 ? Number.POSITIVE_INFINITY : v, 8);
  });

  it('rounds half to even at the float16 mantissa boundary', () => {
    // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(Number.NaN)))).toBe(true);
  });

  it('bfloat16 keeps float32 range with 8 bits of mantissa', () => {
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80);
    expect(bfloat16BitsToFloat32(float32ToBfloat16Bits(Math.PI))).toBe(3.140625);
    expect(bfloat16BitsToFloat32(float32ToBfloat16Bits(1e30))).toBeCloseTo(1e30, -28);
  });
});

describe('type promotion (torch.promote_types / torch.result_type)', () => {
  it('promotes within and across categories', () => {
    expect(promoteTypes('int32', 'float32')).toBe('float32');
    expect(promoteTypes('int64', 'float16')).toBe('float16');
    expect(promoteTypes('uint8', 'int8')).toBe('int32');
    expect(promoteTypes('bool', 'uint8')).toBe('uint8');
    expect(promoteTypes('float16', 'bfloat16')).toBe('float32');
    expect(promoteTypes('float32', 'float64')).toBe('float64');
  });

  it('lets 0-d tensors and scalars raise only the category', () => {
    expect(resultType([{ dtype: 'int32', ndim: 1 }, 2])).toBe('int32');
    expect(resultType([{ dtype: 'int32', ndim: 1 }, 2.5])).toBe('float32');
    expect(resultType([{ dtype: 'float16', ndim: 1 }, 2.5])).toBe('float16');
    expect(
      resultType([
        { dtype: 'float32', ndim: 1 },
        { dtype: 'float64', ndim: 0 },
      ]),
    ).toBe('float32');
    expect(
      resultType([
        { dtype: 'int32', ndim: 1 },
        { dtype: 'float64', ndim: 0 },
      ]),
    ).toBe('float64');
    expect(resultType([{ dtype: 'bool', ndim: 1 }, true])).toBe('bool');
    expect(resultType([{ dtype: 'bool', ndim: 1 }, 3])).toBe('int32');
  });
});
