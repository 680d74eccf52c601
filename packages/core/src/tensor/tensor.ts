// The Tensor: a strided view (shape, strides, offset) over a reference-counted Storage, plus
// autograd metadata. Methods are thin: every computation lives in an op module (ops/), so the
// method and the `k.fn(...)` spelling are the same code.

import { backward as runBackward } from '../autograd/engine.js';
import { type GradHook, Node } from '../autograd/node.js';
import type { KernelTensor } from '../backend/kernels.js';
import type { Device } from '../backend/registry.js';
import { type DType, isFloating, type TypedArray } from '../dtype/dtype.js';
import { formatTensor } from '../format/print.js';
import * as act from '../ops/activation.js';
import * as conv from '../ops/convert.js';
import * as ew from '../ops/elementwise.js';
import * as idx from '../ops/indexing.js';
import * as inplace from '../ops/inplace.js';
import * as la from '../ops/linalg.js';
import * as rnd from '../ops/random.js';
import * as red from '../ops/reduction.js';
import * as sh from '../ops/shape.js';
import { numel as shapeNumel } from '../shape/shape.js';
import { memoryCounters } from './counters.js';
import { trackInScope } from './scope.js';
import type { Storage } from './storage.js';

export type Scalar = number | boolean;
export type TensorOrScalar = Tensor | Scalar;

export interface BackwardOptions {
  retainGraph?: boolean;
  createGraph?: boolean;
}

interface Lease {
  storage: Storage;
  node: Node | null;
  counted: boolean;
  alive: boolean;
}

// Tensors that are garbage collected without dispose() give their storage back here.
const finalizer =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry<Lease>((lease) => releaseLease(lease))
    : undefined;

function releaseLease(lease: Lease): void {
  if (!lease.alive) return;
  lease.alive = false;
  lease.storage.release();
  lease.node?.release();
  if (lease.counted) memoryCounters.tensorFreed(lease.storage.device);
}

let nextSerial = 0;

/** The serial the next tensor will get: what a tensor made from now on is compared with. */
export function tensorSerialMark(): number {
  return nextSerial;
}

export class Tensor {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  /** Set by `keep()`: no enclosing tidy() disposes this tensor. */
  isKept = false;
  /** The accumulated gradient of a leaf (or of a non-leaf that called retainGrad()). */
  grad: Tensor | null = null;
  private readonly lease: Lease;
  private _requiresGrad = false;
  /** AccumulateGrad node of a leaf that requires grad (shared by its saved aliases). */
  private accumulator: Node | null = null;
  /** For aliases of saved outputs: the producing node, referenced without ownership (no cycle). */
  private weakGradFn: Node | null = null;
  /**
   * @internal For views: the tensor they were taken from (the root, for views of views) and how to
   * take the same view of another tensor of the base's shape. In-place writes through a view use
   * them to give the base its new autograd history.
   */
  viewBase: Tensor | null = null;
  /** @internal See viewBase. */
  viewFn: ((base: Tensor) => Tensor) | null = null;
  /** @internal Creation order: tensors made after a `tensorSerialMark()` have a serial at least it. */
  readonly serial = nextSerial++;

  /** @internal Use the creation functions (`k.tensor`, `k.zeros`, ...) instead. */
  constructor(
    storage: Storage,
    shape: readonly number[],
    strides: readonly number[],
    offset: number,
    internal = false,
  ) {
    this.shape = shape;
    this.strides = strides;
    this.offset = offset;
    this.dtype = storage.dtype;
    storage.retain();
    this.lease = { storage, node: null, counted: !internal, alive: true };
    if (!internal) {
      memoryCounters.tensorCreated(storage.device);
      trackInScope(this);
    }
    finalizer?.register(this, this.lease, this.lease);
  }

  // ---------------------------------------------------------------- metadata

  get storage(): Storage {
    if (!this.lease.alive)
      throw new Error(`tensor of shape [${this.shape.join(', ')}] was used after dispose()`);
    return this.lease.storage;
  }

  get device(): Device {
    return this.lease.storage.device;
  }

  get ndim(): number {
    return this.shape.length;
  }

  numel(): number {
    return shapeNumel(this.shape);
  }

  size(dim?: number): number | readonly number[] {
    return dim === undefined ? this.shape : this.shape[dim < 0 ? dim + this.ndim : dim];
  }

  /** Bumped by every in-place write to the storage (shared by all views). */
  get version(): number {
    return this.lease.storage.version;
  }

  get isDisposed(): boolean {
    return !this.lease.alive;
  }

  /** @internal What kernels see of this tensor. */
  get kernel(): KernelTensor {
    const s = this.storage;
    return {
      buffer: s.buffer,
      dtype: this.dtype,
      shape: this.shape,
      strides: this.strides,
      offset: this.offset,
    };
  }

  // ---------------------------------------------------------------- autograd metadata

  get gradFn(): Node | null {
    return this.lease.node ?? this.weakGradFn;
  }

  get requiresGrad(): boolean {
    return this._requiresGrad || this.gradFn !== null;
  }

  set requiresGrad(flag: boolean) {
    this.requiresGrad_(flag);
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  requiresGrad_(flag = true): this {
    if (this.gradFn !== null) {
      if (!flag) {
        throw new Error(
          'requiresGrad_: you can only change requiresGrad flags of leaf variables. If you want to use a ' +
            "computed variable in a subgraph that doesn't require differentiation use detach().",
        );
      }
      return this;
    }
    if (flag && !isFloating(this.dtype)) {
      throw new Error(
        `requiresGrad_: only Tensors of floating point dtype can require gradients (got ${this.dtype})`,
      );
    }
    this._requiresGrad = flag;
    return this;
  }

  /** @internal Attaches the node that produced this tensor (takes a reference on it). */
  setGradFn(node: Node | null): void {
    node?.retain();
    this.lease.node?.release();
    this.lease.node = node;
    this.weakGradFn = null;
    if (node) this._requiresGrad = false;
  }

  /** @internal For aliases of an op's own output saved by its node. */
  setWeakGradFn(node: Node): void {
    this.weakGradFn = node;
  }

  /** @internal The node gradients for this tensor flow into: its gradFn, or its leaf accumulator. */
  gradEdge(): Node | null {
    const fn = this.gradFn;
    if (fn) return fn;
    if (!this._requiresGrad) return null;
    if (!this.accumulator) this.accumulator = new Node('AccumulateGrad', [], null, this);
    return this.accumulator;
  }

  /**
   * @internal A second handle on the same view, owned by autograd: not tracked by tidy, not counted in
   * memory().tensors, holding its own storage reference.
   */
  alias(withGradFn: boolean): Tensor {
    const a = new Tensor(this.storage, this.shape, this.strides, this.offset, true);
    if (withGradFn) {
      if (this.lease.node) a.setGradFn(this.lease.node);
      else if (this._requiresGrad) {
        a._requiresGrad = true;
        a.accumulator = this.gradEdge();
      }
    }
    return a;
  }

  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    runBackward([this], gradient === undefined ? undefined : [gradient], options);
  }

  retainGrad(): this {
    const fn = this.gradFn;
    if (fn === null) {
      if (!this._requiresGrad)
        throw new Error("retainGrad: can't retain grad on a Tensor that has requiresGrad=false");
      return this;
    }
    fn.retainGradOf = this;
    return this;
  }

  /** Registers `fn(grad)`, called when this tensor's gradient is computed; a returned tensor replaces it. */
  registerHook(fn: GradHook): { remove(): void } {
    const node = this.gradEdge();
    if (node === null)
      throw new Error("registerHook: cannot register a hook on a tensor that doesn't require gradient");
    node.hooks.push(fn);
    return {
      remove: () => {
        const i = node.hooks.indexOf(fn);
        if (i >= 0) node.hooks.splice(i, 1);
      },
    };
  }

  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.strides, this.offset);
  }

  // ---------------------------------------------------------------- memory

  dispose(): void {
    if (!this.lease.alive) return;
    finalizer?.unregister(this.lease);
    releaseLease(this.lease);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---------------------------------------------------------------- reading values

  data(): Promise<TypedArray> {
    return conv.readData(this);
  }
  dataSync(): TypedArray {
    return conv.readDataSync(this);
  }
  async toArray(): Promise<conv.NestedArray> {
    return conv.nest(await this.data(), this.shape);
  }
  toArraySync(): conv.NestedArray {
    return conv.nest(this.dataSync(), this.shape);
  }
  async item(): Promise<number> {
    return conv.itemOf(this, await this.data());
  }
  itemSync(): number {
    return conv.itemOf(this, this.dataSync());
  }
  toString(): string {
    return formatTensor(this);
  }

  // ---------------------------------------------------------------- devices and dtypes

  to(target: Device | DType | { device?: Device; dtype?: DType }): Tensor {
    return conv.to(this, target);
  }
  cpu(): Tensor {
    return conv.to(this, { device: 'cpu' });
  }
  float(): Tensor {
    return conv.to(this, { dtype: 'float32' });
  }
  double(): Tensor {
    return conv.to(this, { dtype: 'float64' });
  }
  int(): Tensor {
    return conv.to(this, { dtype: 'int32' });
  }
  long(): Tensor {
    return conv.to(this, { dtype: 'int64' });
  }
  bool(): Tensor {
    return conv.to(this, { dtype: 'bool' });
  }

  // ---------------------------------------------------------------- views and shape

  reshape(...shape: (number | readonly number[])[]): Tensor {
    return sh.reshape(this, ...shape);
  }
  view(...shape: (number | readonly number[])[]): Tensor {
    return sh.view(this, ...shape);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return sh.flatten(this, startDim, endDim);
  }
  squeeze(dim?: number | readonly number[]): Tensor {
    return sh.squeeze(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return sh.unsqueeze(this, dim);
  }
  permute(...dims: (number | readonly number[])[]): Tensor {
    return sh.permute(this, ...dims);
  }
  transpose(dim0: number, dim1: number): Tensor {
    return sh.transpose(this, dim0, dim1);
  }
  /** Reverses all dims, like PyTorch's `.T`. */
  get T(): Tensor {
    return sh.permute(
      this,
      this.shape.map((_, i) => this.ndim - 1 - i),
    );
  }
  /** Matrix transpose of the last two dims (`.mT`). */
  get mT(): Tensor {
    return sh.transpose(this, -2, -1);
  }
  expand(...shape: (number | readonly number[])[]): Tensor {
    return sh.expand(this, ...shape);
  }
  expandAs(other: Tensor): Tensor {
    return sh.expand(this, other.shape);
  }
  contiguous(): Tensor {
    return sh.contiguous(this);
  }
  isContiguous(): boolean {
    return sh.isContiguousTensor(this);
  }
  clone(): Tensor {
    return sh.clone(this);
  }
  slice(dim: number, start: number, end?: number, step = 1): Tensor {
    return sh.slice(this, dim, start, end, step);
  }
  select(dim: number, index: number): Tensor {
    return sh.select(this, dim, index);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return sh.narrow(this, dim, start, length);
  }
  split(sizeOrSizes: number | readonly number[], dim = 0): Tensor[] {
    return sh.split(this, sizeOrSizes, dim);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return sh.chunk(this, chunks, dim);
  }
  unbind(dim = 0): Tensor[] {
    return sh.unbind(this, dim);
  }
  repeat(...sizes: (number | readonly number[])[]): Tensor {
    return sh.repeat(this, ...sizes);
  }
  flip(dims: number | readonly number[]): Tensor {
    return sh.flip(this, dims);
  }

  // ---------------------------------------------------------------- elementwise

  add(other: TensorOrScalar, alpha?: number): Tensor {
    return ew.add(this, other, alpha);
  }
  sub(other: TensorOrScalar, alpha?: number): Tensor {
    return ew.sub(this, other, alpha);
  }
  mul(other: TensorOrScalar): Tensor {
    return ew.mul(this, other);
  }
  div(other: TensorOrScalar): Tensor {
    return ew.div(this, other);
  }
  pow(exponent: TensorOrScalar): Tensor {
    return ew.pow(this, exponent);
  }
  remainder(other: TensorOrScalar): Tensor {
    return ew.remainder(this, other);
  }
  floorDivide(other: TensorOrScalar): Tensor {
    return ew.floorDivide(this, other);
  }
  maximum(other: TensorOrScalar): Tensor {
    return ew.maximum(this, other);
  }
  minimum(other: TensorOrScalar): Tensor {
    return ew.minimum(this, other);
  }
  atan2(other: TensorOrScalar): Tensor {
    return ew.atan2(this, other);
  }
  neg(): Tensor {
    return ew.neg(this);
  }
  abs(): Tensor {
    return ew.abs(this);
  }
  exp(): Tensor {
    return ew.exp(this);
  }
  expm1(): Tensor {
    return ew.expm1(this);
  }
  log(): Tensor {
    return ew.log(this);
  }
  log1p(): Tensor {
    return ew.log1p(this);
  }
  sqrt(): Tensor {
    return ew.sqrt(this);
  }
  rsqrt(): Tensor {
    return ew.rsqrt(this);
  }
  square(): Tensor {
    return ew.square(this);
  }
  sin(): Tensor {
    return ew.sin(this);
  }
  cos(): Tensor {
    return ew.cos(this);
  }
  tanh(): Tensor {
    return ew.tanh(this);
  }
  sigmoid(): Tensor {
    return ew.sigmoid(this);
  }
  relu(): Tensor {
    return ew.relu(this);
  }
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor {
    return ew.gelu(this, approximate);
  }
  silu(): Tensor {
    return ew.silu(this);
  }
  erf(): Tensor {
    return ew.erf(this);
  }
  sign(): Tensor {
    return ew.sign(this);
  }
  floor(): Tensor {
    return ew.floor(this);
  }
  ceil(): Tensor {
    return ew.ceil(this);
  }
  round(): Tensor {
    return ew.round(this);
  }
  trunc(): Tensor {
    return ew.trunc(this);
  }
  reciprocal(): Tensor {
    return ew.reciprocal(this);
  }
  isnan(): Tensor {
    return ew.isnan(this);
  }
  clamp(min?: number | Tensor | null, max?: number | Tensor | null): Tensor {
    return ew.clamp(this, min, max);
  }
  eq(other: TensorOrScalar): Tensor {
    return ew.eq(this, other);
  }
  ne(other: TensorOrScalar): Tensor {
    return ew.ne(this, other);
  }
  lt(other: TensorOrScalar): Tensor {
    return ew.lt(this, other);
  }
  le(other: TensorOrScalar): Tensor {
    return ew.le(this, other);
  }
  gt(other: TensorOrScalar): Tensor {
    return ew.gt(this, other);
  }
  ge(other: TensorOrScalar): Tensor {
    return ew.ge(this, other);
  }
  logicalAnd(other: TensorOrScalar): Tensor {
    return ew.logicalAnd(this, other);
  }
  logicalOr(other: TensorOrScalar): Tensor {
    return ew.logicalOr(this, other);
  }
  logicalXor(other: TensorOrScalar): Tensor {
    return ew.logicalXor(this, other);
  }
  logicalNot(): Tensor {
    return ew.logicalNot(this);
  }
  maskedFill(mask: Tensor, value: TensorOrScalar): Tensor {
    return ew.maskedFill(this, mask, value);
  }
  where(condition: Tensor, other: TensorOrScalar): Tensor {
    return ew.where(condition, this, other);
  }
  lerp(end: Tensor, weight: TensorOrScalar): Tensor {
    return ew.lerp(this, end, weight);
  }

  // ---------------------------------------------------------------- in place

  add_(other: TensorOrScalar, alpha?: number): this {
    return inplace.add_(this, other, alpha);
  }
  sub_(other: TensorOrScalar, alpha?: number): this {
    return inplace.sub_(this, other, alpha);
  }
  mul_(other: TensorOrScalar): this {
    return inplace.mul_(this, other);
  }
  div_(other: TensorOrScalar): this {
    return inplace.div_(this, other);
  }
  clamp_(min?: number | null, max?: number | null): this {
    return inplace.clamp_(this, min, max);
  }
  zero_(): this {
    return inplace.fill_(this, 0);
  }
  fill_(value: number | Tensor): this {
    return inplace.fill_(this, value);
  }
  copy_(src: Tensor): this {
    return inplace.copy_(this, src);
  }
  uniform_(low = 0, high = 1): this {
    return rnd.uniform_(this, low, high);
  }
  normal_(mean = 0, std = 1): this {
    return rnd.normal_(this, mean, std);
  }
  bernoulli_(p = 0.5): this {
    return rnd.bernoulli_(this, p);
  }

  // ---------------------------------------------------------------- reductions

  sum(dim?: number | readonly number[], keepdim = false): Tensor {
    return red.sum(this, dim, keepdim);
  }
  mean(dim?: number | readonly number[], keepdim = false): Tensor {
    return red.mean(this, dim, keepdim);
  }
  var(dim?: number | readonly number[], options?: red.VarianceOptions): Tensor {
    return red.variance(this, dim, options);
  }
  std(dim?: number | readonly number[], options?: red.VarianceOptions): Tensor {
    return red.std(this, dim, options);
  }
  prod(dim?: number, keepdim = false): Tensor {
    return red.prod(this, dim, keepdim);
  }
  norm(p: number = 2, dim?: number | readonly number[], keepdim = false): Tensor {
    return red.norm(this, p, dim, keepdim);
  }
  max(): Tensor;
  max(dim: number, keepdim?: boolean): red.ValuesIndices;
  max(dim?: number, keepdim = false): Tensor | red.ValuesIndices {
    return dim === undefined ? red.maxAll(this) : red.maxDim(this, dim, keepdim);
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): red.ValuesIndices;
  min(dim?: number, keepdim = false): Tensor | red.ValuesIndices {
    return dim === undefined ? red.minAll(this) : red.minDim(this, dim, keepdim);
  }
  amax(dim?: number | readonly number[], keepdim = false): Tensor {
    return red.amax(this, dim, keepdim);
  }
  amin(dim?: number | readonly number[], keepdim = false): Tensor {
    return red.amin(this, dim, keepdim);
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return red.argmax(this, dim, keepdim);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return red.argmin(this, dim, keepdim);
  }
  logsumexp(dim: number | readonly number[], keepdim = false): Tensor {
    return red.logsumexp(this, dim, keepdim);
  }
  cumsum(dim: number): Tensor {
    return red.cumsum(this, dim);
  }
  any(dim?: number, keepdim = false): Tensor {
    return red.any(this, dim, keepdim);
  }
  all(dim?: number, keepdim = false): Tensor {
    return red.all(this, dim, keepdim);
  }
  softmax(dim: number): Tensor {
    return act.softmax(this, dim);
  }
  logSoftmax(dim: number): Tensor {
    return act.logSoftmax(this, dim);
  }

  // ---------------------------------------------------------------- linear algebra

  matmul(other: Tensor): Tensor {
    return la.matmul(this, other);
  }
  mm(other: Tensor): Tensor {
    return la.mm(this, other);
  }
  bmm(other: Tensor): Tensor {
    return la.bmm(this, other);
  }
  dot(other: Tensor): Tensor {
    return la.dot(this, other);
  }
  outer(other: Tensor): Tensor {
    return la.outer(this, other);
  }
  diag(diagonal = 0): Tensor {
    return la.diag(this, diagonal);
  }
  trace(): Tensor {
    return la.trace(this);
  }
  tril(diagonal = 0): Tensor {
    return la.tril(this, diagonal);
  }
  triu(diagonal = 0): Tensor {
    return la.triu(this, diagonal);
  }

  // ---------------------------------------------------------------- indexing

  gather(dim: number, index: Tensor): Tensor {
    return idx.gather(this, dim, index);
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return idx.scatterAdd(this, dim, index, src);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return idx.indexSelect(this, dim, index);
  }
  indexAdd(dim: number, index: Tensor, source: Tensor, alpha = 1): Tensor {
    return idx.indexAdd(this, dim, index, source, alpha);
  }
  topk(k: number, dim = -1, largest = true): red.ValuesIndices {
    return idx.topk(this, k, dim, largest);
  }
  sort(dim = -1, descending = false): red.ValuesIndices {
    return idx.sort(this, dim, descending);
  }
  argsort(dim = -1, descending = false): Tensor {
    return idx.sort(this, dim, descending).indices;
  }
}

export function isTensor(v: unknown): v is Tensor {
  return v instanceof Tensor;
}
