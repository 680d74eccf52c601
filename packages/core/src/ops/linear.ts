// A linear layer with its activation as one op: y = act(x W^T + b). A backend's fused kernel runs
// the matmul with the bias and activation applied as the output tile is written (a GEMM epilogue)
// when it has one; otherwise matmul, add and the activation run from primitives. The backward rule
// is core's: the activation's gradient (from the saved pre-activation for GELU, the output for
// ReLU), then the two matmuls and the bias sum; under create_graph the pre-activation is rebuilt
// differentiably so higher-order gradients are exact.
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { needsGrad, record } from '../autograd/record.js';
import type { LinearActivation } from '../backend/kernels.js';
import { backendOf, commonDevice, emptyTensor } from '../dispatch/dispatch.js';
import { isFloating } from '../dtype/dtype.js';
import { formatShape } from '../shape/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { add, gelu, geluBackward, relu, reluBackward } from './elementwise.js';
import { matmul, productLaidOutLike } from './linalg.js';
import { sum } from './reduction.js';
import { contiguous, reshape, transpose } from './shape.js';

const ACTIVATIONS: readonly LinearActivation[] = ['none', 'relu', 'gelu', 'geluTanh'];

function activate(z: Tensor, activation: LinearActivation): Tensor {
  if (activation === 'relu') return relu(z);
  if (activation === 'gelu') return gelu(z);
  if (activation === 'geluTanh') return gelu(z, 'tanh');
  return z;
}

/**
 * act(x W^T + b) for x [..., K], W [N, K] (PyTorch's layout; pass `w.T` for a [K, N] weight) and
 * b [N]: torch.nn.functional.linear followed by the activation, fused on backends that can.
 */
export function linear(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  activation: LinearActivation = 'none',
): Tensor {
  const op = 'linear';
  commonDevice(op, [x, weight, bias]);
  if (weight.ndim !== 2 || x.ndim === 0 || x.shape[x.ndim - 1] !== weight.shape[1])
    throw new Error(
      `${op}: input of shape ${formatShape(x.shape)} does not match weight ${formatShape(weight.shape)} (expected last dim ${weight.shape[1]})`,
    );
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== weight.shape[0]))
    throw new Error(
      `${op}: bias of shape ${formatShape(bias.shape)} does not match weight ${formatShape(weight.shape)}`,
    );
  if (!ACTIVATIONS.includes(activation))
    throw new Error(`${op}: activation must be one of ${ACTIVATIONS.join(', ')} (got ${activation})`);
  const [n, kDim] = weight.shape;
  const lead = x.shape.slice(0, -1);
  const rows = lead.reduce((a, b) => a * b, 1);
  const x2 = reshape(contiguous(x), [rows, kDim]);
  const grad = needsGrad([x, weight, bias]);
  const backend = backendOf(x);
  const fused = backend.fused.linear;
  let out2: Tensor;
  let z: Tensor | null = null;
  if (
    fused &&
    isFloating(x.dtype) &&
    x.dtype === weight.dtype &&
    (!bias || bias.dtype === x.dtype) &&
    rows > 0 &&
    n > 0
  ) {
    out2 = emptyTensor([rows, n], x.dtype, x.device);
    // GELU's gradient needs the pre-activation; ReLU's reads the output.
    const keepZ = grad && (activation === 'gelu' || activation === 'geluTanh');
    if (keepZ) z = emptyTensor([rows, n], x.dtype, x.device);
    fused(x2.kernel, weight.kernel, bias?.kernel ?? null, activation, out2.kernel, z?.kernel ?? null);
  } else {
    [out2, z] = noGrad(() => {
      const pre = bias ? add(matmul(x2, transpose(weight, 0, 1)), bias) : matmul(x2, transpose(weight, 0, 1));
      if (activation === 'none') return [pre, null];
      const y = activate(pre, activation);
      if (grad && activation !== 'relu') return [y, pre];
      pre.dispose();
      return [y, null];
    });
  }
  const out = reshape(out2, [...lead, n]);
  return record(
    'LinearBackward',
    out,
    [x, weight, bias],
    (g, saved, output, needs) => {
      const [xs, ws, savedBias, zs] = saved;
      const bs = bias ? savedBias : null;
      const g2 = reshape(g, [rows, n]);
      let gz = g2;
      if (activation !== 'none') {
        // Under create_graph the pre-activation is rebuilt from x, W, b so the result stays
        // differentiable in them; otherwise the saved one (or, for ReLU, the output) serves.
        const graph = isGradEnabled();
        const pre = graph
          ? bs
            ? add(matmul(xs, transpose(ws, 0, 1)), bs)
            : matmul(xs, transpose(ws, 0, 1))
          : activation === 'relu'
            ? reshape(output as Tensor, [rows, n])
            : zs;
        gz =
          activation === 'relu'
            ? reluBackward(g2, pre)
            : geluBackward(g2, pre, activation === 'geluTanh' ? 'tanh' : 'none');
      }
      return [
        needs[0] ? reshape(matmul(gz, ws), x.shape) : null,
        needs[1] ? productLaidOutLike(ws, transpose(gz, 0, 1), xs) : null,
        needs[2] ? sum(gz, 0) : null,
      ];
    },
    {
      // The slots line up with the rule's destructuring: an absent bias or pre-activation is
      // replaced by x (never read).
      save: [x2, weight, bias ?? x2, z ?? x2],
      saveOutput: activation === 'relu',
    },
  );
}
