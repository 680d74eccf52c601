// @kiln/data: datasets, data loaders, samplers, readers, text and image preprocessing, and
// training-loop utilities (progress bar, loss-curve SVG).

export { ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset } from './dataset/dataset.js';
export type { RandomSplitOptions } from './dataset/random-split.js';
export { randomSplit } from './dataset/random-split.js';
export { Normalize } from './image/normalize.js';
export type { RandomCropOptions } from './image/random-crop.js';
export { padImage, RandomCrop } from './image/random-crop.js';
export { RandomHorizontalFlip } from './image/random-horizontal-flip.js';
export type { Interpolation, ResizeOptions } from './image/resize.js';
export { interpolationWeights, Resize, resize, resizeOutputSize } from './image/resize.js';
export type { HostImage } from './image/to-tensor.js';
export { ToTensor } from './image/to-tensor.js';
export type { RandomTransformOptions, Transform } from './image/transform.js';
export { Compose } from './image/transform.js';
export { gunzip, isGzip } from './io/gzip.js';
export type { ByteSource } from './io/source.js';
export type { Collated } from './loader/collate.js';
export { defaultCollate, disposeBatch, forEachTensor } from './loader/collate.js';
export type { DataLoaderOptions } from './loader/dataloader.js';
export { DataLoader } from './loader/dataloader.js';
export type { Seed } from './random/pcg32.js';
export { epochRandom, Random, randomSeed } from './random/pcg32.js';
export type { CsvOptions, CsvTable, CsvTensorOptions } from './readers/csv.js';
export { csvToTensor, parseCsv, readCsv } from './readers/csv.js';
export type { ImageClassificationData, MnistOptions } from './readers/fashion-mnist.js';
export {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DEBIAN_ROOT,
  loadFashionMNIST,
  loadMNIST,
  MNIST_CLASSES,
} from './readers/fashion-mnist.js';
export type { IdxArray, IdxData, IdxDType, ReadIdxOptions } from './readers/idx.js';
export { idxToTensor, parseIdx, readIdx } from './readers/idx.js';
export type { LinesOptions } from './readers/lines.js';
export { readLines, splitLines } from './readers/lines.js';
export type { RandomSamplerOptions, Sampler } from './sampler/sampler.js';
export { BatchSampler, RandomSampler, SequentialSampler, SubsetRandomSampler } from './sampler/sampler.js';
export type { LanguageModelBatchOptions, LanguageModelLoaderOptions } from './text/language-model.js';
export { LanguageModelLoader, seqDataIterRandom, seqDataIterSequential } from './text/language-model.js';
export type { PadSequencesOptions } from './text/pad.js';
export { padSequences, truncatePad } from './text/pad.js';
export type {
  NormalizeOptions,
  TokenizePairsOptions,
  TranslationArrayOptions,
  TranslationPairs,
} from './text/translation.js';
export {
  buildTranslationArray,
  normalizeTranslationText,
  tokenizeTranslationPairs,
} from './text/translation.js';
export type { VocabOptions } from './text/vocab.js';
export { Vocab } from './text/vocab.js';
export type { LossCurveOptions, Series } from './training/plot.js';
export { lossCurveSvg, writeLossCurve } from './training/plot.js';
export type { Metrics, ProgressBarOptions, ProgressIterable, ProgressStream } from './training/progress.js';
export { formatDuration, ProgressBar, withProgress } from './training/progress.js';
export { logTicks, niceDomain, ticks } from './training/ticks.js';
