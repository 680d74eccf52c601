// Attaching an op's backward rule to its output. Called by every differentiable op after the
// forward kernel ran; a no-op unless grad mode is on and some input requires grad.
import type { Tensor } from '../tensor/tensor.js';
import { isGradEnabled } from './grad-mode.js';
import { type BackwardFn, Node, savedEntry } from './node.js';

export interface RecordOptions {
  /** Tensors the backward rule reads (passed back to it as `saved`, version-checked). */
  save?: readonly Tensor[];
  /** The rule reads the op's own output (passed back as `output`). */
  saveOutput?: boolean;
}

export function needsGrad(inputs: readonly (Tensor | null | undefined | number | boolean)[]): boolean {
  if (!isGradEnabled()) return false;
  for (const t of inputs) if (t !== null && typeof t === 'object' && t.requiresGrad) return true;
  return false;
}

/**
 * Records `out = op(inputs)` in the graph. `inputs` holds a tensor per differentiable input (null for
 * scalars and non-differentiable operands), in the order the backward rule returns gradients.
 */
export function record(
  name: string,
  out: Tensor,
  inputs: readonly (Tensor | null | undefined | number | boolean)[],
  backward: BackwardFn,
  options: RecordOptions = {},
): Tensor {
  if (!needsGrad(inputs)) return out;
  const edges = inputs.map((t) =>
    t !== null && typeof t === 'object' && t.requiresGrad ? t.gradEdge() : null,
  );
  const saved = (options.save ?? []).map((t) => savedEntry(t.alias(true)));
  let outputAlias: Tensor | undefined;
  if (options.saveOutput) outputAlias = out.alias(false);
  const node = new Node(name, edges, backward, null, saved, outputAlias ? savedEntry(outputAlias) : null);
  outputAlias?.setWeakGradFn(node);
  out.setGradFn(node);
  return out;
}
