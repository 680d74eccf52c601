// Sample inputs for the op database. A sample is described on the host (values in float64 plus a
// memory layout) and materialised on any device and dtype, so the same sample runs on the device
// under test and as the float64 CPU reference.
import * as k from '@kiln/core';

/** How a sample tensor is laid out in memory: non-contiguous layouts exercise strided kernels. */
export type Layout = 'contiguous' | 'transposed' | 'strided';

export interface HostTensor {
  readonly kind: 'float' | 'int' | 'bool';
  readonly shape: readonly number[];
  readonly values: Float64Array;
  readonly layout: Layout;
}

export type Domain = 'real' | 'positive' | 'unit' | 'nonzero' | 'awayFromZero';

/** Deterministic PRNG (mulberry32) so samples are the same on every run and backend. */
export class SampleRng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low));
  }
}

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export class SampleMaker {
  constructor(private readonly rng: SampleRng) {}

  float(shape: readonly number[], opts: { domain?: Domain; layout?: Layout } = {}): HostTensor {
    const values = new Float64Array(count(shape));
    for (let i = 0; i < values.length; i++) values[i] = this.draw(opts.domain ?? 'real');
    return { kind: 'float', shape, values, layout: opts.layout ?? 'contiguous' };
  }

  int(shape: readonly number[], low: number, high: number, layout: Layout = 'contiguous'): HostTensor {
    const values = new Float64Array(count(shape));
    for (let i = 0; i < values.length; i++) values[i] = this.rng.int(low, high);
    return { kind: 'int', shape, values, layout };
  }

  bool(shape: readonly number[], layout: Layout = 'contiguous'): HostTensor {
    const values = new Float64Array(count(shape));
    for (let i = 0; i < values.length; i++) values[i] = this.rng.next() < 0.5 ? 1 : 0;
    return { kind: 'bool', shape, values, layout };
  }

  /** A permutation of 0..n-1 (distinct indices along a dim, e.g. for scatter without collisions). */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.rng.int(0, i + 1);
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  }

  private draw(domain: Domain): number {
    const x = this.rng.normal();
    switch (domain) {
      case 'real':
        return x;
      case 'positive':
        return 0.2 + Math.abs(x);
      case 'unit':
        return -0.9 + 1.8 * this.rng.next();
      case 'nonzero':
        return (x >= 0 ? 0.3 : -0.3) + x;
      case 'awayFromZero':
        // Keeps kinks (relu and abs at 0) out of finite differences.
        return (x >= 0 ? 0.1 : -0.1) + x;
    }
  }
}

/**
 * Materialises a host sample as a tensor with the sample's layout: 'transposed' stores the data
 * with the last two dims swapped and returns a transposed view; 'strided' stores every other
 * element of the last dim and returns a step-2 slice.
 */
export function materialize(
  h: HostTensor,
  device: string,
  floatDtype: k.DType,
  requiresGrad = false,
): k.Tensor {
  const dtype: k.DType = h.kind === 'float' ? floatDtype : h.kind === 'int' ? 'int32' : 'bool';
  let t: k.Tensor;
  if (h.layout === 'transposed' && h.shape.length >= 2) {
    const n = h.shape.length;
    const swapped = [...h.shape.slice(0, -2), h.shape[n - 1], h.shape[n - 2]];
    const base = k
      .tensor(transposeLast2(h.values, h.shape), { dtype: 'float64' })
      .reshape(swapped)
      .to({ dtype, device });
    t = base.transpose(-1, -2);
  } else if (h.layout === 'strided' && h.shape.length >= 1) {
    const n = h.shape.length;
    const wide = [...h.shape.slice(0, -1), h.shape[n - 1] * 2];
    const values = new Float64Array(count(wide));
    const last = h.shape[n - 1];
    for (let i = 0; i < h.values.length; i++) {
      const row = Math.floor(i / Math.max(last, 1));
      values[row * last * 2 + (i % last) * 2] = h.values[i];
    }
    const base = k.tensor(values, { dtype: 'float64' }).reshape(wide).to({ dtype, device });
    t = base.slice(-1, 0, undefined, 2);
  } else {
    t = k
      .tensor(h.values, { dtype: 'float64' })
      .reshape([...h.shape])
      .to({ dtype, device });
  }
  if (requiresGrad) {
    // A leaf with the sample's layout: detach() keeps the view's strides.
    t = t.detach().requiresGrad_(true);
  }
  return t;
}

function transposeLast2(values: Float64Array, shape: readonly number[]): Float64Array {
  const n = shape.length;
  const r = shape[n - 2];
  const c = shape[n - 1];
  const out = new Float64Array(values.length);
  const plane = r * c;
  for (let b = 0; b < values.length / Math.max(plane, 1); b++) {
    for (let i = 0; i < r; i++)
      for (let j = 0; j < c; j++) out[b * plane + j * r + i] = values[b * plane + i * c + j];
  }
  return out;
}
