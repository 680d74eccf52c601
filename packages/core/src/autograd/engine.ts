// Reverse-mode engine. Walks the graph from the outputs in reverse topological order, sums the
// gradients reaching each node, applies its backward rule and, at the leaves, accumulates into
// `.grad` (or hands the gradients back, for grad()). Without createGraph the backward rules run
// with grad mode off and every intermediate gradient is disposed when the pass ends.

import { onesLike } from '../ops/creation.js';
import { formatShape, shapesEqual } from '../shape/shape.js';
import { runScoped } from '../tensor/scope.js';
import { isTensor, type Tensor, tensorSerialMark } from '../tensor/tensor.js';
import { noGrad, setGradEnabled } from './grad-mode.js';
import type { Node } from './node.js';

export interface GradOptions {
  gradOutputs?: readonly (Tensor | null)[];
  retainGraph?: boolean;
  createGraph?: boolean;
  allowUnused?: boolean;
}

/** Nodes reachable from `roots`, in an order where every node precedes the nodes it feeds. */
function topologicalOrder(roots: readonly Node[]): Node[] {
  const order: Node[] = [];
  const visited = new Set<Node>();
  // Iterative post-order DFS: deep graphs (long RNN unrolls) must not overflow the JS stack.
  const stack: [Node, number][] = [];
  for (const r of roots) {
    if (visited.has(r)) continue;
    visited.add(r);
    stack.push([r, 0]);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [node, i] = top;
      if (i < node.next.length) {
        top[1]++;
        const child = node.next[i];
        if (child && !visited.has(child)) {
          visited.add(child);
          stack.push([child, 0]);
        }
      } else {
        stack.pop();
        order.push(node);
      }
    }
  }
  return order.reverse();
}

function rootGradient(op: string, out: Tensor, given: Tensor | null | undefined): Tensor {
  if (given) {
    if (!shapesEqual(given.shape, out.shape)) {
      throw new Error(
        `${op}: mismatch in shape: grad_output has shape ${formatShape(given.shape)} and output has shape ${formatShape(out.shape)}`,
      );
    }
    return given;
  }
  if (out.numel() !== 1)
    throw new Error(
      `${op}: grad can be implicitly created only for scalar outputs (got shape ${formatShape(out.shape)})`,
    );
  return onesLike(out);
}

function runHooks(node: Node, grad: Tensor): Tensor {
  for (const hook of node.hooks) {
    const replaced = hook(grad);
    if (replaced) grad = replaced;
  }
  return grad;
}

/**
 * The shared pass behind backward() and grad(). Returns the gradient reaching each node in
 * `capture` (used by grad()); accumulates into leaves' `.grad` when `accumulate`.
 */
function runGraph(
  op: string,
  outputs: readonly Tensor[],
  gradOutputs: readonly (Tensor | null | undefined)[] | undefined,
  retainGraph: boolean,
  createGraph: boolean,
  accumulate: boolean,
  capture: readonly Node[],
): Map<Node, Tensor> {
  // Tensors made from here on are this pass's own (the caller's gradOutputs were made before).
  const mark = tensorSerialMark();
  const captured = new Map<Node, Tensor>();
  const captureSet = new Set(capture);
  const pending = new Map<Node, Tensor>();
  const roots: Node[] = [];
  outputs.forEach((out, i) => {
    const node = out.gradEdge();
    if (!node)
      throw new Error(`${op}: element ${i} of tensors does not require grad and does not have a gradFn`);
    const g = rootGradient(op, out, gradOutputs?.[i]);
    pending.set(node, pending.has(node) ? pending.get(node)!.add(g) : g);
    roots.push(node);
  });

  // Gradients this pass made (backward functions' results and sums of them): one of these that
  // no other tensor shares can become a leaf's .grad as it is, as torch's AccumulateGrad steals
  // it, instead of being copied. A tensor the caller passed in or a backward returned unchanged
  // from elsewhere is never one of them.
  const adoptable = new Set<Tensor>();
  const prevMode = setGradEnabled(createGraph);
  try {
    for (const node of topologicalOrder(roots)) {
      let grad = pending.get(node);
      if (!grad) continue;
      pending.delete(node);
      // A hook may keep the tensor it is shown, or return one it keeps: neither is adopted.
      if (node.hooks.length > 0) {
        adoptable.delete(grad);
        grad = runHooks(node, grad);
        adoptable.delete(grad);
      }
      if (captureSet.has(node)) {
        captured.set(node, grad);
        adoptable.delete(grad);
      }
      if (node.leaf) {
        if (accumulate) accumulateGrad(node.leaf, grad, createGraph, adoptable);
        continue;
      }
      if (node.retainGradOf) accumulateGrad(node.retainGradOf, grad, createGraph, adoptable);
      const grads = node.apply(grad);
      if (!retainGraph) node.releaseSaved();
      // A gradient this pass made is dead once its node has used it, unless it goes on (passed
      // through to a child, or waiting for another node): freeing it now returns its memory early
      // and lets a view of it (the gradient of a reshape) own that memory, to be adopted.
      if (adoptable.has(grad) && !grads.includes(grad) && !isPending(pending, grad)) {
        adoptable.delete(grad);
        grad.dispose();
      }
      node.next.forEach((child, i) => {
        const g = grads[i];
        if (!child || !g) return;
        const prev = pending.get(child);
        const sum = prev ? prev.add(g) : g;
        if (!createGraph && sum.serial >= mark) adoptable.add(sum);
        pending.set(child, sum);
      });
    }
  } finally {
    setGradEnabled(prevMode);
  }
  return captured;
}

function accumulateGrad(t: Tensor, grad: Tensor, createGraph: boolean, adoptable: Set<Tensor>): void {
  if (!shapesEqual(grad.shape, t.shape)) {
    throw new Error(
      `AccumulateGrad: gradient of shape ${formatShape(grad.shape)} does not match tensor of shape ${formatShape(t.shape)}`,
    );
  }
  if (t.grad === null) {
    if (createGraph) {
      t.grad = grad;
    } else if (adoptable.has(grad) && ownsItsMemory(grad)) {
      // Computed by this pass and held by nothing else: it becomes the .grad, no copy. Once.
      adoptable.delete(grad);
      t.grad = grad;
    } else {
      // A private, contiguous copy: the incoming gradient may be a view of another tensor's
      // memory, or a tensor someone else holds.
      t.grad = noGrad(() => grad.clone());
    }
  } else if (createGraph) {
    const prev = t.grad;
    t.grad = prev.add(grad);
  } else {
    const g = t.grad;
    noGrad(() => g.add_(grad));
  }
  t.grad.isKept = true;
}

function isPending(pending: Map<Node, Tensor>, t: Tensor): boolean {
  for (const g of pending.values()) if (g === t) return true;
  return false;
}

/** Contiguous over the whole of a storage that no other tensor (view or alias) shares. */
function ownsItsMemory(t: Tensor): boolean {
  const storage = t.storage;
  return !storage.shared && t.offset === 0 && storage.numel === t.numel() && t.isContiguous();
}

/** `loss.backward(gradient?, options)`: accumulates into the leaves' `.grad`. */
export function backward(
  outputs: readonly Tensor[],
  gradOutputs: readonly (Tensor | null)[] | undefined,
  options: { retainGraph?: boolean; createGraph?: boolean } = {},
): void {
  const createGraph = options.createGraph ?? false;
  const retainGraph = options.retainGraph ?? createGraph;
  runScoped(() => {
    runGraph('backward', outputs, gradOutputs, retainGraph, createGraph, true, []);
  }, isTensor);
}

/** `k.grad(outputs, inputs, options)`: gradients of outputs w.r.t. inputs, leaving `.grad` alone. */
export function grad(
  outputs: Tensor | readonly Tensor[],
  inputs: Tensor | readonly Tensor[],
  options: GradOptions = {},
): (Tensor | null)[] {
  const outs = isTensor(outputs) ? [outputs] : outputs;
  const ins = isTensor(inputs) ? [inputs] : inputs;
  const createGraph = options.createGraph ?? false;
  const retainGraph = options.retainGraph ?? createGraph;
  const nodes = ins.map((t, i) => {
    const n = t.gradEdge();
    if (!n) throw new Error(`grad: element ${i} of inputs does not require grad`);
    return n;
  });
  return runScoped(() => {
    const captured = runGraph('grad', outs, options.gradOutputs, retainGraph, createGraph, false, nodes);
    return nodes.map((n, i) => {
      const g = captured.get(n);
      if (!g) {
        if (!options.allowUnused) {
          throw new Error(
            `grad: one of the differentiated Tensors (input ${i}) appears to not have been used in the graph. ` +
              'Set allowUnused: true if this is the desired behavior.',
          );
        }
        return null;
      }
      // Hand back a tensor the caller owns (a captured gradient may be a view shared with others).
      return createGraph ? g : noGrad(() => g.clone());
    });
  }, isTensor);
}
