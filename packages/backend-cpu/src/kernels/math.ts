// Scalar math the kernels need beyond Math: erf (double precision), PyTorch's rounding and
// Python-style remainder.

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);

/**
 * erf to ~1e-15: the Maclaurin series below |x| = 3 (alternating terms lose at most three digits),
 * and the continued fraction of erfc above it.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const ax = Math.abs(x);
  if (ax < 3) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 100; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  if (ax > 6) return Math.sign(x);
  // erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
  let k = ax;
  for (let n = 60; n >= 1; n--) k = ax + n / 2 / k;
  const erfc = (Math.exp(-ax * ax) * INV_SQRT_PI) / k;
  return Math.sign(x) * (1 - erfc);
}

/** Round half to even, as torch.round does. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Python/PyTorch remainder: the result has the sign of the divisor. */
export function remainder(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x * Math.SQRT1_2));
}

export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** g * gelu'(x) = g * (Phi(x) + x phi(x)). */
export function geluBackward(g: number, x: number): number {
  const cdf = 0.5 * (1 + erf(x * Math.SQRT1_2));
  // x phi(x) -> 0 as |x| -> inf; testing phi for 0 keeps x = +-inf from giving inf * 0 = NaN.
  const pdf = INV_SQRT_2PI * Math.exp(-0.5 * x * x);
  return g * (cdf + (pdf === 0 ? 0 : x * pdf));
}

/** g * d/dx 0.5x(1 + tanh(u)), u = sqrt(2/pi)(x + 0.044715x^3). */
export function geluTanhBackward(g: number, x: number): number {
  const x2 = x * x;
  const t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x2 * x));
  const du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x2);
  // (1 - t)(1 + t) keeps precision where t is near +-1; at |x| = inf it is 0 and 0 * inf is NaN,
  // so saturated t gives the limit (1 or 0) directly, as PyTorch's gelu_backward does.
  const sech2 = (1 - t) * (1 + t);
  return g * (0.5 * (1 + t) + (sech2 === 0 ? 0 : 0.5 * x * sech2 * du));
}

export function sigmoid(x: number): number {
  // Split by sign so exp never overflows.
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}
