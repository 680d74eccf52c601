// Activations as functions of tensors. Most are core ops; these add PyTorch's F spellings and the
// few activations core does not have.
import * as k from '@kiln/core';

export function relu(x: k.Tensor): k.Tensor {
  return x.relu();
}

/** max(0, x) clipped at 6. */
export function relu6(x: k.Tensor): k.Tensor {
  return x.clamp(0, 6);
}

/** x for x > 0, negativeSlope * x otherwise (the gradient at 0 is negativeSlope, as in PyTorch). */
export function leakyRelu(x: k.Tensor, negativeSlope = 0.01): k.Tensor {
  return k.where(x.gt(0), x, x.mul(negativeSlope));
}

export interface GeluOptions {
  /** 'tanh' selects the tanh approximation (GPT-2's gelu_new); the default is the exact erf form. */
  approximate?: 'none' | 'tanh';
}

export function gelu(x: k.Tensor, options: GeluOptions = {}): k.Tensor {
  return x.gelu(options.approximate ?? 'none');
}

export function silu(x: k.Tensor): k.Tensor {
  return x.silu();
}

export function sigmoid(x: k.Tensor): k.Tensor {
  return x.sigmoid();
}

export function tanh(x: k.Tensor): k.Tensor {
  return x.tanh();
}

/** log(1 + exp(beta x)) / beta, linear above `threshold` (PyTorch's softplus). */
export function softplus(x: k.Tensor, beta = 1, threshold = 20): k.Tensor {
  const bx = x.mul(beta);
  return k.where(bx.gt(threshold), x, bx.exp().log1p().div(beta));
}

export function softmax(x: k.Tensor, dim: number): k.Tensor {
  return x.softmax(dim);
}

export function logSoftmax(x: k.Tensor, dim: number): k.Tensor {
  return x.logSoftmax(dim);
}
