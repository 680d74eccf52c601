import { describe, expect, it } from 'vitest';
import { broadcastShapes, contiguousStrides, inferShape, normalizeDim, viewStrides } from './shape.js';

describe('shape arithmetic', () => {
  it('broadcasts like NumPy and names the mismatching dim', () => {
    expect(broadcastShapes('add', [2, 1, 4], [3, 1])).toEqual([2, 3, 4]);
    expect(broadcastShapes('add', [], [3])).toEqual([3]);
    expect(broadcastShapes('add', [0, 3], [3])).toEqual([0, 3]);
    expect(() => broadcastShapes('add', [2, 3], [4])).toThrow(
      'add: shapes [2, 3] and [4] cannot be broadcast together (dim -1: 3 vs 4)',
    );
  });

  it('normalises negative dims with PyTorch error text', () => {
    expect(normalizeDim('sum', -1, 3)).toBe(2);
    expect(normalizeDim('sum', 0, 0)).toBe(0);
    expect(() => normalizeDim('sum', 3, 3)).toThrow(
      'sum: dimension out of range (expected to be in range of [-3, 2], but got 3)',
    );
  });

  it('infers one -1 and rejects sizes that do not fit', () => {
    expect(inferShape('view', [2, -1], 12)).toEqual([2, 6]);
    expect(() => inferShape('view', [5, -1], 12)).toThrow(
      'view: shape [5, -1] is invalid for input of size 12',
    );
    expect(() => inferShape('view', [-1, -1], 12)).toThrow('only one dimension can be inferred');
  });

  it('computes view strides where the layout allows it (PyTorch computeStride)', () => {
    expect(viewStrides([3, 4], [4, 1], [2, 6])).toEqual([6, 1]);
    // A transposed [4,3] view of a [3,4] tensor cannot be flattened without a copy...
    expect(viewStrides([4, 3], [1, 4], [12])).toBeNull();
    // ...but splitting a dim of it can.
    expect(viewStrides([4, 3], [1, 4], [2, 2, 3])).toEqual([2, 1, 4]);
    expect(viewStrides([2, 3], contiguousStrides([2, 3]), [3, 2])).toEqual([2, 1]);
  });
});
