// Elementwise fusion on the native path. Eager elementwise ops each read and write their whole
// operands, so relu(x * 2 + 1).sum() over 16 MiB makes four trips through memory. Instead, a large
// float32 unary or binary op whose operands are contiguous (or scalars) records an instruction and
// leaves its output buffer pending; an op on a pending buffer appends to its program rather than
// reading it. The program runs (native evalProgramF32: one pass, chunk by chunk, intermediates in
// cache) when something touches the buffer (arrayOf settles it), and a full sum of a pending buffer
// runs it without writing the buffer at all. A buffer freed while pending never runs.
//
// Correctness rests on two rules: (1) every kernel reaches memory through arrayOf, which runs the
// buffer's own pending program and every pending program that reads it first (a later write
// cannot change what a recorded op sees), and (2) a program's inputs (its leaves) are always
// materialised buffers, registered as read by it until it runs or is dropped (a leaf freed meanwhile
// goes back to the pool only then); scalar operands are copied as constants. Each op in a program
// calls the same native routine the eager kernel does, or (scalar multiply/divide, add/subtract,
// relu in a row) one merged pass that rounds each op as that routine does, so results are bit for
// bit the same.
import type { KernelTensor } from '@kiln/core';
import { arrayOf, type CpuBuffer, type Deferred } from '../buffer.js';
import type { NativeAddon } from './load.js';

/** The addon's limit on instructions per program. */
const MAX_PROGRAM = 16;

enum Kind {
  Load = 0,
  Unary = 1,
  Binary = 2,
}

/** A program input: a run of n elements of a materialised buffer, or a constant taken at record time. */
type Leaf = { buffer: CpuBuffer; offset: number } | { constant: Float32Array };

/** A recorded chain: instructions [kind, op, a, b] (register i = instruction i) over its leaves. */
class Program implements Deferred {
  constructor(
    private readonly addon: NativeAddon,
    readonly target: CpuBuffer,
    readonly code: number[],
    readonly leaves: Leaf[],
    readonly n: number,
  ) {
    for (const leaf of leaves) {
      if (!('buffer' in leaf)) continue;
      leaf.buffer.readers ??= new Set();
      leaf.buffer.readers.add(this);
    }
  }

  /** Runs the program into `out` (null: returns the sum of its values instead). */
  evaluate(out: Float32Array | null): number {
    const inputs = this.leaves.map((l) => ('buffer' in l ? (l.buffer.data as Float32Array) : l.constant));
    const offsets = Float64Array.from(this.leaves, (l) => ('buffer' in l ? l.offset : 0));
    const scalar = Uint8Array.from(this.leaves, (l) => ('buffer' in l ? 0 : 1));
    return this.addon.evalProgramF32(Int32Array.from(this.code), inputs, offsets, scalar, this.n, out);
  }

  run(): void {
    this.release();
    this.evaluate(this.target.data as Float32Array);
  }

  drop(): void {
    this.release();
  }

  private release(): void {
    if (this.target.pending === this) this.target.pending = null;
    for (const leaf of this.leaves) {
      if (!('buffer' in leaf)) continue;
      const { buffer } = leaf;
      buffer.readers?.delete(this);
      if (buffer.readers?.size === 0) {
        buffer.readers = null;
        buffer.onUnread?.();
        buffer.onUnread = null;
      }
    }
  }
}

const contiguousOver = (t: KernelTensor, shape: readonly number[]): boolean => {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) return false;
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && t.strides[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
};

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The buffer's pending program when `t` views all of it in order. */
function wholePending(t: KernelTensor, n: number): Program | null {
  const buffer = t.buffer as CpuBuffer;
  const p = buffer.pending;
  return p instanceof Program && t.offset === 0 && p.n === n ? p : null;
}

export interface Fusion {
  /** Records `op` over `inputs` into `out` instead of running it; false when it does not apply. */
  deferUnary(op: number, x: KernelTensor, out: KernelTensor): boolean;
  deferBinary(op: number, a: KernelTensor, b: KernelTensor, out: KernelTensor): boolean;
  /** The sum of all of `x` when it is a pending program (run without writing x), else null. */
  sumPending(x: KernelTensor): number | null;
}

export function createFusion(addon: NativeAddon, minElements: () => number): Fusion {
  function defer(kind: Kind, op: number, operands: readonly KernelTensor[], out: KernelTensor): boolean {
    const n = numel(out.shape);
    const target = out.buffer as CpuBuffer;
    if (
      n === 0 ||
      n < minElements() ||
      out.dtype !== 'float32' ||
      out.offset !== 0 ||
      target.data.length !== n ||
      target.pending !== null ||
      target.readers !== null ||
      !contiguousOver(out, out.shape) ||
      operands.some((t) => t.dtype !== 'float32' || t.buffer === target)
    ) {
      return false;
    }
    const code: number[] = [];
    const leaves: Leaf[] = [];
    const registers: number[] = [];
    for (const t of operands) {
      const inlined = wholePending(t, n);
      // One element broadcast to every position (a number operand arrives as an expanded 0-d
      // tensor): its value now is what the eager op would have read, so it is kept as a constant.
      const scalar = t.strides.every((stride, d) => stride === 0 || t.shape[d] === 1);
      if (!inlined && !scalar && !contiguousOver(t, out.shape)) return false;
      if (inlined) {
        if (code.length / 4 + inlined.code.length / 4 + 1 > MAX_PROGRAM) return false;
        // Append its instructions, renumbering registers and mapping its leaves onto ours.
        const base = code.length / 4;
        for (let i = 0; i < inlined.code.length; i += 4) {
          const [kind, iop, a, b] = inlined.code.slice(i, i + 4);
          if (kind === Kind.Load) code.push(kind, leafIndex(leaves, inlined.leaves[iop]), 0, 0);
          else code.push(kind, iop, a + base, kind === Kind.Binary ? b + base : 0);
        }
        registers.push(code.length / 4 - 1);
      } else {
        if (code.length / 4 + 2 > MAX_PROGRAM) return false;
        // A leaf is materialised: settle it (e.g. a pending buffer viewed in part).
        const data = arrayOf(t.buffer) as Float32Array;
        const leaf: Leaf = scalar
          ? { constant: Float32Array.of(data[t.offset]) }
          : { buffer: t.buffer as CpuBuffer, offset: t.offset };
        code.push(Kind.Load, leafIndex(leaves, leaf), 0, 0);
        registers.push(code.length / 4 - 1);
      }
    }
    code.push(kind, op, registers[0], registers[1] ?? 0);
    target.pending = new Program(addon, target, code, leaves, n);
    return true;
  }

  return {
    deferUnary: (op, x, out) => defer(Kind.Unary, op, [x], out),
    deferBinary: (op, a, b, out) => defer(Kind.Binary, op, [a, b], out),
    sumPending(x) {
      const p = wholePending(x, numel(x.shape));
      if (!p || !contiguousOver(x, x.shape)) return null;
      return p.evaluate(null);
    },
  };
}

function leafIndex(leaves: Leaf[], leaf: Leaf): number {
  const found =
    'buffer' in leaf
      ? leaves.findIndex((l) => 'buffer' in l && l.buffer === leaf.buffer && l.offset === leaf.offset)
      : leaves.indexOf(leaf);
  if (found >= 0) return found;
  leaves.push(leaf);
  return leaves.length - 1;
}
