// Out-of-range indices on the GPU. A kernel cannot throw where it runs, so kernels that index by
// tensor values (gather, scatter-add, index-select, index-add, cross-entropy targets) record the
// first bad index in a small error buffer the runtime owns, and the next read (or sync) raises the
// CPU backend's own error, as PyTorch's CUDA kernels report a device-side assert at the next
// synchronisation. A bad index still reads nothing out of bounds: gathers write 0, adds skip it.
// With several bad indices, the one reported is whichever an invocation met first (the CPU reports
// the first in memory order).

/** The ops that check, in the order of their codes (code = position + 1; 0 = no error). */
const CHECKED = ['gather', 'scatterAdd', 'indexSelect', 'indexAdd', 'crossEntropyRows'] as const;
export type CheckedOp = (typeof CHECKED)[number];

/** Error buffer words: [op code, offending value, size along the indexed dim, unused]. */
export const ERROR_WORDS = 4;

/** WGSL: the error buffer at `index` and `oob_(op, value, size)`, which keeps the first report. */
export function boundsBinding(index: number): string {
  return `@group(0) @binding(${index}) var<storage, read_write> err_: array<atomic<i32>, ${ERROR_WORDS}>;
fn oob_(op: i32, value: i32, size: i32) {
  if (atomicCompareExchangeWeak(&err_[0], 0, op).exchanged) {
    atomicStore(&err_[1], value);
    atomicStore(&err_[2], size);
  }
}
`;
}

/** WGSL statement reporting `value` outside [0, size) for `op`. */
export function reportOutOfBounds(op: CheckedOp, value: string, size: string): string {
  return `oob_(${CHECKED.indexOf(op) + 1}, ${value}, ${size});`;
}

/** The error the CPU backend raises for the report in `words`, or null when there is none. */
export function boundsError(words: Int32Array): RangeError | null {
  const [code, value, size] = words;
  if (code === 0) return null;
  const op = CHECKED[code - 1];
  const message =
    op === 'crossEntropyRows'
      ? `crossEntropyRows: target ${value} is out of bounds for ${size} classes`
      : `${op}: index ${value} is out of bounds for dimension with size ${size}`;
  return new RangeError(`${message} (raised by the first read after the kernel ran on 'webgpu')`);
}
