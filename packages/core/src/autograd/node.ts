// The recorded graph. Each differentiable op output gets a Node holding the op's backward rule, the
// tensors the rule needs (saved with a storage reference and the version they had), and edges to
// the nodes of its inputs. Nodes are reference counted by the tensors whose gradFn they are and by
// the nodes downstream, like PyTorch's shared_ptr graph, so disposing the last tensor that reaches
// a subgraph frees its saved tensors even when backward never runs.
import type { Tensor } from '../tensor/tensor.js';

// biome-ignore lint/suspicious/noConfusingVoidType: hooks that only observe return nothing at all.
export type GradHook = (grad: Tensor) => Tensor | undefined | void;

/**
 * A backward rule: gradients w.r.t. each input (null where none flows), written in ops. `needs[i]`
 * says whether input i wants a gradient at all, so a rule can skip work nobody will use.
 */
export type BackwardFn = (
  grad: Tensor,
  saved: readonly Tensor[],
  output: Tensor | undefined,
  needs: readonly boolean[],
) => readonly (Tensor | null | undefined)[];

interface SavedEntry {
  readonly alias: Tensor;
  readonly version: number;
}

export class Node {
  readonly name: string;
  readonly next: readonly (Node | null)[];
  /** Hooks registered on the tensor this node produced (or on the leaf, for AccumulateGrad). */
  readonly hooks: GradHook[] = [];
  /** The non-leaf tensor that asked for `retainGrad()`. */
  retainGradOf: Tensor | null = null;
  /** Set on AccumulateGrad nodes: the leaf whose `.grad` receives the gradient. */
  readonly leaf: Tensor | null;
  private readonly backwardFn: BackwardFn | null;
  private saved: SavedEntry[] | null;
  private savedOutput: SavedEntry | null;
  private savedReleased = false;
  private refs = 0;

  constructor(
    name: string,
    next: readonly (Node | null)[],
    backwardFn: BackwardFn | null,
    leaf: Tensor | null,
    saved: SavedEntry[] = [],
    savedOutput: SavedEntry | null = null,
  ) {
    this.name = name;
    this.next = next;
    this.backwardFn = backwardFn;
    this.leaf = leaf;
    this.saved = saved;
    this.savedOutput = savedOutput;
    for (const n of next) n?.retain();
  }

  retain(): void {
    this.refs++;
  }

  release(): void {
    if (--this.refs > 0) return;
    this.releaseSaved();
    for (const n of this.next) n?.release();
  }

  /** Frees saved tensors after a backward pass that did not ask to retain the graph. */
  releaseSaved(): void {
    if (this.saved === null) return;
    for (const s of this.saved) s.alias.dispose();
    this.savedOutput?.alias.dispose();
    this.saved = null;
    this.savedOutput = null;
    this.savedReleased = true;
  }

  apply(grad: Tensor): readonly (Tensor | null | undefined)[] {
    if (this.backwardFn === null) throw new Error(`${this.name}: node has no backward rule`);
    if (this.saved === null) {
      throw new Error(
        `${this.name}: trying to backward through the graph a second time (or directly access saved tensors ` +
          'after they have already been freed). Saved intermediate values of the graph are freed when you call ' +
          '.backward() or grad(). Specify retainGraph: true if you need to backward through the graph a second time.',
      );
    }
    const saved = this.saved.map((s) => this.unpack(s));
    const output = this.savedOutput ? this.unpack(this.savedOutput) : undefined;
    return this.backwardFn(
      grad,
      saved,
      output,
      this.next.map((n) => n !== null),
    );
  }

  get hasReleasedSaved(): boolean {
    return this.savedReleased;
  }

  private unpack(s: SavedEntry): Tensor {
    if (s.alias.version !== s.version) {
      throw new Error(
        `one of the variables needed for gradient computation has been modified by an inplace operation: ` +
          `[${s.alias.dtype} [${s.alias.shape.join(', ')}]], which is saved by ${this.name}, is at version ` +
          `${s.alias.version}; expected version ${s.version} instead.`,
      );
    }
    return s.alias;
  }
}

export function savedEntry(alias: Tensor): SavedEntry {
  return { alias, version: alias.version };
}
