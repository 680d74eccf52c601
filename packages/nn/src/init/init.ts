// nn.init: in-place initialisers, with torch.nn.init's formulas (fans, gains, bounds). Each runs
// without recording autograd and returns the tensor it filled. Random draws come from core's
// seeded generator (`k.manualSeed`).
import * as k from '@kiln/core';

export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'conv_transpose1d'
  | 'conv_transpose2d'
  | 'conv_transpose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'selu';

export type FanMode = 'fan_in' | 'fan_out';

/** torch.nn.init.calculate_gain. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'conv_transpose1d':
    case 'conv_transpose2d':
    case 'conv_transpose3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new Error(`calculateGain: unsupported nonlinearity ${String(nonlinearity)}`);
  }
}

/** fan_in = size(1) * receptive field, fan_out = size(0) * receptive field (PyTorch's rule). */
export function calculateFanInAndFanOut(t: k.Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) {
    throw new Error(
      `init: fan in and fan out can not be computed for tensor with fewer than 2 dimensions (got shape [${t.shape.join(', ')}])`,
    );
  }
  let receptive = 1;
  for (const s of t.shape.slice(2)) receptive *= s;
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

function fan(t: k.Tensor, mode: FanMode): number {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  if (mode === 'fan_in') return fanIn;
  if (mode === 'fan_out') return fanOut;
  throw new Error(`init: mode ${String(mode)} not supported, please use one of fan_in, fan_out`);
}

function inPlace(t: k.Tensor, fill: () => void): k.Tensor {
  // tidy: core's in-place random fills leave intermediates behind (reported upstream).
  k.tidy(() => k.noGrad(fill));
  return t;
}

export function uniform_(t: k.Tensor, a = 0, b = 1): k.Tensor {
  return inPlace(t, () => t.uniform_(a, b));
}

export function normal_(t: k.Tensor, mean = 0, std = 1): k.Tensor {
  return inPlace(t, () => t.normal_(mean, std));
}

export function constant_(t: k.Tensor, value: number): k.Tensor {
  return inPlace(t, () => t.fill_(value));
}

export function ones_(t: k.Tensor): k.Tensor {
  return constant_(t, 1);
}

export function zeros_(t: k.Tensor): k.Tensor {
  return constant_(t, 0);
}

/** Identity matrix (2-D tensors), as torch.nn.init.eye_. */
export function eye_(t: k.Tensor): k.Tensor {
  if (t.ndim !== 2)
    throw new Error(`eye_: only tensors with 2 dimensions are supported (got shape [${t.shape.join(', ')}])`);
  return inPlace(t, () => {
    const e = k.eye(t.shape[0], t.shape[1], { dtype: t.dtype, device: t.device });
    t.copy_(e);
    e.dispose();
  });
}

/** Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: k.Tensor, gain = 1): k.Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a);
}

/** Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)). */
export function xavierNormal_(t: k.Tensor, gain = 1): k.Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (leaky_relu only); default 0. */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

/** He uniform: U(-b, b), b = gain * sqrt(3 / fan). Defaults: a=0, fan_in, leaky_relu (PyTorch's). */
export function kaimingUniform_(t: k.Tensor, options: KaimingOptions = {}): k.Tensor {
  const { a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu' } = options;
  if (t.numel() === 0) return t;
  const std = calculateGain(nonlinearity, a) / Math.sqrt(fan(t, mode));
  const bound = Math.sqrt(3) * std;
  return uniform_(t, -bound, bound);
}

/** He normal: N(0, std^2), std = gain / sqrt(fan). */
export function kaimingNormal_(t: k.Tensor, options: KaimingOptions = {}): k.Tensor {
  const { a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu' } = options;
  if (t.numel() === 0) return t;
  return normal_(t, 0, calculateGain(nonlinearity, a) / Math.sqrt(fan(t, mode)));
}

/**
 * Normal truncated to [a, b] by inverse-CDF sampling, like torch.nn.init.trunc_normal_: u uniform
 * on [2 cdf(a) - 1, 2 cdf(b) - 1], x = mean + std * sqrt(2) * erfinv(u), clamped to [a, b].
 */
export function truncNormal_(t: k.Tensor, mean = 0, std = 1, a = -2, b = 2): k.Tensor {
  const cdf = (x: number) => (1 + erf(x / Math.SQRT2)) / 2;
  const lo = cdf((a - mean) / std);
  const hi = cdf((b - mean) / std);
  return inPlace(t, () => {
    const u = k
      .empty(t.shape, { dtype: t.dtype === 'float64' ? 'float64' : 'float32', device: t.device })
      .uniform_(2 * lo - 1, 2 * hi - 1);
    t.copy_(
      erfinvTensor(u)
        .mul(std * Math.SQRT2)
        .add(mean)
        .clamp(a, b),
    );
  });
}

const ERFINV_CENTRAL = [
  2.81022636e-8, 3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164,
  0.246640727, 1.50140941,
];
const ERFINV_TAIL = [
  -0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047,
  1.00167406, 2.83297682,
];

function horner(coeffs: readonly number[], w: k.Tensor): k.Tensor {
  let p: k.Tensor = k.fullLike(w, coeffs[0]);
  for (const c of coeffs.slice(1)) p = p.mul(w).add(c);
  return p;
}

/** erfinv from tensor ops: Giles' approximation, refined by two Newton steps on k.erf. */
function erfinvTensor(x: k.Tensor): k.Tensor {
  const w = x.neg().add(1).mul(x.add(1)).log().neg();
  const central = horner(ERFINV_CENTRAL, w.sub(2.5));
  const tail = horner(ERFINV_TAIL, w.sqrt().sub(3));
  let y = k.where(w.lt(5), central, tail).mul(x);
  for (let i = 0; i < 2; i++)
    y = y.sub(
      y
        .erf()
        .sub(x)
        .div(
          y
            .square()
            .neg()
            .exp()
            .mul(2 / Math.sqrt(Math.PI)),
        ),
    );
  return y;
}

/**
 * (Semi-)orthogonal matrix from the QR decomposition of a normal sample, signs fixed by diag(R)
 * (Saxe et al. 2013, as torch.nn.init.orthogonal_). Trailing dims are flattened. The sample and
 * the QR are computed on the host (CPU, Householder in float64) and the result is written to `t`'s
 * device, so no device is read back.
 */
export function orthogonal_(t: k.Tensor, gain = 1): k.Tensor {
  if (t.ndim < 2)
    throw new Error(
      `orthogonal_: only tensors with 2 or more dimensions are supported (got shape [${t.shape.join(', ')}])`,
    );
  if (t.numel() === 0) return t;
  const rows = t.shape[0];
  const cols = t.numel() / rows;
  return inPlace(t, () => {
    // Sampled on the CPU, where float64 exists and reads are synchronous, so `t`'s device (which
    // may have neither, as WebGPU) is only written to.
    const sample = k.randn([rows, cols], { dtype: 'float64', device: 'cpu' });
    const flat = Float64Array.from(sample.dataSync() as Float64Array);
    sample.dispose();
    // QR of the tall orientation: [m, n] with m >= n.
    const transposed = rows < cols;
    const m = Math.max(rows, cols);
    const n = Math.min(rows, cols);
    const a = new Float64Array(m * n);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++) a[transposed ? j * n + i : i * n + j] = flat[i * cols + j];
    const q = householderQ(a, m, n);
    const out = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++) out[i * cols + j] = gain * (transposed ? q[j * n + i] : q[i * n + j]);
    const v = k.tensor(out, { dtype: t.dtype, device: t.device }).reshape(t.shape);
    t.copy_(v);
    v.dispose();
  });
}

/**
 * Thin Q [m, n] of a = QR (m >= n) by Householder reflections, with columns multiplied by
 * sign(diag(R)) so that R has a positive diagonal.
 */
function householderQ(a: Float64Array, m: number, n: number): Float64Array {
  const r = Float64Array.from(a);
  const vs: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const v = new Float64Array(m);
    let norm = 0;
    for (let i = j; i < m; i++) norm += r[i * n + j] ** 2;
    norm = Math.sqrt(norm);
    const alpha = r[j * n + j] >= 0 ? -norm : norm;
    for (let i = j; i < m; i++) v[i] = r[i * n + j];
    v[j] -= alpha;
    let vnorm = 0;
    for (let i = j; i < m; i++) vnorm += v[i] * v[i];
    if (vnorm > 0) {
      for (let c = j; c < n; c++) {
        let dot = 0;
        for (let i = j; i < m; i++) dot += v[i] * r[i * n + c];
        const f = (2 * dot) / vnorm;
        for (let i = j; i < m; i++) r[i * n + c] -= f * v[i];
      }
    }
    vs.push(v);
  }
  // Q = H0 H1 ... H(n-1) applied to the first n columns of the identity.
  const q = new Float64Array(m * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  for (let j = n - 1; j >= 0; j--) {
    const v = vs[j];
    let vnorm = 0;
    for (let i = j; i < m; i++) vnorm += v[i] * v[i];
    if (vnorm === 0) continue;
    for (let c = 0; c < n; c++) {
      let dot = 0;
      for (let i = j; i < m; i++) dot += v[i] * q[i * n + c];
      const f = (2 * dot) / vnorm;
      for (let i = j; i < m; i++) q[i * n + c] -= f * v[i];
    }
  }
  for (let c = 0; c < n; c++) {
    if (r[c * n + c] < 0) for (let i = 0; i < m; i++) q[i * n + c] = -q[i * n + c];
  }
  return q;
}

/** erf by Numerical Recipes' Chebyshev fit of erfc (|error| < 1.2e-7): ample for initialisation. */
function erf(x: number): number {
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const y =
    1 -
    t *
      Math.exp(
        -x * x -
          1.26551223 +
          t *
            (1.00002368 +
              t *
                (0.37409196 +
                  t *
                    (0.09678418 +
                      t *
                        (-0.18628806 +
                          t *
                            (0.27886807 +
                              t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
      );
  return x >= 0 ? y : -y;
}
