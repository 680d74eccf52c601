// The escape hatch for user-defined differentiable functions (torch.autograd.Function): a forward
// computed with any ops, and a backward written in ops.
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from './grad-mode.js';
import { record } from './record.js';

export interface CustomOpDefinition {
  name: string;
  /** Computes the output; runs without recording a graph. */
  forward(...inputs: Tensor[]): Tensor;
  /** Gradients w.r.t. each input (null where none), from the output gradient and the saved inputs. */
  backward(grad: Tensor, inputs: readonly Tensor[], output: Tensor): readonly (Tensor | null)[];
}

export function customOp(def: CustomOpDefinition): (...inputs: Tensor[]) => Tensor {
  return (...inputs: Tensor[]) => {
    const out = noGrad(() => def.forward(...inputs));
    return record(def.name, out, inputs, (g, saved, output) => def.backward(g, saved, output!), {
      save: inputs,
      saveOutput: true,
    });
  };
}
