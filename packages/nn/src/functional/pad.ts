// F.pad: constant, reflect, replicate and circular padding of the last dims, in torch.nn.functional's
// argument order ([left, right] of the last dim first). The non-constant modes gather the source
// index of each output position (indexSelect), so their gradients sum into the reused elements.
import * as k from '@kiln/core';

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

function sourceIndex(mode: Exclude<PadMode, 'constant'>, i: number, size: number): number {
  if (mode === 'replicate') return Math.min(Math.max(i, 0), size - 1);
  if (mode === 'circular') return ((i % size) + size) % size;
  // reflect without repeating the edge: -1 -> 1, size -> size - 2
  const period = 2 * (size - 1);
  const m = ((i % period) + period) % period;
  return m < size ? m : period - m;
}

function checkPad(x: k.Tensor, pad: readonly number[], mode: PadMode): void {
  if (pad.length % 2 !== 0 || pad.length / 2 > x.ndim || !pad.every(Number.isInteger)) {
    throw new Error(
      `pad: padding length must be divisible by 2 and at most twice the input's rank ${x.ndim}, got [${pad.join(', ')}]`,
    );
  }
  for (let j = 0; j < pad.length / 2; j++) {
    const dim = x.ndim - 1 - j;
    const size = x.shape[dim];
    const [before, after] = [pad[2 * j], pad[2 * j + 1]];
    if (mode === 'reflect' && (before >= size || after >= size)) {
      throw new Error(
        `pad: padding size should be less than the corresponding input dimension, but got padding (${before}, ${after}) at dimension ${dim} of input [${x.shape.join(', ')}]`,
      );
    }
    if (mode === 'circular' && (before > size || after > size)) {
      throw new Error(
        `pad: padding value (${before}, ${after}) causes wrapping around more than once at dimension ${dim} of input [${x.shape.join(', ')}]`,
      );
    }
    if (mode !== 'constant' && (before < 0 || after < 0))
      throw new Error(`pad: negative padding is only supported in constant mode (got [${pad.join(', ')}])`);
    if (mode !== 'constant' && size === 0)
      throw new Error(`pad: cannot pad an empty dimension ${dim} in ${mode} mode`);
  }
}

/** Pads (or, with negative amounts in constant mode, crops) the last pad.length / 2 dims. */
export function pad(
  x: k.Tensor,
  padding: readonly number[],
  mode: PadMode = 'constant',
  value = 0,
): k.Tensor {
  checkPad(x, padding, mode);
  let out = x;
  for (let j = 0; j < padding.length / 2; j++) {
    const dim = x.ndim - 1 - j;
    const before = padding[2 * j];
    const after = padding[2 * j + 1];
    if (before === 0 && after === 0) continue;
    const size = out.shape[dim];
    if (mode === 'constant') {
      // Negative amounts crop; positive ones concatenate blocks of `value`.
      const cropped = out.narrow(
        dim,
        Math.max(0, -before),
        size - Math.max(0, -before) - Math.max(0, -after),
      );
      const parts: k.Tensor[] = [];
      const block = (n: number) => {
        const shape = [...cropped.shape];
        shape[dim] = n;
        return k.full(shape, value, { dtype: x.dtype, device: x.device });
      };
      if (before > 0) parts.push(block(before));
      parts.push(cropped);
      if (after > 0) parts.push(block(after));
      out = parts.length === 1 ? cropped : k.cat(parts, dim);
      continue;
    }
    const idx = new Int32Array(size + before + after);
    for (let i = 0; i < idx.length; i++) idx[i] = sourceIndex(mode, i - before, size);
    out = out.indexSelect(dim, k.tensor(idx, { device: x.device }));
  }
  return out === x ? x.clone() : out;
}
