import { WordPieceDecoder } from '../decoders/subword.js';
import { type FileSource, readSource } from '../io/source.js';
import { parseVocabTxt } from '../io/vocab-files.js';
import { WordPieceModel } from '../models/wordpiece.js';
import { BertNormalizer } from '../normalizers/bert.js';
import { BertProcessing } from '../post-processors/bert-roberta.js';
import { BertPreTokenizer } from '../pre-tokenizers/whitespace.js';
import { Tokenizer } from '../tokenizer.js';
import { trainBPE } from '../trainers/bpe-trainer.js';
import { type ProgressCallback, progressReporter } from '../trainers/progress.js';
import { countWords } from '../trainers/word-counts.js';

export interface BertTokenizerOptions {
  /** bert-base-uncased: true; cased models: false. Default true. */
  lowercase?: boolean;
  /** Default: follows `lowercase`. */
  stripAccents?: boolean | null;
  cleanText?: boolean;
  handleChineseChars?: boolean;
  unkToken?: string;
  sepToken?: string;
  clsToken?: string;
  padToken?: string;
  maskToken?: string;
  wordpiecesPrefix?: string;
}

/** BERT's WordPiece pipeline (HF `BertWordPieceTokenizer`). */
export const WordPiece = {
  /** A BERT tokenizer around a WordPiece vocabulary. */
  fromModel(model: WordPieceModel, options: BertTokenizerOptions = {}): Tokenizer {
    const sep = options.sepToken ?? '[SEP]';
    const cls = options.clsToken ?? '[CLS]';
    const sepId = model.tokenToId(sep);
    const clsId = model.tokenToId(cls);
    if (sepId === undefined || clsId === undefined) {
      throw new Error(`WordPiece: the vocabulary needs ${sep} and ${cls} for BERT post-processing`);
    }
    const tok = new Tokenizer({
      model,
      normalizer: new BertNormalizer({
        lowercase: options.lowercase ?? true,
        stripAccents: options.stripAccents ?? null,
        cleanText: options.cleanText ?? true,
        handleChineseChars: options.handleChineseChars ?? true,
      }),
      preTokenizer: new BertPreTokenizer(),
      postProcessor: new BertProcessing([sep, sepId], [cls, clsId]),
      decoder: new WordPieceDecoder(options.wordpiecesPrefix ?? '##', true),
    });
    const roles = {
      pad: options.padToken ?? '[PAD]',
      unk: options.unkToken ?? model.unkToken,
      cls,
      sep,
      mask: options.maskToken ?? '[MASK]',
    };
    // As HF's BertWordPieceTokenizer: the five tokens are special and matched in raw text.
    tok.addSpecialTokens(Object.values(roles).filter((t) => model.tokenToId(t) !== undefined));
    tok.specialTokens = Object.fromEntries(
      Object.entries(roles).filter(([, t]) => model.tokenToId(t) !== undefined),
    );
    return tok;
  },

  /** BERT from vocab.txt (a path in Node, or the file contents). */
  async fromVocab(vocab: FileSource, options: BertTokenizerOptions = {}): Promise<Tokenizer> {
    const { text, name } = await readSource(vocab, /\n/);
    const model = new WordPieceModel(parseVocabTxt(text, name), {
      unkToken: options.unkToken ?? '[UNK]',
      continuingSubwordPrefix: options.wordpiecesPrefix ?? '##',
    });
    return WordPiece.fromModel(model, options);
  },

  /** Learns a WordPiece vocabulary from texts (HF `WordPieceTrainer`); see `trainWordPiece`. */
  train(texts: Iterable<string>, options: WordPieceTrainOptions = {}): Tokenizer {
    return trainWordPiece(texts, options);
  },
};

export interface WordPieceTrainOptions extends BertTokenizerOptions {
  vocabSize?: number;
  minFrequency?: number;
  /** Default: [PAD] [UNK] [CLS] [SEP] [MASK], as HF's BertWordPieceTokenizer. */
  specialTokens?: string[];
  /** Default 1000, as HF's BertWordPieceTokenizer. */
  limitAlphabet?: number | null;
  initialAlphabet?: string[];
  onProgress?: ProgressCallback;
  showProgress?: boolean;
}

/**
 * WordPiece training, as HF's `WordPieceTrainer`: BPE training with the "##" continuation prefix
 * over BERT-normalized words, whose vocabulary becomes the WordPiece vocabulary.
 */
export function trainWordPiece(texts: Iterable<string>, options: WordPieceTrainOptions = {}): Tokenizer {
  const report = progressReporter(options.onProgress, options.showProgress);
  const prefix = options.wordpiecesPrefix ?? '##';
  const pipeline = {
    normalizer: new BertNormalizer({
      lowercase: options.lowercase ?? true,
      stripAccents: options.stripAccents ?? null,
      cleanText: options.cleanText ?? true,
      handleChineseChars: options.handleChineseChars ?? true,
    }),
    preTokenizer: new BertPreTokenizer(),
  };
  const counts = countWords(pipeline, texts, report);
  const { vocab } = trainBPE(
    counts,
    {
      vocabSize: options.vocabSize ?? 30000,
      minFrequency: options.minFrequency ?? 0,
      specialTokens: options.specialTokens ?? ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'],
      limitAlphabet: options.limitAlphabet === undefined ? 1000 : options.limitAlphabet,
      initialAlphabet: options.initialAlphabet ?? [],
      continuingSubwordPrefix: prefix,
    },
    report,
  );
  const model = new WordPieceModel(vocab, {
    unkToken: options.unkToken ?? '[UNK]',
    continuingSubwordPrefix: prefix,
  });
  return WordPiece.fromModel(model, options);
}
