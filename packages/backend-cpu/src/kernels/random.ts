// The counter-based generator, exactly as core specifies it (philoxFill), written into `out`.
import type { KernelTensor, RandomDistribution } from '@kiln/core';
import { philoxFill } from '@kiln/core';
import { arrayOf } from '../buffer.js';

export function random(
  dist: RandomDistribution,
  key: readonly [number, number],
  offset: number,
  out: KernelTensor,
): void {
  const oa = arrayOf(out.buffer);
  let total = 1;
  for (const s of out.shape) total *= s;
  // Core hands random kernels a fresh contiguous output.
  philoxFill(dist, key, offset, oa.subarray(out.offset, out.offset + total));
}
