// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, Zalando Research, MIT licence) and MNIST from their
// original IDX files: {train,t10k}-{images-idx3,labels-idx1}-ubyte, gzipped or not. Nothing is
// downloaded: the files come from an explicit folder or from Debian's `dataset-fashion-mnist`
// package, which installs them in /usr/share/datasets/fashion-mnist/.
import type { Device, Tensor } from '@kiln/core';
import { importNode, isNode, type NodeFs, type NodePath } from '../io/node.js';
import { type IdxArray, idxToTensor, readIdx } from './idx.js';

/** Where Debian's `dataset-fashion-mnist` package puts the files. */
export const FASHION_MNIST_DEBIAN_ROOT = '/usr/share/datasets/fashion-mnist';

/** Label i names class i (from the dataset's README). */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export const MNIST_CLASSES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export interface ImageClassificationData {
  /** uint8 [N, 28, 28], pixel values 0..255 (0 = background). */
  images: Tensor;
  /** int32 [N], class indices. */
  labels: Tensor;
  classes: readonly string[];
}

export interface MnistOptions {
  /** Folder with the four IDX files (gzipped or not). */
  root?: string;
  /** The 60,000-image training split (default) or the 10,000-image test split. */
  train?: boolean;
  device?: Device;
}

async function fileIn(fs: NodeFs, path: NodePath, dir: string, base: string): Promise<string | undefined> {
  for (const name of [`${base}.gz`, base]) {
    const full = path.join(dir, name);
    const ok = await fs.stat(full).then(
      (s) => s.isFile(),
      () => false,
    );
    if (ok) return full;
  }
  return undefined;
}

/** Loads one split from the first folder in `roots` that holds both of its files. */
async function loadSplit(
  dataset: string,
  roots: readonly string[],
  options: MnistOptions,
  classes: readonly string[],
  howToGet: string,
): Promise<ImageClassificationData> {
  if (!isNode()) {
    throw new Error(
      `load${dataset}: reading files needs Node; elsewhere read the IDX files with readIdx(url or bytes)`,
    );
  }
  const fs = await importNode<NodeFs>('node:fs/promises');
  const path = await importNode<NodePath>('node:path');
  const prefix = options.train === false ? 't10k' : 'train';
  const imagesBase = `${prefix}-images-idx3-ubyte`;
  const labelsBase = `${prefix}-labels-idx1-ubyte`;
  for (const root of roots) {
    const imagesPath = await fileIn(fs, path, root, imagesBase);
    const labelsPath = await fileIn(fs, path, root, labelsBase);
    if (imagesPath && labelsPath)
      return loadIdxPair(dataset, imagesPath, labelsPath, classes, options.device);
  }
  throw new Error(
    `load${dataset}: ${imagesBase}[.gz] and ${labelsBase}[.gz] not found in ${roots.join(' or ')}. ${howToGet}`,
  );
}

async function loadIdxPair(
  dataset: string,
  imagesPath: string,
  labelsPath: string,
  classes: readonly string[],
  device: Device | undefined,
): Promise<ImageClassificationData> {
  const [images, labels] = await Promise.all([readIdx(imagesPath), readIdx(labelsPath)]);
  checkPair(dataset, images, imagesPath, labels, labelsPath, classes.length);
  const labelTensor = idxToTensor(
    { dtype: 'int32', shape: labels.shape, data: Int32Array.from(labels.data) },
    { device },
  );
  return { images: idxToTensor(images, { device }), labels: labelTensor, classes };
}

function checkPair(
  dataset: string,
  images: IdxArray,
  imagesPath: string,
  labels: IdxArray,
  labelsPath: string,
  numClasses: number,
): void {
  const fail = (m: string) => new Error(`load${dataset}: ${m}`);
  if (images.dtype !== 'uint8' || images.shape.length !== 3) {
    throw fail(
      `${imagesPath} should hold uint8 images [N, H, W], found ${images.dtype} [${images.shape.join(', ')}]`,
    );
  }
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1) {
    throw fail(
      `${labelsPath} should hold uint8 labels [N], found ${labels.dtype} [${labels.shape.join(', ')}]`,
    );
  }
  if (images.shape[0] !== labels.shape[0]) {
    throw fail(`${imagesPath} has ${images.shape[0]} images but ${labelsPath} has ${labels.shape[0]} labels`);
  }
  const bad = labels.data.findIndex((l) => l >= numClasses);
  if (bad >= 0)
    throw fail(
      `${labelsPath}: label ${labels.data[bad]} at index ${bad} is not a class (0..${numClasses - 1})`,
    );
}

/**
 * Fashion-MNIST's training (default) or test split. Looks in `root` when given, then in
 * /usr/share/datasets/fashion-mnist (Debian: `apt-get install dataset-fashion-mnist`).
 */
export function loadFashionMNIST(options: MnistOptions = {}): Promise<ImageClassificationData> {
  const roots = options.root ? [options.root, FASHION_MNIST_DEBIAN_ROOT] : [FASHION_MNIST_DEBIAN_ROOT];
  return loadSplit(
    'FashionMNIST',
    roots,
    options,
    FASHION_MNIST_CLASSES,
    'Install them with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or download the four ' +
      '*-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist and pass { root: <their folder> }.',
  );
}

/** MNIST's training (default) or test split from `root` (the same four file names as Fashion-MNIST). */
export function loadMNIST(options: MnistOptions & { root: string }): Promise<ImageClassificationData> {
  return loadSplit(
    'MNIST',
    [options.root],
    options,
    MNIST_CLASSES,
    'Pass { root: <the folder holding the MNIST IDX files> }.',
  );
}
